import { describe, expect, it } from '@jest/globals';
import { verifyLedger } from '../src/ledger/ledger-verify.js';
import { useTestApp } from './support/fixture.js';

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
});
