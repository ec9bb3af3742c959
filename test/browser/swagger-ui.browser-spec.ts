import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type BrowserContext, chromium } from 'playwright-core';
import { testClient } from '../support/clients.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type ServiceProcess, startService } from '../support/service-process.js';

/**
 * Swagger UI in a real browser (Debian's Chromium through playwright-core): the page an operator
 * or a developer of a calling service uses. Runs the built service on a fresh database, seeds a
 * user with a credit and a hold, then clicks through Authorize, "Try it out" and Execute on GET balance.
 * `npm run test:browser`; the screenshot lands in artifacts/.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The flags that work on these machines: no sandbox as root, and no background traffic to a
// network that is closed.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ARTIFACTS = 'artifacts';

describe('Swagger UI in Chromium', () => {
  let db: TestDatabase;
  let service: ServiceProcess;
  let browser: BrowserContext;
  let profile: string;
  const caller = testClient('swagger-ui');
  const user = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    service = await startService({ env: { DATABASE_URL: db.url, ...caller.env } });
    const credit = await fetch(`${service.url}/billing/credit-tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...caller.headers },
      body: JSON.stringify({ user_id: user, amount: 4321, description: 'browser test grant' }),
    });
    expect(credit.status).toBe(200);
    const hold = await fetch(`${service.url}/billing/reservations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...caller.headers },
      body: JSON.stringify({ user_id: user, amount: 321, description: 'browser test hold' }),
    });
    expect(hold.status).toBe(201);

    profile = await mkdtemp(path.join(os.tmpdir(), 'billing-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1280, height: 1400 },
      timeout: 30_000,
    });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
    await service?.stop();
    await db?.drop();
  });

  it('authorizes, tries GET balance for a seeded user and shows the 200 with the balance', async () => {
    const page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(15_000);
    await page.goto(`${service.url}/billing/docs`);
    await page.locator('.swagger-ui .info .title').waitFor();

    // The document declares the bearer scheme (issue 4 §1): Authorize with the client's token.
    const authorize = page.locator('button.authorize');
    await expect(authorize.count()).resolves.toBeGreaterThan(0);
    await authorize.first().click();
    const dialog = page.locator('.dialog-ux .modal-ux');
    await dialog.locator('input[type="text"], input[type="password"]').first().fill(caller.token);
    await dialog.locator('button.authorize').click();
    await dialog.locator('button.btn-done, button.close-modal').first().click();

    const operation = page.locator('#operations-balance-balance');
    await operation.locator('.opblock-summary').click();
    await operation.locator('button.try-out__btn').click();
    await operation.locator('input[placeholder="user_id"]').fill(user);
    await operation.locator('button.execute').click();

    const live = operation.locator('.live-responses-table .response').first();
    await live.waitFor();
    await expect(live.locator('.response-col_status').innerText()).resolves.toMatch(/^\s*200/);
    const body = await live.locator('.response-col_description pre').first().innerText();
    expect(JSON.parse(body)).toEqual({
      user_id: user,
      balance: 4321,
      reserved: 321,
      available: 4000,
    });
    await expect(operation.locator('.curl-command').innerText()).resolves.toContain(
      `Authorization: Bearer ${caller.token}`,
    );

    await mkdir(ARTIFACTS, { recursive: true });
    await operation.screenshot({ path: path.join(ARTIFACTS, 'swagger-ui-balance.png') });
    await page.screenshot({ path: path.join(ARTIFACTS, 'swagger-ui-page.png'), fullPage: true });
  });
});
