import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Scope } from '../src/config/clients.js';
import { startTestApp } from './support/app.js';
import { insertAccounts } from './support/accounts.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type Client, client } from './support/http.js';
import { capturedLog } from './support/log-capture.js';

/** One client per scope, one client with two tokens (rotation), and a rate-limited client. */
const TOKENS = {
  reader: 'reader-token-0123456789abcdefghijklmnop',
  charger: 'charger-token-0123456789abcdefghijklmnop',
  crediter: 'crediter-token-0123456789abcdefghijklmno',
  rotatingOld: 'rotating-old-0123456789abcdefghijklmnop',
  rotatingNew: 'rotating-new-0123456789abcdefghijklmnop',
  limited: 'limited-token-0123456789abcdefghijklmnop',
};
const CLIENT_FOR: Record<Scope, string> = {
  read: TOKENS.reader,
  charge: TOKENS.charger,
  credit: TOKENS.crediter,
};
const BILLING_CLIENTS = [
  `reader:read:${TOKENS.reader}`,
  `charger:charge:${TOKENS.charger}`,
  `crediter:credit:${TOKENS.crediter}`,
  `rotating:read:${TOKENS.rotatingOld}`,
  `rotating:read:${TOKENS.rotatingNew}`,
  `limited:read:${TOKENS.limited}`,
].join(';');

const user = randomUUID();
/** Holds made in beforeAll for the reservation routes (one captured, one released). */
const holdToCapture = randomUUID();
const holdToRelease = randomUUID();

interface RouteCase {
  /** As in the OpenAPI document: METHOD path-template. */
  operation: string;
  scope: Scope;
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
  /** The answer with the right scope (the test user has a balance of 1000). */
  ok: number;
}

/**
 * Every authenticated route. A route added later is added here (the last test fails until it is):
 * the matrix below then checks it with no token, a wrong token, the wrong scope and the right one.
 */
const ROUTES: RouteCase[] = [
  {
    operation: 'GET /billing/balance/{user_id}',
    scope: 'read',
    method: 'GET',
    url: `/billing/balance/${user}`,
    ok: 200,
  },
  {
    operation: 'GET /billing/grants/{user_id}',
    scope: 'read',
    method: 'GET',
    url: `/billing/grants/${user}`,
    ok: 200,
  },
  {
    operation: 'GET /billing/transactions/{user_id}',
    scope: 'read',
    method: 'GET',
    url: `/billing/transactions/${user}`,
    ok: 200,
  },
  {
    operation: 'GET /billing/monthly-usage/{user_id}',
    scope: 'read',
    method: 'GET',
    url: `/billing/monthly-usage/${user}`,
    ok: 200,
  },
  {
    operation: 'POST /billing/charge-tokens',
    scope: 'charge',
    method: 'POST',
    url: '/billing/charge-tokens',
    body: { user_id: user, amount: 1, description: 'auth matrix' },
    ok: 200,
  },
  {
    operation: 'POST /billing/credit-tokens',
    scope: 'credit',
    method: 'POST',
    url: '/billing/credit-tokens',
    body: { user_id: user, amount: 1, description: 'auth matrix' },
    ok: 200,
  },
  {
    operation: 'POST /billing/reservations',
    scope: 'charge',
    method: 'POST',
    url: '/billing/reservations',
    body: { user_id: user, amount: 1, description: 'auth matrix' },
    ok: 201,
  },
  {
    operation: 'GET /billing/reservations/{id}',
    scope: 'read',
    method: 'GET',
    url: `/billing/reservations/${holdToCapture}`,
    ok: 200,
  },
  {
    operation: 'POST /billing/reservations/{id}/capture',
    scope: 'charge',
    method: 'POST',
    url: `/billing/reservations/${holdToCapture}/capture`,
    body: {},
    ok: 200,
  },
  {
    operation: 'POST /billing/reservations/{id}/release',
    scope: 'charge',
    method: 'POST',
    url: `/billing/reservations/${holdToRelease}/release`,
    body: {},
    ok: 200,
  },
];

const PUBLIC = ['/billing/health/live', '/billing/health/ready', '/billing/docs-json', '/metrics'];

function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

function wrongScopeToken(scope: Scope): string {
  const other = (['read', 'charge', 'credit'] as const).find((s) => s !== scope) as Scope;
  return CLIENT_FOR[other];
}

describe('who may call what', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let api: Client;
  const log = capturedLog();

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startTestApp(db.url, {
      env: { BILLING_CLIENTS, BILLING_RATE_LIMITS: 'limited:3/m' },
      logger: log.logger,
    });
    api = client(app);
    await insertAccounts(db.pool, [{ user, balance: 1000, reserved: 20 }]);
    await db.pool.query(
      `INSERT INTO reservations (user_id, id, amount, description, client, expires_at)
       SELECT $1, id, 10, 'auth matrix', 'test', now() + interval '1 hour'
         FROM unnest($2::uuid[]) AS id`,
      [user, [holdToCapture, holdToRelease]],
    );
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  function call(route: RouteCase, headers: Record<string, string> = {}) {
    return route.method === 'GET'
      ? api.get(route.url, headers)
      : api.post(route.url, route.body, headers);
  }

  describe.each(ROUTES)('$operation (scope $scope)', (route) => {
    it('refuses a request without a token with 401 and a Bearer challenge', async () => {
      const answer = await call(route);
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toBe('Bearer realm="billing-service"');
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    });

    it('refuses a wrong token with 401 invalid_token', async () => {
      const answer = await call(route, bearer('x'.repeat(40)));
      expect(answer.status).toBe(401);
      expect(answer.headers['www-authenticate']).toMatch(/error="invalid_token"/);
      expect(answer.body).toMatchObject({ code: 'UNAUTHENTICATED' });
    });

    it('refuses a valid token without the scope with 403', async () => {
      const answer = await call(route, bearer(wrongScopeToken(route.scope)));
      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
      expect(answer.body.detail).toContain(route.scope);
    });

    it('serves a token with the scope', async () => {
      const answer = await call(route, bearer(CLIENT_FOR[route.scope]));
      expect(answer.status).toBe(route.ok);
    });
  });

  it('covers every authenticated operation of the OpenAPI document, with its scope', async () => {
    const document = (await api.get('/billing/docs-json')).body as {
      paths: Record<string, Record<string, { security?: object[]; 'x-required-scope'?: string }>>;
    };
    const secured: Record<string, string | undefined> = {};
    const open: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const name = `${method.toUpperCase()} ${path}`;
        expect(operation.security).toBeDefined();
        if (JSON.stringify(operation.security) === '[]') open.push(name);
        else secured[name] = operation['x-required-scope'];
      }
    }
    expect(secured).toEqual(Object.fromEntries(ROUTES.map((r) => [r.operation, r.scope])));
    expect(open.sort()).toEqual(['GET /billing/health/live', 'GET /billing/health/ready']);
  });

  it.each(PUBLIC)('serves %s without a token', async (url) => {
    const fastify = app.getHttpAdapter().getInstance();
    const answer = await fastify.inject({ method: 'GET', url });
    expect(answer.statusCode).toBe(200);
  });

  it('authenticates before validating the body: an invalid body without a token is a 401', async () => {
    const noToken = await api.post('/billing/charge-tokens', { amount: 'lots' });
    expect(noToken.status).toBe(401);
    const wrongScope = await api.post(
      '/billing/charge-tokens',
      { amount: 'lots' },
      bearer(TOKENS.reader),
    );
    expect(wrongScope.status).toBe(403);
    const rightScope = await api.post(
      '/billing/charge-tokens',
      { amount: 'lots' },
      bearer(TOKENS.charger),
    );
    expect(rightScope.status).toBe(400);
  });

  it('refuses other Authorization schemes and malformed bearer headers', async () => {
    for (const value of [
      `Basic ${Buffer.from(`reader:${TOKENS.reader}`).toString('base64')}`,
      `Bearer`,
      `Bearer ${TOKENS.reader} extra`,
      TOKENS.reader,
    ]) {
      const answer = await api.get(`/billing/balance/${user}`, { authorization: value });
      expect(answer.status).toBe(401);
    }
    const lowerCase = await api.get(`/billing/balance/${user}`, {
      authorization: `bearer ${TOKENS.reader}`,
    });
    expect(lowerCase.status).toBe(200);
  });

  it('accepts both tokens of a client listed twice (rotation)', async () => {
    for (const token of [TOKENS.rotatingOld, TOKENS.rotatingNew]) {
      expect((await api.get(`/billing/balance/${user}`, bearer(token))).status).toBe(200);
    }
  });

  it('names the client in the access log and never logs a token', async () => {
    const requestId = `auth-${randomUUID()}`;
    await api.post(
      '/billing/charge-tokens',
      { user_id: user, amount: 2, description: 'logged' },
      { ...bearer(TOKENS.charger), 'x-request-id': requestId },
    );
    const line = log.lines.find((l) => l.request_id === requestId);
    expect(line).toMatchObject({ msg: 'request completed', client: 'charger', status: 200 });
    const everything = log.raw.join('\n');
    for (const token of Object.values(TOKENS)) expect(everything).not.toContain(token);
  });

  it('limits a client to its rate (429 with Retry-After) without touching other clients', async () => {
    const statuses: number[] = [];
    let retryAfter: unknown;
    for (let i = 0; i < 5; i++) {
      const answer = await api.get(`/billing/balance/${user}`, bearer(TOKENS.limited));
      statuses.push(answer.status);
      if (answer.status === 429) {
        retryAfter = answer.headers['retry-after'];
        expect(answer.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(retryAfter)).toBeLessThanOrEqual(20);
    expect((await api.get(`/billing/balance/${user}`, bearer(TOKENS.reader))).status).toBe(200);
    const health = await api.get('/billing/health/live', bearer(TOKENS.limited));
    expect(health.status).toBe(200);
  });
});
