import { Injectable } from '@nestjs/common';
import { Sql, type Statement } from '../database/sql.js';
import type { EntryType } from './ledger-entry.entity.js';

export interface LedgerRow {
  id: string;
  user_id: string;
  type: EntryType;
  amount: number;
  balance_after: number;
  description: string;
  reference: string | null;
  created_at: Date;
}

/** Newest first; `seq` is the deterministic tie-break (rows of one statement share now()). */
const HISTORY: Statement = {
  name: 'transactions_history',
  text: `
    SELECT id, user_id, type, amount, balance_after, description, reference, created_at
      FROM ledger_entries WHERE user_id = $1
     ORDER BY seq DESC`,
};

const ACCOUNT_EXISTS: Statement = {
  name: 'transactions_account_exists',
  text: 'SELECT EXISTS (SELECT 1 FROM accounts WHERE user_id = $1) AS found',
};

@Injectable()
export class TransactionsRepository {
  constructor(private readonly sql: Sql) {}

  history(userId: string): Promise<LedgerRow[]> {
    return this.sql.query<LedgerRow>(HISTORY, [userId]);
  }

  async accountExists(userId: string): Promise<boolean> {
    const row = await this.sql.one<{ found: boolean }>(ACCOUNT_EXISTS, [userId]);
    return row.found;
  }
}
