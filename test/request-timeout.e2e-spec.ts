import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { verifyLedger } from '../src/ledger/ledger-verify.js';
import { useTestApp } from './support/fixture.js';
import { rawGet } from './support/raw-get.js';
import { ledgerEntries } from './support/ledger.js';

describe('request timeout', () => {
  const f = useTestApp({ REQUEST_TIMEOUT_MS: '400' });

  it('answers 503 DATABASE_UNAVAILABLE instead of hanging, and the key settles the unknown outcome', async () => {
    const user = await f.funded(100);
    const blocker = await f.db.pool.connect();
    const key = { 'idempotency-key': 'slow-charge' };
    const body = { user_id: user, amount: 40, description: 'slow' };
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM accounts WHERE user_id = $1 FOR UPDATE', [user]);
      const started = Date.now();
      const answer = await f.api.post('/billing/charge-tokens', body, key);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(answer.status).toBe(503);
      expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    // The abandoned request goes on and commits; a retry with its key learns the outcome.
    let retry = await f.api.post('/billing/charge-tokens', body, key);
    for (let i = 0; i < 20 && retry.status !== 200; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      retry = await f.api.post('/billing/charge-tokens', body, key);
    }
    expect(retry.status).toBe(200);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect((await f.api.get(`/billing/balance/${user}`)).body).toMatchObject({ balance: 60 });
    expect(await verifyLedger(f.db.pool)).toEqual([]);
  });
  it('does not cut off a history that is being streamed, however slowly the client reads', async () => {
    const user = randomUUID();
    const rows = 50_000;
    await f.db.pool.query('INSERT INTO accounts (user_id, balance) VALUES ($1, $2)', [user, rows]);
    await f.db.pool.query(
      `INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client)
       SELECT $1, 'credit', 1, i, 'grant ' || i, 'test' FROM generate_series(1, $2::int) AS i
        ORDER BY i`,
      [user, rows],
    );
    await f.app.listen(0, '127.0.0.1');
    const { port } = f.app.getHttpServer().address() as AddressInfo;
    // The server fills the socket and waits, well past the 400 ms request timeout.
    const outcome = await rawGet(`http://127.0.0.1:${port}/billing/transactions/${user}`, (res) => {
      res.pause();
      setTimeout(() => res.resume(), 1200);
    });
    expect(outcome.status).toBe(200);
    expect(outcome.complete).toBe(true);
    expect(JSON.parse(outcome.text)).toHaveLength(rows);
  });
});

describe('request timeout with group commit', () => {
  const f = useTestApp({ REQUEST_TIMEOUT_MS: '400', CHARGE_BATCHING: 'true' });

  it('drops a charge still queued behind the batch in flight when its request times out', async () => {
    const [inFlight, queued, later] = await Promise.all([
      f.funded(100),
      f.funded(100),
      f.funded(100),
    ]);
    const charge = (user: string) =>
      f.api.post('/billing/charge-tokens', { user_id: user, amount: 40, description: 'slow' });
    const blocker = await f.db.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM accounts WHERE user_id = $1 FOR UPDATE', [inFlight]);
      // The first charge is sent at once and waits on the row lock; the second waits behind it.
      const first = charge(inFlight);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = charge(queued);
      const answers = await Promise.all([first, second]);
      expect(answers.map((a) => a.status)).toEqual([503, 503]);
      expect(answers[1].body).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    } finally {
      await blocker.query('ROLLBACK');
      blocker.release();
    }
    // The statement in flight goes on and commits (its outcome was unknown to the caller)...
    let balance = 100;
    for (let i = 0; i < 40 && balance === 100; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      balance = (await f.api.get(`/billing/balance/${inFlight}`)).body.balance as number;
    }
    expect(balance).toBe(60);
    // ...the queued one was never sent: the batcher has moved on, and that user is untouched.
    expect((await charge(later)).status).toBe(200);
    expect((await f.api.get(`/billing/balance/${queued}`)).body).toMatchObject({ balance: 100 });
    expect(await ledgerEntries(f.db.pool, queued, 'debit')).toBe(0);
    expect(await verifyLedger(f.db.pool)).toEqual([]);
  });
});
