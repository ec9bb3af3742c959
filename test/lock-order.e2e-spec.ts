import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { ChargesRepository } from '../src/charges/charges.repository.js';
import { ReservationsRepository } from '../src/reservations/reservations.repository.js';
import { useTestApp } from './support/fixture.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Statements that lock several account rows must take them in one order (user_id), or two of them
 * deadlock and PostgreSQL kills one: for a batch debit, that is every charge of the batch refused
 * with 503. Found in review: the expiry sweep used to lock accounts in hash order.
 */
describe('lock order of multi-account statements', () => {
  const f = useTestApp({ CHARGE_BATCHING: 'true' });

  it('the expiry sweep and a batch debit over the same accounts never deadlock', async () => {
    const charges = f.app.get(ChargesRepository);
    const reservations = f.app.get(ReservationsRepository);
    const failures: string[] = [];
    for (let round = 0; round < 6; round += 1) {
      const withHolds = await Promise.all(Array.from({ length: 12 }, () => f.funded(1000)));
      for (const user of withHolds) {
        const hold = await f.api.post('/billing/reservations', {
          user_id: user,
          amount: 10,
          description: 'hold',
        });
        expect(hold.status).toBe(201);
      }
      await f.db.pool.query(
        `UPDATE reservations SET expires_at = now() - interval '1 second' WHERE user_id = ANY($1)`,
        [withHolds],
      );
      const plain = await Promise.all(Array.from({ length: 12 }, () => f.funded(1000)));

      // Another transaction holds one account row for a moment (as a keyed credit would), so that
      // the sweep and the batch both queue behind it while holding other rows.
      const blocker = new pg.Client({ connectionString: f.db.url });
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('UPDATE accounts SET updated_at = now() WHERE user_id = $1', [
        [...withHolds].sort()[1],
      ]);
      const sweep = reservations.sweep(100);
      await sleep(150);
      const batch = charges.debitBatch(
        [...withHolds, ...plain].map((userId) => ({
          userId,
          amount: 1,
          description: 'charge',
          reference: null,
          client: 'test',
        })),
      );
      await sleep(150);
      await blocker.query('COMMIT');
      await blocker.end();

      const settled = await Promise.allSettled([batch, sweep]);
      settled.forEach((outcome, i) => {
        if (outcome.status === 'rejected') {
          const error = outcome.reason as Error & { cause?: { code?: string } };
          failures.push(`round ${round} ${i === 0 ? 'batch' : 'sweep'}: ${error.cause?.code}`);
        }
      });
    }
    expect(failures).toEqual([]);
  });
});
