import { Injectable } from '@nestjs/common';
import type { Queryable, Statement } from '../database/sql.js';
import { Sql } from '../database/sql.js';

/** Whose key: the calling client's, for one user (user_id first, as in every index here). */
export interface KeyScope {
  userId: string;
  client: string;
  key: string;
}

/** A key as a command carries it: whose, and the hash of the request it was sent with. */
export interface KeyClaim extends KeyScope {
  requestHash: string;
}

/** What a batch's claim found for one key. */
export type BatchClaim = 'claimed' | 'taken' | 'in_flight';

export interface StoredAnswer {
  requestHash: string;
  status: number;
  body: string;
}

/** One claimed key in flight is one transaction-scoped advisory lock on the key's hash (a pair of
 *  int4 keys, a space apart from the migrations' bigint lock). Every path that claims a key takes
 *  it first, so the unique index never makes a claim wait on another transaction: the single path
 *  waits on the lock (bounded by lock_timeout), the batch only tries it. A hash collision costs a
 *  wait, never a wrong answer: the unique index still decides. */
function keyLock(userId: string, client: string, key: string): string {
  return `7655, hashtext(concat_ws(E'\\n', ${userId}::uuid::text, ${client}::text, ${key}::text))`;
}

/**
 * Claims the key inside the caller's transaction, after waiting for the key's advisory lock: a
 * second request with the same key waits until the first commits (then finds its answer) or rolls
 * back (then claims the key itself); a wait past lock_timeout fails with 55P03.
 */
const CLAIM: Statement = {
  name: 'idempotency_claim',
  text: `
    WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(${keyLock('$1', '$2', '$3')}))
    INSERT INTO idempotency_keys (user_id, client, key, request_hash)
    SELECT $1::uuid, $2::text, $3::text, $4::text FROM locked
    ON CONFLICT (user_id, client, key) DO NOTHING
    RETURNING true AS claimed`,
};

/**
 * The batch's claims, in its transaction: each key's advisory lock is only tried, so a key in
 * flight elsewhere never makes the batch wait (that charge leaves the batch for the single path);
 * a locked key is claimed unless it is already stored. Keys of one batch are distinct.
 */
const CLAIM_BATCH: Statement = {
  name: 'idempotency_claim_batch',
  text: `
    WITH input AS (
      SELECT t.* FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[])
             WITH ORDINALITY AS t (user_id, client, key, request_hash, ord)
    ), locked AS MATERIALIZED (
      SELECT i.*, pg_try_advisory_xact_lock(${keyLock('i.user_id', 'i.client', 'i.key')}) AS locked
        FROM input AS i ORDER BY i.ord
    ), claimed AS (
      INSERT INTO idempotency_keys (user_id, client, key, request_hash)
      SELECT l.user_id, l.client, l.key, l.request_hash FROM locked AS l WHERE l.locked
      ON CONFLICT (user_id, client, key) DO NOTHING
      RETURNING user_id, client, key
    )
    SELECT l.ord, l.locked, c.key IS NOT NULL AS claimed
      FROM locked AS l
      LEFT JOIN claimed AS c ON c.user_id = l.user_id AND c.client = l.client AND c.key = l.key
     ORDER BY l.ord`,
};

/** The batch's answers, before its COMMIT: each claimed key gets its answer (status and body), or
 *  is released (a null status: its charge was not decided by this batch and will claim again). */
const SETTLE_BATCH: Statement = {
  name: 'idempotency_settle_batch',
  text: `
    WITH input AS (
      SELECT t.* FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[])
             AS t (user_id, client, key, status, body)
    ), recorded AS (
      UPDATE idempotency_keys AS k SET status = i.status, body = i.body
        FROM input AS i
       WHERE i.status IS NOT NULL
         AND k.user_id = i.user_id AND k.client = i.client AND k.key = i.key
      RETURNING 1
    ), released AS (
      DELETE FROM idempotency_keys AS k USING input AS i
       WHERE i.status IS NULL
         AND k.user_id = i.user_id AND k.client = i.client AND k.key = i.key
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM recorded) + (SELECT count(*) FROM released) AS settled`,
};

const FIND: Statement = {
  name: 'idempotency_find',
  text: `
    SELECT request_hash, status, body FROM idempotency_keys
     WHERE user_id = $1 AND client = $2 AND key = $3`,
};

const RECORD: Statement = {
  name: 'idempotency_record',
  text: `
    UPDATE idempotency_keys SET status = $4, body = $5
     WHERE user_id = $1 AND client = $2 AND key = $3`,
};

/** A bounded batch of keys older than the retention; SKIP LOCKED lets replicas purge together. */
const PURGE: Statement = {
  name: 'idempotency_purge',
  text: `
    DELETE FROM idempotency_keys k USING (
      SELECT user_id, client, key FROM idempotency_keys
       WHERE created_at < now() - make_interval(secs => $1)
       LIMIT $2 FOR UPDATE SKIP LOCKED
    ) AS old
     WHERE k.user_id = old.user_id AND k.client = old.client AND k.key = old.key
    RETURNING 1`,
};

@Injectable()
export class IdempotencyRepository {
  constructor(private readonly sql: Sql) {}

  async claim(tx: Queryable, scope: KeyScope, requestHash: string): Promise<boolean> {
    const rows = await tx.query(CLAIM, [scope.userId, scope.client, scope.key, requestHash]);
    return rows.length === 1;
  }

  async find(tx: Queryable, scope: KeyScope): Promise<StoredAnswer | undefined> {
    const rows = await tx.query<{ request_hash: string; status: number; body: string }>(FIND, [
      scope.userId,
      scope.client,
      scope.key,
    ]);
    const row = rows[0];
    return row && { requestHash: row.request_hash, status: row.status, body: row.body };
  }

  async record(tx: Queryable, scope: KeyScope, status: number, body: string): Promise<void> {
    await tx.query(RECORD, [scope.userId, scope.client, scope.key, status, body]);
  }

  /** Claims distinct keys in the batch's transaction; results in the order of `claims`. */
  async claimBatch(tx: Queryable, claims: KeyClaim[]): Promise<BatchClaim[]> {
    const rows = await tx.query<{ ord: number; locked: boolean; claimed: boolean }>(CLAIM_BATCH, [
      claims.map((c) => c.userId),
      claims.map((c) => c.client),
      claims.map((c) => c.key),
      claims.map((c) => c.requestHash),
    ]);
    if (rows.length !== claims.length) {
      throw new Error(`batch claim answered ${rows.length} rows for ${claims.length} keys`);
    }
    return rows.map((row) => (!row.locked ? 'in_flight' : row.claimed ? 'claimed' : 'taken'));
  }

  /** Stores each answer (or releases the key: `undefined`) in the batch's transaction. */
  async settleBatch(
    tx: Queryable,
    keys: { scope: KeyScope; answer: { status: number; body: string } | undefined }[],
  ): Promise<void> {
    if (keys.length === 0) return;
    const row = await tx.one<{ settled: string }>(SETTLE_BATCH, [
      keys.map((k) => k.scope.userId),
      keys.map((k) => k.scope.client),
      keys.map((k) => k.scope.key),
      keys.map((k) => k.answer?.status ?? null),
      keys.map((k) => k.answer?.body ?? null),
    ]);
    if (Number(row.settled) !== keys.length) {
      throw new Error(`batch settled ${row.settled} of ${keys.length} claimed keys`);
    }
  }

  /** Deletes up to `limit` keys older than `retentionSeconds`; returns how many. */
  async purge(retentionSeconds: number, limit: number): Promise<number> {
    const rows = await this.sql.query(PURGE, [retentionSeconds, limit]);
    return rows.length;
  }
}
