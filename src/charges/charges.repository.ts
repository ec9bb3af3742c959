import { Injectable } from '@nestjs/common';
import { type Queryable, Sql, type Statement, untilCurrent } from '../database/sql.js';
import {
  assertCovered,
  dueGrants,
  expiryRows,
  grantExpiry,
  liveDraws,
  lockedAccounts,
  nextExpiry,
  takeFromGrants,
} from '../grants/grant-sql.js';
import { dueHoldsOf } from '../reservations/due-holds.js';

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

/** A charge of a batch: decided, or left for the next batch ('deferred': a later charge of its
 *  user that the batch cannot decide in order; 'stale': its user's row changed after the
 *  statement's snapshot, see DEBIT). */
export type BatchDebitOutcome = DebitOutcome | { result: 'deferred' } | { result: 'stale' };

export type CreditOutcome =
  | { result: 'credited'; transactionId: string; balance: number }
  | { result: 'balance_limit' }
  | { result: 'invalid_expiry' };

/** A credit is a grant: when its remainder expires (null: never) and its priority (lower is
 *  consumed first). */
export interface GrantTerms {
  expiresAt: string | null;
  priority: number;
}

/**
 * The debit, single and batched (group commit): one statement for any number of charges, each
 * decided as if they had run one by one in arrival order ($1..$5 are parallel arrays, index =
 * arrival; a single charge is a batch of one). Locks, in this order: the users' holds past expiry
 * (user_id, HOLD_LOCK_ORDER), then the accounts in user_id order (no deadlock between batches of
 * several replicas), then the grants it changes. Each user's charges are decided on the locked
 * account row, from its available balance: balance - reserved + holds past expiry (freed exactly
 * at expires_at, as dueHolds) - the grant remainders past expiry that this statement expires
 * (grant-sql.ts; exactly at expires_at, without waiting for a sweep):
 * - the running sum per user in arrival order: every charge that still fits is debited (a prefix);
 * - the charges right after it that exceed what is left are refused, as they would be one by one;
 * - from the first later charge that would fit again on, the rest are 'deferred': not decided here
 *   but re-queued, ahead of newer charges, for the next batch (per-user order is kept).
 * A user whose account row changed between the statement's snapshot and its lock is 'stale'
 * (nothing written for that user; see grant-sql.ts): the batch re-queues those charges, the
 * single path runs the statement again inside a transaction that already holds the lock.
 * The tokens are drawn from the user's live grants in consumption order (recorded per debit in
 * debit_draws); the ledger rows (the expiries first, then one debit per charge in arrival order,
 * each with its balance after) and one rollup update per user are written by the same statement,
 * only for users whose account UPDATE happened. The CHECK constraint on balance is the backstop,
 * never the mechanism.
 */
const DEBIT: Statement = {
  name: 'charges_debit',
  text: `
    WITH RECURSIVE input AS (
      SELECT t.ord, t.user_id, t.amount, t.description, t.reference, t.client
        FROM unnest($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[])
             WITH ORDINALITY AS t (user_id, amount, description, reference, client, ord)
    ), ${dueHoldsOf('$1::uuid[]')}, ${lockedAccounts('$1::uuid[]', 'due')}, ${dueGrants()},
    avail AS (
      SELECT a.user_id, a.balance, a.reserved, a.current, a.expiring,
             0::bigint AS drawn,
             greatest(0, least(coalesce(d.amount, 0), a.balance - a.reserved)) AS expirable
        FROM acct AS a LEFT JOIN due_totals AS d ON d.user_id = a.user_id
    ), ${grantExpiry('avail')}, running AS (
      SELECT i.ord, i.user_id, i.amount, i.description, i.reference, i.client,
             v.balance - v.expirable - v.reserved AS available,
             sum(i.amount) OVER w AS upto,
             v.balance - v.expirable - sum(i.amount) OVER w AS balance_after,
             v.balance - v.expirable - v.reserved - sum(i.amount) OVER w AS available_after
        FROM input AS i JOIN avail AS v ON v.user_id = i.user_id
       WHERE v.current
      WINDOW w AS (PARTITION BY i.user_id ORDER BY i.ord)
    ), remaining AS (
      SELECT r.*,
             coalesce(min(r.available_after) FILTER (WHERE r.available_after >= 0)
                        OVER (PARTITION BY r.user_id), r.available) AS left_over
        FROM running AS r
    ), decided AS (
      SELECT m.ord, m.user_id, m.amount, m.description, m.reference, m.client, m.balance_after,
             m.upto,
             CASE WHEN m.available_after >= 0 THEN 'debited'
                  WHEN m.ord >= min(m.ord) FILTER (WHERE m.available_after < 0 AND m.amount <= m.left_over)
                                 OVER (PARTITION BY m.user_id) THEN 'deferred'
                  ELSE 'insufficient_balance' END AS result
        FROM remaining AS m
    ), totals AS (
      SELECT d.user_id, sum(d.amount) AS total, count(*) AS debits
        FROM decided AS d WHERE d.result = 'debited' GROUP BY d.user_id
    ), ${liveDraws('totals')}, changes AS (
      SELECT v.user_id, v.expirable + coalesce(t.total, 0) AS taken
        FROM avail AS v LEFT JOIN totals AS t ON t.user_id = v.user_id
       WHERE v.current AND (t.total IS NOT NULL OR v.expiring)
    ), updated AS (
      UPDATE accounts AS a
         SET balance = a.balance - c.taken, updated_at = now(),
             next_expiry = CASE WHEN a.next_expiry <= now() THEN ${nextExpiry('a.user_id')}
                                ELSE a.next_expiry END
        FROM changes AS c
       WHERE a.user_id = c.user_id AND (${assertCovered('c.user_id')})
      RETURNING a.user_id
    ), entries AS (
      INSERT INTO ledger_entries
             (user_id, type, amount, balance_after, description, reference, client, grant_id)
      SELECT r.user_id, r.type, r.amount, r.balance_after, r.description, r.reference, r.client,
             r.grant_id
        FROM (${expiryRows('(SELECT v.balance FROM avail AS v WHERE v.user_id = e.user_id)')}
              UNION ALL
              SELECT d.user_id, 'debit', -d.amount, d.balance_after, d.description, d.reference,
                     d.client, NULL, 1, d.ord
                FROM decided AS d WHERE d.result = 'debited') AS r
       WHERE r.user_id IN (SELECT user_id FROM updated)
       ORDER BY r.user_id, r.phase, r.position
      RETURNING id, user_id, type, balance_after
    ), draws AS (
      INSERT INTO debit_draws (user_id, debit_id, grant_id, amount)
      SELECT d.user_id, e.id, w.id,
             least(w.upto, d.upto) - greatest(w.upto - w.remaining, d.upto - d.amount)
        FROM decided AS d
        JOIN entries AS e
          ON e.type = 'debit' AND e.user_id = d.user_id AND e.balance_after = d.balance_after
        JOIN live_drawn AS w
          ON w.user_id = d.user_id AND w.upto - w.remaining < d.upto AND w.upto > d.upto - d.amount
       WHERE d.result = 'debited'
    ), ${takeFromGrants(['live_drawn'])}, usage AS (
      INSERT INTO monthly_usage AS mu (user_id, month, tokens_consumed, consultations_count)
      SELECT t.user_id, date_trunc('month', now() AT TIME ZONE 'UTC')::date, t.total, t.debits
        FROM totals AS t JOIN updated AS u ON u.user_id = t.user_id
      ON CONFLICT (user_id, month) DO UPDATE
        SET tokens_consumed = mu.tokens_consumed + excluded.tokens_consumed,
            consultations_count = mu.consultations_count + excluded.consultations_count
    )
    SELECT i.ord,
           CASE WHEN v.user_id IS NULL THEN 'no_account'
                WHEN NOT v.current THEN 'stale'
                ELSE d.result END AS result,
           e.id, e.balance_after
      FROM input AS i
      LEFT JOIN avail AS v ON v.user_id = i.user_id
      LEFT JOIN decided AS d ON d.ord = i.ord
      LEFT JOIN entries AS e
        ON d.result = 'debited' AND e.type = 'debit' AND e.user_id = d.user_id
       AND e.balance_after = d.balance_after
     ORDER BY i.ord`,
};

/**
 * The credit: creates the account on first credit, refuses (no row) a balance past 2^53-1, and
 * records the credit as a grant named by its ledger row (remaining = amount). `expires_at` ($6,
 * null: never) must lie in the future by the database clock and at most 10 years ahead (else
 * nothing is written and `valid_expiry` is false); the account's next_expiry becomes the sooner
 * of the two.
 */
const CREDIT: Statement = {
  name: 'charges_credit',
  text: `
    WITH valid AS (
      SELECT $6::timestamptz IS NULL
             OR ($6::timestamptz > now() AND $6::timestamptz <= now() + interval '10 years') AS ok
    ), credited AS (
      INSERT INTO accounts AS a (user_id, balance, next_expiry)
      SELECT $1, $2, $6::timestamptz FROM valid WHERE ok
      ON CONFLICT (user_id) DO UPDATE
        SET balance = a.balance + excluded.balance, updated_at = now(),
            next_expiry = least(a.next_expiry, excluded.next_expiry)
        WHERE a.balance <= 9007199254740991 - excluded.balance
      RETURNING user_id, balance
    ), entry AS (
      INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, reference, client)
      SELECT user_id, 'credit', $2, balance, $3, $4, $5 FROM credited
      RETURNING user_id, id, seq, balance_after
    ), granted AS (
      INSERT INTO grants
             (user_id, id, seq, amount, remaining, priority, expires_at, description, reference)
      SELECT user_id, id, seq, $2, $2, $7, coalesce($6::timestamptz, 'infinity'), $3, $4
        FROM entry
    )
    SELECT valid.ok AS valid_expiry, entry.id, entry.balance_after
      FROM valid LEFT JOIN entry ON true`,
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

  /**
   * One charge, by the same statement as the batch. A 'stale' answer (the account changed while
   * the statement waited for its lock) runs it again inside a transaction: the first run there
   * takes the lock, so the second sees the current grants.
   */
  async debit(movement: MoneyMovement, db: Queryable = this.sql): Promise<DebitOutcome> {
    const outcome = await untilCurrent(
      this.sql,
      db,
      async (target) => (await this.debitBatch([movement], target))[0],
      (o) => o.result === 'stale' || o.result === 'deferred',
    );
    if (outcome.result === 'stale' || outcome.result === 'deferred') {
      throw new Error(`a single debit answered ${outcome.result}`);
    }
    return outcome;
  }

  /** Outcomes in the order of `debits`. */
  async debitBatch(
    debits: MoneyMovement[],
    db: Queryable = this.sql,
  ): Promise<BatchDebitOutcome[]> {
    const rows = await db.query<EntryRow & { ord: number; result: string }>(DEBIT, [
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
        case 'stale':
          return { result: row.result };
        default:
          throw new Error(`batch debit answered an unknown result ${row.result}`);
      }
    });
  }

  async credit(
    movement: MoneyMovement,
    terms: GrantTerms,
    db: Queryable = this.sql,
  ): Promise<CreditOutcome> {
    const row = await db.one<EntryRow & { valid_expiry: boolean }>(CREDIT, [
      ...values(movement),
      terms.expiresAt,
      terms.priority,
    ]);
    if (!row.valid_expiry) return { result: 'invalid_expiry' };
    if (row.id == null || row.balance_after == null) return { result: 'balance_limit' };
    return { result: 'credited', transactionId: row.id, balance: row.balance_after };
  }
}
