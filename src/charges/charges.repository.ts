import { Injectable } from '@nestjs/common';
import { type Queryable, Sql, type Statement } from '../database/sql.js';
import { dueHolds } from '../reservations/due-holds.js';
import { countConsultation } from '../usage/usage-rollup.js';

/** A debit or credit as the ledger records it. */
export interface MoneyMovement {
  userId: string;
  amount: number;
  description: string;
  reference: string | null;
  /** The calling client, recorded on the ledger row. */
  client: string;
}

export type DebitOutcome =
  | { result: 'debited'; transactionId: string; balance: number }
  | { result: 'insufficient_balance' }
  | { result: 'no_account' };

/** A charge of a batch: decided, left for the next batch, or to be run alone by the single
 *  statement (its user has a hold past expiry not yet swept; see DEBIT_BATCH). */
export type BatchDebitOutcome = DebitOutcome | { result: 'deferred' } | { result: 'single' };

export type CreditOutcome =
  { result: 'credited'; transactionId: string; balance: number } | { result: 'balance_limit' };

/**
 * The debit: one statement, atomic on its own. The conditional UPDATE takes the account row lock
 * and decides on the available balance (balance - reserved + holds past expiry >= amount, see
 * dueHolds); the ledger entry and the monthly usage rollup are written by the same statement, from
 * the same decision, or not at all. The CHECK constraint on balance is the backstop, never the
 * mechanism. Always returns one row, so a refusal can say why.
 */
const DEBIT: Statement = {
  name: 'charges_debit',
  text: `
    WITH ${dueHolds()}, debited AS (
      UPDATE accounts SET balance = balance - $2, updated_at = now()
       WHERE user_id = $1 AND balance - reserved + (SELECT amount FROM due) >= $2
      RETURNING user_id, balance
    ), entry AS (
      INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, reference, client)
      SELECT user_id, 'debit', -$2::bigint, balance, $3, $4, $5 FROM debited
      RETURNING id, balance_after
    ), ${countConsultation('debited', '$2::bigint')}
    SELECT entry.id, entry.balance_after,
           EXISTS (SELECT 1 FROM accounts WHERE user_id = $1) AS account_exists
      FROM (SELECT 1) AS one LEFT JOIN entry ON true`,
};

/**
 * The batch debit (group commit): many charges in one statement, each decided as if they had run
 * one by one in arrival order ($1..$5 are parallel arrays, index = arrival). The accounts are
 * locked in user_id order (no deadlock between batches of several replicas; the batch locks no
 * reservation), and each user's charges are decided from the locked row's available balance
 * (balance - reserved), as the single debit does:
 * - the running sum per user in arrival order: every charge that still fits is debited (a prefix);
 * - the charges right after it that exceed what is left are refused, as they would be one by one;
 * - from the first later charge that would fit again on, the rest are 'deferred': not decided here
 *   but re-queued, ahead of newer charges, for the next batch (per-user order is kept).
 * A user with a hold past expires_at that the sweep has not yet marked is left out ('single'):
 * the single statement frees such a hold exactly at expires_at (dueHolds), this one would count
 * it as still reserved. The ledger rows (one per charge, in arrival order, each with its balance
 * after) and one rollup update per user are written by the same statement, only for users whose
 * UPDATE happened.
 */
const DEBIT_BATCH: Statement = {
  name: 'charges_debit_batch',
  text: `
    WITH input AS (
      SELECT t.ord, t.user_id, t.amount, t.description, t.reference, t.client
        FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[])
             WITH ORDINALITY AS t (user_id, amount, description, reference, client, ord)
    ), locked AS MATERIALIZED (
      SELECT a.user_id, a.balance, a.reserved FROM accounts AS a
       WHERE a.user_id = ANY ($1::uuid[])
       ORDER BY a.user_id
         FOR UPDATE
    ), due AS (
      SELECT DISTINCT r.user_id FROM reservations AS r
       WHERE r.user_id = ANY ($1::uuid[]) AND r.status = 'held' AND r.expires_at <= now()
    ), running AS (
      SELECT i.ord, i.user_id, i.amount, i.description, i.reference, i.client,
             l.balance - l.reserved AS available,
             l.balance - sum(i.amount) OVER w AS balance_after,
             l.balance - l.reserved - sum(i.amount) OVER w AS available_after
        FROM input AS i JOIN locked AS l ON l.user_id = i.user_id
       WHERE i.user_id NOT IN (SELECT user_id FROM due)
      WINDOW w AS (PARTITION BY i.user_id ORDER BY i.ord)
    ), remaining AS (
      SELECT r.*,
             coalesce(min(r.available_after) FILTER (WHERE r.available_after >= 0)
                        OVER (PARTITION BY r.user_id), r.available) AS left_over
        FROM running AS r
    ), decided AS (
      SELECT m.ord, m.user_id, m.amount, m.description, m.reference, m.client, m.balance_after,
             CASE WHEN m.available_after >= 0 THEN 'debited'
                  WHEN m.ord >= min(m.ord) FILTER (WHERE m.available_after < 0 AND m.amount <= m.left_over)
                                 OVER (PARTITION BY m.user_id) THEN 'deferred'
                  ELSE 'insufficient_balance' END AS result
        FROM remaining AS m
    ), totals AS (
      SELECT d.user_id, sum(d.amount) AS total, count(*) AS debits
        FROM decided AS d WHERE d.result = 'debited' GROUP BY d.user_id
    ), debited AS (
      UPDATE accounts AS a SET balance = a.balance - t.total, updated_at = now()
        FROM totals AS t
       WHERE a.user_id = t.user_id AND a.balance - a.reserved >= t.total
      RETURNING a.user_id
    ), entries AS (
      INSERT INTO ledger_entries
             (user_id, type, amount, balance_after, description, reference, client)
      SELECT d.user_id, 'debit', -d.amount, d.balance_after, d.description, d.reference, d.client
        FROM decided AS d JOIN debited AS u ON u.user_id = d.user_id
       WHERE d.result = 'debited'
       ORDER BY d.ord
      RETURNING id, user_id, balance_after
    ), usage AS (
      INSERT INTO monthly_usage AS mu (user_id, month, tokens_consumed, consultations_count)
      SELECT t.user_id, date_trunc('month', now() AT TIME ZONE 'UTC')::date, t.total, t.debits
        FROM totals AS t JOIN debited AS u ON u.user_id = t.user_id
      ON CONFLICT (user_id, month) DO UPDATE
        SET tokens_consumed = mu.tokens_consumed + excluded.tokens_consumed,
            consultations_count = mu.consultations_count + excluded.consultations_count
    )
    SELECT i.ord,
           CASE WHEN i.user_id IN (SELECT user_id FROM due) THEN 'single'
                ELSE coalesce(d.result, 'no_account') END AS result,
           e.id, e.balance_after
      FROM input AS i
      LEFT JOIN decided AS d ON d.ord = i.ord
      LEFT JOIN entries AS e
        ON d.result = 'debited' AND e.user_id = d.user_id AND e.balance_after = d.balance_after
     ORDER BY i.ord`,
};

/**
 * The credit: creates the account on first credit, refuses (no row) a balance past 2^53-1.
 */
const CREDIT: Statement = {
  name: 'charges_credit',
  text: `
    WITH credited AS (
      INSERT INTO accounts AS a (user_id, balance) VALUES ($1, $2)
      ON CONFLICT (user_id) DO UPDATE
        SET balance = a.balance + excluded.balance, updated_at = now()
        WHERE a.balance <= 9007199254740991 - excluded.balance
      RETURNING user_id, balance
    )
    INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, reference, client)
    SELECT user_id, 'credit', $2, balance, $3, $4, $5 FROM credited
    RETURNING id, balance_after`,
};

function values(m: MoneyMovement): unknown[] {
  return [m.userId, m.amount, m.description, m.reference, m.client];
}

interface EntryRow {
  id: string | null;
  balance_after: number | null;
}

@Injectable()
export class ChargesRepository {
  constructor(private readonly sql: Sql) {}

  async debit(movement: MoneyMovement, db: Queryable = this.sql): Promise<DebitOutcome> {
    const row = await db.one<EntryRow & { account_exists: boolean }>(DEBIT, values(movement));
    if (row.id !== null && row.balance_after !== null) {
      return { result: 'debited', transactionId: row.id, balance: row.balance_after };
    }
    return { result: row.account_exists ? 'insufficient_balance' : 'no_account' };
  }

  /** Outcomes in the order of `debits`. */
  async debitBatch(
    debits: MoneyMovement[],
    db: Queryable = this.sql,
  ): Promise<BatchDebitOutcome[]> {
    const rows = await db.query<EntryRow & { ord: number; result: string }>(DEBIT_BATCH, [
      debits.map((d) => d.userId),
      debits.map((d) => d.amount),
      debits.map((d) => d.description),
      debits.map((d) => d.reference),
      debits.map((d) => d.client),
    ]);
    if (rows.length !== debits.length) {
      throw new Error(`batch debit answered ${rows.length} rows for ${debits.length} charges`);
    }
    return rows.map((row): BatchDebitOutcome => {
      switch (row.result) {
        case 'debited':
          // No entry means the user's UPDATE did not happen (cannot under the lock): nothing
          // was written for that user, so the charge is simply tried again.
          return row.id !== null && row.balance_after !== null
            ? { result: 'debited', transactionId: row.id, balance: row.balance_after }
            : { result: 'deferred' };
        case 'insufficient_balance':
        case 'no_account':
        case 'deferred':
        case 'single':
          return { result: row.result };
        default:
          throw new Error(`batch debit answered an unknown result ${row.result}`);
      }
    });
  }

  async credit(movement: MoneyMovement, db: Queryable = this.sql): Promise<CreditOutcome> {
    const rows = await db.query<EntryRow>(CREDIT, values(movement));
    const row = rows[0];
    if (row?.id == null || row.balance_after == null) return { result: 'balance_limit' };
    return { result: 'credited', transactionId: row.id, balance: row.balance_after };
  }
}
