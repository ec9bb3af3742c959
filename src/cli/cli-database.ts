import type { AppConfig } from '../config/config.js';
import { type EmbeddedDatabase, useEmbeddedPostgres } from '../database/embedded-postgres.js';

/**
 * The database a CLI works on: DATABASE_URL, or (unset, as `npm start` runs) the embedded
 * PostgreSQL of EMBEDDED_PG_DIR: the running service's instance when there is one, else one
 * started for the command and stopped by `stop()`.
 */
export async function cliDatabase(
  config: AppConfig,
  log: (message: string) => void,
): Promise<EmbeddedDatabase> {
  if (config.database.url !== undefined) {
    return { url: config.database.url, stop: () => Promise.resolve() };
  }
  return useEmbeddedPostgres({
    dataDir: config.embedded.dataDir,
    port: config.embedded.port,
    fixedPort: config.embedded.portExplicit,
    database: 'billing',
    log,
  });
}
