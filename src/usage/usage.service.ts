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

  /**
   * The debits of a calendar month (UTC): `month` is 'YYYY-MM' (already checked for shape), or
   * undefined for the current month by the database clock. One row of the rollup either way:
   * the cost does not grow with the history. An unknown user simply has none (0 and 0).
   */
  async monthlyUsage(userId: string, month?: string): Promise<MonthlyUsageResult> {
    const totals = await this.usage.month(userId, month === undefined ? null : `${month}-01`);
    return {
      tokensConsumed: totals.tokensConsumed,
      consultationsCount: totals.consultationsCount,
      ...monthBounds(totals.month),
    };
  }
}
