import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { useTestApp } from './support/fixture.js';
import { moneyTables } from './support/ledger.js';

/** Bad input gets a clear problem-details answer and changes nothing. */
describe('input validation', () => {
  const f = useTestApp();
  const user = randomUUID();

  beforeAll(async () => {
    const seeded = await f.api.post('/billing/credit-tokens', {
      user_id: user,
      amount: 1000,
      description: 'seed',
    });
    expect(seeded.status).toBe(200);
  });

  const snapshot = () => moneyTables(f.db.pool);

  function expectProblem(
    answer: { status: number; headers: Record<string, unknown>; body: unknown },
    status: number,
    code: string,
  ) {
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({
      type: expect.stringMatching(/^urn:billing-service:problem:/),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      code,
    });
  }

  const good = () => ({ user_id: user, amount: 5, description: 'ok' });

  const badBodies: Array<{ name: string; body: unknown; field?: string }> = [
    { name: 'a non-UUID user_id', body: { ...good(), user_id: 'user-42' }, field: 'user_id' },
    {
      name: 'a UUID with an invalid version digit',
      body: { ...good(), user_id: '6f9619ff-8b86-d011-b42d-00c04fc964ff' },
      field: 'user_id',
    },
    { name: 'a missing user_id', body: { amount: 5, description: 'x' }, field: 'user_id' },
    { name: 'an amount of 0', body: { ...good(), amount: 0 }, field: 'amount' },
    { name: 'a negative amount', body: { ...good(), amount: -5 }, field: 'amount' },
    { name: 'a fractional amount', body: { ...good(), amount: 1.5 }, field: 'amount' },
    { name: 'an amount given as a string', body: { ...good(), amount: '10' }, field: 'amount' },
    {
      name: 'an amount past 2^53-1',
      body: { ...good(), amount: 9007199254740992 },
      field: 'amount',
    },
    {
      name: 'an amount of 1e30',
      body: `{"user_id":"${user}","amount":1e30,"description":"x"}`,
      field: 'amount',
    },
    { name: 'a missing amount', body: { user_id: user, description: 'x' }, field: 'amount' },
    { name: 'a null amount', body: { ...good(), amount: null }, field: 'amount' },
    { name: 'a boolean amount', body: { ...good(), amount: true }, field: 'amount' },
    { name: 'a missing description', body: { user_id: user, amount: 5 }, field: 'description' },
    {
      name: 'a non-string description',
      body: { ...good(), description: 42 },
      field: 'description',
    },
    { name: 'an empty description', body: { ...good(), description: '' }, field: 'description' },
    {
      name: 'a description over 1000 characters',
      body: { ...good(), description: 'x'.repeat(1001) },
      field: 'description',
    },
    {
      name: 'a description with a NUL character',
      body: { ...good(), description: 'a\u0000b' },
      field: 'description',
    },
    { name: 'an unknown field', body: { ...good(), currency: 'EUR' }, field: 'currency' },
    { name: 'a body that is an array', body: [good()] },
    { name: 'a body that is null', body: 'null' },
    { name: 'a body that is a number', body: '42' },
    { name: 'a body that is a string', body: '"hello"' },
    { name: 'malformed JSON', body: '{"user_id": ' },
    { name: 'an empty JSON body', body: '' },
  ];

  for (const path of ['/billing/charge-tokens', '/billing/credit-tokens']) {
    describe(`POST ${path}`, () => {
      it.each(badBodies)('refuses $name with 400 and writes nothing', async ({ body, field }) => {
        const before = await snapshot();
        const answer = await f.api.post(path, body, { 'content-type': 'application/json' });
        expectProblem(answer, 400, 'VALIDATION_FAILED');
        if (field !== undefined) {
          expect((answer.body as { errors: { field: string }[] }).errors).toEqual(
            expect.arrayContaining([expect.objectContaining({ field })]),
          );
        }
        expect(await snapshot()).toEqual(before);
      });

      it('refuses a non-JSON content type with 415', async () => {
        const answer = await f.api.post(path, JSON.stringify(good()), {
          'content-type': 'text/plain',
        });
        expectProblem(answer, 415, 'UNSUPPORTED_MEDIA_TYPE');
      });

      it('refuses a form-encoded body with 415', async () => {
        const answer = await f.api.post(path, `user_id=${user}&amount=5&description=x`, {
          'content-type': 'application/x-www-form-urlencoded',
        });
        expectProblem(answer, 415, 'UNSUPPORTED_MEDIA_TYPE');
      });

      it('refuses a body over 16 KiB with 413', async () => {
        const answer = await f.api.post(path, { ...good(), description: 'x'.repeat(20_000) });
        expectProblem(answer, 413, 'PAYLOAD_TOO_LARGE');
      });

      it('accepts a JSON content type with a charset parameter', async () => {
        const answer = await f.api.post(path, JSON.stringify(good()), {
          'content-type': 'application/json; charset=utf-8',
        });
        expect(answer.status).toBe(200);
      });
    });
  }

  describe('messages: one per field, the first rule it fails', () => {
    const cases: Array<{ body: Record<string, unknown>; errors: Array<[string, string]> }> = [
      {
        body: { ...good(), amount: '10' },
        errors: [['amount', 'amount must be a JSON integer (got a string)']],
      },
      {
        body: { ...good(), amount: 1.5 },
        errors: [['amount', 'amount must be a JSON integer (got a fraction)']],
      },
      {
        body: { ...good(), amount: null },
        errors: [['amount', 'amount must be a JSON integer (got null)']],
      },
      { body: { ...good(), amount: 0 }, errors: [['amount', 'amount must not be less than 1']] },
      { body: { user_id: user, amount: 5 }, errors: [['description', 'description is required']] },
      {
        body: { amount: [], currency: 'EUR' },
        errors: [
          ['user_id', 'user_id is required'],
          ['amount', 'amount must be a JSON integer (got an array)'],
          ['description', 'description is required'],
          ['currency', 'currency is not a field of this request'],
        ],
      },
      {
        body: { ...good(), user_id: 42 },
        errors: [['user_id', 'user_id must be a string (got a number)']],
      },
      {
        body: { ...good(), description: 42 },
        errors: [['description', 'description must be a string (got a number)']],
      },
    ];

    it.each(cases)('answers $body with exactly its field errors', async ({ body, errors }) => {
      const answer = await f.api.post<{ detail: string; errors: unknown[] }>(
        '/billing/charge-tokens',
        body,
      );
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toEqual(errors.map(([field, message]) => ({ field, message })));
      expect(answer.body.detail).toBe(errors.map(([, message]) => message).join('; '));
    });

    it('names a malformed query value once', async () => {
      const answer = await f.api.get<{ errors: unknown[] }>(
        `/billing/transactions/${user}?from=yesterday`,
      );
      expect(answer.status).toBe(400);
      expect(answer.body.errors).toHaveLength(1);
      expect(answer.body.errors[0]).toMatchObject({ field: 'from' });
    });
  });

  describe.each(['balance', 'transactions', 'monthly-usage'])(
    'GET /billing/%s/{user_id}',
    (route) => {
      it('refuses a non-UUID id with 400', async () => {
        expectProblem(await f.api.get(`/billing/${route}/not-a-uuid`), 400, 'VALIDATION_FAILED');
      });

      it('refuses a malformed percent escape with a 400 problem', async () => {
        expectProblem(await f.api.get(`/billing/${route}/%zz`), 400, 'VALIDATION_FAILED');
      });

      it('refuses an over-long path parameter with a 414 problem', async () => {
        expectProblem(await f.api.get(`/billing/${route}/${'a'.repeat(150)}`), 414, 'URI_TOO_LONG');
      });

      it('accepts an upper-case UUID as the same user', async () => {
        const answer = await f.api.get(`/billing/${route}/${user.toUpperCase()}`);
        expect(answer.status).toBe(200);
      });
    },
  );

  it('answers an unknown route with a 404 problem', async () => {
    expectProblem(await f.api.get('/billing/nothing-here'), 404, 'NOT_FOUND');
  });

  it('never leaks internals: no stack traces or SQL in error bodies', async () => {
    const answers = await Promise.all([
      f.api.post('/billing/charge-tokens', '{bad', { 'content-type': 'application/json' }),
      f.api.post('/billing/charge-tokens', { ...good(), amount: 'DROP TABLE' }),
      f.api.get('/billing/balance/%zz'),
    ]);
    for (const answer of answers) {
      const text = JSON.stringify(answer.body);
      expect(text).not.toMatch(/\bat .+\.(js|ts):\d+/);
      expect(text).not.toMatch(/SELECT|INSERT|UPDATE|ledger_entries|node_modules/i);
    }
  });
});
