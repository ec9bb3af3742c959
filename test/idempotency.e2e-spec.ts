import { describe, expect, it } from '@jest/globals';
import { IdempotencyService } from '../src/idempotency/idempotency.service.js';
import { verifyLedger } from '../src/ledger/ledger-verify.js';
import { useTestApp } from './support/fixture.js';
import { ledgerEntries } from './support/ledger.js';

// Every guarantee holds with the group commit on (keyed charges join the batch) and off.
describe.each(['true', 'false'])(
  'Idempotency-Key on money-moving POSTs (CHARGE_BATCHING=%s)',
  (batching) => {
    const f = useTestApp({ CHARGE_BATCHING: batching });

    const debits = (user: string) => ledgerEntries(f.db.pool, user, 'debit');

    const charge = (user: string, amount: number, key?: string, description = 'consultation') =>
      f.api.post(
        '/billing/charge-tokens',
        { user_id: user, amount, description },
        key === undefined ? {} : { 'idempotency-key': key },
      );

    it('replays a retried charge byte for byte with Idempotent-Replayed and debits once', async () => {
      const user = await f.funded(100);
      const first = await charge(user, 30, 'charge-1');
      expect(first.status).toBe(200);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      const retry = await charge(user, 30, 'charge-1');
      expect(retry.status).toBe(200);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.text).toBe(first.text);
      expect(retry.body.transaction_id).toBe(first.body.transaction_id);
      expect(await debits(user)).toBe(1);
      expect((await f.api.get(`/billing/balance/${user}`)).body).toMatchObject({ balance: 70 });
    });

    it('treats the body canonically: the same fields in another order are the same request', async () => {
      const user = await f.funded(100);
      const first = await f.api.post(
        '/billing/charge-tokens',
        { user_id: user, amount: 5, description: 'x' },
        { 'idempotency-key': 'order' },
      );
      const retry = await f.api.post(
        '/billing/charge-tokens',
        { description: 'x', amount: 5, user_id: user },
        { 'idempotency-key': 'order' },
      );
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.text).toBe(first.text);
    });

    it('refuses the same key with a different request with 422 IDEMPOTENCY_KEY_REUSED and no effect', async () => {
      const user = await f.funded(100);
      expect((await charge(user, 10, 'k')).status).toBe(200);
      const other = await charge(user, 11, 'k');
      expect(other.status).toBe(422);
      expect(other.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
      const path = await f.api.post(
        '/billing/credit-tokens',
        { user_id: user, amount: 10, description: 'consultation' },
        { 'idempotency-key': 'k' },
      );
      expect(path.status).toBe(422);
      expect(await debits(user)).toBe(1);
      expect((await f.api.get(`/billing/balance/${user}`)).body).toMatchObject({ balance: 90 });
    });

    it('stores a 402: a refused charge stays refused under its key even after a top-up', async () => {
      const user = await f.funded(10);
      const refused = await charge(user, 50, 'too-much');
      expect(refused.status).toBe(402);
      await f.api.post('/billing/credit-tokens', {
        user_id: user,
        amount: 100,
        description: 'top-up',
      });
      const retry = await charge(user, 50, 'too-much');
      expect(retry.status).toBe(402);
      expect(retry.headers['idempotent-replayed']).toBe('true');
      expect(retry.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(retry.text).toBe(refused.text);
      expect(await debits(user)).toBe(0);
      expect((await charge(user, 50, 'new-key')).status).toBe(200);
    });

    it('does not store a 400: the same key may be retried with a valid body', async () => {
      const user = await f.funded(10);
      const invalid = await f.api.post(
        '/billing/charge-tokens',
        { user_id: user, amount: '5', description: 'x' },
        { 'idempotency-key': 'fix-me' },
      );
      expect(invalid.status).toBe(400);
      const valid = await charge(user, 5, 'fix-me');
      expect(valid.status).toBe(200);
      expect(valid.headers['idempotent-replayed']).toBeUndefined();
    });

    it('refuses a malformed Idempotency-Key with 400', async () => {
      const user = await f.funded(10);
      expect((await charge(user, 1, '')).status).toBe(400);
      expect((await charge(user, 1, 'x'.repeat(256))).status).toBe(400);
      expect((await charge(user, 1, 'tab\there')).status).toBe(400);
      expect((await charge(user, 1, 'x'.repeat(255))).status).toBe(200);
    });

    it('scopes keys per user: the same key for two users is two requests', async () => {
      const a = await f.funded(10);
      const b = await f.funded(10);
      expect((await charge(a, 1, 'shared')).status).toBe(200);
      const other = await charge(b, 1, 'shared');
      expect(other.status).toBe(200);
      expect(other.headers['idempotent-replayed']).toBeUndefined();
    });

    it('makes a keyed credit idempotent too', async () => {
      const user = await f.funded(1);
      const body = { user_id: user, amount: 7, description: 'top-up' };
      const first = await f.api.post('/billing/credit-tokens', body, { 'idempotency-key': 'c' });
      const retry = await f.api.post('/billing/credit-tokens', body, { 'idempotency-key': 'c' });
      expect(retry.text).toBe(first.text);
      expect((await f.api.get(`/billing/balance/${user}`)).body).toMatchObject({ balance: 8 });
    });

    it('gives 50 concurrent requests with one key exactly one effect, the rest replays (or 409)', async () => {
      const user = await f.funded(1000);
      const answers = await Promise.all(
        Array.from({ length: 50 }, () => charge(user, 7, 'race', 'same request')),
      );
      const ok = answers.filter((a) => a.status === 200);
      const inUse = answers.filter((a) => a.status === 409);
      expect(ok.length + inUse.length).toBe(50);
      expect(ok.length).toBeGreaterThanOrEqual(1);
      expect(new Set(ok.map((a) => a.text)).size).toBe(1);
      expect(ok.filter((a) => a.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
      for (const a of inUse) {
        expect(a.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_USE' });
        expect(a.headers['retry-after']).toBe('1');
      }
      expect(await debits(user)).toBe(1);
      expect((await f.api.get(`/billing/balance/${user}`)).body).toMatchObject({ balance: 993 });
      expect(await verifyLedger(f.db.pool)).toEqual([]);
    });

    it('answers 409 IDEMPOTENCY_KEY_IN_USE with Retry-After while the first request holds the key', async () => {
      const user = await f.funded(100);
      // A transaction that holds the key (as an in-flight request would) past the lock timeout.
      const holder = await f.db.pool.connect();
      try {
        await holder.query('BEGIN');
        await holder.query(
          `INSERT INTO idempotency_keys (user_id, client, key, request_hash) VALUES ($1, 'anonymous', 'busy', 'h')`,
          [user],
        );
        const answer = await charge(user, 1, 'busy');
        expect(answer.status).toBe(409);
        expect(answer.headers['retry-after']).toBe('1');
        expect(answer.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_IN_USE' });
        await holder.query('ROLLBACK');
      } finally {
        holder.release();
      }
      // The holder rolled back: the key is free and the charge goes through.
      expect((await charge(user, 1, 'busy')).status).toBe(200);
      expect(await debits(user)).toBe(1);
    });

    it('records the calling client and the reference on the ledger row and lists the reference', async () => {
      const user = await f.funded(100);
      const answer = await f.api.post('/billing/charge-tokens', {
        user_id: user,
        amount: 3,
        description: 'consultation',
        reference: 'run-42',
      });
      expect(answer.status).toBe(200);
      const { rows } = await f.db.pool.query(
        'SELECT client, reference FROM ledger_entries WHERE user_id = $1 AND id = $2',
        [user, answer.body.transaction_id],
      );
      expect(rows).toEqual([{ client: 'anonymous', reference: 'run-42' }]);
      const list = await f.api.get<Record<string, unknown>[]>(`/billing/transactions/${user}`);
      expect(list.body[0]).toMatchObject({ reference: 'run-42' });
      expect(list.body[1]).toMatchObject({ reference: null });
      const tooLong = await f.api.post('/billing/charge-tokens', {
        user_id: user,
        amount: 3,
        description: 'x',
        reference: 'r'.repeat(256),
      });
      expect(tooLong.status).toBe(400);
    });

    it('purges keys older than the retention, and a purged key is free again', async () => {
      const user = await f.funded(100);
      expect((await charge(user, 1, 'old')).status).toBe(200);
      expect((await charge(user, 1, 'recent')).status).toBe(200);
      await f.db.pool.query(
        `UPDATE idempotency_keys SET created_at = now() - interval '25 hours'
        WHERE user_id = $1 AND key = 'old'`,
        [user],
      );
      const purged = await f.app.get(IdempotencyService).purge(24 * 3600);
      expect(purged).toBeGreaterThanOrEqual(1);
      const { rows } = await f.db.pool.query(
        'SELECT key FROM idempotency_keys WHERE user_id = $1',
        [user],
      );
      expect(rows).toEqual([{ key: 'recent' }]);
      const again = await charge(user, 1, 'old');
      expect(again.status).toBe(200);
      expect(again.headers['idempotent-replayed']).toBeUndefined();
    });
  },
);
