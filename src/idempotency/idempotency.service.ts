import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { ConflictError, DomainError, UnprocessableError } from '../common/errors.js';
import { PeriodicJob } from '../common/periodic-job.js';
import { toProblem } from '../http/problem-details.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { isLockTimeout } from '../database/database-errors.js';
import { type Queryable, Sql } from '../database/sql.js';
import type { Answer } from './answer.js';
import type { IdempotentRequest } from './idempotent-request.js';
import { IdempotencyRepository, type KeyScope } from './idempotency.repository.js';

/** Answers decided by the money operation itself: stored under the key and replayed. Anything
 *  else (invalid input, overload, 5xx) leaves the key free for a retry. */
export const STORED_STATUSES = new Set([402, 404, 409, 422]);

export interface Rendered {
  status: number;
  body: object;
}

type Outcome =
  { answer: Answer } | { stored: Answer & { requestHash: string } } | { vanished: true };

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
   * replays the stored answer instead when the key was used before.
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
    const scope: KeyScope = { userId, client: request.client, key: request.key };
    // A stored key can vanish only if purged between the claim and the read: claim again.
    for (;;) {
      const outcome = await this.once(request, scope, effect, render);
      if ('answer' in outcome) return outcome.answer;
      if ('stored' in outcome) {
        if (outcome.stored.requestHash !== request.hash) {
          throw new UnprocessableError(
            'IDEMPOTENCY_KEY_REUSED',
            'This Idempotency-Key was used with a different request; use a new key.',
          );
        }
        const { status, body } = outcome.stored;
        return { status, body, replayed: true };
      }
    }
  }

  private async once<T>(
    request: IdempotentRequest,
    scope: KeyScope,
    effect: (db: Queryable) => Promise<T>,
    render: (value: T) => Rendered,
  ): Promise<Outcome> {
    try {
      return await this.sql.transaction(async (tx): Promise<Outcome> => {
        if (!(await this.keys.claim(tx, scope, request.hash))) {
          const stored = await this.keys.find(tx, scope);
          if (stored === undefined) return { vanished: true };
          return { stored: { ...stored, replayed: true } };
        }
        const { status, body } = await this.decide(request, () => effect(tx), render);
        const text = JSON.stringify(body);
        await this.keys.record(tx, scope, status, text);
        return { answer: { status, body: text, replayed: false } };
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

  /** The effect's answer, including a refusal it decided (stored like a success). */
  private async decide<T>(
    request: IdempotentRequest,
    effect: () => Promise<T>,
    render: (value: T) => Rendered,
  ): Promise<Rendered> {
    try {
      return render(await effect());
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const problem = toProblem(error, request.instance);
      if (!STORED_STATUSES.has(problem.status)) throw error;
      return { status: problem.status, body: problem };
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
