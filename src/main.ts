import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { type AppConfig, ConfigError, loadConfig } from './config/config.js';
import { type AppLogger, createLogger } from './common/logger.js';
import { type EmbeddedDatabase, startEmbeddedPostgres } from './database/embedded-postgres.js';
import { applyMigrations } from './database/migrate.js';
import { API_PREFIX, createApp } from './http-app.js';
import { shutDown } from './shutdown.js';

function warnAboutAuth(config: AppConfig, log: AppLogger): void {
  if (config.auth.mode === 'open') {
    log.warn(
      'no clients configured (BILLING_CLIENTS): every caller is anonymous and may call every ' +
        'operation; keep HOST on 127.0.0.1 and configure clients before exposing the service',
    );
    if (!['127.0.0.1', 'localhost', '::1'].includes(config.host)) {
      log.warn(`HOST=${config.host} exposes this unauthenticated service beyond this machine`);
    }
  } else if (config.auth.mode === 'off') {
    log.warn('authentication is switched off (BILLING_AUTH=off): every caller is anonymous');
  } else {
    const names = [...new Set(config.auth.clients.map((c) => c.name))];
    log.info(`clients: ${names.join(', ')}`);
  }
}

async function bootstrap(logger: AppLogger): Promise<void> {
  const config = loadConfig();
  logger.level = config.logLevel;
  const log = logger.child({ context: 'Main' });
  warnAboutAuth(config, log);

  let embedded: EmbeddedDatabase | undefined;
  let url = config.database.url;
  if (url === undefined) {
    log.info('DATABASE_URL is not set: using the embedded PostgreSQL (development mode)');
    embedded = await startEmbeddedPostgres({
      dataDir: config.embedded.dataDir,
      port: config.embedded.port,
      fixedPort: config.embedded.portExplicit,
      ownSession: true,
      database: 'billing',
      log: (message) => log.info(message),
    });
    url = embedded.url;
  }

  let app: Awaited<ReturnType<typeof createApp>>;
  try {
    app = await createApp({ ...config, database: { ...config.database, url } }, { logger });
    if (embedded !== undefined || config.database.migrateOnStart) {
      await applyMigrations(app.get(DataSource), (message) => log.info(message));
    }
  } catch (error) {
    await embedded?.stop(); // it runs in its own session: nothing else would stop it
    throw error;
  }

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    void shutDown(app, config.shutdown, log, embedded, signal).then((code) => process.exit(code));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  const base = `http://${config.host}:${config.port}/${API_PREFIX}`;
  log.info(`listening on ${base} (Swagger UI: ${base}/docs, metrics: /metrics)`);
}

const logger = createLogger('info');
bootstrap(logger).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    logger.fatal(error.message);
  } else {
    logger.fatal({ err: error }, 'failed to start');
  }
  process.exit(1);
});
