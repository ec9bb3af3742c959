import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '../../src/config/config.js';
import type { AppLogger } from '../../src/common/logger.js';
import { createApp } from '../../src/http-app.js';
import { testDatabaseSettings } from './database.js';

export interface TestAppOptions {
  /** Extra environment for loadConfig (e.g. BILLING_CLIENTS, BILLING_RATE_LIMITS). */
  env?: Record<string, string>;
  /** Database settings over the test defaults (e.g. short timeouts). */
  database?: Partial<typeof testDatabaseSettings>;
  /** A logger to capture the JSON log; silent by default. */
  logger?: AppLogger;
}

/** The real application (same wiring as the service) on the given database, ready for inject(). */
export async function startTestApp(
  databaseUrl: string,
  options: TestAppOptions = {},
): Promise<NestFastifyApplication> {
  const config = loadConfig({ NODE_ENV: 'test', ...options.env });
  const app = await createApp(
    {
      ...config,
      database: {
        ...config.database,
        ...testDatabaseSettings,
        ...options.database,
        url: databaseUrl,
      },
    },
    { logger: options.logger ?? false },
  );
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
