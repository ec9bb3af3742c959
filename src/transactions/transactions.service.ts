import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../common/errors.js';
import { type LedgerRow, TransactionsRepository } from './transactions.repository.js';

@Injectable()
export class TransactionsService {
  constructor(private readonly ledger: TransactionsRepository) {}

  /** The user's ledger, newest first. An unknown user is an error, not an empty list. */
  async history(userId: string): Promise<LedgerRow[]> {
    const rows = await this.ledger.history(userId);
    // Accounts are created by their first credit, so an account always has a row; the extra
    // look-up is only needed to tell "no rows" from "no account".
    if (rows.length === 0 && !(await this.ledger.accountExists(userId))) {
      throw new NotFoundError('ACCOUNT_NOT_FOUND', `No account for user ${userId}.`);
    }
    return rows;
  }
}
