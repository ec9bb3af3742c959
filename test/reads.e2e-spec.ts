import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { useTestApp } from './support/fixture.js';

interface Transaction {
  id: string;
  user_id: string;
  amount: number;
  type: 'debit' | 'credit';
  balance_after: number;
  description: string;
  created_at: string;
}

describe('balance, transactions and monthly usage', () => {
  const f = useTestApp();

  async function move(
    kind: 'charge' | 'credit',
    userId: string,
    amount: number,
    description: string = kind,
  ) {
    const answer = await f.api.post(`/billing/${kind}-tokens`, {
      user_id: userId,
      amount,
      description,
    });
    expect(answer.status).toBe(200);
    return answer.body as { transaction_id: string; balance: number };
  }

  describe('GET /billing/balance/{user_id}', () => {
    it('returns the ledger balance', async () => {
      const user = randomUUID();
      await move('credit', user, 500);
      await move('charge', user, 120);
      const answer = await f.api.get(`/billing/balance/${user}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        user_id: user,
        balance: 380,
        reserved: 0,
        available: 380,
        next_expiry: null,
      });
    });

    it('answers 404 ACCOUNT_NOT_FOUND for an unknown user', async () => {
      const answer = await f.api.get(`/billing/balance/${randomUUID()}`);
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ status: 404, code: 'ACCOUNT_NOT_FOUND' });
    });

    it('returns the user id in lower case when asked in upper case', async () => {
      const user = randomUUID();
      await move('credit', user, 1);
      const answer = await f.api.get(`/billing/balance/${user.toUpperCase()}`);
      expect(answer.body).toEqual({
        user_id: user,
        balance: 1,
        reserved: 0,
        available: 1,
        next_expiry: null,
      });
    });
  });

  describe('GET /billing/transactions/{user_id}', () => {
    it('lists debits and credits newest first, signed, with ISO 8601 UTC times', async () => {
      const user = randomUUID();
      const c = await move('credit', user, 100, 'top-up');
      const d1 = await move('charge', user, 30, 'consultation 1');
      const d2 = await move('charge', user, 20, 'consultation 2');
      const answer = await f.api.get<Transaction[]>(`/billing/transactions/${user}`);
      expect(answer.status).toBe(200);
      expect(answer.body.map((t) => t.id)).toEqual([
        d2.transaction_id,
        d1.transaction_id,
        c.transaction_id,
      ]);
      expect(answer.body[0]).toEqual({
        id: d2.transaction_id,
        user_id: user,
        amount: -20,
        type: 'debit',
        balance_after: 50,
        description: 'consultation 2',
        reference: null,
        created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        grant_id: null,
        expires_at: null,
        priority: null,
      });
      expect(answer.body[2]).toMatchObject({
        amount: 100,
        type: 'credit',
        balance_after: 100,
        expires_at: null,
        priority: 50,
      });
    });

    it('has amounts that sum to the balance, and balance_after chained row by row', async () => {
      const user = randomUUID();
      await move('credit', user, 1000);
      for (const amount of [7, 70, 3]) await move('charge', user, amount);
      await move('credit', user, 5);
      const { body: rows } = await f.api.get<Transaction[]>(`/billing/transactions/${user}`);
      const { body: balance } = await f.api.get(`/billing/balance/${user}`);
      expect(rows.reduce((sum, t) => sum + t.amount, 0)).toBe(balance.balance);
      const oldestFirst = [...rows].reverse();
      let running = 0;
      for (const row of oldestFirst) {
        running += row.amount;
        expect(row.balance_after).toBe(running);
      }
    });

    it('orders rows that share a timestamp by their sequence, deterministically', async () => {
      const user = randomUUID();
      await move('credit', user, 10);
      // Rows written in one transaction share now(): the order must still be the insertion order.
      await f.db.pool.query(
        `BEGIN;
         INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client)
           VALUES ('${user}', 'credit', 1, 11, 'same instant A', 'test');
         INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client)
           VALUES ('${user}', 'credit', 1, 12, 'same instant B', 'test');
         UPDATE accounts SET balance = 12 WHERE user_id = '${user}';
         COMMIT;`,
      );
      const first = await f.api.get<Transaction[]>(`/billing/transactions/${user}`);
      expect(first.body.map((t) => t.description).slice(0, 2)).toEqual([
        'same instant B',
        'same instant A',
      ]);
      expect(first.body[0].created_at).toBe(first.body[1].created_at);
      const again = await f.api.get<Transaction[]>(`/billing/transactions/${user}`);
      expect(again.body).toEqual(first.body);
    });

    it('answers 404 ACCOUNT_NOT_FOUND for an unknown user', async () => {
      const answer = await f.api.get(`/billing/transactions/${randomUUID()}`);
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({ code: 'ACCOUNT_NOT_FOUND' });
    });

    it("does not list other users' rows", async () => {
      const [a, b] = [randomUUID(), randomUUID()];
      await move('credit', a, 10);
      await move('credit', b, 20);
      const answer = await f.api.get<Transaction[]>(`/billing/transactions/${a}`);
      expect(answer.body.every((t) => t.user_id === a)).toBe(true);
      expect(answer.body).toHaveLength(1);
    });
  });

  describe('GET /billing/monthly-usage/{user_id}', () => {
    function currentMonth() {
      const now = new Date();
      return {
        start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString(),
        end: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString(),
      };
    }

    it("sums this month's debits and counts them as consultations; credits do not count", async () => {
      const user = randomUUID();
      await move('credit', user, 1000);
      await move('charge', user, 100);
      await move('charge', user, 250);
      await move('credit', user, 50);
      const answer = await f.api.get(`/billing/monthly-usage/${user}`);
      expect(answer.status).toBe(200);
      const { start, end } = currentMonth();
      expect(answer.body).toEqual({
        user_id: user,
        tokens_consumed: 350,
        consultations_count: 2,
        start_date: start,
        end_date: end,
      });
    });

    it('does not count refused charges', async () => {
      const user = randomUUID();
      await move('credit', user, 10);
      const refused = await f.api.post('/billing/charge-tokens', {
        user_id: user,
        amount: 11,
        description: 'too much',
      });
      expect(refused.status).toBe(402);
      const answer = await f.api.get(`/billing/monthly-usage/${user}`);
      expect(answer.body).toMatchObject({ tokens_consumed: 0, consultations_count: 0 });
    });

    it('answers 0 and 0 for an unknown user, not an error', async () => {
      const user = randomUUID();
      const answer = await f.api.get(`/billing/monthly-usage/${user}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({
        user_id: user,
        tokens_consumed: 0,
        consultations_count: 0,
      });
    });

    it('leaves other months out of the current month', async () => {
      const user = randomUUID();
      await move('credit', user, 100);
      await move('charge', user, 10);
      await f.db.pool.query(
        `INSERT INTO monthly_usage (user_id, month, tokens_consumed, consultations_count)
         VALUES ($1, (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date, 999, 9)`,
        [user],
      );
      const answer = await f.api.get(`/billing/monthly-usage/${user}`);
      expect(answer.body).toMatchObject({ tokens_consumed: 10, consultations_count: 1 });
    });

    it("matches the ledger: the rollup equals the sum of this month's debits", async () => {
      const user = randomUUID();
      await move('credit', user, 10_000);
      await Promise.all(Array.from({ length: 30 }, (_, i) => move('charge', user, i + 1)));
      const { rows } = await f.db.pool.query<{ total: string; n: string }>(
        `SELECT -sum(amount) AS total, count(*) AS n FROM ledger_entries
          WHERE user_id = $1 AND type = 'debit'
            AND created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`,
        [user],
      );
      const answer = await f.api.get(`/billing/monthly-usage/${user}`);
      expect(answer.body).toMatchObject({
        tokens_consumed: Number(rows[0].total),
        consultations_count: Number(rows[0].n),
      });
      expect(answer.body.tokens_consumed).toBe(465);
    });
  });
});
