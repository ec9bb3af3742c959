import { Injectable } from '@nestjs/common';
import { Sql, type Statement } from '../database/sql.js';

export type DebitOutcome =
  | { result: 'debited'; transactionId: string; balance: number }
  | { result: 'insufficient_balance' }
  | { result: 'no_account' };

/** A charge of a batch: decided, or left for the next batch (see DEBIT_BATCH). */
export type BatchDebitOutcome = DebitOutcome | { result: 'deferred' };

export interface Debit {
  userId: string;
  amount: number;
  description: string;
}

export type CreditOutcome =
  { result: 'credited'; transactionId: string; balance: number } | { result: 'balance_limit' };

/**
 * The debit: one statement, atomic on its own. The conditional UPDATE takes the account row lock
 * and decides (balance >= amount); the ledger entry and the monthly usage rollup are written by
 * the same statement, from the same decision, or not at all. The CHECK constraint on balance is
 * the backstop, never the mechanism. Always returns one row, so a refusal can say why.
 */
const DEBIT: Statement = {
  name: 'charges_debit',
  text: `
    WITH debited AS (
      UPDATE accounts SET balance = balance - $2, updated_at = now()
       WHERE user_id = $1 AND balance >= $2
      RETURNING user_id, balance
    ), entry AS (
      INSERT INTO ledger_entries (user_id, type, amount, balance_after, description)
      SELECT user_id, 'debit', -$2::bigint, balance, $3 FROM debited
      RETURNING id, balance_after
    ), usage AS (
      INSERT INTO monthly_usage AS u (user_id, month, tokens_consumed, consultations_count)
      SELECT user_id, date_trunc('month', now() AT TIME ZONE 'UTC')::date, $2, 1 FROM debited
      ON CONFLICT (user_id, month) DO UPDATE
        SET tokens_consumed = u.tokens_consumed + excluded.tokens_consumed,
            consultations_count = u.consultations_count + 1
    )
    SELECT entry.id, entry.balance_after,
           EXISTS (SELECT 1 FROM accounts WHERE user_id = $1) AS account_exists
      FROM (SELECT 1) AS one LEFT JOIN entry ON true`,
};

/**
 * The batch debit (group commit): many charges in one statement, each decided as if they had run
 * one by one in arrival order ($1..$3 are parallel arrays, index = arrival). The accounts are
 * locked in user_id order (no deadlock between batches of several replicas; a single debit or
 * credit locks one row only), and each user's charges are decided from the locked balance:
 * - the running sum per user in arrival order: every charge that still fits is debited (a prefix);
 * - the charges right after it that exceed what is left are refused, as they would be one by one;
 * - from the first later charge that would fit again on, the rest are 'deferred': not decided here
 *   but re-queued, ahead of newer charges, for the next batch (per-user order is kept).
 * The ledger rows (one per charge, in arrival order, each with its balance after) and one rollup
 * update per user are written by the same statement, only for users whose UPDATE happened.
 */
const DEBIT_BATCH: Statement = {
  name: 'charges_debit_batch',
  text: `
    WITH input AS (
      SELECT t.ord, t.user_id, t.amount, t.description
        FROM unnest($1::uuid[], $2::bigint[], $3::text[])
             WITH ORDINALITY AS t (user_id, amount, description, ord)
    ), locked AS MATERIALIZED (
      SELECT a.user_id, a.balance FROM accounts AS a
       WHERE a.user_id = ANY ($1::uuid[])
       ORDER BY a.user_id
         FOR UPDATE
    ), running AS (
      SELECT i.ord, i.user_id, i.amount, i.description, l.balance,
             l.balance - sum(i.amount) OVER (PARTITION BY i.user_id ORDER BY i.ord) AS balance_after
        FROM input AS i JOIN locked AS l ON l.user_id = i.user_id
    ), remaining AS (
      SELECT r.*,
             coalesce(min(r.balance_after) FILTER (WHERE r.balance_after >= 0)
                        OVER (PARTITION BY r.user_id), r.balance) AS left_over
        FROM running AS r
    ), decided AS (
      SELECT m.ord, m.user_id, m.amount, m.description, m.balance_after,
             CASE WHEN m.balance_after >= 0 THEN 'debited'
                  WHEN m.ord >= min(m.ord) FILTER (WHERE m.balance_after < 0 AND m.amount <= m.left_over)
                                 OVER (PARTITION BY m.user_id) THEN 'deferred'
                  ELSE 'insufficient_balance' END AS result
        FROM remaining AS m
    ), totals AS (
      SELECT d.user_id, sum(d.amount) AS total, count(*) AS debits
        FROM decided AS d WHERE d.result = 'debited' GROUP BY d.user_id
    ), debited AS (
      UPDATE accounts AS a SET balance = a.balance - t.total, updated_at = now()
        FROM totals AS t
       WHERE a.user_id = t.user_id AND a.balance >= t.total
      RETURNING a.user_id
    ), entries AS (
      INSERT INTO ledger_entries (user_id, type, amount, balance_after, description)
      SELECT d.user_id, 'debit', -d.amount, d.balance_after, d.description
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
    SELECT i.ord, coalesce(d.result, 'no_account') AS result, e.id, e.balance_after
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
    INSERT INTO ledger_entries (user_id, type, amount, balance_after, description)
    SELECT user_id, 'credit', $2, balance, $3 FROM credited
    RETURNING id, balance_after`,
};

interface EntryRow {
  id: string | null;
  balance_after: number | null;
}

@Injectable()
export class ChargesRepository {
  constructor(private readonly sql: Sql) {}

  async debit(userId: string, amount: number, description: string): Promise<DebitOutcome> {
    const row = await this.sql.one<EntryRow & { account_exists: boolean }>(DEBIT, [
      userId,
      amount,
      description,
    ]);
    if (row.id !== null && row.balance_after !== null) {
      return { result: 'debited', transactionId: row.id, balance: row.balance_after };
    }
    return { result: row.account_exists ? 'insufficient_balance' : 'no_account' };
  }

  /** Outcomes in the order of `debits`. */
  async debitBatch(debits: Debit[]): Promise<BatchDebitOutcome[]> {
    const rows = await this.sql.query<EntryRow & { ord: number; result: string }>(DEBIT_BATCH, [
      debits.map((d) => d.userId),
      debits.map((d) => d.amount),
      debits.map((d) => d.description),
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
          return { result: row.result };
        default:
          throw new Error(`batch debit answered an unknown result ${row.result}`);
      }
    });
  }

  async credit(userId: string, amount: number, description: string): Promise<CreditOutcome> {
    const rows = await this.sql.query<EntryRow>(CREDIT, [userId, amount, description]);
    const row = rows[0];
    if (row?.id == null || row.balance_after == null) return { result: 'balance_limit' };
    return { result: 'credited', transactionId: row.id, balance: row.balance_after };
  }
}
