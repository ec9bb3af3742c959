import { afterAll, beforeAll } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { fundedUser } from './accounts.js';
import { startTestApp } from './app.js';
import { createTestDatabase, type TestDatabase } from './database.js';
import { type Client, client } from './http.js';

export interface Fixture {
  db: TestDatabase;
  app: NestFastifyApplication;
  api: Client;
  /** A new user credited with `amount` tokens. */
  funded(amount: number): Promise<string>;
}

/** Inside a describe(): a fresh database and the real app for the file (settings from `env`),
 *  closed after it. */
export function useTestApp(env: Record<string, string> = {}): Fixture {
  const fixture = {} as Fixture;
  beforeAll(async () => {
    fixture.db = await createTestDatabase();
    fixture.app = await startTestApp(fixture.db.url, { env });
    fixture.api = client(fixture.app);
    fixture.funded = (amount) => fundedUser(fixture.api, amount);
  });
  afterAll(async () => {
    await fixture.app?.close();
    await fixture.db?.drop();
  });
  return fixture;
}
