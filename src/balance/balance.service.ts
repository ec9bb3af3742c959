import { Injectable } from '@nestjs/common';
import { messages, NotFoundError } from '../common/errors.js';
import { type Balance, BalanceRepository } from './balance.repository.js';

@Injectable()
export class BalanceService {
  constructor(private readonly accounts: BalanceRepository) {}

  async balance(userId: string): Promise<Balance> {
    const balance = await this.accounts.balanceOf(userId);
    if (balance === null) throw new NotFoundError('ACCOUNT_NOT_FOUND', messages.noAccount(userId));
    return balance;
  }
}
