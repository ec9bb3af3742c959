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

/**
 * Several holds of one user are locked in one order (expires_at, id) by every statement: a debit
 * or a new hold locks the holds past expiry, a capture its target together with them. Found in
 * review: the capture used to lock its target first, so near an expiry a capture and a debit
 * could take two holds in opposite orders and deadlock.
 */
describe('lock order of holds', () => {
  const f = useTestApp({ RESERVATION_SWEEP_INTERVAL_MS: '0' });

  it('a capture waits for the older due hold before locking its own target', async () => {
    const user = await f.funded(1000);
    const hold = async () => {
      const answer = await f.api.post('/billing/reservations', {
        user_id: user,
        amount: 10,
        description: 'hold',
      });
      expect(answer.status).toBe(201);
      return answer.body.id as string;
    };
    const due = await hold();
    const target = await hold();
    await f.db.pool.query(
      `UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [due],
    );

    // Another statement (a debit whose clock already sees both holds due) takes them in
    // (expires_at, id) order: the due hold first, then the target.
    const blocker = new pg.Client({ connectionString: f.db.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM reservations WHERE id = $1 FOR UPDATE', [due]);
      const capture = f.api.post(`/billing/reservations/${target}/capture`, { amount: 10 });
      await sleep(200);
      // The capture must not hold its target while it waits for the due hold: if it did, this
      // would wait on it (and the two would deadlock).
      await blocker.query("SET LOCAL lock_timeout = '500ms'");
      await blocker.query('SELECT 1 FROM reservations WHERE id = $1 FOR UPDATE', [target]);
      await blocker.query('COMMIT');
      const answer = await capture;
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ status: 'success', balance: 990 });
    } finally {
      await blocker.end();
    }
    // The due hold was freed by the capture's statement: 1000 - 10 captured.
    expect((await f.api.get(`/billing/balance/${user}`)).body).toMatchObject({
      balance: 990,
      reserved: 0,
    });
  });
});
