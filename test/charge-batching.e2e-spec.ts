import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { DebitOutcome } from '../src/charges/charges.repository.js';
import { DebitBatcher } from '../src/charges/debit-batcher.js';
import { Metrics } from '../src/metrics/metrics.js';
import { fundedUser } from './support/accounts.js';
import { startTestApp } from './support/app.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type Client, client } from './support/http.js';

interface Charged {
  status: string;
  transaction_id: string;
  balance: number;
  code?: string;
}

describe('charges with group commit (batching)', () => {
  let db: TestDatabase;
  let batched: NestFastifyApplication;
  let replica: NestFastifyApplication;
  let unbatched: NestFastifyApplication;
  let api: Client;

  beforeAll(async () => {
    db = await createTestDatabase();
    batched = await startTestApp(db.url, { env: { CHARGE_BATCHING: 'true' } });
    replica = await startTestApp(db.url, { env: { CHARGE_BATCHING: 'true' } });
    unbatched = await startTestApp(db.url, { env: { CHARGE_BATCHING: 'false' } });
    api = client(batched);
  });

  afterAll(async () => {
    await batched?.close();
    await replica?.close();
    await unbatched?.close();
    await db?.drop();
  });

  const fund = (balance: number) => fundedUser(api, balance);
  const movement = (userId: string, amount: number) => ({
    userId,
    amount,
    description: 'batched',
    reference: null,
    client: 'test',
  });

  /** The database's own view of a user: balance, ledger sum, debits, rollup, and the ledger
   *  chain (each row's balance_after = the previous one's + its amount, in seq order). */
  async function books(user: string) {
    const { rows } = await db.pool.query<{ amount: string; balance_after: string; id: string }>(
      'SELECT id, amount, balance_after FROM ledger_entries WHERE user_id = $1 ORDER BY seq',
      [user],
    );
    let running = 0;
    let chainBroken = false;
    for (const row of rows) {
      running += Number(row.amount);
      if (running !== Number(row.balance_after)) chainBroken = true;
    }
    const account = await db.pool.query<{ balance: string }>(
      'SELECT balance FROM accounts WHERE user_id = $1',
      [user],
    );
    const usage = await db.pool.query<{ tokens: string; n: string }>(
      `SELECT coalesce(sum(tokens_consumed), 0) AS tokens,
              coalesce(sum(consultations_count), 0) AS n
         FROM monthly_usage WHERE user_id = $1`,
      [user],
    );
    const debits = rows.filter((r) => Number(r.amount) < 0);
    return {
      balance: Number(account.rows[0].balance),
      ledgerSum: running,
      chainBroken,
      debits: debits.length,
      debited: -debits.reduce((sum, r) => sum + Number(r.amount), 0),
      rollupTokens: Number(usage.rows[0].tokens),
      rollupCount: Number(usage.rows[0].n),
      balanceAfterById: new Map(rows.map((r) => [r.id, Number(r.balance_after)])),
    };
  }

  async function raceOnFifty(apps: NestFastifyApplication[]) {
    const user = await fund(50);
    const clients = apps.map((app) => client(app));
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        clients[i % clients.length].post<Charged>('/billing/charge-tokens', {
          user_id: user,
          amount: 1,
          description: `race ${i}`,
        }),
      ),
    );
    const ok = answers.filter((a) => a.status === 200);
    expect(ok).toHaveLength(50);
    expect(answers.filter((a) => a.status === 402)).toHaveLength(150);
    expect(
      answers.filter((a) => a.status === 402).every((a) => a.body.code === 'INSUFFICIENT_BALANCE'),
    ).toBe(true);
    expect(new Set(ok.map((a) => a.body.balance)).size).toBe(50);
    const state = await books(user);
    expect(state).toMatchObject({
      balance: 0,
      ledgerSum: 0,
      chainBroken: false,
      debits: 50,
      rollupTokens: 50,
      rollupCount: 50,
    });
    for (const answer of ok) {
      expect(state.balanceAfterById.get(answer.body.transaction_id)).toBe(answer.body.balance);
    }
  }

  it('never overdraws with batching on: 200 parallel charges of 1 on 50 give 50 × 200 and 150 × 402', async () => {
    await raceOnFifty([batched]);
  });

  it('never overdraws with batching off either', async () => {
    await raceOnFifty([unbatched]);
  });

  it('never overdraws with two replicas batching against one database', async () => {
    await raceOnFifty([batched, replica]);
  });

  it('keeps every user exact under mixed parallel charges of mixed amounts', async () => {
    const users = await Promise.all(Array.from({ length: 25 }, (_, i) => fund(20 + i * 7)));
    const charges = Array.from({ length: 600 }, (_, i) => ({
      user_id: users[(i * 7) % users.length],
      amount: 1 + ((i * 13) % 9),
      description: `mixed ${i}`,
    }));
    const clients = [client(batched), client(replica)];
    const answers = await Promise.all(
      charges.map((body, i) => clients[i % 2].post<Charged>('/billing/charge-tokens', body)),
    );
    expect(answers.every((a) => a.status === 200 || a.status === 402)).toBe(true);
    for (const [u, user] of users.entries()) {
      const mine = charges
        .map((c, i) => ({ c, a: answers[i] }))
        .filter((x) => x.c.user_id === user);
      const accepted = mine.filter((x) => x.a.status === 200);
      const refused = mine.filter((x) => x.a.status === 402);
      const state = await books(user);
      const funded = 20 + u * 7;
      expect(state.chainBroken).toBe(false);
      expect(state.balance).toBe(state.ledgerSum);
      expect(state.balance).toBeGreaterThanOrEqual(0);
      expect(state.debits).toBe(accepted.length);
      expect(state.debited).toBe(accepted.reduce((sum, x) => sum + x.c.amount, 0));
      expect(state.balance).toBe(funded - state.debited);
      expect([state.rollupTokens, state.rollupCount]).toEqual([state.debited, state.debits]);
      // Only debits ran, so the balance only fell: a refused charge never fit, even at the end.
      for (const x of refused) expect(x.c.amount).toBeGreaterThan(state.balance);
      for (const x of accepted) {
        expect(state.balanceAfterById.get(x.a.body.transaction_id)).toBe(x.a.body.balance);
      }
    }
  });

  it('decides one batch in arrival order: fits, refuses what exceeds, then defers what fits again', async () => {
    const batcher = batched.get(DebitBatcher);
    const other = await fund(10);
    const user = await fund(5);
    // The first charge goes alone; the next four queue behind it and form one batch.
    const first = batcher.debit({
      userId: other,
      amount: 1,
      description: 'in flight',
      reference: null,
      client: 'test',
    });
    const outcomes = await Promise.all(
      [3, 4, 1, 1].map((amount, i) =>
        batcher.debit({
          userId: user,
          amount,
          description: `ordered ${i}`,
          reference: null,
          client: 'test',
        }),
      ),
    );
    expect((await first).result).toBe('debited');
    expect(outcomes.map((o: DebitOutcome) => o.result)).toEqual([
      'debited',
      'insufficient_balance',
      'debited',
      'debited',
    ]);
    expect(outcomes.map((o) => (o.result === 'debited' ? o.balance : null))).toEqual([
      2,
      null,
      1,
      0,
    ]);
    const { rows } = await db.pool.query<{ description: string }>(
      `SELECT description FROM ledger_entries WHERE user_id = $1 AND type = 'debit' ORDER BY seq`,
      [user],
    );
    expect(rows.map((r) => r.description)).toEqual(['ordered 0', 'ordered 2', 'ordered 3']);
  });

  it('answers ACCOUNT_NOT_FOUND for an unknown user inside a batch, deciding the others', async () => {
    const batcher = batched.get(DebitBatcher);
    const known = await fund(3);
    const first = batcher.debit({
      userId: known,
      amount: 1,
      description: 'in flight',
      reference: null,
      client: 'test',
    });
    const outcomes = await Promise.all([
      batcher.debit({
        userId: randomUUID(),
        amount: 1,
        description: 'nobody',
        reference: null,
        client: 'test',
      }),
      batcher.debit({
        userId: known,
        amount: 2,
        description: 'rest',
        reference: null,
        client: 'test',
      }),
    ]);
    await first;
    expect(outcomes.map((o) => o.result)).toEqual(['no_account', 'debited']);
  });

  it('a failed batch writes nothing and fails each of its charges; the next batch works', async () => {
    const batcher = batched.get(DebitBatcher);
    const users = await Promise.all([fund(10), fund(10), fund(10)]);
    const debit = (user: string, amount: number, description: string) =>
      batcher.debit({ userId: user, amount, description, reference: null, client: 'test' });
    // Asked for in the same turn of the event loop: one batch statement. PostgreSQL text cannot
    // hold U+0000, so the whole statement fails.
    const settled = await Promise.allSettled([
      debit(users[0], 1, 'fine'),
      debit(users[1], 1, 'fine'),
      debit(users[2], 1, 'bad \u0000 byte'),
      debit(users[2], 2, 'fine too'),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    for (const user of users) {
      expect(await books(user)).toMatchObject({ balance: 10, debits: 0, rollupCount: 0 });
    }
    const after = await api.post<Charged>('/billing/charge-tokens', {
      user_id: users[1],
      amount: 4,
      description: 'after the failure',
    });
    expect(after.body).toMatchObject({ status: 'success', balance: 6 });
  });
  describe('with reservations', () => {
    async function hold(user: string, amount: number): Promise<string> {
      const answer = await api.post<{ id: string }>('/billing/reservations', {
        user_id: user,
        amount,
        description: 'hold',
      });
      expect(answer.status).toBe(201);
      return answer.body.id;
    }

    it('decides a batch on the available balance: held tokens are not spent', async () => {
      const batcher = batched.get(DebitBatcher);
      const other = await fund(10);
      const user = await fund(10);
      await hold(user, 7);
      const first = batcher.debit(movement(other, 1));
      const outcomes = await Promise.all(
        [2, 2].map((amount) => batcher.debit(movement(user, amount))),
      );
      await first;
      expect(outcomes.map((o) => o.result)).toEqual(['debited', 'insufficient_balance']);
      expect(outcomes[0]).toMatchObject({ balance: 8 });
      const balance = await api.get(`/billing/balance/${user}`);
      expect(balance.body).toMatchObject({ balance: 8, reserved: 7, available: 1 });
    });

    it('frees a hold past expires_at at once, before the sweep, for batched charges too', async () => {
      const batcher = batched.get(DebitBatcher);
      const other = await fund(10);
      const user = await fund(10);
      const id = await hold(user, 7);
      // Past expiry but not yet swept: still 'held', still counted in accounts.reserved.
      await db.pool.query(
        `UPDATE reservations SET expires_at = now() - interval '1 second' WHERE user_id = $1 AND id = $2`,
        [user, id],
      );
      const first = batcher.debit(movement(other, 1));
      const outcomes = await Promise.all(
        [5, 5].map((amount) => batcher.debit(movement(user, amount))),
      );
      await first;
      expect(outcomes.map((o) => o.result)).toEqual(['debited', 'debited']);
      expect(outcomes.map((o) => (o.result === 'debited' ? o.balance : null))).toEqual([5, 0]);
      expect(await books(user)).toMatchObject({ balance: 0, debits: 2 });
    });
  });

  describe('with Idempotency-Keys (keyed charges join the group commit)', () => {
    const keyed = (app: NestFastifyApplication, user: string, amount: number, key: string) =>
      client(app).post<Charged>(
        '/billing/charge-tokens',
        { user_id: user, amount, description: 'keyed' },
        { 'idempotency-key': key },
      );

    /** Keys claimed inside batch statements so far, and batch statements sent (from metrics). */
    async function batchMetrics(app: NestFastifyApplication) {
      const registry = app.get(Metrics).registry;
      const keys = await registry.getSingleMetric('billing_charge_batch_keys_total')?.get();
      const sizes = await registry.getSingleMetric('billing_charge_batch_size')?.get();
      const keyCount = (outcome: string) =>
        (keys?.values ?? [])
          .filter((v) => v.labels.outcome === outcome)
          .reduce((sum, v) => sum + v.value, 0);
      const batches = (sizes?.values ?? []).find(
        (v) => (v as { metricName?: string }).metricName === 'billing_charge_batch_size_count',
      );
      return {
        claimed: keyCount('claimed'),
        repeated: keyCount('repeated'),
        batches: batches?.value ?? 0,
      };
    }

    async function storedKeys(user: string) {
      const { rows } = await db.pool.query<{ key: string; status: number | null }>(
        'SELECT key, status FROM idempotency_keys WHERE user_id = $1 ORDER BY key',
        [user],
      );
      return rows;
    }

    it('claims, debits and stores keyed charges in batches: each debited once, retries replay', async () => {
      const before = await batchMetrics(batched);
      const users = await Promise.all(Array.from({ length: 10 }, () => fund(100)));
      const firsts = await Promise.all(
        users.flatMap((user) => [1, 2, 3].map((n) => keyed(batched, user, n, `k${n}`))),
      );
      expect(firsts.every((a) => a.status === 200)).toBe(true);
      expect(firsts.every((a) => a.headers['idempotent-replayed'] === undefined)).toBe(true);
      const after = await batchMetrics(batched);
      // Most keys were claimed inside batch statements (not one transaction per charge).
      expect(after.claimed - before.claimed).toBeGreaterThan(15);
      const retries = await Promise.all(
        users.flatMap((user) => [1, 2, 3].map((n) => keyed(replica, user, n, `k${n}`))),
      );
      retries.forEach((retry, i) => {
        expect(retry.headers['idempotent-replayed']).toBe('true');
        expect(retry.text).toBe(firsts[i].text);
      });
      for (const user of users) {
        expect(await books(user)).toMatchObject({ balance: 94, debits: 3, chainBroken: false });
        expect(await storedKeys(user)).toEqual(
          ['k1', 'k2', 'k3'].map((key) => ({ key, status: 200 })),
        );
      }
    });

    it('gives one key sent twice in one batch one effect; the other is a replay', async () => {
      const batcher = batched.get(DebitBatcher);
      const user = await fund(100);
      const before = await batchMetrics(batched);
      const command = (amount: number) => ({
        claim: { userId: user, client: 'test', key: 'twice', requestHash: `h${amount}` },
        render: (outcome: DebitOutcome) => ({ status: 200, body: JSON.stringify(outcome) }),
      });
      const [a, b, other] = await Promise.all([
        batcher.debitKeyed(movement(user, 5), command(5)),
        batcher.debitKeyed(movement(user, 5), command(5)),
        batcher.debitKeyed(movement(user, 7), {
          ...command(7),
          claim: { ...command(7).claim, key: 'other' },
        }),
      ]);
      expect((await batchMetrics(batched)).repeated - before.repeated).toBe(1);
      expect([a.replayed, b.replayed]).toEqual([false, true]);
      expect(b.body).toBe(a.body);
      expect(other.replayed).toBe(false);
      expect(await books(user)).toMatchObject({ balance: 88, debits: 2 });
    });

    it('answers a key reused with another request in the same batch with 422, no second effect', async () => {
      const batcher = batched.get(DebitBatcher);
      const user = await fund(100);
      const command = (hash: string) => ({
        claim: { userId: user, client: 'test', key: 'reused', requestHash: hash },
        render: (outcome: DebitOutcome) => ({ status: 200, body: JSON.stringify(outcome) }),
      });
      const settled = await Promise.allSettled([
        batcher.debitKeyed(movement(user, 5), command('a')),
        batcher.debitKeyed(movement(user, 6), command('b')),
      ]);
      expect(settled[0].status).toBe('fulfilled');
      expect(settled[1]).toMatchObject({
        status: 'rejected',
        reason: { code: 'IDEMPOTENCY_KEY_REUSED' },
      });
      expect(await books(user)).toMatchObject({ balance: 95, debits: 1 });
    });

    it('gives concurrent same-key charges on two replicas one effect, the rest replays or 409', async () => {
      const user = await fund(1000);
      const neighbours = await Promise.all(Array.from({ length: 5 }, () => fund(10)));
      const answers = await Promise.all([
        ...Array.from({ length: 40 }, (_, i) => keyed(i % 2 ? batched : replica, user, 7, 'one')),
        ...neighbours.map((n, i) => keyed(i % 2 ? batched : replica, n, 1, 'n')),
      ]);
      const same = answers.slice(0, 40);
      const ok = same.filter((a) => a.status === 200);
      expect(ok.length + same.filter((a) => a.status === 409).length).toBe(40);
      expect(ok.filter((a) => a.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
      expect(new Set(ok.map((a) => a.text)).size).toBe(1);
      expect(answers.slice(40).every((a) => a.status === 200)).toBe(true);
      expect(await books(user)).toMatchObject({ balance: 993, debits: 1 });
    });

    it('sends a key in flight elsewhere to the single path: its neighbours in the batch go through', async () => {
      const user = await fund(100);
      const neighbours = await Promise.all(Array.from({ length: 6 }, () => fund(10)));
      // Another replica's transaction holding the key, as every claimer does: lock, then claim.
      const holder = await db.pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(
          `SELECT pg_advisory_xact_lock(7655, hashtext(concat_ws(E'\\n', $1::uuid::text, 'anonymous', 'busy')))`,
          [user],
        );
        await holder.query(
          `INSERT INTO idempotency_keys (user_id, client, key, request_hash) VALUES ($1, 'anonymous', 'busy', 'h')`,
          [user],
        );
        const answers = await Promise.all([
          keyed(batched, user, 1, 'busy'),
          ...neighbours.map((n) => keyed(batched, n, 1, 'free')),
        ]);
        expect(answers[0].status).toBe(409);
        expect(answers[0].body).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_USE' });
        expect(answers.slice(1).map((a) => a.status)).toEqual(neighbours.map(() => 200));
        await holder.query('ROLLBACK');
      } finally {
        holder.release();
      }
      expect((await keyed(batched, user, 1, 'busy')).status).toBe(200);
      expect(await books(user)).toMatchObject({ balance: 99, debits: 1 });
    });

    it('stores no key when the batch fails; the keys are free for the retry', async () => {
      const batcher = batched.get(DebitBatcher);
      const users = await Promise.all([fund(10), fund(10)]);
      const command = (user: string, key: string) => ({
        claim: { userId: user, client: 'test', key, requestHash: 'h' },
        render: (outcome: DebitOutcome) => ({ status: 200, body: JSON.stringify(outcome) }),
      });
      const settled = await Promise.allSettled([
        batcher.debitKeyed(movement(users[0], 1), command(users[0], 'a')),
        batcher.debit(movement(users[1], 1)),
        batcher.debitKeyed(
          { ...movement(users[1], 1), description: 'bad \u0000 byte' },
          command(users[1], 'b'),
        ),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
      for (const user of users) {
        expect(await books(user)).toMatchObject({ balance: 10, debits: 0 });
        expect(await storedKeys(user)).toEqual([]);
      }
      const retry = await batcher.debitKeyed(movement(users[0], 1), command(users[0], 'a'));
      expect(retry.replayed).toBe(false);
      expect(await storedKeys(users[0])).toEqual([{ key: 'a', status: 200 }]);
    });

    it('keys of deferred charges are claimed again by the next batch, never left without effect', async () => {
      const batcher = batched.get(DebitBatcher);
      const user = await fund(10);
      const other = await fund(10);
      const command = (key: string) => ({
        claim: { userId: user, client: 'test', key, requestHash: 'h' },
        render: (outcome: DebitOutcome) => ({
          status: outcome.result === 'debited' ? 200 : 402,
          body: JSON.stringify(outcome),
        }),
      });
      const first = batcher.debit(movement(other, 1));
      // 6 fits, 20 does not, 3 would fit again: deferred to the next batch, as one by one.
      const answers = await Promise.all(
        [6, 20, 3].map((amount, i) => batcher.debitKeyed(movement(user, amount), command(`d${i}`))),
      );
      await first;
      expect(answers.map((a) => a.status)).toEqual([200, 402, 200]);
      expect(await storedKeys(user)).toEqual([
        { key: 'd0', status: 200 },
        { key: 'd1', status: 402 },
        { key: 'd2', status: 200 },
      ]);
      expect(await books(user)).toMatchObject({ balance: 1, debits: 2 });
    });
  });
});
