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
});
