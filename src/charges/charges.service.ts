import { Inject, Injectable } from '@nestjs/common';
import { messages, PaymentRefusedError, UnprocessableError } from '../common/errors.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import type { Queryable } from '../database/sql.js';
import { ChargesRepository, type DebitOutcome, type MoneyMovement } from './charges.repository.js';
import { DebitBatcher } from './debit-batcher.js';

export interface MoneyMovementResult {
  transactionId: string;
  balance: number;
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
   *  `answered` (the request timed out), a charge not yet sent to the database is dropped. */
  async charge(
    movement: MoneyMovement,
    db?: Queryable,
    answered?: () => boolean,
  ): Promise<MoneyMovementResult> {
    const outcome = await this.debit(movement, db, answered);
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

  /**
   * The route of a debit: group commit when batching is on, else one statement. A charge with an
   * Idempotency-Key runs inside the transaction that stores its key (`db.transactional`), so it
   * takes the single statement on that transaction's connection; the batch statement does not
   * record keys.
   */
  private debit(
    movement: MoneyMovement,
    db?: Queryable,
    answered?: () => boolean,
  ): Promise<DebitOutcome> {
    if (this.batching && !db?.transactional) return this.batcher.debit(movement, answered);
    return this.charges.debit(movement, db);
  }

  /** Credits the account, creating it on first credit. */
  async credit(movement: MoneyMovement, db?: Queryable): Promise<MoneyMovementResult> {
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
