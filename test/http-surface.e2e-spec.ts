import { describe, expect, it } from '@jest/globals';
import { useTestApp } from './support/fixture.js';

const ORIGIN = 'https://dashboard.example.com';
const TOKEN = 'dashboard-token-0123456789abcdefghijklmnop';

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';

describe('the HTTP surface a dashboard needs', () => {
  const f = useTestApp({
    CORS_ORIGINS: `${ORIGIN},http://localhost:5173`,
    BILLING_CLIENTS: `dashboard:read:${TOKEN}`,
    BILLING_RATE_LIMITS: 'dashboard:2/m',
  });
  const send = (method: Method, url: string, headers: Record<string, string> = {}) =>
    f.app.getHttpAdapter().getInstance().inject({ method, url, headers });

  it('answers a wrong method on an existing route 405 with Allow, as problem details', async () => {
    const cases: [Method, string, string][] = [
      ['GET', '/billing/charge-tokens', 'POST'],
      ['PUT', '/billing/charge-tokens', 'POST'],
      ['DELETE', '/billing/balance/3f2504e0-4f89-41d3-9a0c-0305e82c3301', 'GET, HEAD'],
      ['POST', '/billing/transactions/3f2504e0-4f89-41d3-9a0c-0305e82c3301', 'GET, HEAD'],
      ['GET', '/billing/reservations/0190b7c4-0000-7000-8000-000000000000/capture', 'POST'],
      ['PATCH', '/metrics', 'GET, HEAD'],
    ];
    for (const [method, url, allow] of cases) {
      const answer = await send(method, url);
      expect({ url, method, status: answer.statusCode, allow: answer.headers.allow }).toEqual({
        url,
        method,
        status: 405,
        allow,
      });
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.json()).toMatchObject({
        status: 405,
        code: 'METHOD_NOT_ALLOWED',
        detail: `${method} is not served on ${url}; allowed: ${allow}.`,
      });
    }
  });

  it('still answers 404 for a path that does not exist, whatever the method', async () => {
    for (const method of ['GET', 'POST', 'DELETE'] as const) {
      const answer = await send(method, '/billing/no-such-thing');
      expect(answer.statusCode).toBe(404);
      expect(answer.headers.allow).toBeUndefined();
    }
  });

  it('sends GET / and GET /billing to the documentation', async () => {
    for (const url of ['/', '/billing']) {
      const answer = await send('GET', url);
      expect(answer.statusCode).toBe(302);
      expect(answer.headers.location).toBe('/billing/docs');
    }
  });

  it('answers a preflight from a configured origin: bearer token and Idempotency-Key allowed', async () => {
    const answer = await send('OPTIONS', '/billing/charge-tokens', {
      origin: ORIGIN,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type,idempotency-key',
    });
    expect(answer.statusCode).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe(ORIGIN);
    const allowed = String(answer.headers['access-control-allow-headers']).toLowerCase();
    for (const header of ['authorization', 'content-type', 'idempotency-key']) {
      expect(allowed.split(/\s*,\s*/)).toContain(header);
    }
    expect(String(answer.headers['access-control-allow-methods'])).toContain('POST');
  });

  it('gives no CORS grant to an origin that is not configured', async () => {
    const preflight = await send('OPTIONS', '/billing/charge-tokens', {
      origin: 'https://evil.example.com',
      'access-control-request-method': 'POST',
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const read = await send('GET', '/billing/health/live', { origin: 'https://evil.example.com' });
    expect(read.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('lets the dashboard read paging, pacing, replay and request-id headers, on problem answers too', async () => {
    const expose = (headers: Record<string, unknown>) =>
      String(headers['access-control-expose-headers'])
        .toLowerCase()
        .split(/\s*,\s*/);
    const wanted = ['link', 'retry-after', 'idempotent-replayed', 'x-request-id'];

    const ok = await send('GET', '/billing/health/live', { origin: ORIGIN });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(ORIGIN);
    for (const h of wanted) expect(expose(ok.headers)).toContain(h);

    const unauthenticated = await send(
      'GET',
      '/billing/balance/3f2504e0-4f89-41d3-9a0c-0305e82c3301',
      {
        origin: ORIGIN,
      },
    );
    expect(unauthenticated.statusCode).toBe(401);
    expect(unauthenticated.headers['access-control-allow-origin']).toBe(ORIGIN);
    for (const h of wanted) expect(expose(unauthenticated.headers)).toContain(h);

    let limited;
    for (let i = 0; i < 5; i += 1) {
      limited = await send('GET', '/billing/monthly-usage/3f2504e0-4f89-41d3-9a0c-0305e82c3301', {
        origin: ORIGIN,
        authorization: `Bearer ${TOKEN}`,
      });
      if (limited.statusCode === 429) break;
    }
    expect(limited?.statusCode).toBe(429);
    expect(limited?.headers['retry-after']).toBeDefined();
    expect(limited?.headers['access-control-allow-origin']).toBe(ORIGIN);
    for (const h of wanted) expect(expose(limited?.headers ?? {})).toContain(h);

    const wrongMethod = await send('GET', '/billing/charge-tokens', { origin: ORIGIN });
    expect(wrongMethod.statusCode).toBe(405);
    expect(wrongMethod.headers['access-control-allow-origin']).toBe(ORIGIN);
  });
});

describe('without CORS_ORIGINS', () => {
  const f = useTestApp();

  it('grants no origin and leaves OPTIONS alone (no 405)', async () => {
    const fastify = f.app.getHttpAdapter().getInstance();
    const preflight = await fastify.inject({
      method: 'OPTIONS',
      url: '/billing/charge-tokens',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.statusCode).toBe(404);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    const read = await fastify.inject({
      method: 'GET',
      url: '/billing/health/live',
      headers: { origin: ORIGIN },
    });
    expect(read.headers['access-control-allow-origin']).toBeUndefined();
  });
});
