import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { ConfigError, loadConfig } from '../config/config.js';
import { dataSourceOptions } from '../database/data-source-options.js';
import { applyMigrations } from '../database/migrate.js';

/** `npm run migration:run` / `node dist/src/cli/migrate.js`: applies pending migrations to
 *  DATABASE_URL (the way production migrates: a Job, never racing replicas at start). */
async function main(): Promise<void> {
  const config = loadConfig();
  if (config.database.url === undefined) {
    throw new ConfigError('DATABASE_URL', 'must be set to run migrations');
  }
  // No statement timeout: building an index on a large ledger may take minutes. The lock timeout
  // stays: DDL waiting behind live traffic for its table lock would stall that traffic behind it.
  const dataSource = new DataSource(
    dataSourceOptions({ ...config.database, url: config.database.url, statementTimeoutMs: 0 }),
  );
  await dataSource.initialize();
  try {
    await applyMigrations(dataSource, (message) => console.log(`[migrate] ${message}`));
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(`[migrate] failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
