import { Inject, Injectable } from '@nestjs/common';
import {
  InvalidInputError,
  messages,
  PaymentRefusedError,
  UnprocessableError,
} from '../common/errors.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import {
  ChargesRepository,
  type DebitOutcome,
  type GrantTerms,
  type MoneyMovement,
} from './charges.repository.js';
import type { Queryable } from '../database/sql.js';
import type { Answer } from '../idempotency/answer.js';
import { DebitBatcher, type KeyedDebit } from './debit-batcher.js';

export interface MoneyMovementResult {
  transactionId: string;
  balance: number;
}

/** What a debit's outcome means: the result, or the refusal (a domain error). */
export function decideCharge(movement: MoneyMovement, outcome: DebitOutcome): MoneyMovementResult {
  switch (outcome.result) {
    case 'debited':
      return { transactionId: outcome.transactionId, balance: outcome.balance };
    case 'insufficient_balance':
      throw new PaymentRefusedError(
        'INSUFFICIENT_BALANCE',
        messages.insufficientBalance(movement.amount),
      );
    case 'no_account':
      throw new PaymentRefusedError('ACCOUNT_NOT_FOUND', messages.noAccount(movement.userId));
  }
}

@Injectable()
export class ChargesService {
  private readonly batching: boolean;

  constructor(
    private readonly charges: ChargesRepository,
    private readonly batcher: DebitBatcher,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.batching = config.charges.batching;
  }

  /** Debits the account from its available balance, or refuses with nothing written. Once
   *  `signal` is aborted (the request timed out), a charge not yet sent to the database is dropped. */
  async charge(movement: MoneyMovement, signal?: AbortSignal): Promise<MoneyMovementResult> {
    const outcome = this.batching
      ? await this.batcher.debit(movement, signal)
      : await this.charges.debit(movement);
    return decideCharge(movement, outcome);
  }

  /**
   * A charge with an Idempotency-Key: claim, debit and stored answer in one transaction (the
   * batch's when batching is on), or the replay of the answer stored for the key.
   */
  chargeKeyed(movement: MoneyMovement, keyed: KeyedDebit, signal?: AbortSignal): Promise<Answer> {
    return this.batching
      ? this.batcher.debitKeyed(movement, keyed, signal)
      : this.batcher.debitKeyedAlone(movement, keyed);
  }

  /** Credits the account as a grant, creating the account on first credit. */
  async credit(
    movement: MoneyMovement,
    terms: GrantTerms,
    db?: Queryable,
  ): Promise<MoneyMovementResult> {
    const outcome = await this.charges.credit(movement, terms, db);
    switch (outcome.result) {
      case 'credited':
        return { transactionId: outcome.transactionId, balance: outcome.balance };
      case 'balance_limit':
        throw new UnprocessableError(
          'BALANCE_LIMIT',
          `Crediting ${movement.amount} tokens would take the balance past ${Number.MAX_SAFE_INTEGER}.`,
        );
      case 'invalid_expiry': {
        const message = 'expires_at must lie in the future and at most 10 years ahead';
        throw new InvalidInputError(message, [{ field: 'expires_at', message }]);
      }
    }
  }
}
