import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/data-source-options.js';
import { applyMigrations } from '../../src/database/migrate.js';

export interface TestDatabase {
  url: string;
  /** A plain pg pool on the test database, for arranging and checking state directly. */
  pool: pg.Pool;
  drop(): Promise<void>;
}

function adminUrl(): string {
  const url = process.env.TEST_PG_ADMIN_URL;
  if (!url) throw new Error('TEST_PG_ADMIN_URL is not set: run the tests with `npm test`');
  return url;
}

export const testDatabaseSettings = {
  poolSize: 10,
  connectTimeoutMs: 5000,
  statementTimeoutMs: 10_000,
  lockTimeoutMs: 5000,
};

/** A fresh database with the real migrations applied. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `billing_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;

  const dataSource = new DataSource(
    dataSourceOptions({ ...testDatabaseSettings, url: url.toString() }),
  );
  await dataSource.initialize();
  await applyMigrations(dataSource, () => undefined);
  await dataSource.destroy();

  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  pool.on('error', () => undefined);
  return {
    url: url.toString(),
    pool,
    drop: async () => {
      await pool.end();
      const client = new pg.Client({ connectionString: adminUrl() });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
