import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { dataSourceOptions } from '../src/database/data-source-options.js';
import { applyMigrations, MIGRATION_LOCK_KEY } from '../src/database/migrate.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

describe('migrations', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('a second migrator waits for the first as long as it runs, past every session timeout', async () => {
    const first = new pg.Client({ connectionString: db.url });
    await first.connect();
    const dataSource = new DataSource(
      dataSourceOptions({
        url: db.url,
        poolSize: 2,
        connectTimeoutMs: 5000,
        // Far shorter than the first migrator holds the lock below.
        statementTimeoutMs: 200,
        lockTimeoutMs: 100,
      }),
    );
    await dataSource.initialize();
    const messages: string[] = [];
    try {
      await first.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const second = applyMigrations(dataSource, (message) => messages.push(message));
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(messages).toEqual(['another process is applying migrations: waiting for it']);
      await first.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      await expect(second).resolves.toEqual([]);
      expect(messages.at(-1)).toMatch(/^schema is up to date/);
    } finally {
      await dataSource.destroy();
      await first.end();
    }
  });

  it('runs the migrations on the connection that holds the lock (if it dies, the run dies too)', async () => {
    let onLockHolder: boolean | undefined;
    class Probe9999999999999 implements MigrationInterface {
      name = 'Probe9999999999999';
      async up(db: QueryRunner): Promise<void> {
        const rows = (await db.query(
          `SELECT pg_backend_pid() IN (
             SELECT pid FROM pg_locks
              WHERE locktype = 'advisory' AND granted
                AND ((classid::bigint << 32) | objid::bigint) = $1) AS holder`,
          [MIGRATION_LOCK_KEY],
        )) as { holder: boolean }[];
        onLockHolder = rows[0].holder;
      }
      async down(): Promise<void> {}
    }
    const options = dataSourceOptions({
      url: db.url,
      poolSize: 3,
      connectTimeoutMs: 5000,
      statementTimeoutMs: 5000,
      lockTimeoutMs: 3000,
    });
    const dataSource = new DataSource({ ...options, migrations: [Probe9999999999999] });
    await dataSource.initialize();
    try {
      expect(await applyMigrations(dataSource, () => undefined)).toEqual(['Probe9999999999999']);
      expect(onLockHolder).toBe(true);
    } finally {
      await dataSource.destroy();
    }
  });
});
