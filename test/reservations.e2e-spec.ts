import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from '@jest/globals';
import { verifyLedger } from '../src/ledger/ledger-verify.js';
import { ReservationsService } from '../src/reservations/reservations.service.js';
import { useTestApp } from './support/fixture.js';
import { ledgerEntries } from './support/ledger.js';

describe('reservations: hold → capture | release | expiry', () => {
  const f = useTestApp();

  afterEach(async () => {
    expect(await verifyLedger(f.db.pool)).toEqual([]);
  });

  const hold = (user: string, amount: number, extra: Record<string, unknown> = {}) =>
    f.api.post('/billing/reservations', {
      user_id: user,
      amount,
      description: 'estimate',
      ...extra,
    });

  async function held(user: string, amount: number, extra: Record<string, unknown> = {}) {
    const answer = await hold(user, amount, extra);
    expect(answer.status).toBe(201);
    return answer.body.id as string;
  }

  const balance = async (user: string) => (await f.api.get(`/billing/balance/${user}`)).body;

  /** Moves a hold's expiry into the past, as the clock would. */
  async function expire(id: string): Promise<void> {
    await f.db.pool.query(
      `UPDATE reservations SET expires_at = now() - interval '1 millisecond' WHERE id = $1`,
      [id],
    );
  }

  it('holds tokens: 201 with the reservation, and the balance shows reserved and available', async () => {
    const user = await f.funded(100);
    const answer = await hold(user, 30, { reference: 'run-1', ttl_seconds: 60 });
    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      user_id: user,
      amount: 30,
      description: 'estimate',
      reference: 'run-1',
      status: 'held',
      captured_amount: null,
      transaction_id: null,
    });
    const ttl =
      Date.parse(answer.body.expires_at as string) - Date.parse(answer.body.created_at as string);
    expect(ttl).toBe(60_000);
    expect(await balance(user)).toEqual({
      user_id: user,
      balance: 100,
      reserved: 30,
      available: 70,
      next_expiry: null,
    });
    const read = await f.api.get(`/billing/reservations/${answer.body.id as string}`);
    expect(read.body).toEqual(answer.body);
  });

  it('refuses a hold beyond the available balance, or for an unknown user, with 402', async () => {
    const user = await f.funded(100);
    await held(user, 60);
    const over = await hold(user, 41);
    expect(over.status).toBe(402);
    expect(over.body).toMatchObject({ code: 'INSUFFICIENT_BALANCE' });
    const unknown = await hold(randomUUID(), 1);
    expect(unknown.body).toMatchObject({ status: 402, code: 'ACCOUNT_NOT_FOUND' });
  });

  it('makes charges respect holds: only the available balance can be charged', async () => {
    const user = await f.funded(100);
    await held(user, 80);
    const refused = await f.api.post('/billing/charge-tokens', {
      user_id: user,
      amount: 21,
      description: 'x',
    });
    expect(refused.status).toBe(402);
    const ok = await f.api.post('/billing/charge-tokens', {
      user_id: user,
      amount: 20,
      description: 'x',
    });
    expect(ok.status).toBe(200);
    expect(await balance(user)).toMatchObject({ balance: 80, reserved: 80, available: 0 });
  });

  it('gives exactly 14 of 60 parallel holds of 7 on a balance of 100', async () => {
    const user = await f.funded(100);
    const answers = await Promise.all(Array.from({ length: 60 }, () => hold(user, 7)));
    expect(answers.filter((a) => a.status === 201)).toHaveLength(14);
    expect(answers.filter((a) => a.status === 402)).toHaveLength(46);
    expect(await balance(user)).toMatchObject({ balance: 100, reserved: 98, available: 2 });
  });

  it('captures the held amount by default: one debit, one consultation, the hold resolved', async () => {
    const user = await f.funded(100);
    const id = await held(user, 40, { reference: 'run-7' });
    const answer = await f.api.post(`/billing/reservations/${id}/capture`);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      status: 'success',
      transaction_id: expect.any(String),
      balance: 60,
      available: 60,
    });
    const reservation = (await f.api.get(`/billing/reservations/${id}`)).body;
    expect(reservation).toMatchObject({
      status: 'captured',
      captured_amount: 40,
      transaction_id: answer.body.transaction_id,
    });
    const history = (await f.api.get<Record<string, unknown>[]>(`/billing/transactions/${user}`))
      .body;
    expect(history[0]).toMatchObject({ amount: -40, type: 'debit', reference: 'run-7' });
    const usage = (await f.api.get(`/billing/monthly-usage/${user}`)).body;
    expect(usage).toMatchObject({ tokens_consumed: 40, consultations_count: 1 });
  });

  it('treats an empty JSON body as no body: capture takes the held amount', async () => {
    const user = await f.funded(100);
    const id = await held(user, 15);
    const answer = await f.api.post(`/billing/reservations/${id}/capture`, '', {
      'content-type': 'application/json',
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ balance: 85 });
    const charge = await f.api.post('/billing/charge-tokens', '', {
      'content-type': 'application/json',
    });
    expect(charge.status).toBe(400);
    expect(charge.body).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('captures less than held and releases the rest', async () => {
    const user = await f.funded(100);
    const id = await held(user, 50);
    const answer = await f.api.post(`/billing/reservations/${id}/capture`, {
      amount: 20,
      description: 'consultation 9',
    });
    expect(answer.body).toMatchObject({ balance: 80, available: 80 });
    expect(await balance(user)).toMatchObject({ balance: 80, reserved: 0, available: 80 });
  });

  it('refuses a capture above the hold with 422 unless allow_overage, which then needs the available balance', async () => {
    const user = await f.funded(100);
    const id = await held(user, 50);
    await held(user, 30);
    const over = await f.api.post(`/billing/reservations/${id}/capture`, { amount: 60 });
    expect(over.status).toBe(422);
    expect(over.body).toMatchObject({ code: 'CAPTURE_EXCEEDS_HOLD' });
    const tooMuch = await f.api.post(`/billing/reservations/${id}/capture`, {
      amount: 71,
      allow_overage: true,
    });
    expect(tooMuch.status).toBe(402);
    expect((await f.api.get(`/billing/reservations/${id}`)).body).toMatchObject({ status: 'held' });
    const ok = await f.api.post(`/billing/reservations/${id}/capture`, {
      amount: 70,
      allow_overage: true,
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ balance: 30, available: 0 });
  });

  it('releases a hold: 200 released, nothing debited, the tokens available again', async () => {
    const user = await f.funded(100);
    const id = await held(user, 70);
    const answer = await f.api.post(`/billing/reservations/${id}/release`, {});
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id, status: 'released', transaction_id: null });
    expect(await balance(user)).toMatchObject({ balance: 100, reserved: 0, available: 100 });
  });

  it('resolves a reservation once: capture or release after resolution is 409, unknown id 404', async () => {
    const user = await f.funded(100);
    const id = await held(user, 10);
    expect((await f.api.post(`/billing/reservations/${id}/release`)).status).toBe(200);
    const capture = await f.api.post(`/billing/reservations/${id}/capture`);
    expect(capture.status).toBe(409);
    expect(capture.body).toMatchObject({ code: 'RESERVATION_NOT_HELD' });
    const again = await f.api.post(`/billing/reservations/${id}/release`);
    expect(again.body).toMatchObject({ status: 409, code: 'RESERVATION_NOT_HELD' });
    const unknown = await f.api.post(`/billing/reservations/${randomUUID()}/capture`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'RESERVATION_NOT_FOUND' });
    expect((await f.api.get(`/billing/reservations/${randomUUID()}`)).status).toBe(404);
    expect((await f.api.post(`/billing/reservations/${id}/release`, { x: 1 })).status).toBe(400);
  });

  it('frees an expired hold at expires_at, before any sweep, and refuses to capture or release it', async () => {
    const user = await f.funded(100);
    const id = await held(user, 90);
    expect(await balance(user)).toMatchObject({ available: 10 });
    await expire(id);
    expect(await balance(user)).toMatchObject({ balance: 100, reserved: 0, available: 100 });
    expect((await f.api.get(`/billing/reservations/${id}`)).body).toMatchObject({
      status: 'expired',
    });
    const capture = await f.api.post(`/billing/reservations/${id}/capture`);
    expect(capture.status).toBe(409);
    expect(capture.body).toMatchObject({ code: 'RESERVATION_EXPIRED' });
    const release = await f.api.post(`/billing/reservations/${id}/release`);
    expect(release.body).toMatchObject({ status: 409, code: 'RESERVATION_EXPIRED' });
    // Its tokens are usable at once, by a charge and by a new hold.
    const charge = await f.api.post('/billing/charge-tokens', {
      user_id: user,
      amount: 60,
      description: 'x',
    });
    expect(charge.status).toBe(200);
    expect((await hold(user, 40)).status).toBe(201);
    expect(await balance(user)).toMatchObject({ balance: 40, reserved: 40, available: 0 });
  });

  it('sweeps expired holds out of the stored counter, and the answers do not change', async () => {
    const user = await f.funded(100);
    const id = await held(user, 25);
    await expire(id);
    const swept = await f.app.get(ReservationsService).sweep();
    expect(swept).toBeGreaterThanOrEqual(1);
    const { rows } = await f.db.pool.query(
      'SELECT r.status, a.reserved FROM reservations r JOIN accounts a USING (user_id) WHERE r.id = $1',
      [id],
    );
    expect(rows).toEqual([{ status: 'expired', reserved: '0' }]);
    expect(await balance(user)).toMatchObject({ balance: 100, reserved: 0, available: 100 });
    expect((await f.api.post(`/billing/reservations/${id}/capture`)).body).toMatchObject({
      code: 'RESERVATION_EXPIRED',
    });
  });

  it('never overdraws when charges and holds race the sweep over expired holds', async () => {
    const user = await f.funded(100);
    const ids = [await held(user, 45), await held(user, 45)];
    await Promise.all(ids.map(expire));
    const sweeper = f.app.get(ReservationsService);
    const answers = await Promise.all([
      ...Array.from({ length: 15 }, () =>
        f.api.post('/billing/charge-tokens', { user_id: user, amount: 10, description: 'x' }),
      ),
      ...Array.from({ length: 15 }, () => hold(user, 10)),
      sweeper.sweep(),
      sweeper.sweep(),
    ]);
    const taken = answers.filter((a) => typeof a === 'object' && [200, 201].includes(a.status));
    expect(taken).toHaveLength(10);
    const after = await balance(user);
    expect(after.available).toBe(0);
    expect(after.balance as number).toBeGreaterThanOrEqual(after.reserved as number);
  });

  it('lets exactly one of 40 parallel captures and releases of one hold win', async () => {
    const user = await f.funded(100);
    const id = await held(user, 30);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        f.api.post(`/billing/reservations/${id}/${i % 2 === 0 ? 'capture' : 'release'}`),
      ),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(39);
    const captured = answers.some((a) => a.status === 200 && a.body.status === 'success');
    expect(await ledgerEntries(f.db.pool, user, 'debit')).toBe(captured ? 1 : 0);
    expect(await balance(user)).toMatchObject({ reserved: 0, balance: captured ? 70 : 100 });
  });

  it('replays a retried capture under its key, and a keyed hold creates one reservation', async () => {
    const user = await f.funded(100);
    const key = { 'idempotency-key': 'hold-1' };
    const first = await f.api.post(
      '/billing/reservations',
      { user_id: user, amount: 10, description: 'e' },
      key,
    );
    const retry = await f.api.post(
      '/billing/reservations',
      { user_id: user, amount: 10, description: 'e' },
      key,
    );
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.text).toBe(first.text);
    const id = first.body.id as string;
    const capture = () =>
      f.api.post(
        `/billing/reservations/${id}/capture`,
        { amount: 4 },
        { 'idempotency-key': 'cap-1' },
      );
    const answers = await Promise.all([capture(), capture(), capture()]);
    for (const a of answers) expect([200, 409]).toContain(a.status);
    const ok = answers.filter((a) => a.status === 200);
    expect(new Set(ok.map((a) => a.text)).size).toBe(1);
    const later = await capture();
    expect(later.status).toBe(200);
    expect(later.headers['idempotent-replayed']).toBe('true');
    expect(await balance(user)).toMatchObject({ balance: 96, reserved: 0 });
  });

  it('validates hold input: ttl_seconds 1..86400, integer amounts, known fields only', async () => {
    const user = await f.funded(100);
    expect((await hold(user, 1, { ttl_seconds: 0 })).status).toBe(400);
    expect((await hold(user, 1, { ttl_seconds: 86_401 })).status).toBe(400);
    expect((await hold(user, 1.5)).status).toBe(400);
    expect((await hold(user, 1, { extra: true })).status).toBe(400);
    expect((await hold(user, 1, { ttl_seconds: 86_400 })).status).toBe(201);
    expect((await hold(user, 1, { description: 'x'.repeat(20_000) })).status).toBe(413);
  });
});
