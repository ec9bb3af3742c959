import { Injectable } from '@nestjs/common';
import { PaymentRefusedError, UnprocessableError } from '../common/errors.js';
import type { Queryable } from '../database/sql.js';
import { ChargesRepository, type Movement } from './charges.repository.js';

export type { Movement as MoneyMovement } from './charges.repository.js';

export interface MoneyMovementResult {
  transactionId: string;
  balance: number;
}

@Injectable()
export class ChargesService {
  constructor(private readonly charges: ChargesRepository) {}

  /** Debits the account from its available balance, or refuses with nothing written. */
  async charge(movement: Movement, db?: Queryable): Promise<MoneyMovementResult> {
    const outcome = await this.charges.debit(movement, db);
    switch (outcome.result) {
      case 'debited':
        return { transactionId: outcome.transactionId, balance: outcome.balance };
      case 'insufficient_balance':
        throw new PaymentRefusedError(
          'INSUFFICIENT_BALANCE',
          `The available balance is less than the ${movement.amount} tokens asked for.`,
        );
      case 'no_account':
        throw new PaymentRefusedError(
          'ACCOUNT_NOT_FOUND',
          `No account for user ${movement.userId}.`,
        );
    }
  }

  /** Credits the account, creating it on first credit. */
  async credit(movement: Movement, db?: Queryable): Promise<MoneyMovementResult> {
    const outcome = await this.charges.credit(movement, db);
    switch (outcome.result) {
      case 'credited':
        return { transactionId: outcome.transactionId, balance: outcome.balance };
      case 'balance_limit':
        throw new UnprocessableError(
          'BALANCE_LIMIT',
          `Crediting ${movement.amount} tokens would take the balance past ${Number.MAX_SAFE_INTEGER}.`,
        );
    }
  }
}
