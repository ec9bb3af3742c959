import { Injectable } from '@nestjs/common';
import { PaymentRefusedError, UnprocessableError } from '../common/errors.js';
import { ChargesRepository } from './charges.repository.js';

export interface MoneyMovement {
  userId: string;
  amount: number;
  description: string;
}

export interface MoneyMovementResult {
  transactionId: string;
  balance: number;
}

@Injectable()
export class ChargesService {
  constructor(private readonly charges: ChargesRepository) {}

  /** Debits the account, or refuses with nothing written. */
  async charge({ userId, amount, description }: MoneyMovement): Promise<MoneyMovementResult> {
    const outcome = await this.charges.debit(userId, amount, description);
    switch (outcome.result) {
      case 'debited':
        return { transactionId: outcome.transactionId, balance: outcome.balance };
      case 'insufficient_balance':
        throw new PaymentRefusedError(
          'INSUFFICIENT_BALANCE',
          `The balance is less than the ${amount} tokens asked for.`,
        );
      case 'no_account':
        throw new PaymentRefusedError('ACCOUNT_NOT_FOUND', `No account for user ${userId}.`);
    }
  }

  /** Credits the account, creating it on first credit. */
  async credit({ userId, amount, description }: MoneyMovement): Promise<MoneyMovementResult> {
    const outcome = await this.charges.credit(userId, amount, description);
    switch (outcome.result) {
      case 'credited':
        return { transactionId: outcome.transactionId, balance: outcome.balance };
      case 'balance_limit':
        throw new UnprocessableError(
          'BALANCE_LIMIT',
          `Crediting ${amount} tokens would take the balance past ${Number.MAX_SAFE_INTEGER}.`,
        );
    }
  }
}
