import { Injectable } from '@nestjs/common';
import { type Queryable, Sql, type Statement } from '../database/sql.js';
import { dueHolds } from '../reservations/due-holds.js';
import { countConsultation } from '../usage/usage-rollup.js';

/** A debit or credit as the ledger records it. */
export interface Movement {
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

function values(m: Movement): unknown[] {
  return [m.userId, m.amount, m.description, m.reference, m.client];
}

interface EntryRow {
  id: string | null;
  balance_after: number | null;
}

@Injectable()
export class ChargesRepository {
  constructor(private readonly sql: Sql) {}

  async debit(movement: Movement, db: Queryable = this.sql): Promise<DebitOutcome> {
    const row = await db.one<EntryRow & { account_exists: boolean }>(DEBIT, values(movement));
    if (row.id !== null && row.balance_after !== null) {
      return { result: 'debited', transactionId: row.id, balance: row.balance_after };
    }
    return { result: row.account_exists ? 'insufficient_balance' : 'no_account' };
  }

  async credit(movement: Movement, db: Queryable = this.sql): Promise<CreditOutcome> {
    const rows = await db.query<EntryRow>(CREDIT, values(movement));
    const row = rows[0];
    if (row?.id == null || row.balance_after == null) return { result: 'balance_limit' };
    return { result: 'credited', transactionId: row.id, balance: row.balance_after };
  }
}
