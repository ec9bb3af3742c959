import pg from 'pg';
import { benchUser, benchUserSql } from './measurement.js';
import { LIMIT_DESCRIPTION } from './pg-limit.js';

export interface BenchPopulation {
  users: number;
  /** Index of the one hot user. */
  hot: number;
  /** A user with 10 ledger rows, and one with `bigHistory` rows (flat-cost checks). */
  small: number;
  big: number;
  bigHistory: number;
}

export function population(users: number, bigHistory: number): BenchPopulation {
  return { users, hot: 0, small: users + 1, big: users + 2, bigHistory };
}

const BALANCE = 1_000_000_000_000;

/**
 * Accounts with one credit (one grant) each (balance large enough that no charge is refused),
 * plus two users with long and short histories whose rollup rows match their ledgers: every
 * invariant the bench checks afterwards already holds for the seed.
 */
export async function seed(pool: pg.Pool, p: BenchPopulation): Promise<void> {
  await pool.query(
    `INSERT INTO accounts (user_id, balance)
       SELECT ${benchUserSql('i')}, $2 FROM generate_series(0, $1::int) AS i`,
    [p.users, BALANCE],
  );
  await pool.query(
    `INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client)
       SELECT ${benchUserSql('i')}, 'credit', $2, $2, 'bench seed', 'bench'
         FROM generate_series(0, $1::int) AS i ORDER BY i`,
    [p.users, BALANCE],
  );
  for (const [index, rows] of [
    [p.small, 10],
    [p.big, p.bigHistory],
  ]) {
    await history(pool, benchUser(index), rows);
  }
  // Each seeded credit is the user's one non-expiring grant, holding the whole balance.
  await pool.query(
    `INSERT INTO grants (user_id, id, seq, amount, remaining, description)
     SELECT e.user_id, e.id, e.seq, e.amount, a.balance, e.description
       FROM ledger_entries AS e JOIN accounts AS a ON a.user_id = e.user_id
      WHERE e.type = 'credit'`,
  );
  await pool.query('ANALYZE');
}

/** One credit, then `rows - 1` debits of 1 token, and the matching rollup row. */
async function history(pool: pg.Pool, user: string, rows: number): Promise<void> {
  const debits = rows - 1;
  await pool.query('INSERT INTO accounts (user_id, balance) VALUES ($1, $2)', [
    user,
    BALANCE - debits,
  ]);
  await pool.query(
    `INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client)
     VALUES ($1, 'credit', $2, $2, 'bench seed', 'bench')`,
    [user, BALANCE],
  );
  await pool.query(
    `INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client)
       SELECT $1, 'debit', -1, $2::bigint - i, 'bench history', 'bench'
         FROM generate_series(1, $3::int) AS i ORDER BY i`,
    [user, BALANCE, debits],
  );
  await pool.query(
    `INSERT INTO monthly_usage (user_id, month, tokens_consumed, consultations_count)
     VALUES ($1, date_trunc('month', now() AT TIME ZONE 'UTC')::date, $2, $2)`,
    [user, debits],
  );
}

export interface Invariants {
  accounts: number;
  /** Accounts whose balance differs from the sum of their ledger amounts. */
  ledgerMismatches: number;
  /** Users whose current-month rollup differs from their ledger debits of the month. */
  rollupMismatches: number;
  negativeBalances: number;
}

/** Checked in the database after the load: money neither created nor lost, rollup exact (but
 *  for the limit's bare debits, which skip the rollup on purpose). */
export async function checkInvariants(pool: pg.Pool): Promise<Invariants> {
  const { rows } = await pool.query<{
    accounts: number;
    ledger_mismatches: number;
    negative: number;
  }>(
    `SELECT count(*)::int AS accounts,
            count(*) FILTER (WHERE a.balance <> coalesce(l.total, 0))::int AS ledger_mismatches,
            count(*) FILTER (WHERE a.balance < 0)::int AS negative
       FROM accounts a
       LEFT JOIN (SELECT user_id, sum(amount) AS total FROM ledger_entries GROUP BY user_id) l
         ON l.user_id = a.user_id`,
  );
  const rollup = await pool.query<{ mismatches: number }>(
    `WITH month AS (SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date AS first),
     ledger AS (
       SELECT user_id, -sum(amount) AS tokens, count(*) AS n FROM ledger_entries, month
        WHERE type = 'debit' AND description <> $1 AND created_at >= month.first::timestamp AT TIME ZONE 'UTC'
        GROUP BY user_id)
     SELECT count(*)::int AS mismatches
       FROM ledger l FULL JOIN (SELECT u.* FROM monthly_usage u, month WHERE u.month = month.first) u
         ON u.user_id = l.user_id
      WHERE coalesce(l.tokens, 0) <> coalesce(u.tokens_consumed, 0)
         OR coalesce(l.n, 0) <> coalesce(u.consultations_count, 0)`,
    [LIMIT_DESCRIPTION],
  );
  return {
    accounts: rows[0].accounts,
    ledgerMismatches: rows[0].ledger_mismatches,
    rollupMismatches: rollup.rows[0].mismatches,
    negativeBalances: rows[0].negative,
  };
}
