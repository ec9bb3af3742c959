import { Injectable } from '@nestjs/common';
import { Sql, type Statement } from '../database/sql.js';

export type EntryType = 'debit' | 'credit' | 'expiry';

/**
 * A row of `ledger_entries` (the schema is the migrations'): append-only, a trigger refuses UPDATE
 * and DELETE; `amount` signed (debits negative) so a user's amounts sum to the balance; each row
 * stores the balance after it; `seq` is the deterministic newest-first order.
 */
export interface LedgerRow {
  seq: number;
  id: string;
  user_id: string;
  type: EntryType;
  amount: number;
  balance_after: number;
  description: string;
  reference: string | null;
  created_at: Date;
  /** An expiry: the grant whose remainder expired. */
  grant_id: string | null;
  /** A credit (a grant): when its remainder expires (null: never), and its priority. */
  expires_at: Date | null;
  priority: number | null;
}

/** Which of a user's entries to read; every bound optional. */
export interface HistoryFilter {
  /** Only rows older than this seq (the keyset of the previous page). */
  beforeSeq?: number;
  /** created_at >= from (inclusive). */
  from?: Date;
  /** created_at < to (exclusive). */
  to?: Date;
  type?: EntryType;
}

/**
 * Newest first by `seq`, the monotonic tie-break (rows of one statement share now()). The keyset
 * bound is an index condition on the primary key (user_id, seq), so a page deep in a long history
 * costs the same as the first one: no OFFSET, no COUNT. `LIMIT NULL` reads everything.
 */
const HISTORY_TEXT = `
  SELECT e.seq, e.id, e.user_id, e.type, e.amount, e.balance_after, e.description, e.reference,
         e.created_at, e.grant_id, nullif(g.expires_at, 'infinity') AS expires_at, g.priority
    FROM ledger_entries AS e
    LEFT JOIN grants AS g ON e.type = 'credit' AND g.user_id = e.user_id AND g.id = e.id
   WHERE e.user_id = $1
     AND e.seq < coalesce($2::bigint, 9223372036854775807)
     AND ($3::timestamptz IS NULL OR e.created_at >= $3::timestamptz)
     AND ($4::timestamptz IS NULL OR e.created_at < $4::timestamptz)
     AND ($5::text IS NULL OR e.type = $5::text)
   ORDER BY e.seq DESC
   LIMIT $6::int`;

/** Exported on purpose: bench/ measures the service's own statement, so it cannot drift. */
export const HISTORY_PAGE: Statement = { name: 'transactions_history_page', text: HISTORY_TEXT };

/** Rows fetched from the database cursor per round trip while streaming a whole history. */
const STREAM_BATCH = 1000;

const ACCOUNT_EXISTS: Statement = {
  name: 'transactions_account_exists',
  text: 'SELECT EXISTS (SELECT 1 FROM accounts WHERE user_id = $1) AS found',
};

function parameters(userId: string, filter: HistoryFilter, limit: number | null): unknown[] {
  return [
    userId,
    filter.beforeSeq ?? null,
    filter.from?.toISOString() ?? null,
    filter.to?.toISOString() ?? null,
    filter.type ?? null,
    limit,
  ];
}

@Injectable()
export class LedgerRepository {
  constructor(private readonly sql: Sql) {}

  /** At most `limit` rows, newest first. */
  page(userId: string, filter: HistoryFilter, limit: number): Promise<LedgerRow[]> {
    return this.sql.query<LedgerRow>(HISTORY_PAGE, parameters(userId, filter, limit));
  }

  /** Every matching row, newest first, in batches read from a database cursor. */
  stream(userId: string, filter: HistoryFilter): AsyncGenerator<LedgerRow[], void, undefined> {
    return this.sql.stream<LedgerRow>(HISTORY_TEXT, parameters(userId, filter, null), STREAM_BATCH);
  }

  async accountExists(userId: string): Promise<boolean> {
    const row = await this.sql.one<{ found: boolean }>(ACCOUNT_EXISTS, [userId]);
    return row.found;
  }
}
