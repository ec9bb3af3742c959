import type { DataSource } from 'typeorm';

/** An arbitrary, fixed key: replicas or jobs that migrate at the same time take turns. */
const MIGRATION_LOCK_KEY = 7_243_193_001;

/**
 * Applies pending migrations, each in its own transaction, under a PostgreSQL advisory lock so that
 * two processes never run them at once. Returns the names of the migrations applied.
 */
export async function applyMigrations(
  dataSource: DataSource,
  log: (message: string) => void,
): Promise<string[]> {
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const pending = await dataSource.showMigrations();
    if (!pending) {
      log(`schema is up to date (${dataSource.migrations.length} migrations)`);
      return [];
    }
    log('applying pending migrations');
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    log(`applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`);
    return applied.map((m) => m.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.release();
  }
}
