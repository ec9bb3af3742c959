import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { Answer } from './support/http.js';
import { useTestApp } from './support/fixture.js';
import { moneyTables } from './support/ledger.js';
import { PROTOTYPE_NAMES } from './support/prototype-names.js';

/**
 * Parsed JSON is gated before any DTO sees it (nesting depth, key count, prototype-named keys),
 * and the unknown-field rule goes by the input's own keys: no name inherited from
 * Object.prototype passes as "declared".
 */
describe('untrusted input', () => {
  const f = useTestApp();
  let user: string;

  beforeAll(async () => {
    user = await f.funded(1_000_000);
  });

  const snapshot = () => moneyTables(f.db.pool);

  function expectValidationProblem(answer: Answer) {
    expect({ status: answer.status, body: answer.body }).toMatchObject({
      status: 400,
      body: { status: 400, code: 'VALIDATION_FAILED' },
    });
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  }

  async function heldReservation(): Promise<string> {
    const answer = await f.api.post<{ id: string }>('/billing/reservations', {
      user_id: user,
      amount: 1,
      description: 'hold',
    });
    expect(answer.status).toBe(201);
    return answer.body.id;
  }

  const nested = (depth: number, leaf = '1') => '['.repeat(depth) + leaf + ']'.repeat(depth);
  const nestedObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

  describe('deep nesting', () => {
    const deepBodies = (u: string) => [
      {
        name: 'a deep array in user_id',
        body: `{"user_id":${nested(3000)},"amount":1,"description":"x"}`,
      },
      {
        name: 'a deep object in amount',
        body: `{"user_id":"${u}","amount":${nestedObject(2000)},"description":"x"}`,
      },
      { name: 'a deep top-level array', body: nested(5000) },
    ];

    for (const route of ['charge-tokens', 'credit-tokens', 'reservations']) {
      it(`refuses deeply nested bodies on POST /billing/${route} with 400 and writes nothing`, async () => {
        for (const { body } of deepBodies(user)) {
          expect(body.length).toBeLessThan(16 * 1024);
          const before = await snapshot();
          expectValidationProblem(await f.api.post(`/billing/${route}`, body));
          expectValidationProblem(
            await f.api.post(`/billing/${route}`, body, { 'idempotency-key': randomUUID() }),
          );
          expect(await snapshot()).toEqual(before);
        }
      });
    }

    it('refuses deeply nested bodies on capture and release with 400', async () => {
      const id = await heldReservation();
      for (const action of ['capture', 'release']) {
        for (const { body } of deepBodies(user)) {
          const before = await snapshot();
          expectValidationProblem(await f.api.post(`/billing/reservations/${id}/${action}`, body));
          expect(await snapshot()).toEqual(before);
        }
      }
      expect((await f.api.get(`/billing/reservations/${id}`)).body).toMatchObject({
        status: 'held',
      });
    });

    it('accepts nesting up to 32 levels and refuses 33 (a 400 naming the limit)', async () => {
      // 32 levels: the body object plus 31 arrays; the field is still wrong, but for its type.
      const ok = await f.api.post('/billing/charge-tokens', `{"amount":${nested(31)}}`);
      expectValidationProblem(ok);
      expect(ok.body.detail).not.toMatch(/nest/i);
      const deep = await f.api.post('/billing/charge-tokens', `{"amount":${nested(32)}}`);
      expectValidationProblem(deep);
      expect(deep.body.detail).toMatch(/nested deeper than 32/);
    });

    it('refuses a body with more keys and elements than the limit with 400 (413 stays for bytes)', async () => {
      const body = `{"user_id":"${user}","amount":1,"description":"x","reference":[${'0,'.repeat(1500)}0]}`;
      expect(body.length).toBeLessThan(16 * 1024);
      const answer = await f.api.post('/billing/charge-tokens', body);
      expectValidationProblem(answer);
      expect(answer.body.detail).toMatch(/more than 1000 keys and elements/);
    });
  });

  describe('found by the fuzz', () => {
    it('refuses a JSON null body on capture and release (only no body or {} means nothing)', async () => {
      const id = await heldReservation();
      const before = await snapshot();
      for (const action of ['capture', 'release']) {
        expectValidationProblem(await f.api.post(`/billing/reservations/${id}/${action}`, 'null'));
      }
      expect(await snapshot()).toEqual(before);
    });

    it('refuses two Idempotency-Key headers (Node would join them into one key, "a, b")', async () => {
      const before = await snapshot();
      const fastify = f.app.getHttpAdapter().getInstance();
      const answer = await fastify.inject({
        method: 'POST',
        url: '/billing/charge-tokens',
        headers: { 'content-type': 'application/json', 'idempotency-key': ['a', 'b'] },
        payload: JSON.stringify({ user_id: user, amount: 1, description: 'x' }),
      });
      expect(answer.statusCode).toBe(400);
      expect(answer.json()).toMatchObject({
        code: 'VALIDATION_FAILED',
        errors: [{ field: 'Idempotency-Key', message: 'must appear once' }],
      });
      expect(await snapshot()).toEqual(before);
    });
  });

  describe('prototype-named keys', () => {
    // (__proto__ itself is refused by the JSON parser, before any of this.)
    const inherited = PROTOTYPE_NAMES.filter((name) => name !== '__proto__');
    const contentTypes = [
      'application/json',
      'Application/JSON',
      'application/json; charset=UTF-8',
      'application/json; boundary=x',
    ];

    it.each(inherited)(
      'refuses an extra "%s" key on every money route and moves nothing',
      async (key) => {
        const id = await heldReservation();
        const base = { user_id: user, amount: 1, description: 'x' };
        const requests: Array<[string, Record<string, unknown>]> = [
          ['/billing/charge-tokens', base],
          ['/billing/credit-tokens', base],
          ['/billing/reservations', base],
          [`/billing/reservations/${id}/capture`, {}],
        ];
        for (const [path, body] of requests) {
          for (const contentType of contentTypes) {
            const before = await snapshot();
            const text = JSON.stringify({ ...body, [key]: { $gt: 0 } });
            const answer = await f.api.post(path, text, { 'content-type': contentType });
            expectValidationProblem(answer);
            expect(answer.body.errors).toEqual(
              expect.arrayContaining([expect.objectContaining({ field: key })]),
            );
            expect(await snapshot()).toEqual(before);
          }
        }
      },
    );

    it('refuses an extra inherited name on release and leaves the hold held', async () => {
      const id = await heldReservation();
      expectValidationProblem(
        await f.api.post(`/billing/reservations/${id}/release`, '{"hasOwnProperty":true}'),
      );
      expect((await f.api.get(`/billing/reservations/${id}`)).body).toMatchObject({
        status: 'held',
      });
    });

    it('refuses an inherited name in a query string like any unknown parameter', async () => {
      for (const key of ['toString', 'hasOwnProperty', 'valueOf', 'constructor']) {
        expectValidationProblem(await f.api.get(`/billing/transactions/${user}?${key}=x`));
        expectValidationProblem(await f.api.get(`/billing/monthly-usage/${user}?${key}=x`));
      }
      expectValidationProblem(await f.api.get(`/billing/transactions/${user}?__proto__=x`));
    });

    it('refuses __proto__, constructor and prototype keys at any depth', async () => {
      const before = await snapshot();
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const body = `{"user_id":"${user}","amount":1,"description":"x","reference":[{"a":{"${key}":{"x":1}}}]}`;
        const answer = await f.api.post('/billing/charge-tokens', body);
        expectValidationProblem(answer);
      }
      expect(await snapshot()).toEqual(before);
    });
  });
});
