import { Injectable } from '@nestjs/common';
import { monthBounds } from './month.js';
import { UsageRepository } from './usage.repository.js';

export interface MonthlyUsageResult {
  tokensConsumed: number;
  consultationsCount: number;
  start: Date;
  end: Date;
}

@Injectable()
export class UsageService {
  constructor(private readonly usage: UsageRepository) {}

  /** This calendar month's debits. An unknown user simply has none (0 and 0, not an error). */
  async currentMonth(userId: string): Promise<MonthlyUsageResult> {
    const totals = await this.usage.currentMonth(userId);
    return {
      tokensConsumed: totals.tokensConsumed,
      consultationsCount: totals.consultationsCount,
      ...monthBounds(totals.month),
    };
  }
}
