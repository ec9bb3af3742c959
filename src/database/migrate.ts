import { type DataSource, MigrationExecutor } from 'typeorm';

/** An arbitrary, fixed key: replicas or jobs that migrate at the same time take turns. */
export const MIGRATION_LOCK_KEY = 7_243_193_001;

const LOCK_POLL_MS = 250;

/**
 * Applies pending migrations, each in its own transaction, under a PostgreSQL advisory lock so that
 * two processes never run them at once. Returns the names of the migrations applied.
 *
 * The lock is polled (pg_try_advisory_lock), not waited for in one statement: a second migrator
 * waits as long as the first one runs, which the session's statement, lock and client timeouts
 * would otherwise cut short after a few seconds. The migrations run on the very connection that
 * holds the lock: if that connection dies (and PostgreSQL releases the lock), the run dies with
 * it, so a waiting migrator can never run alongside a first one that is still going.
 */
export async function applyMigrations(
  dataSource: DataSource,
  log: (message: string) => void,
): Promise<string[]> {
  const lock = dataSource.createQueryRunner();
  await lock.connect();
  try {
    for (let waited = false; ; waited = true) {
      const [row] = (await lock.query('SELECT pg_try_advisory_lock($1) AS locked', [
        MIGRATION_LOCK_KEY,
      ])) as { locked: boolean }[];
      if (row.locked) break;
      if (!waited) log('another process is applying migrations: waiting for it');
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
    }
    const executor = new MigrationExecutor(dataSource, lock);
    executor.transaction = 'each';
    const pending = await executor.showMigrations();
    if (!pending) {
      log(`schema is up to date (${dataSource.migrations.length} migrations)`);
      return [];
    }
    log('applying pending migrations');
    const applied = await executor.executePendingMigrations();
    log(`applied ${applied.length} migration(s): ${applied.map((m) => m.name).join(', ')}`);
    return applied.map((m) => m.name);
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
    await lock.release();
  }
}
