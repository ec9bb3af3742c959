/**
 * The ledger audit (`npm run ledger:verify`, and called by the tests): for every account, the
 * balance equals the sum of its ledger amounts and the last balance-after; each row's balance-after
 * chains from the previous one; `reserved` equals the sum of the holds still held; a captured hold
 * has its debit; nothing is negative, including the available balance. Grants: the balance equals
 * the sum of the grant remainders; no remainder is negative; the account's next_expiry is no later
 * than the soonest expiry of a grant with a remainder (else a statement could miss that expiry);
 * each expiry row names a grant past its expiry; the draws of a debit add up to its amount.
 */
export interface Queryer {
  query<Row extends object>(text: string, values?: unknown[]): Promise<{ rows: Row[] }>;
}

export interface Violation {
  user_id: string;
  check: string;
  detail: string;
}

const CHECKS: { check: string; sql: string }[] = [
  {
    check: 'balance = sum(ledger amounts) = last balance_after',
    sql: `
      SELECT a.user_id, format('balance %s, sum %s, last balance_after %s',
                               a.balance, l.total, l.last_after) AS detail
        FROM accounts a
        LEFT JOIN LATERAL (
          SELECT coalesce(sum(amount), 0) AS total,
                 (SELECT balance_after FROM ledger_entries x
                   WHERE x.user_id = a.user_id ORDER BY seq DESC LIMIT 1) AS last_after
            FROM ledger_entries e WHERE e.user_id = a.user_id
        ) l ON true
       WHERE a.balance <> l.total OR a.balance IS DISTINCT FROM coalesce(l.last_after, 0)`,
  },
  {
    check: 'each balance_after = previous balance_after + amount',
    sql: `
      SELECT user_id, format('entry %s: %s + %s <> %s', id, previous, amount, balance_after) AS detail
        FROM (SELECT user_id, id, amount, balance_after,
                     lag(balance_after, 1, 0::bigint) OVER (PARTITION BY user_id ORDER BY seq) AS previous
                FROM ledger_entries) chained
       WHERE previous + amount <> balance_after`,
  },
  {
    check: 'reserved = sum(holds still held)',
    sql: `
      SELECT a.user_id, format('reserved %s, holds %s', a.reserved, coalesce(h.total, 0)) AS detail
        FROM accounts a
        LEFT JOIN (SELECT user_id, sum(amount) AS total FROM reservations
                    WHERE status = 'held' GROUP BY user_id) h ON h.user_id = a.user_id
       WHERE a.reserved <> coalesce(h.total, 0)`,
  },
  {
    check: 'nothing negative (balance, reserved, available)',
    sql: `
      SELECT a.user_id, format('balance %s, reserved %s, unexpired holds %s',
                               a.balance, a.reserved, coalesce(h.total, 0)) AS detail
        FROM accounts a
        LEFT JOIN (SELECT user_id, sum(amount) AS total FROM reservations
                    WHERE status = 'held' AND expires_at > now() GROUP BY user_id) h
          ON h.user_id = a.user_id
       WHERE a.balance < 0 OR a.reserved < 0 OR a.balance - coalesce(h.total, 0) < 0`,
  },
  {
    check: 'a captured hold has its debit',
    sql: `
      SELECT r.user_id, format('reservation %s captured %s, ledger entry %s amount %s',
                               r.id, r.captured_amount, r.transaction_id, e.amount) AS detail
        FROM reservations r
        LEFT JOIN ledger_entries e ON e.user_id = r.user_id AND e.id = r.transaction_id
       WHERE r.status = 'captured' AND (e.id IS NULL OR e.amount <> -r.captured_amount)`,
  },
  {
    check: 'balance = sum(grant remainders)',
    sql: `
      SELECT a.user_id, format('balance %s, grant remainders %s', a.balance, coalesce(g.total, 0))
             AS detail
        FROM accounts a
        LEFT JOIN (SELECT user_id, sum(remaining) AS total FROM grants GROUP BY user_id) g
          ON g.user_id = a.user_id
       WHERE a.balance <> coalesce(g.total, 0)`,
  },
  {
    check: 'no negative grant remainder',
    sql: `
      SELECT user_id, format('grant %s remaining %s', id, remaining) AS detail
        FROM grants WHERE remaining < 0`,
  },
  {
    check: 'next_expiry <= the soonest expiry of a grant with a remainder',
    sql: `
      SELECT a.user_id, format('next_expiry %s, grant %s expires %s', a.next_expiry, g.id,
                               g.expires_at) AS detail
        FROM accounts a
        JOIN LATERAL (SELECT id, expires_at FROM grants x
                       WHERE x.user_id = a.user_id AND x.remaining > 0
                         AND x.expires_at < 'infinity'
                       ORDER BY x.expires_at LIMIT 1) g ON true
       WHERE a.next_expiry IS NULL OR a.next_expiry > g.expires_at`,
  },
  {
    check: 'an expiry names a grant of its user, written at or after its expires_at',
    sql: `
      SELECT e.user_id, format('expiry %s of grant %s (expires %s) at %s', e.id, e.grant_id,
                               g.expires_at, e.created_at) AS detail
        FROM ledger_entries e
        LEFT JOIN grants g ON g.user_id = e.user_id AND g.id = e.grant_id
       WHERE e.type = 'expiry' AND (g.id IS NULL OR e.created_at < g.expires_at)`,
  },
  {
    check: "a debit's draws add up to its amount",
    sql: `
      SELECT e.user_id, format('debit %s of %s drew %s', e.id, -e.amount, d.total) AS detail
        FROM (SELECT user_id, debit_id, sum(amount) AS total FROM debit_draws
               GROUP BY user_id, debit_id) d
        LEFT JOIN ledger_entries e ON e.user_id = d.user_id AND e.id = d.debit_id
       WHERE e.id IS NULL OR -e.amount <> d.total`,
  },
];

export async function verifyLedger(db: Queryer): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const { check, sql } of CHECKS) {
    const { rows } = await db.query<{ user_id: string; detail: string }>(sql);
    violations.push(...rows.map((row) => ({ user_id: row.user_id, check, detail: row.detail })));
  }
  return violations;
}
