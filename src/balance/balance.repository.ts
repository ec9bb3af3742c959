import { Injectable } from '@nestjs/common';
import { Sql, type Statement } from '../database/sql.js';

/** The balance and the unexpired holds, from one snapshot (every writer changes both in one
 *  transaction); a hold stops counting at expires_at by the database clock, swept or not. Grant
 *  remainders past expires_at stop counting too, as the next statement that takes tokens would
 *  expire them (all but what unexpired holds reserve; see grants/grant-sql.ts): the balance is the
 *  ledger balance minus them. `next_expiry_*`: the soonest expiry of a live remainder and how much
 *  expires then. Exported on purpose: bench/ measures the service's own statement, so it cannot
 *  drift. */
export const BALANCE: Statement = {
  name: 'balance_read',
  text: `
    SELECT a.balance - least(d.due, greatest(0, a.balance - h.reserved)) AS balance, h.reserved,
           n.expires_at AS next_expiry_at, n.amount AS next_expiry_amount
      FROM accounts AS a
     CROSS JOIN LATERAL (
       SELECT coalesce(sum(r.amount), 0)::bigint AS reserved FROM reservations AS r
        WHERE r.user_id = a.user_id AND r.status = 'held' AND r.expires_at > now()) AS h
     CROSS JOIN LATERAL (
       SELECT coalesce(sum(g.remaining), 0)::bigint AS due FROM grants AS g
        WHERE a.next_expiry <= now() AND g.user_id = a.user_id AND g.remaining > 0
          AND g.expires_at <= now() AND g.expires_at < 'infinity') AS d
      LEFT JOIN LATERAL (
       SELECT g.expires_at, sum(g.remaining)::bigint AS amount FROM grants AS g
        WHERE g.user_id = a.user_id AND g.remaining > 0
          AND g.expires_at > now() AND g.expires_at < 'infinity'
        GROUP BY g.expires_at ORDER BY g.expires_at LIMIT 1) AS n ON true
     WHERE a.user_id = $1`,
};

export interface Balance {
  balance: number;
  /** Sum of unexpired holds. */
  reserved: number;
  next_expiry_at: Date | null;
  next_expiry_amount: number | null;
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
