import { Injectable } from '@nestjs/common';
import { Sql, type Statement } from '../database/sql.js';

/** The balance and the unexpired holds, from one snapshot (every writer changes both in one
 *  transaction); a hold stops counting at expires_at by the database clock, swept or not.
 *  Exported on purpose: bench/ measures the service's own statement, so it cannot drift. */
export const BALANCE: Statement = {
  name: 'balance_read',
  text: `
    SELECT a.balance,
           (SELECT coalesce(sum(r.amount), 0) FROM reservations r
             WHERE r.user_id = a.user_id AND r.status = 'held' AND r.expires_at > now()
           )::bigint AS reserved
      FROM accounts a WHERE a.user_id = $1`,
};

export interface Balance {
  balance: number;
  /** Sum of unexpired holds. */
  reserved: number;
}

@Injectable()
export class BalanceRepository {
  constructor(private readonly sql: Sql) {}

  /** The ledger balance and holds, or null when the user has no account. */
  async balanceOf(userId: string): Promise<Balance | null> {
    const rows = await this.sql.query<Balance>(BALANCE, [userId]);
    return rows[0] ?? null;
  }
}
