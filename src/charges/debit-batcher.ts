import { Inject, Injectable } from '@nestjs/common';
import { UnavailableError } from '../common/errors.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { type Queryable, Sql } from '../database/sql.js';
import type { Answer, RenderedAnswer } from '../idempotency/answer.js';
import type { KeyClaim, KeyScope } from '../idempotency/idempotency.repository.js';
import { IdempotencyService } from '../idempotency/idempotency.service.js';
import { type BatchKeyOutcome, Metrics } from '../metrics/metrics.js';
import {
  type BatchDebitOutcome,
  ChargesRepository,
  type DebitOutcome,
  type MoneyMovement,
} from './charges.repository.js';

/** A charge's key as its command carries it: the claim, and the HTTP edge's pure rendering of
 *  the outcome into the bytes stored with the effect (and replayed for every retry). */
export interface KeyedDebit {
  claim: KeyClaim;
  render(outcome: DebitOutcome): RenderedAnswer;
}

/** A money command: a debit, with its key or without, and its request's deadline. */
export interface DebitCommand {
  movement: MoneyMovement;
  keyed: KeyedDebit | undefined;
  /** Aborted once the request was answered without it (503 by the request deadline). */
  signal: AbortSignal | undefined;
}

/** Settled with a DebitOutcome when unkeyed, with the key's Answer when keyed. */
interface Waiting extends DebitCommand {
  resolve(result: DebitOutcome | Answer): void;
  reject(error: unknown): void;
}

/** A charge whose request timed out while it waited is dropped, never sent (the caller has had
 *  its 503; this refusal goes nowhere). */
function dropped(waiting: Waiting): boolean {
  if (waiting.signal?.aborted !== true) return false;
  waiting.reject(
    new UnavailableError(
      'DATABASE_UNAVAILABLE',
      'The request timed out before its charge was sent; nothing was debited.',
    ),
  );
  return true;
}

function keyOf(scope: KeyScope): string {
  return `${scope.userId}\n${scope.client}\n${scope.key}`;
}

/** What one batch decided: outcomes of the charges it sent, the answers stored for keyed ones,
 *  and the keyed charges left to the single path (key taken or in flight, or a repeated key). */
interface Settled {
  sent: Waiting[];
  outcomes: BatchDebitOutcome[];
  answers: Map<Waiting, Answer>;
  leftOut: Waiting[];
}

/**
 * Group commit of debits (see docs/performance.md): at most one debit statement in flight per
 * process; charges arriving meanwhile wait in arrival order and go together in the next one. A
 * failed batch wrote nothing and refuses each of its charges with that error; none is retried
 * behind the caller's back. Undecided charges go back to the head of the queue (per-user order
 * is kept). Keyed charges join the batch: their keys are claimed, debited and answered in the
 * batch's transaction (see settleKeyed).
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
    private readonly idempotency: IdempotencyService,
    private readonly sql: Sql,
    private readonly metrics: Metrics,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.batchMax = config.charges.batchMax;
  }

  /** An unkeyed debit through the group commit. */
  debit(movement: MoneyMovement, signal?: AbortSignal): Promise<DebitOutcome> {
    return new Promise<DebitOutcome>((resolve, reject) => {
      const settle = (result: DebitOutcome | Answer) => resolve(result as DebitOutcome);
      this.queue.push({ movement, keyed: undefined, signal, resolve: settle, reject });
      this.schedule();
    });
  }

  /** A keyed debit through the group commit: its stored answer, or the replay of a retry. */
  debitKeyed(movement: MoneyMovement, keyed: KeyedDebit, signal?: AbortSignal): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const settle = (result: DebitOutcome | Answer) => resolve(result as Answer);
      this.queue.push({ movement, keyed, signal, resolve: settle, reject });
      this.schedule();
    });
  }

  /** A keyed debit by the single path (batching off): one transaction for key and effect. */
  debitKeyedAlone(movement: MoneyMovement, keyed: KeyedDebit): Promise<Answer> {
    return this.idempotency.execute(keyed.claim, async (tx) =>
      keyed.render(await this.charges.debit(movement, tx)),
    );
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
      // A keyed charge alone takes the single path outside the in-flight slot: its wait for a key
      // held elsewhere must not hold back the charges that arrive meanwhile.
      if (batch[0].keyed !== undefined) void this.alone(batch);
      else await this.alone(batch);
      return;
    }
    let settled: Settled;
    try {
      settled = batch.some((waiting) => waiting.keyed !== undefined)
        ? await this.sql.transaction((tx) => this.settleKeyed(tx, batch))
        : await this.settleUnkeyed(batch);
    } catch (error) {
      // One transaction: nothing was debited and no key was stored.
      for (const waiting of batch) waiting.reject(error);
      return;
    }
    // Deferred and stale charges go back to the head of the queue for the next batch, whose
    // statement takes a new snapshot.
    const deferred: Waiting[] = [];
    settled.outcomes.forEach((outcome, i) => {
      const waiting = settled.sent[i];
      if (outcome.result === 'deferred' || outcome.result === 'stale') deferred.push(waiting);
      else waiting.resolve(settled.answers.get(waiting) ?? outcome);
    });
    // Taken keys are answered as before, by the single path (a replay, 422, or a wait for the
    // transaction holding the key), outside the batch so that a wait never stalls its neighbours.
    for (const waiting of settled.leftOut) void this.alone([waiting]);
    this.queue.unshift(...deferred);
  }

  private async settleUnkeyed(batch: Waiting[]): Promise<Settled> {
    const outcomes = await this.charges.debitBatch(batch.map((w) => w.movement));
    this.metrics.observeBatch(batch.length, { claimed: 0, taken: 0, in_flight: 0, repeated: 0 });
    return { sent: batch, outcomes, answers: new Map(), leftOut: [] };
  }

  /**
   * The keyed part of a batch, in its transaction: each distinct key is try-locked and claimed
   * (a repeated key, a key already stored or one in flight elsewhere leaves the batch for the
   * single path), the charges are debited by the one batch statement, and each claimed key stores
   * its answer before COMMIT, or is released when the batch left its charge undecided.
   */
  private async settleKeyed(tx: Queryable, batch: Waiting[]): Promise<Settled> {
    const seen = new Set<string>();
    const distinct: Waiting[] = [];
    const leftOut = new Set<Waiting>();
    const keyOutcomes: Record<BatchKeyOutcome, number> = {
      claimed: 0,
      taken: 0,
      in_flight: 0,
      repeated: 0,
    };
    for (const waiting of batch) {
      if (waiting.keyed === undefined) continue;
      const id = keyOf(waiting.keyed.claim);
      if (seen.has(id)) {
        leftOut.add(waiting);
        keyOutcomes.repeated += 1;
      } else {
        seen.add(id);
        distinct.push(waiting);
      }
    }
    const claims = await this.idempotency.claimBatch(
      tx,
      distinct.map((w) => (w.keyed as KeyedDebit).claim),
    );
    claims.forEach((claim, i) => {
      keyOutcomes[claim] += 1;
      if (claim !== 'claimed') leftOut.add(distinct[i]);
    });
    const sent = batch.filter((waiting) => !leftOut.has(waiting));
    const outcomes =
      sent.length === 0
        ? []
        : await this.charges.debitBatch(
            sent.map((w) => w.movement),
            tx,
          );
    const answers = new Map<Waiting, Answer>();
    const keys: { scope: KeyScope; answer: RenderedAnswer | undefined }[] = [];
    outcomes.forEach((outcome, i) => {
      const { keyed } = sent[i];
      if (keyed === undefined) return;
      if (outcome.result === 'deferred' || outcome.result === 'stale') {
        keys.push({ scope: keyed.claim, answer: undefined });
        return;
      }
      const answer = keyed.render(outcome);
      answers.set(sent[i], { ...answer, replayed: false });
      keys.push({ scope: keyed.claim, answer });
    });
    await this.idempotency.settleBatch(tx, keys);
    this.metrics.observeBatch(sent.length, keyOutcomes);
    return { sent, outcomes, answers, leftOut: [...leftOut] };
  }

  /** One by one, in arrival order, by the single-charge path. */
  private async alone(charges: Waiting[]): Promise<void> {
    for (const waiting of charges) {
      if (dropped(waiting)) continue;
      const { movement, keyed } = waiting;
      const result =
        keyed === undefined ? this.charges.debit(movement) : this.debitKeyedAlone(movement, keyed);
      await result.then(
        (value) => waiting.resolve(value),
        (error: unknown) => waiting.reject(error),
      );
    }
  }
}
