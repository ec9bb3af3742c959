import { Injectable } from '@nestjs/common';
import { type Queryable, Sql, type Statement, untilCurrent } from '../database/sql.js';
import { countConsultation } from '../usage/usage-rollup.js';
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
import { dueHoldsOf, HOLD_LOCK_ORDER } from './due-holds.js';

export type ReservationStatus = 'held' | 'captured' | 'released' | 'expired';

export interface ReservationRow {
  id: string;
  user_id: string;
  amount: number;
  description: string;
  reference: string | null;
  /** As of the database clock: a hold past expires_at reads 'expired' before the sweep. */
  status: ReservationStatus;
  expires_at: Date;
  created_at: Date;
  captured_amount: number | null;
  transaction_id: string | null;
}

export interface NewHold {
  userId: string;
  amount: number;
  description: string;
  reference: string | null;
  client: string;
  ttlSeconds: number;
}

export interface Capture {
  userId: string;
  reservationId: string;
  /** null: the held amount. */
  amount: number | null;
  allowOverage: boolean;
  description: string | null;
  reference: string | null;
  client: string;
}

export type HoldOutcome =
  | { result: 'held'; reservation: ReservationRow }
  | { result: 'insufficient_balance' }
  | { result: 'no_account' };

/** Why a capture or release did not happen: the reservation's state, read under its row lock. */
export interface Refusal {
  state: ReservationStatus | 'gone';
  held: number;
}

export type CaptureOutcome =
  | { result: 'captured'; transactionId: string; balance: number; available: number }
  | ({ result: 'refused' } & Refusal);

export type ReleaseOutcome =
  { result: 'released'; reservation: ReservationRow } | ({ result: 'refused' } & Refusal);

function columns(alias: string): string {
  return `${alias}.id, ${alias}.user_id, ${alias}.amount, ${alias}.description, ${alias}.reference,
    CASE WHEN ${alias}.status = 'held' AND ${alias}.expires_at <= now() THEN 'expired'
         ELSE ${alias}.status END AS status,
    ${alias}.expires_at, ${alias}.created_at, ${alias}.captured_amount, ${alias}.transaction_id`;
}

/** A hold: reserves `amount` of the available balance on the locked account row, then records
 *  the reservation, in one statement. It first expires the user's due grant remainders that no
 *  hold reserves (grant-sql.ts), so the available balance never counts an expired token. */
const HOLD: Statement = {
  name: 'reservations_hold',
  text: `
    WITH RECURSIVE ${dueHoldsOf('ARRAY[$1::uuid]')}, ${lockedAccounts('ARRAY[$1::uuid]', 'due')},
    ${dueGrants()}, avail AS (
      SELECT a.user_id, a.balance, a.reserved, a.current, a.expiring, 0::bigint AS drawn,
             greatest(0, least(coalesce(d.amount, 0), a.balance - a.reserved)) AS expirable
        FROM acct AS a LEFT JOIN due_totals AS d ON d.user_id = a.user_id
       WHERE a.current
    ), ${grantExpiry('avail')}, decision AS (
      SELECT v.*, v.balance - v.expirable - v.reserved >= $2 AS ok FROM avail AS v
    ), updated AS (
      UPDATE accounts AS a
         SET balance = a.balance - d.expirable,
             reserved = a.reserved + CASE WHEN d.ok THEN $2 ELSE 0 END, updated_at = now(),
             next_expiry = CASE WHEN a.next_expiry <= now() THEN ${nextExpiry('a.user_id')}
                                ELSE a.next_expiry END
        FROM decision AS d
       WHERE a.user_id = d.user_id AND (d.ok OR d.expiring)
      RETURNING a.user_id
    ), entries AS (
      INSERT INTO ledger_entries
             (user_id, type, amount, balance_after, description, reference, client, grant_id)
      SELECT r.user_id, r.type, r.amount, r.balance_after, r.description, r.reference, r.client,
             r.grant_id
        FROM (${expiryRows('(SELECT v.balance FROM avail AS v)')}) AS r
       WHERE r.user_id IN (SELECT user_id FROM updated)
       ORDER BY r.position
    ), ${takeFromGrants([])}, reservation AS (
      INSERT INTO reservations AS r (user_id, amount, description, reference, client, expires_at)
      SELECT d.user_id, $2, $3, $4, $5, now() + make_interval(secs => $6)
        FROM decision AS d WHERE d.ok AND d.user_id IN (SELECT user_id FROM updated)
      RETURNING ${columns('r')}
    )
    SELECT reservation.*, EXISTS (SELECT 1 FROM acct) AS account_exists,
           EXISTS (SELECT 1 FROM acct WHERE NOT current) AS stale
      FROM (SELECT 1) AS one LEFT JOIN reservation ON true`,
};

const FIND: Statement = {
  name: 'reservations_find',
  text: `SELECT ${columns('r')} FROM reservations r WHERE r.id = $1`,
};

/**
 * A capture, in one statement. The reservation row is locked first (so concurrent captures and
 * releases of one hold queue, and each sees the state the previous one left), together with the
 * user's other holds past expiry (`due`, as in dueHoldsOf) and in the same HOLD_LOCK_ORDER as
 * every other statement that locks several holds, then the account row (lockedAccounts); the
 * debit, the ledger entries, the draws, the usage rollup and the reservation's new state are
 * written together or not at all. Up to the held amount the tokens are already reserved; an
 * overage must fit in the available balance net of the due grant remainders.
 *
 * Grants: the held tokens are guaranteed even if their grant expired meanwhile, so the debit
 * draws first from due grant remainders (earliest first), then from live grants in consumption
 * order; what then remains of the due remainders and no other hold reserves expires in the same
 * statement (ledger rows after the debit). The answer's balance is the one after all of them.
 */
const CAPTURE: Statement = {
  name: 'reservations_capture',
  text: `
    WITH RECURSIVE holds AS MATERIALIZED (
      SELECT id, amount, description, reference, status, expires_at <= now() AS past_expiry
        FROM reservations
       WHERE user_id = $1 AND (id = $2 OR (status = 'held' AND expires_at <= now()))
       ${HOLD_LOCK_ORDER}
         FOR UPDATE
    ), target AS (
      SELECT * FROM holds WHERE id = $2
    ), due AS (
      SELECT $1::uuid AS user_id, coalesce(sum(amount), 0)::bigint AS amount FROM holds
       WHERE id <> $2 AND status = 'held' AND past_expiry
    ), ${lockedAccounts('ARRAY[$1::uuid]', 'due')}, ${dueGrants()}, capture AS (
      SELECT amount AS held, coalesce($3::bigint, amount) AS debit,
             coalesce($5::text, description) AS description,
             coalesce($6::text, reference) AS reference
        FROM target
       WHERE status = 'held' AND NOT past_expiry
         AND (coalesce($3::bigint, amount) <= amount OR $4::boolean)
    ), plan AS (
      SELECT a.user_id, a.balance, a.reserved, a.expiring, c.held, c.debit, c.description,
             c.reference, least(c.debit, t.due) AS drawn, c.debit - least(c.debit, t.due) AS total,
             greatest(0, least(t.due - least(c.debit, t.due),
                               a.balance - c.debit - (a.reserved - c.held))) AS expirable
        FROM acct AS a CROSS JOIN capture AS c
        CROSS JOIN LATERAL (SELECT coalesce(sum(d.amount), 0) AS due FROM due_totals AS d) AS t
       WHERE a.current
         AND c.debit - c.held <= greatest(0, a.balance - a.reserved - t.due)
    ), ${grantExpiry('plan')}, ${liveDraws('plan')}, updated AS (
      UPDATE accounts AS a
         SET balance = a.balance - p.debit - p.expirable, reserved = a.reserved - p.held,
             updated_at = now(),
             next_expiry = CASE WHEN a.next_expiry <= now() THEN ${nextExpiry('a.user_id')}
                                ELSE a.next_expiry END
        FROM plan AS p
       WHERE a.user_id = p.user_id AND (${assertCovered('p.user_id')})
      RETURNING a.user_id, a.balance, a.balance - a.reserved + (SELECT amount FROM due) AS available
    ), entries AS (
      INSERT INTO ledger_entries
             (user_id, type, amount, balance_after, description, reference, client, grant_id)
      SELECT r.user_id, r.type, r.amount, r.balance_after, r.description, r.reference, r.client,
             r.grant_id
        FROM (SELECT p.user_id, 'debit' AS type, -p.debit AS amount,
                     p.balance - p.debit AS balance_after, p.description, p.reference,
                     $7::text AS client, NULL::uuid AS grant_id, -1 AS phase, 0 AS position
                FROM plan AS p
              UNION ALL
              ${expiryRows('(SELECT p.balance - p.debit FROM plan AS p)')}) AS r
       WHERE r.user_id IN (SELECT user_id FROM updated)
       ORDER BY r.phase, r.position
      RETURNING id, type, balance_after
    ), entry AS (
      SELECT id, balance_after FROM entries WHERE type = 'debit'
    ), draws AS (
      INSERT INTO debit_draws (user_id, debit_id, grant_id, amount)
      SELECT x.user_id, e.id, x.id, sum(x.amount)
        FROM (SELECT user_id, id, amount FROM due_drawn
              UNION ALL SELECT user_id, id, amount FROM live_drawn) AS x
        CROSS JOIN entry AS e
       GROUP BY x.user_id, e.id, x.id
    ), ${takeFromGrants(['due_drawn', 'live_drawn'])}, debited AS (
      SELECT p.user_id, p.debit FROM plan AS p WHERE p.user_id IN (SELECT user_id FROM updated)
    ), ${countConsultation('debited', 'debit')}, captured AS (
      UPDATE reservations r
         SET status = 'captured', captured_amount = d.debit, transaction_id = e.id,
             resolved_at = now()
        FROM debited d, entry e
       WHERE r.user_id = $1 AND r.id = $2
    )
    SELECT t.status, t.past_expiry, t.amount AS held, e.id AS transaction_id,
           u.balance AS balance_after, u.available,
           EXISTS (SELECT 1 FROM acct WHERE NOT current) AS stale
      FROM (SELECT 1) AS one LEFT JOIN target t ON true LEFT JOIN entry e ON true
      LEFT JOIN updated u ON true`,
};

/** A release, in one statement: the reservation row locked first, then the account row. */
const RELEASE: Statement = {
  name: 'reservations_release',
  text: `
    WITH target AS (
      SELECT status, expires_at <= now() AS past_expiry, amount
        FROM reservations WHERE user_id = $1 AND id = $2 FOR UPDATE
    ), released AS (
      UPDATE reservations r SET status = 'released', resolved_at = now()
        FROM target t
       WHERE r.user_id = $1 AND r.id = $2 AND t.status = 'held' AND NOT t.past_expiry
      RETURNING ${columns('r')}
    ), account AS (
      UPDATE accounts a SET reserved = a.reserved - r.amount, updated_at = now()
        FROM released r WHERE a.user_id = $1
    )
    SELECT t.status AS locked_status, t.past_expiry, t.amount AS held, released.*
      FROM (SELECT 1) AS one LEFT JOIN target t ON true LEFT JOIN released ON true`,
};

/**
 * The sweep: marks a bounded batch of holds past expires_at as expired and takes them out of
 * accounts.reserved (reservation rows locked first, as everywhere). SKIP LOCKED lets replicas
 * sweep together, and skips holds a debit is counting right now. Accounts are locked in user_id
 * order, as the batch debit locks them: two statements that lock several accounts in different
 * orders deadlock.
 */
const SWEEP: Statement = {
  name: 'reservations_sweep',
  text: `
    WITH past AS (
      SELECT user_id, id FROM reservations
       WHERE status = 'held' AND expires_at <= now()
       ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED
    ), swept AS (
      UPDATE reservations r SET status = 'expired', resolved_at = now()
        FROM past WHERE r.user_id = past.user_id AND r.id = past.id
      RETURNING r.user_id, r.amount
    ), totals AS (
      SELECT user_id, sum(amount) AS amount FROM swept GROUP BY user_id
    ), ordered AS MATERIALIZED (
      SELECT a.user_id FROM accounts a WHERE a.user_id IN (SELECT user_id FROM totals)
       ORDER BY a.user_id FOR UPDATE
    ), accounts_updated AS (
      UPDATE accounts a SET reserved = a.reserved - t.amount FROM totals t, ordered o
       WHERE a.user_id = t.user_id AND o.user_id = t.user_id
    )
    SELECT count(*)::bigint AS swept FROM swept`,
};

interface RefusalRow {
  status: ReservationStatus | null;
  past_expiry: boolean | null;
  held: number | null;
}

function refusal(row: RefusalRow): { result: 'refused' } & Refusal {
  const state = row.status === null ? 'gone' : row.past_expiry ? 'expired' : row.status;
  return { result: 'refused', state, held: row.held ?? 0 };
}

@Injectable()
export class ReservationsRepository {
  constructor(private readonly sql: Sql) {}

  async hold(hold: NewHold, db: Queryable = this.sql): Promise<HoldOutcome> {
    const values = [
      hold.userId,
      hold.amount,
      hold.description,
      hold.reference,
      hold.client,
      hold.ttlSeconds,
    ];
    const row = await untilCurrent(
      this.sql,
      db,
      (target) =>
        target.one<Partial<ReservationRow> & { account_exists: boolean; stale: boolean }>(
          HOLD,
          values,
        ),
      (r) => r.stale,
    );
    if (row.id == null)
      return { result: row.account_exists ? 'insufficient_balance' : 'no_account' };
    const { account_exists: exists, ...rest } = row;
    const reservation: Partial<ReservationRow> & { stale?: boolean } = rest;
    delete reservation.stale;
    return exists
      ? { result: 'held', reservation: reservation as ReservationRow }
      : { result: 'no_account' };
  }

  async find(id: string): Promise<ReservationRow | undefined> {
    const rows = await this.sql.query<ReservationRow>(FIND, [id]);
    return rows[0];
  }

  async capture(capture: Capture, db: Queryable = this.sql): Promise<CaptureOutcome> {
    const values = [
      capture.userId,
      capture.reservationId,
      capture.amount,
      capture.allowOverage,
      capture.description,
      capture.reference,
      capture.client,
    ];
    const row = await untilCurrent(
      this.sql,
      db,
      (target) =>
        target.one<
          RefusalRow & {
            transaction_id: string | null;
            balance_after: number;
            available: number;
            stale: boolean;
          }
        >(CAPTURE, values),
      (r) => r.stale,
    );
    if (row.transaction_id === null) return refusal(row);
    return {
      result: 'captured',
      transactionId: row.transaction_id,
      balance: row.balance_after,
      available: row.available,
    };
  }

  async release(userId: string, id: string, db: Queryable = this.sql): Promise<ReleaseOutcome> {
    const row = await db.one<
      RefusalRow & { locked_status: ReservationStatus | null } & Partial<ReservationRow>
    >(RELEASE, [userId, id]);
    const { locked_status, past_expiry, held, ...reservation } = row;
    if (reservation.id == null) return refusal({ status: locked_status, past_expiry, held });
    return { result: 'released', reservation: reservation as ReservationRow };
  }

  /** Marks up to `limit` holds past expiry as expired; returns how many. */
  async sweep(limit: number): Promise<number> {
    const row = await this.sql.one<{ swept: number }>(SWEEP, [limit]);
    return row.swept;
  }
}
