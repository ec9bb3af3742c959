import { Injectable } from '@nestjs/common';
import { Sql, type Statement } from '../database/sql.js';

export const BALANCE: Statement = {
  name: 'balance_read',
  text: 'SELECT balance FROM accounts WHERE user_id = $1',
};

@Injectable()
export class BalanceRepository {
  constructor(private readonly sql: Sql) {}

  /** The ledger balance, or null when the user has no account. */
  async balanceOf(userId: string): Promise<number | null> {
    const rows = await this.sql.query<{ balance: number }>(BALANCE, [userId]);
    return rows[0]?.balance ?? null;
  }
}
