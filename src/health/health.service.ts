import { Inject, Injectable } from '@nestjs/common';
import { UnavailableError } from '../common/errors.js';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { HealthRepository } from './health.repository.js';
import { Lifecycle } from '../lifecycle/lifecycle.js';

@Injectable()
export class HealthService {
  private readonly timeoutMs: number;

  constructor(
    private readonly health: HealthRepository,
    private readonly lifecycle: Lifecycle,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.timeoutMs = config.health.readyTimeoutMs;
  }

  /** Ready: not shutting down, and the database answers within the timeout. */
  async ready(): Promise<void> {
    if (this.lifecycle.draining) {
      throw new UnavailableError('SHUTTING_DOWN', 'The service is shutting down.');
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new UnavailableError(
              'DATABASE_UNAVAILABLE',
              `The database did not answer within ${this.timeoutMs} ms.`,
            ),
          ),
        this.timeoutMs,
      );
    });
    try {
      await Promise.race([this.health.ping(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
