import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from './config/config.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './database/embedded-postgres.js';
import { applyMigrations } from './database/migrate.js';
import { API_PREFIX, createApp } from './http-app.js';

const log = new Logger('Main');

async function bootstrap(): Promise<void> {
  const config = loadConfig();

  let embedded: EmbeddedDatabase | undefined;
  let url = config.database.url;
  if (url === undefined) {
    log.log('DATABASE_URL is not set: using the embedded PostgreSQL (development mode)');
    embedded = await startEmbeddedPostgres({
      dataDir: config.embedded.dataDir,
      port: config.embedded.port,
      database: 'billing',
      log: (message) => log.log(message),
    });
    url = embedded.url;
  }

  const app = await createApp({ ...config, database: { ...config.database, url } });
  if (embedded !== undefined || config.database.migrateOnStart) {
    await applyMigrations(app.get(DataSource), (message) => log.log(message));
  }

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log.log(`${signal} received: closing the HTTP server and letting in-flight requests finish`);
    try {
      await app.close(); // stops accepting, drains, then closes the database pool
      if (embedded) {
        log.log('stopping the embedded PostgreSQL');
        await embedded.stop();
      }
      log.log('stopped');
      process.exit(0);
    } catch (error) {
      log.error(`shutdown failed: ${String(error)}`);
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  const base = `http://${config.host}:${config.port}/${API_PREFIX}`;
  log.log(`listening on ${base} (Swagger UI: ${base}/docs)`);
}

bootstrap().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    log.error(error.message);
  } else {
    log.error(
      `failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
  }
  process.exit(1);
});
