import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Lifecycle } from '../src/lifecycle/lifecycle.js';
import { startTestApp } from './support/app.js';
import { insertAccounts } from './support/accounts.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type Client, client } from './support/http.js';
import { capturedLog } from './support/log-capture.js';
import { TcpProxy } from './support/tcp-proxy.js';

async function metricsText(app: NestFastifyApplication): Promise<string> {
  const answer = await app
    .getHttpAdapter()
    .getInstance()
    .inject({ method: 'GET', url: '/metrics' });
  expect(answer.statusCode).toBe(200);
  expect(answer.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return answer.body;
}

/** The value of one sample line, e.g. `billing_charges_total{result="success"}`. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('operations: health, metrics, request ids', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;
  let api: Client;
  const log = capturedLog();

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startTestApp(db.url, { logger: log.logger });
    api = client(app);
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('answers liveness and readiness with 200 while the database is there', async () => {
    expect(await api.get('/billing/health/live')).toMatchObject({
      status: 200,
      body: { status: 'ok' },
    });
    expect(await api.get('/billing/health/ready')).toMatchObject({
      status: 200,
      body: { status: 'ok' },
    });
  });

  it('counts charges by result and tokens charged and credited', async () => {
    const before = await metricsText(app);
    const user = randomUUID();
    await api.post('/billing/credit-tokens', { user_id: user, amount: 10, description: 'grant' });
    await api.post('/billing/charge-tokens', { user_id: user, amount: 4, description: 'ok' });
    await api.post('/billing/charge-tokens', {
      user_id: user,
      amount: 40,
      description: 'too much',
    });
    await api.post('/billing/charge-tokens', {
      user_id: randomUUID(),
      amount: 1,
      description: '?',
    });
    await api.post('/billing/charge-tokens', { user_id: user, amount: 'x', description: 'bad' });
    const after = await metricsText(app);
    const delta = (series: string) => sample(after, series) - sample(before, series);
    expect(delta('billing_charges_total{result="success"}')).toBe(1);
    expect(delta('billing_charges_total{result="insufficient"}')).toBe(1);
    expect(delta('billing_charges_total{result="not_found"}')).toBe(1);
    expect(delta('billing_charges_total{result="invalid"}')).toBe(1);
    expect(delta('billing_credits_total{result="success"}')).toBe(1);
    expect(delta('billing_tokens_total{direction="charged"}')).toBe(4);
    expect(delta('billing_tokens_total{direction="credited"}')).toBe(10);
  });

  it('counts a replayed answer as replayed, not as a second charge', async () => {
    const user = randomUUID();
    await api.post('/billing/credit-tokens', { user_id: user, amount: 10, description: 'grant' });
    const before = await metricsText(app);
    const charge = { user_id: user, amount: 3, description: 'once' };
    const key = { 'idempotency-key': `metrics-${user}` };
    expect((await api.post('/billing/charge-tokens', charge, key)).status).toBe(200);
    const retry = await api.post('/billing/charge-tokens', charge, key);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    const after = await metricsText(app);
    const delta = (series: string) => sample(after, series) - sample(before, series);
    expect(delta('billing_charges_total{result="success"}')).toBe(1);
    expect(delta('billing_charges_total{result="replayed"}')).toBe(1);
    expect(delta('billing_tokens_total{direction="charged"}')).toBe(3);
  });

  it('counts reservation requests by operation and result', async () => {
    const before = await metricsText(app);
    const user = randomUUID();
    await api.post('/billing/credit-tokens', { user_id: user, amount: 10, description: 'grant' });
    const hold = await api.post('/billing/reservations', {
      user_id: user,
      amount: 4,
      description: 'estimate',
    });
    expect(hold.status).toBe(201);
    const id = hold.body.id as string;
    expect((await api.post(`/billing/reservations/${id}/capture`)).status).toBe(200);
    expect((await api.post(`/billing/reservations/${id}/release`)).status).toBe(409);
    const tooMuch = { user_id: user, amount: 100, description: 'too much' };
    expect((await api.post('/billing/reservations', tooMuch)).status).toBe(402);
    const after = await metricsText(app);
    const delta = (series: string) => sample(after, series) - sample(before, series);
    expect(delta('billing_reservations_total{operation="hold",result="success"}')).toBe(1);
    expect(delta('billing_reservations_total{operation="hold",result="insufficient"}')).toBe(1);
    expect(delta('billing_reservations_total{operation="capture",result="success"}')).toBe(1);
    expect(
      delta('billing_reservations_total{operation="release",result="reservation_not_held"}'),
    ).toBe(1);
  });

  it('exposes request latency by route pattern and status, pool usage and process metrics', async () => {
    await api.get(`/billing/balance/${randomUUID()}`);
    const text = await metricsText(app);
    expect(
      sample(
        text,
        'billing_http_request_duration_seconds_count{method="GET",route="/billing/balance/:user_id",status="404"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^billing_db_pool_connections\{state="in_use"\} \d+$/m);
    expect(text).toMatch(/^billing_db_pool_connections\{state="idle"\} \d+$/m);
    expect(text).toMatch(/^billing_db_pool_waiting \d+$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('keeps /metrics out of the OpenAPI document', async () => {
    const document = (await api.get('/billing/docs-json')).body as { paths: object };
    expect(Object.keys(document.paths).some((p) => p.includes('metrics'))).toBe(false);
  });

  it('echoes a given x-request-id and puts it in the log line of that request', async () => {
    const id = `req-${randomUUID()}`;
    const answer = await api.get(`/billing/monthly-usage/${randomUUID()}`, { 'x-request-id': id });
    expect(answer.headers['x-request-id']).toBe(id);
    const lines = log.lines.filter((l) => l.request_id === id);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', msg: 'request completed', status: 200 });
    expect(typeof lines[0].time).toBe('string');
  });

  it('generates a request id when none (or an unacceptable one) is given, also on errors', async () => {
    const variants: Record<string, string>[] = [{}, { 'x-request-id': 'has spaces\tand "quotes"' }];
    for (const headers of variants) {
      const answer = await api.get('/billing/balance/not-a-uuid', headers);
      expect(answer.status).toBe(400);
      const id = answer.headers['x-request-id'] as string;
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(log.lines.find((l) => l.request_id === id)).toMatchObject({ status: 400 });
    }
    const routerError = await api.get('/billing/balance/%zz');
    expect(routerError.status).toBe(400);
    expect(routerError.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('turns readiness to 503 SHUTTING_DOWN once draining, while still serving requests', async () => {
    app.get(Lifecycle).startDraining();
    const ready = await api.get('/billing/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ code: 'SHUTTING_DOWN' });
    expect((await api.get('/billing/health/live')).status).toBe(200);
    expect((await api.get(`/billing/monthly-usage/${randomUUID()}`)).status).toBe(200);
  });
});

describe('the database going away', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let app: NestFastifyApplication;
  let api: Client;
  const user = randomUUID();

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = await TcpProxy.start({ host: target.hostname, port: Number(target.port) });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    app = await startTestApp(viaProxy.toString(), {
      database: { connectTimeoutMs: 1000, statementTimeoutMs: 1000, lockTimeoutMs: 500 },
      env: { HEALTH_READY_TIMEOUT_MS: '500' },
    });
    api = client(app);
    await insertAccounts(db.pool, [{ user, balance: 100 }]);
  });

  afterAll(async () => {
    await app?.close();
    await proxy?.down();
    await db?.drop();
  });

  async function timed<T>(work: Promise<T>): Promise<{ answer: T; ms: number }> {
    const started = Date.now();
    const answer = await work;
    return { answer, ms: Date.now() - started };
  }

  async function eventuallyReady(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while ((await api.get('/billing/health/ready')).status !== 200) {
      if (Date.now() > deadline) throw new Error('readiness did not come back');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const charge = () =>
    api.post('/billing/charge-tokens', { user_id: user, amount: 1, description: 'outage' });

  it('answers 503 DATABASE_UNAVAILABLE quickly when the database is down, and recovers', async () => {
    expect((await charge()).status).toBe(200);
    await proxy.down();

    const ready = await timed(api.get('/billing/health/ready'));
    expect(ready.answer.status).toBe(503);
    expect(ready.answer.body).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    expect(ready.ms).toBeLessThan(2000);

    const refused = await timed(charge());
    expect(refused.answer.status).toBe(503);
    expect(refused.answer.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(refused.answer.body).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503 });
    expect(refused.ms).toBeLessThan(3000);
    const read = await api.get(`/billing/balance/${user}`);
    expect(read.status).toBe(503);

    await proxy.up();
    await eventuallyReady();
    expect(await charge()).toMatchObject({ status: 200, body: { balance: 98 } });
  });

  it('gives up on a row lock held elsewhere after lock_timeout: 503, nothing written', async () => {
    const holder = await db.pool.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM accounts WHERE user_id = $1 FOR UPDATE', [user]);
      const stuck = await timed(charge());
      expect(stuck.answer.status).toBe(503);
      expect(stuck.answer.body).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
      expect(stuck.ms).toBeLessThan(2000);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect((await api.get(`/billing/balance/${user}`)).body).toMatchObject({ balance: 98 });
  });

  it('does not hang when the database stops answering: 503 within the timeouts', async () => {
    await eventuallyReady();
    proxy.blackhole();
    const ready = await timed(api.get('/billing/health/ready'));
    expect(ready.answer.status).toBe(503);
    expect(ready.ms).toBeLessThan(2000);

    // Pooled connections wait for an answer that never comes (bounded by query_timeout, i.e.
    // statement timeout + 2 s); new connections by the connect timeout.
    const answers = await timed(
      Promise.all([charge(), charge(), api.get(`/billing/balance/${user}`)]),
    );
    for (const answer of answers.answer) {
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
    }
    expect(answers.ms).toBeLessThan(8000);

    await proxy.down();
    await proxy.up();
    await eventuallyReady();
    const { rows } = await db.pool.query<{ balance: string; debits: string }>(
      `SELECT balance, (SELECT count(*) FROM ledger_entries l WHERE l.user_id = a.user_id) AS debits
         FROM accounts a WHERE user_id = $1`,
      [user],
    );
    // Whatever happened inside the outage, the balance matches the ledger.
    expect(Number(rows[0].balance)).toBe(100 - Number(rows[0].debits));
  });
});

describe('slow clients', () => {
  let db: TestDatabase;
  let app: NestFastifyApplication;

  beforeAll(async () => {
    db = await createTestDatabase();
    app = await startTestApp(db.url, { env: { REQUEST_RECEIVE_TIMEOUT_MS: '1000' } });
    await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app?.close();
    await db?.drop();
  });

  it('cuts off a request whose body never finishes arriving with 408', async () => {
    const { port } = app.getHttpServer().address() as net.AddressInfo;
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      let received = '';
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(
          'POST /billing/credit-tokens HTTP/1.1\r\nHost: test\r\n' +
            'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user_id"',
        );
      });
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
      setTimeout(() => socket.destroy(new Error('no answer within 10 s')), 10_000);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(4000);
  });
});
