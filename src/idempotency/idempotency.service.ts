import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ConflictError, UnprocessableError } from '../common/errors.js';
import { PeriodicJob } from '../common/periodic-job.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { isLockTimeout } from '../database/database-errors.js';
import { type Queryable, Sql } from '../database/sql.js';
import { type Answer, type Rendered, type RenderedAnswer, renderAnswer } from './answer.js';
import type { IdempotentRequest } from './idempotent-request.js';
import {
  type BatchClaim,
  IdempotencyRepository,
  type KeyClaim,
  type KeyScope,
  type StoredAnswer,
} from './idempotency.repository.js';

type Outcome = { answer: Answer } | { stored: StoredAnswer } | { vanished: true };

/** A key found taken: its stored answer for the same request, 422 for a different one. */
export function replayOf(claim: KeyClaim, stored: StoredAnswer): Answer {
  if (stored.requestHash !== claim.requestHash) {
    throw new UnprocessableError(
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was used with a different request; use a new key.',
    );
  }
  return { status: stored.status, body: stored.body, replayed: true };
}

/**
 * Stripe-style idempotency for every money-moving POST, in one place. Without a key the effect
 * runs as it is (one statement for a charge). With a key, the key is claimed, the effect runs and
 * its answer is recorded in one transaction, so a key never exists without its effect or an
 * effect without its key.
 */
@Injectable()
export class IdempotencyService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('Idempotency');
  private readonly purgeJob: PeriodicJob;

  constructor(
    private readonly sql: Sql,
    private readonly keys: IdempotencyRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    const { retentionHours, purgeIntervalMs } = config.idempotency;
    this.purgeJob = new PeriodicJob('idempotency key purge', purgeIntervalMs, this.log, () =>
      this.purge(retentionHours * 3600),
    );
  }

  onApplicationBootstrap(): void {
    this.purgeJob.start();
  }

  // Before the database pool closes (which happens at application shutdown).
  async onModuleDestroy(): Promise<void> {
    await this.purgeJob.stop();
  }

  /**
   * Runs `effect` (on the pool, or in the key's transaction) and renders its result; with a key,
   * replays the stored answer instead when the key was used before. (The routes whose effect does
   * not batch; a charge executes its command through the debit batcher.)
   */
  async perform<T>(
    request: IdempotentRequest,
    userId: string,
    effect: (db: Queryable) => Promise<T>,
    render: (value: T) => Rendered,
  ): Promise<Answer> {
    if (request.key === undefined) {
      const { status, body } = render(await effect(this.sql));
      return { status, body: JSON.stringify(body), replayed: false };
    }
    const claim: KeyClaim = {
      userId,
      client: request.client,
      key: request.key,
      requestHash: request.hash,
    };
    return this.execute(claim, (tx) =>
      effect(tx).then(
        (value) => renderAnswer(request.instance, () => value, render),
        (error: unknown) =>
          renderAnswer(
            request.instance,
            () => {
              throw error;
            },
            render,
          ),
      ),
    );
  }

  /**
   * The single path of a keyed command: in one transaction, wait for the key's lock, claim it, run
   * the effect and store its answer (bytes rendered by the HTTP edge); or replay the stored answer.
   */
  async execute(
    claim: KeyClaim,
    effect: (tx: Queryable) => Promise<RenderedAnswer>,
  ): Promise<Answer> {
    // A stored key can vanish only if purged between the claim and the read: claim again.
    for (;;) {
      const outcome = await this.once(claim, effect);
      if ('answer' in outcome) return outcome.answer;
      if ('stored' in outcome) return replayOf(claim, outcome.stored);
    }
  }

  /** The batch path: claims in the batch's transaction (see IdempotencyRepository.claimBatch). */
  claimBatch(tx: Queryable, claims: KeyClaim[]): Promise<BatchClaim[]> {
    return this.keys.claimBatch(tx, claims);
  }

  /** The batch path: each claimed key's answer, or its release, before the batch's COMMIT. */
  settleBatch(
    tx: Queryable,
    keys: { scope: KeyScope; answer: RenderedAnswer | undefined }[],
  ): Promise<void> {
    return this.keys.settleBatch(tx, keys);
  }

  private async once(
    claim: KeyClaim,
    effect: (tx: Queryable) => Promise<RenderedAnswer>,
  ): Promise<Outcome> {
    try {
      return await this.sql.transaction(async (tx): Promise<Outcome> => {
        if (!(await this.keys.claim(tx, claim, claim.requestHash))) {
          const stored = await this.keys.find(tx, claim);
          if (stored === undefined) return { vanished: true };
          return { stored };
        }
        const { status, body } = await effect(tx);
        await this.keys.record(tx, claim, status, body);
        return { answer: { status, body, replayed: false } };
      });
    } catch (error) {
      if (isLockTimeout(error)) {
        throw new ConflictError(
          'IDEMPOTENCY_KEY_IN_USE',
          'A request with this Idempotency-Key is still being processed; retry shortly.',
          1,
        );
      }
      throw error;
    }
  }

  /** Deletes keys older than the retention, in bounded batches. */
  async purge(retentionSeconds: number): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < 10; batch += 1) {
      const deleted = await this.keys.purge(retentionSeconds, this.config.jobs.batchSize);
      total += deleted;
      if (deleted < this.config.jobs.batchSize) break;
    }
    if (total > 0) this.log.log(`purged ${total} idempotency key(s)`);
    return total;
  }
}
