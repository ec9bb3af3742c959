import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { MONTH } from '../src/usage/usage.repository.js';
import { fundedUser } from './support/accounts.js';
import { useTestApp } from './support/fixture.js';

describe('GET /monthly-usage/{user_id}', () => {
  const f = useTestApp();

  const funded = (balance: number) => fundedUser(f.api, balance);

  async function currentMonthStart(): Promise<Date> {
    const { rows } = await f.db.pool.query<{ start: Date }>(
      `SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS start`,
    );
    return rows[0].start;
  }

  it("reports this month's debits, with the month's bounds in UTC", async () => {
    const user = await funded(1000);
    for (const amount of [100, 20, 3]) {
      const answer = await f.api.post('/billing/charge-tokens', {
        user_id: user,
        amount,
        description: 'consultation',
      });
      expect(answer.status).toBe(200);
    }
    const start = await currentMonthStart();
    const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
    const answer = await f.api.get(`/billing/monthly-usage/${user}`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      user_id: user,
      tokens_consumed: 123,
      consultations_count: 3,
      start_date: start.toISOString(),
      end_date: end.toISOString(),
    });
    const month = start.toISOString().slice(0, 7);
    expect((await f.api.get(`/billing/monthly-usage/${user}?month=${month}`)).body).toEqual(
      answer.body,
    );
  });

  it('reports a past month from its rollup row, with that month as the bounds', async () => {
    const user = await funded(10);
    await f.db.pool.query(
      `INSERT INTO monthly_usage (user_id, month, tokens_consumed, consultations_count)
       VALUES ($1, '2025-12-01', 777, 7), ($1, '2026-01-01', 1, 1)`,
      [user],
    );
    const answer = await f.api.get(`/billing/monthly-usage/${user}?month=2025-12`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      user_id: user,
      tokens_consumed: 777,
      consultations_count: 7,
      start_date: '2025-12-01T00:00:00.000Z',
      end_date: '2026-01-01T00:00:00.000Z',
    });
  });

  it('gives 0 and 0 for a month without debits, and for an unknown user', async () => {
    const answer = await f.api.get(`/billing/monthly-usage/${randomUUID()}?month=2024-02`);
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      tokens_consumed: 0,
      consultations_count: 0,
      start_date: '2024-02-01T00:00:00.000Z',
      end_date: '2024-03-01T00:00:00.000Z',
    });
  });

  it.each([
    ['month=2026-13'],
    ['month=2026-00'],
    ['month=2026-1'],
    ['month=26-01'],
    ['month=2026-01-01'],
    ['month=0000-01'],
    ['month='],
    ['month=2026-01&month=2026-02'],
    ['year=2026'],
  ])('refuses ?%s with 400 VALIDATION_FAILED', async (query) => {
    const answer = await f.api.get(`/billing/monthly-usage/${randomUUID()}?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('keeps the rollup equal to the ledger under parallel charges', async () => {
    const user = await funded(10_000);
    const answers = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        f.api.post('/billing/charge-tokens', { user_id: user, amount: i + 1, description: 'x' }),
      ),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const { rows } = await f.db.pool.query<{ tokens: string; n: string }>(
      `SELECT -sum(amount) AS tokens, count(*) AS n FROM ledger_entries
        WHERE user_id = $1 AND type = 'debit'`,
      [user],
    );
    expect(rows[0]).toEqual({ tokens: '5050', n: '100' });
    const usage = await f.api.get(`/billing/monthly-usage/${user}`);
    expect(usage.body).toMatchObject({ tokens_consumed: 5050, consultations_count: 100 });
  });

  it('reads the rollup, not the ledger: flat cost for a user with 200,000 rows', async () => {
    const user = await funded(1);
    // History written behind the rollup's back: were the ledger scanned, these would count.
    await f.db.pool.query(
      `INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client)
       SELECT $1, 'debit', -1, 1, 'old', 'test' FROM generate_series(1, 200000)`,
      [user],
    );
    await f.db.pool.query('ANALYZE ledger_entries');
    const answer = await f.api.get(`/billing/monthly-usage/${user}`);
    expect(answer.body).toMatchObject({ tokens_consumed: 0, consultations_count: 0 });

    // The statement the service runs touches the rollup's primary key only, never the ledger.
    const { rows } = await f.db.pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN ${MONTH.text.replaceAll('$1', `'${user}'::uuid`).replaceAll('$2', 'NULL')}`,
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).not.toMatch(/ledger_entries/);
    expect(plan).toMatch(/monthly_usage_pkey/);
  });
});
