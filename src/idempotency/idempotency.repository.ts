import { Injectable } from '@nestjs/common';
import type { Queryable, Statement } from '../database/sql.js';
import { Sql } from '../database/sql.js';

/** Whose key: the calling client's, for one user (user_id first, as in every index here). */
export interface KeyScope {
  userId: string;
  client: string;
  key: string;
}

export interface StoredAnswer {
  requestHash: string;
  status: number;
  body: string;
}

/**
 * Claims the key inside the caller's transaction. The unique index is the lock: a second request
 * with the same key waits here until the first commits (then finds its answer) or rolls back
 * (then claims the key itself); a wait past lock_timeout fails with 55P03.
 */
const CLAIM: Statement = {
  name: 'idempotency_claim',
  text: `
    INSERT INTO idempotency_keys (user_id, client, key, request_hash) VALUES ($1, $2, $3, $4)
    ON CONFLICT (user_id, client, key) DO NOTHING
    RETURNING true AS claimed`,
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

  /** Deletes up to `limit` keys older than `retentionSeconds`; returns how many. */
  async purge(retentionSeconds: number, limit: number): Promise<number> {
    const rows = await this.sql.query(PURGE, [retentionSeconds, limit]);
    return rows.length;
  }
}
