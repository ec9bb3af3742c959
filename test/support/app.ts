import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '../../src/config/config.js';
import { createApp } from '../../src/http-app.js';
import { testDatabaseSettings } from './database.js';

/** The real application (same wiring as the service) on the given database, ready for inject(). */
export async function startTestApp(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<NestFastifyApplication> {
  const config = loadConfig({ NODE_ENV: 'test', ...env });
  const app = await createApp(
    { ...config, database: { ...config.database, ...testDatabaseSettings, url: databaseUrl } },
    { logger: false },
  );
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
