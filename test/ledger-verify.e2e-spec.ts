import { describe, expect, it } from '@jest/globals';
import { verifyLedger } from '../src/ledger/ledger-verify.js';
import { useTestApp } from './support/fixture.js';

describe('ledger verification', () => {
  const f = useTestApp();

  it('passes on a ledger written by the service', async () => {
    const user = await f.funded(100);
    await f.api.post('/billing/charge-tokens', { user_id: user, amount: 30, description: 'x' });
    await f.api.post('/billing/reservations', { user_id: user, amount: 20, description: 'h' });
    expect(await verifyLedger(f.db.pool)).toEqual([]);
  });

  it('names the account whose balance, reserved counter or hold disagrees with the ledger', async () => {
    const drifted = await f.funded(50);
    const overReserved = await f.funded(50);
    await f.db.pool.query('UPDATE accounts SET balance = balance + 1 WHERE user_id = $1', [
      drifted,
    ]);
    await f.db.pool.query('UPDATE accounts SET reserved = 7 WHERE user_id = $1', [overReserved]);
    const violations = await verifyLedger(f.db.pool);
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          user_id: drifted,
          check: expect.stringMatching(/^balance = sum/),
        }),
        expect.objectContaining({
          user_id: overReserved,
          check: expect.stringMatching(/^reserved/),
        }),
      ]),
    );
    expect(new Set(violations.map((v) => v.user_id))).toEqual(new Set([drifted, overReserved]));
  });

  it('names the account whose grant remainders disagree with its balance or its next_expiry', async () => {
    const drifted = await f.funded(40);
    const late = await f.funded(40);
    await f.db.pool.query('UPDATE grants SET remaining = remaining - 1 WHERE user_id = $1', [
      drifted,
    ]);
    await f.db.pool.query(
      `UPDATE grants SET expires_at = now() + interval '1 hour' WHERE user_id = $1`,
      [late], // a grant that expires, but the account's next_expiry does not say so
    );
    const violations = await verifyLedger(f.db.pool);
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ user_id: drifted, check: 'balance = sum(grant remainders)' }),
        expect.objectContaining({ user_id: late, check: expect.stringMatching(/^next_expiry/) }),
      ]),
    );
  });
});
