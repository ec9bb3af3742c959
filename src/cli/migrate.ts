import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/config.js';
import { dataSourceOptions } from '../database/data-source-options.js';
import { applyMigrations } from '../database/migrate.js';
import { cliDatabase } from './cli-database.js';

/** `npm run migration:run` / `node dist/src/cli/migrate.js`: applies pending migrations to
 *  DATABASE_URL (the way production migrates: a Job, never racing replicas at start); unset: to
 *  the embedded database, as `npm start` uses it. */
async function main(): Promise<void> {
  const config = loadConfig();
  const log = (message: string) => console.log(`[migrate] ${message}`);
  const database = await cliDatabase(config, log);
  // No statement timeout: building an index on a large ledger may take minutes. The lock timeout
  // stays: DDL waiting behind live traffic for its table lock would stall that traffic behind it.
  const dataSource = new DataSource(
    dataSourceOptions({ ...config.database, url: database.url, statementTimeoutMs: 0 }),
  );
  try {
    await dataSource.initialize();
    await applyMigrations(dataSource, log);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  console.error(`[migrate] failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
