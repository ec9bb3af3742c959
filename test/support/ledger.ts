import type pg from 'pg';

/** How many ledger rows a user has (of one type, when given). */
export async function ledgerEntries(
  pool: pg.Pool,
  userId: string,
  type?: 'debit' | 'credit' | 'expiry',
): Promise<number> {
  const { rows } = await pool.query<{ n: string }>(
    'SELECT count(*) AS n FROM ledger_entries WHERE user_id = $1 AND ($2::text IS NULL OR type = $2)',
    [userId, type ?? null],
  );
  return Number(rows[0].n);
}

/** Row counts of every money table and the sum of balances: equal before and after a request
 *  means the request wrote nothing. */
export async function moneyTables(pool: pg.Pool): Promise<Record<string, string>> {
  const { rows } = await pool.query<Record<string, string>>(
    `SELECT (SELECT count(*) FROM accounts) AS accounts,
            (SELECT count(*) FROM ledger_entries) AS entries,
            (SELECT coalesce(sum(balance), 0) FROM accounts) AS balances,
            (SELECT count(*) FROM reservations) AS holds,
            (SELECT count(*) FROM grants) AS grants,
            (SELECT coalesce(sum(remaining), 0) FROM grants) AS remainders,
            (SELECT count(*) FROM debit_draws) AS draws,
            (SELECT count(*) FROM monthly_usage) AS usage`,
  );
  return rows[0];
}
