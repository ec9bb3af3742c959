import { Inject, Injectable } from '@nestjs/common';
import { UnavailableError } from '../common/errors.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { ChargesRepository, type DebitOutcome, type MoneyMovement } from './charges.repository.js';

interface Waiting extends MoneyMovement {
  /** True once the request was answered without it (503 by the request timeout). */
  answered: (() => boolean) | undefined;
  resolve(outcome: DebitOutcome): void;
  reject(error: unknown): void;
}

/** A charge whose request timed out while it waited is dropped, never sent (the caller has had
 *  its 503; this refusal goes nowhere). */
function dropped(waiting: Waiting): boolean {
  if (waiting.answered?.() !== true) return false;
  waiting.reject(
    new UnavailableError(
      'DATABASE_UNAVAILABLE',
      'The request timed out before its charge was sent; nothing was debited.',
    ),
  );
  return true;
}

/**
 * Group commit of debits (TigerBeetle's idea on PostgreSQL). At most one debit statement is in
 * flight per process; the charges that arrive meanwhile wait in arrival order and are debited
 * together by the next statement, so one round trip and one commit serve many charges. When
 * nothing is in flight, what arrived in the current turn of the event loop goes at the end of that
 * turn (a lone charge by the single-charge statement).
 *
 * Every guarantee of the single statement holds: the database decides each charge (see
 * DEBIT_BATCH) under the account row locks, so replicas need no coordination. Charges the batch
 * leaves undecided go back to the head of the queue, ahead of newer ones: per-user arrival order
 * is kept. A failed statement wrote nothing (it is one statement: all or nothing), and every
 * charge of it is refused with that error (a 503 for an unavailable database), exactly as a
 * single charge would be; none is retried behind the caller's back, so none can be doubled.
 * A charge still waiting when its request has timed out (`answered`) is dropped unsent: the
 * caller got a 503 and may retry, and the abandoned charge must not then be debited as well.
 */
@Injectable()
export class DebitBatcher {
  private readonly queue: Waiting[] = [];
  private inFlight = false;
  /** A send is scheduled for the end of this turn of the event loop. */
  private scheduled = false;
  private readonly batchMax: number;

  constructor(
    private readonly charges: ChargesRepository,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.batchMax = config.charges.batchMax;
  }

  debit(debit: MoneyMovement, answered?: () => boolean): Promise<DebitOutcome> {
    return new Promise<DebitOutcome>((resolve, reject) => {
      this.queue.push({ ...debit, answered, resolve, reject });
      this.schedule();
    });
  }

  /** When nothing is in flight, the send waits for the end of the current turn of the event loop
   *  (setImmediate: no timer, no added latency), so that the charges whose requests were read in
   *  the same turn go together rather than the first alone and the rest behind it. */
  private schedule(): void {
    if (this.inFlight || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.next();
    });
  }

  private next(): void {
    if (this.inFlight) return;
    const batch = this.queue.splice(0, this.batchMax).filter((waiting) => !dropped(waiting));
    if (batch.length === 0) {
      if (this.queue.length > 0) this.next();
      return;
    }
    this.inFlight = true;
    void this.settle(batch).finally(() => {
      this.inFlight = false;
      this.next();
    });
  }

  private async settle(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) {
      await this.alone(batch);
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
    const single: Waiting[] = [];
    outcomes.forEach((outcome, i) => {
      if (outcome.result === 'deferred') deferred.push(batch[i]);
      else if (outcome.result === 'single') single.push(batch[i]);
      else batch[i].resolve(outcome);
    });
    // Still in flight: later charges of these users wait behind them (per-user order is kept).
    await this.alone(single);
    this.queue.unshift(...deferred);
  }

  /** One by one, in arrival order, by the single-charge statement. */
  private async alone(charges: Waiting[]): Promise<void> {
    for (const waiting of charges) {
      if (dropped(waiting)) continue;
      await this.charges.debit(waiting).then(
        (outcome) => waiting.resolve(outcome),
        (error: unknown) => waiting.reject(error),
      );
    }
  }
}
