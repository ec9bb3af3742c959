import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { ChargesRepository, type Debit, type DebitOutcome } from './charges.repository.js';

interface Waiting extends Debit {
  resolve(outcome: DebitOutcome): void;
  reject(error: unknown): void;
}

/**
 * Group commit of debits (TigerBeetle's idea on PostgreSQL). At most one debit statement is in
 * flight per process; the charges that arrive meanwhile wait in arrival order and are debited
 * together by the next statement, so one round trip and one commit serve many charges. A charge
 * that arrives when nothing is in flight goes at once, alone, by the single-charge statement.
 *
 * Every guarantee of the single statement holds: the database decides each charge (see
 * DEBIT_BATCH) under the account row locks, so replicas need no coordination. Charges the batch
 * leaves undecided go back to the head of the queue, ahead of newer ones: per-user arrival order
 * is kept. A failed statement wrote nothing (it is one statement: all or nothing), and every
 * charge of it is refused with that error (a 503 for an unavailable database), exactly as a
 * single charge would be; none is retried behind the caller's back, so none can be doubled.
 */
@Injectable()
export class DebitBatcher {
  private readonly queue: Waiting[] = [];
  private inFlight = false;
  private readonly batchMax: number;

  constructor(
    private readonly charges: ChargesRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.batchMax = config.charges.batchMax;
  }

  debit(debit: Debit): Promise<DebitOutcome> {
    return new Promise<DebitOutcome>((resolve, reject) => {
      this.queue.push({ ...debit, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.inFlight || this.queue.length === 0) return;
    this.inFlight = true;
    const batch = this.queue.splice(0, this.batchMax);
    void this.settle(batch).finally(() => {
      this.inFlight = false;
      this.next();
    });
  }

  private async settle(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch;
      await this.charges.debit(only.userId, only.amount, only.description).then(
        (outcome) => only.resolve(outcome),
        (error: unknown) => only.reject(error),
      );
      return;
    }
    let outcomes;
    try {
      outcomes = await this.charges.debitBatch(batch);
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    const deferred: Waiting[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.result === 'deferred') deferred.push(batch[i]);
      else batch[i].resolve(outcome);
    });
    this.queue.unshift(...deferred);
  }
}
