import { setTimeout as sleep } from 'node:timers/promises';
import type { INestApplication } from '@nestjs/common';
import type { AppConfig } from './config/config.js';
import type { AppLogger } from './common/logger.js';
import type { EmbeddedDatabase } from './database/embedded-postgres.js';
import { Lifecycle } from './lifecycle/lifecycle.js';

/**
 * Graceful stop, in the order Kubernetes needs: readiness turns 503 at once while requests are
 * still served for `shutdown.delayMs` (endpoints take a moment to drop the pod); then the server
 * stops accepting, in-flight requests finish (bounded by `shutdown.drainTimeoutMs`), the pool
 * closes, and the embedded database, if any, stops last. Resolves with the exit code.
 */
export async function shutDown(
  app: INestApplication,
  config: AppConfig['shutdown'],
  log: AppLogger,
  embedded: EmbeddedDatabase | undefined,
  signal: string,
): Promise<number> {
  app.get(Lifecycle).startDraining();
  log.info(`${signal} received: readiness is now 503; serving for ${config.delayMs} ms more`);
  await sleep(config.delayMs);

  log.info('closing the HTTP server and letting in-flight requests finish');
  let timer: NodeJS.Timeout | undefined;
  const overdue = new Promise<'overdue'>((resolve) => {
    timer = setTimeout(() => resolve('overdue'), config.drainTimeoutMs);
  });
  try {
    const outcome = await Promise.race([app.close().then(() => 'closed' as const), overdue]);
    if (outcome === 'overdue') {
      log.error(`in-flight requests did not finish within ${config.drainTimeoutMs} ms`);
      return 1;
    }
    if (embedded !== undefined) {
      log.info('stopping the embedded PostgreSQL');
      await embedded.stop();
    }
    log.info('stopped');
    return 0;
  } catch (error) {
    log.error({ err: error }, 'shutdown failed');
    return 1;
  } finally {
    clearTimeout(timer);
  }
}
