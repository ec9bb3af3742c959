import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { useTestApp } from './support/fixture.js';
import { ledgerEntries } from './support/ledger.js';

describe('charge-tokens and credit-tokens', () => {
  const f = useTestApp();

  async function credit(userId: string, amount: number) {
    const answer = await f.api.post('/billing/credit-tokens', {
      user_id: userId,
      amount,
      description: 'grant',
    });
    expect(answer.status).toBe(200);
    return answer;
  }

  const ledgerCount = (userId: string) => ledgerEntries(f.db.pool, userId);

  it('debits the balance and answers with the transaction and the balance after', async () => {
    const user = randomUUID();
    await credit(user, 100);
    const answer = await f.api.post('/billing/charge-tokens', {
      user_id: user,
      amount: 30,
      description: 'consultation',
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      status: 'success',
      transaction_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      balance: 70,
    });
    const { rows } = await f.db.pool.query(
      'SELECT id, amount, type, balance_after FROM ledger_entries WHERE user_id = $1 ORDER BY seq',
      [user],
    );
    expect(rows).toHaveLength(2);
    expect(rows[1]).toMatchObject({
      id: answer.body.transaction_id,
      amount: '-30',
      type: 'debit',
      balance_after: '70',
    });
  });

  it('allows a charge of exactly the whole balance', async () => {
    const user = randomUUID();
    await credit(user, 25);
    const answer = await f.api.post('/billing/charge-tokens', {
      user_id: user,
      amount: 25,
      description: 'all of it',
    });
    expect(answer.status).toBe(200);
    expect(answer.body.balance).toBe(0);
  });

  it('refuses a charge beyond the balance with 402 INSUFFICIENT_BALANCE and writes nothing', async () => {
    const user = randomUUID();
    await credit(user, 10);
    const answer = await f.api.post('/billing/charge-tokens', {
      user_id: user,
      amount: 11,
      description: 'too much',
    });
    expect(answer.status).toBe(402);
    expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(answer.body).toMatchObject({ status: 402, code: 'INSUFFICIENT_BALANCE' });
    expect(await ledgerCount(user)).toBe(1);
    const usage = await f.db.pool.query('SELECT 1 FROM monthly_usage WHERE user_id = $1', [user]);
    expect(usage.rowCount).toBe(0);
    expect((await f.api.get(`/billing/balance/${user}`)).body).toMatchObject({ balance: 10 });
  });

  it('refuses a charge for an unknown user with 402 ACCOUNT_NOT_FOUND and creates nothing', async () => {
    const user = randomUUID();
    const answer = await f.api.post('/billing/charge-tokens', {
      user_id: user,
      amount: 1,
      description: 'who?',
    });
    expect(answer.status).toBe(402);
    expect(answer.body).toMatchObject({ status: 402, code: 'ACCOUNT_NOT_FOUND' });
    const account = await f.db.pool.query('SELECT 1 FROM accounts WHERE user_id = $1', [user]);
    expect(account.rowCount).toBe(0);
  });

  it('creates the account on first credit and adds to it afterwards', async () => {
    const user = randomUUID();
    const first = await credit(user, 40);
    expect(first.body).toMatchObject({ status: 'success', balance: 40 });
    const second = await credit(user, 2);
    expect(second.body).toMatchObject({ status: 'success', balance: 42 });
    expect(second.body.transaction_id).not.toBe(first.body.transaction_id);
  });

  it('accepts a credit up to exactly 2^53-1 and refuses one past it with 422 BALANCE_LIMIT', async () => {
    const user = randomUUID();
    await credit(user, Number.MAX_SAFE_INTEGER - 1);
    const atLimit = await credit(user, 1);
    expect(atLimit.body.balance).toBe(Number.MAX_SAFE_INTEGER);
    const over = await f.api.post('/billing/credit-tokens', {
      user_id: user,
      amount: 1,
      description: 'one too many',
    });
    expect(over.status).toBe(422);
    expect(over.body).toMatchObject({ code: 'BALANCE_LIMIT', status: 422 });
    expect(await ledgerCount(user)).toBe(2);
  });

  it('treats upper- and lower-case spellings of a user id as the same account', async () => {
    const user = randomUUID();
    await credit(user.toUpperCase(), 5);
    const answer = await f.api.post('/billing/charge-tokens', {
      user_id: user,
      amount: 5,
      description: 'lower case',
    });
    expect(answer.status).toBe(200);
    const { rows } = await f.db.pool.query('SELECT user_id FROM accounts WHERE user_id = $1', [
      user,
    ]);
    expect(rows).toEqual([{ user_id: user }]);
  });

  it('never overdraws: 200 parallel charges of 1 on a balance of 50 give 50 successes and 150 × 402', async () => {
    const user = randomUUID();
    await credit(user, 50);
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        f.api.post('/billing/charge-tokens', {
          user_id: user,
          amount: 1,
          description: `race ${i}`,
        }),
      ),
    );
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(50);
    expect(statuses.filter((s) => s === 402)).toHaveLength(150);
    const balances = answers.filter((a) => a.status === 200).map((a) => a.body.balance as number);
    expect(new Set(balances).size).toBe(50); // each success saw a distinct balance: 49..0
    expect(Math.min(...balances)).toBe(0);

    const { rows } = await f.db.pool.query<{ balance: string; total: string; debits: string }>(
      `SELECT a.balance,
              (SELECT sum(amount) FROM ledger_entries l WHERE l.user_id = a.user_id) AS total,
              (SELECT count(*) FROM ledger_entries l
                WHERE l.user_id = a.user_id AND type = 'debit') AS debits
         FROM accounts a WHERE a.user_id = $1`,
      [user],
    );
    expect(rows[0]).toEqual({ balance: '0', total: '0', debits: '50' });
    const usage = await f.api.get(`/billing/monthly-usage/${user}`);
    expect(usage.body).toMatchObject({ tokens_consumed: 50, consultations_count: 50 });
  });

  it('runs parallel charges on different users without interfering', async () => {
    const users = Array.from({ length: 20 }, () => randomUUID());
    await Promise.all(users.map((u) => credit(u, 10)));
    const answers = await Promise.all(
      users.flatMap((u) =>
        Array.from({ length: 4 }, () =>
          f.api.post('/billing/charge-tokens', { user_id: u, amount: 3, description: 'x' }),
        ),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(60); // 3 of 4 fit in 10
    expect(answers.filter((a) => a.status === 402)).toHaveLength(20);
  });
});
