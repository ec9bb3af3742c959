import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { applyMigrations } from '../src/database/migrate.js';
import { DataSource } from 'typeorm';
import { migrations } from '../migrations/index.js';
import { startTestApp } from './support/app.js';
import { freePort } from './support/free-port.js';
import { client } from './support/http.js';

/** What `npm start` does without DATABASE_URL: an embedded cluster on disk. Balances must survive
 *  a restart of both the application and the database. */
describe('persistence across a restart (embedded PostgreSQL on disk)', () => {
  let root: string | undefined;

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function boot(dataDir: string, port: number) {
    const database = await startEmbeddedPostgres({
      dataDir,
      port,
      database: 'billing',
      log: () => undefined,
    });
    const app = await startTestApp(database.url);
    const migrated = await applyMigrations(app.get(DataSource), () => undefined);
    return { database, app, api: client(app), migrated };
  }

  it('keeps balances and history after the app and its database are stopped and started again', async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'billing-persist-'));
    await chmod(root, 0o755);
    const dataDir = path.join(root, 'pg');
    const port = await freePort();
    const user = randomUUID();

    const first = await boot(dataDir, port);
    expect(first.migrated).toHaveLength(migrations.length); // a fresh cluster gets every migration
    expect(
      (
        await first.api.post('/billing/credit-tokens', {
          user_id: user,
          amount: 90,
          description: 'a',
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await first.api.post('/billing/charge-tokens', {
          user_id: user,
          amount: 15,
          description: 'b',
        })
      ).status,
    ).toBe(200);
    await first.app.close();
    await first.database.stop();

    const second = await boot(dataDir, port);
    try {
      expect(second.migrated).toEqual([]); // nothing to apply the second time
      expect((await second.api.get(`/billing/balance/${user}`)).body).toEqual({
        user_id: user,
        balance: 75,
        reserved: 0,
        available: 75,
        next_expiry: null,
      });
      expect((await second.api.get<unknown[]>(`/billing/transactions/${user}`)).body).toHaveLength(
        2,
      );
      expect((await second.api.get(`/billing/monthly-usage/${user}`)).body).toMatchObject({
        tokens_consumed: 15,
      });
    } finally {
      await second.app.close();
      await second.database.stop();
    }
  });
});
