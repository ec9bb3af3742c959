// Loaded by jest as CommonJS, where the moduleNameMapper for ".js" imports does not apply:
// hence the extension-less imports in this one file.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';
import { freePort } from './free-port';

/**
 * Once per jest run: a PostgreSQL server for every test file. DATABASE_URL, when set, names a
 * server whose user may CREATE DATABASE (CI runs the suite that way against Debian's PostgreSQL);
 * otherwise an embedded one in a temporary folder.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) {
    process.env.TEST_PG_ADMIN_URL = process.env.DATABASE_URL;
    return;
  }
  const root = await mkdtemp(path.join(os.tmpdir(), 'billing-test-'));
  await chmod(root, 0o755); // the postgres user must reach it when running as root
  const port = await freePort();
  const started = Date.now();
  const server = await startEmbeddedPostgres({
    dataDir: path.join(root, 'pg'),
    port,
    database: 'postgres',
    log: () => undefined,
  });
  console.log(`\nembedded PostgreSQL for tests on port ${port} (${Date.now() - started} ms)`);
  process.env.TEST_PG_ADMIN_URL = server.url;
  (globalThis as { __billingTestDb?: unknown }).__billingTestDb = {
    stop: async () => {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}
