import { randomUUID } from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import { verifyLedger } from '../src/ledger/ledger-verify.js';
import { useTestApp } from './support/fixture.js';
import { moneyTables } from './support/ledger.js';

interface Grant {
  grant_id: string;
  amount: number;
  remaining: number;
  priority: number;
  expires_at: string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An instant `ms` from now, by the database clock (the one expiry is decided on). */
async function inFuture(
  pool: { query: (t: string) => Promise<{ rows: { t: Date }[] }> },
  ms: number,
) {
  const { rows } = await pool.query(`SELECT now() + interval '${ms} milliseconds' AS t`);
  return rows[0].t.toISOString();
}

describe('grants: credits with expiry and priority, consumed in order, expired exactly', () => {
  const f = useTestApp();

  async function grant(
    user: string,
    amount: number,
    terms: { expires_at?: string; priority?: number } = {},
  ): Promise<string> {
    const answer = await f.api.post('/billing/credit-tokens', {
      user_id: user,
      amount,
      description: `grant of ${amount}`,
      ...terms,
    });
    expect(answer.status).toBe(200);
    return answer.body.transaction_id as string;
  }

  const charge = (user: string, amount: number) =>
    f.api.post('/billing/charge-tokens', { user_id: user, amount, description: 'consultation' });

  async function remaining(user: string): Promise<Record<string, number>> {
    const { rows } = await f.db.pool.query<{ id: string; remaining: string }>(
      'SELECT id, remaining FROM grants WHERE user_id = $1',
      [user],
    );
    return Object.fromEntries(rows.map((r) => [r.id, Number(r.remaining)]));
  }

  it('refuses an expires_at in the past, more than 10 years ahead or without offset, and a priority outside 0-100, writing nothing', async () => {
    const user = randomUUID();
    const before = await moneyTables(f.db.pool);
    for (const terms of [
      { expires_at: '2020-01-01T00:00:00Z' },
      { expires_at: await inFuture(f.db.pool, 11 * 365 * 24 * 3600 * 1000) },
      { expires_at: '2030-01-01T00:00:00' },
      { expires_at: 'tomorrow' },
      { priority: 101 },
      { priority: -1 },
      { priority: 1.5 },
    ]) {
      const answer = await f.api.post('/billing/credit-tokens', {
        user_id: user,
        amount: 10,
        description: 'x',
        ...terms,
      });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    expect(await moneyTables(f.db.pool)).toEqual(before);
  });

  it('consumes by priority, then soonest expiry (non-expiring last), then oldest grant', async () => {
    const user = randomUUID();
    const later = await inFuture(f.db.pool, 2 * 3600_000);
    const sooner = await inFuture(f.db.pool, 3600_000);
    const oldPlain = await grant(user, 10); // priority 50, never expires, oldest
    const expLater = await grant(user, 10, { expires_at: later });
    const expSooner = await grant(user, 10, { expires_at: sooner });
    const urgent = await grant(user, 10, { priority: 10 });
    const newPlain = await grant(user, 10);

    const listed = await f.api.get<Grant[]>(`/billing/grants/${user}`);
    expect(listed.status).toBe(200);
    expect(listed.body.map((g) => g.grant_id)).toEqual([
      urgent,
      expSooner,
      expLater,
      oldPlain,
      newPlain,
    ]);

    expect((await charge(user, 15)).status).toBe(200); // urgent 10, expSooner 5
    expect(await remaining(user)).toMatchObject({ [urgent]: 0, [expSooner]: 5, [expLater]: 10 });
    expect((await charge(user, 20)).status).toBe(200); // expSooner 5, expLater 10, oldPlain 5
    expect(await remaining(user)).toMatchObject({
      [expSooner]: 0,
      [expLater]: 0,
      [oldPlain]: 5,
      [newPlain]: 10,
    });
    const { rows } = await f.db.pool.query<{ grant_id: string; amount: string }>(
      `SELECT d.grant_id, d.amount FROM debit_draws d
         JOIN ledger_entries e ON e.user_id = d.user_id AND e.id = d.debit_id
        WHERE d.user_id = $1 ORDER BY e.seq DESC LIMIT 3`,
      [user],
    );
    expect(new Map(rows.map((r) => [r.grant_id, Number(r.amount)]))).toEqual(
      new Map([
        [expSooner, 5],
        [expLater, 10],
        [oldPlain, 5],
      ]),
    );
    expect(await verifyLedger(f.db.pool)).toEqual([]);
  });

  it('stops counting an expired remainder at expires_at, without a sweep, and the next charge writes its expiry', async () => {
    const user = randomUUID();
    await grant(user, 30);
    const expiring = await grant(user, 70, { expires_at: await inFuture(f.db.pool, 1500) });
    const before = await f.api.get(`/billing/balance/${user}`);
    expect(before.body).toMatchObject({
      balance: 100,
      available: 100,
      next_expiry: { amount: 70 },
    });
    await sleep(1700);
    const after = await f.api.get(`/billing/balance/${user}`);
    expect(after.body).toMatchObject({ balance: 30, available: 30, next_expiry: null });

    const refused = await charge(user, 31);
    expect(refused.status).toBe(402);
    const ok = await charge(user, 30);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ balance: 0 });

    const expiries = await f.api.get<Record<string, unknown>[]>(
      `/billing/transactions/${user}?type=expiry&limit=10`,
    );
    expect(expiries.body).toEqual([
      expect.objectContaining({ type: 'expiry', amount: -70, grant_id: expiring }),
    ]);
    expect(await remaining(user)).toMatchObject({ [expiring]: 0 });
    expect(await verifyLedger(f.db.pool)).toEqual([]);
  });

  it('expires exactly in the group-commit batch too: parallel charges after an expiry never spend it', async () => {
    const user = randomUUID();
    await grant(user, 20);
    await grant(user, 50, { expires_at: await inFuture(f.db.pool, 1000), priority: 0 });
    await sleep(1200);
    const answers = await Promise.all(Array.from({ length: 40 }, () => charge(user, 1)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(20);
    expect(answers.filter((a) => a.status === 402)).toHaveLength(20);
    const { rows } = await f.db.pool.query<{ type: string; n: string; total: string }>(
      `SELECT type, count(*) AS n, sum(amount) AS total FROM ledger_entries
        WHERE user_id = $1 GROUP BY type ORDER BY type`,
      [user],
    );
    expect(rows).toEqual([
      { type: 'credit', n: '2', total: '70' },
      { type: 'debit', n: '20', total: '-20' },
      { type: 'expiry', n: '1', total: '-50' },
    ]);
    expect(await verifyLedger(f.db.pool)).toEqual([]);
  });

  it('keeps held tokens capturable across their grant expiry, and expires what is left at capture', async () => {
    const user = randomUUID();
    const expiring = await grant(user, 100, { expires_at: await inFuture(f.db.pool, 1500) });
    const hold = await f.api.post('/billing/reservations', {
      user_id: user,
      amount: 60,
      description: 'agent run',
    });
    expect(hold.status).toBe(201);
    await sleep(1700);
    // The 40 not held expire at the next statement; the 60 held stay guaranteed.
    expect((await charge(user, 1)).status).toBe(402);
    expect(await remaining(user)).toEqual({ [expiring]: 60 });
    const capture = await f.api.post(`/billing/reservations/${hold.body.id as string}/capture`, {
      amount: 45,
    });
    expect(capture.status).toBe(200);
    expect(capture.body).toMatchObject({ balance: 0, available: 0 }); // 15 left, expired at once
    const balance = await f.api.get(`/billing/balance/${user}`);
    expect(balance.body).toMatchObject({ balance: 0, reserved: 0, available: 0 });
    const { rows } = await f.db.pool.query<{ type: string; amount: string }>(
      'SELECT type, amount FROM ledger_entries WHERE user_id = $1 ORDER BY seq',
      [user],
    );
    expect(rows).toEqual([
      { type: 'credit', amount: '100' },
      { type: 'expiry', amount: '-40' },
      { type: 'debit', amount: '-45' },
      { type: 'expiry', amount: '-15' },
    ]);
    expect(await verifyLedger(f.db.pool)).toEqual([]);
  });

  it('refuses a new hold on expired tokens and writes their expiry', async () => {
    const user = randomUUID();
    await grant(user, 10);
    await grant(user, 40, { expires_at: await inFuture(f.db.pool, 1000) });
    await sleep(1200);
    const refused = await f.api.post('/billing/reservations', {
      user_id: user,
      amount: 11,
      description: 'too much',
    });
    expect(refused.status).toBe(402);
    const held = await f.api.post('/billing/reservations', {
      user_id: user,
      amount: 10,
      description: 'fits',
    });
    expect(held.status).toBe(201);
    expect(await verifyLedger(f.db.pool)).toEqual([]);
  });

  it('stays exact when credits, charges and holds race on one user', async () => {
    const user = await f.funded(50);
    const soon = await inFuture(f.db.pool, 800);
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i += 1) {
      work.push(charge(user, 2));
      if (i % 3 === 0) work.push(grant(user, 5, { priority: i % 100, expires_at: soon }));
      if (i % 10 === 0) {
        work.push(
          f.api.post('/billing/reservations', { user_id: user, amount: 3, description: 'h' }),
        );
      }
    }
    await Promise.all(work);
    await sleep(900);
    await Promise.all(Array.from({ length: 10 }, () => charge(user, 1)));
    expect(await verifyLedger(f.db.pool)).toEqual([]);
  });

  it('lists live grants keyset-paged with Link, and 404 for an unknown user', async () => {
    const user = randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(await grant(user, 1 + i, { priority: 10 * i }));
    const seen: string[] = [];
    let url: string | undefined = `/billing/grants/${user}?limit=2`;
    while (url !== undefined) {
      const page = await f.api.get<Grant[]>(url);
      expect(page.status).toBe(200);
      seen.push(...page.body.map((g) => g.grant_id));
      const link = page.headers.link as string | undefined;
      url = link === undefined ? undefined : /^<([^>]+)>; rel="next"$/.exec(link)?.[1];
    }
    expect(seen).toEqual(ids);
    const first = await f.api.get<Grant[]>(`/billing/grants/${user}?limit=1`);
    expect(first.body[0]).toEqual({
      grant_id: ids[0],
      amount: 1,
      remaining: 1,
      priority: 0,
      expires_at: null,
      created_at: expect.any(String),
      description: 'grant of 1',
      reference: null,
    });
    expect((await f.api.get(`/billing/grants/${randomUUID()}`)).status).toBe(404);
    expect((await f.api.get(`/billing/grants/${user}?cursor=bogus`)).status).toBe(400);
  });

  it('shows expires_at and priority on credit rows of the history', async () => {
    const user = randomUUID();
    const at = await inFuture(f.db.pool, 3600_000);
    await grant(user, 5, { expires_at: at, priority: 7 });
    const history = await f.api.get<Record<string, unknown>[]>(
      `/billing/transactions/${user}?limit=5`,
    );
    expect(history.body[0]).toMatchObject({
      type: 'credit',
      priority: 7,
      expires_at: at,
      grant_id: null,
    });
  });
});
