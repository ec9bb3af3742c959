import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort } from './support/free-port.js';

const TOKEN = 'shutdown-test-token-0123456789abcdefghij';
const DELAY_MS = 1500;
const DRAIN_TIMEOUT_MS = 10_000;
const WORKERS = 8;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

interface Attempt {
  sentAt: number;
  answer?: Answer;
  error?: string;
}

function request(
  port: number,
  agent: http.Agent | undefined,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<Answer> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        timeout: 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
          });
        });
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.end(payload);
  });
}

/**
 * The built service (dist/, as the image runs it) as a child process, in production mode, under
 * load from keep-alive clients, stopped with SIGTERM.
 */
describe('graceful shutdown of the built service under load', () => {
  let db: TestDatabase;
  let service: ChildProcess | undefined;
  let port: number;
  const output: string[] = [];

  beforeAll(async () => {
    execFileSync(process.execPath, ['node_modules/@nestjs/cli/bin/nest.js', 'build'], {
      stdio: 'ignore',
    });
    db = await createTestDatabase();
    port = await freePort();
  }, 120_000);

  afterAll(async () => {
    if (service?.exitCode === null) service.kill('SIGKILL');
    await db?.drop();
  });

  async function start(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['dist/src/main.js'], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        DATABASE_URL: db.url,
        BILLING_CLIENTS: `loadtest:read,charge,credit:${TOKEN}`,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'info',
        SHUTDOWN_DELAY_MS: String(DELAY_MS),
        SHUTDOWN_DRAIN_TIMEOUT_MS: String(DRAIN_TIMEOUT_MS),
        DB_POOL_SIZE: '10',
        DB_LOCK_TIMEOUT_MS: '15000',
        DB_STATEMENT_TIMEOUT_MS: '20000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => output.push(...chunk.toString().split('\n')));
    child.stderr?.on('data', (chunk: Buffer) => output.push(...chunk.toString().split('\n')));
    const deadline = Date.now() + 30_000;
    while (!output.some((line) => line.includes('"listening on'))) {
      if (child.exitCode !== null) throw new Error(`service exited:\n${output.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`service did not start:\n${output.join('\n')}`);
      await sleep(50);
    }
    return child;
  }

  it('serves through the delay with readiness 503, drains in-flight work, loses nothing, exits 0', async () => {
    const loadUser = randomUUID();
    const slowUser = randomUUID();
    await db.pool.query('INSERT INTO accounts (user_id, balance) VALUES ($1, 1000000), ($2, 10)', [
      loadUser,
      slowUser,
    ]);
    service = await start();
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      service?.once('exit', (code) => resolve({ code, at: Date.now() })),
    );

    const agent = new http.Agent({ keepAlive: true, maxSockets: WORKERS });
    const attempts: Attempt[] = [];
    let sigtermAt = Number.POSITIVE_INFINITY;
    const worker = async () => {
      for (;;) {
        const attempt: Attempt = { sentAt: Date.now() };
        attempts.push(attempt);
        try {
          attempt.answer = await request(port, agent, 'POST', '/billing/charge-tokens', {
            user_id: loadUser,
            amount: 1,
            description: 'load',
          });
        } catch (error) {
          attempt.error = (error as Error).message;
        }
        const afterDelay = Date.now() > sigtermAt + DELAY_MS;
        if ((attempt.error !== undefined || attempt.answer?.status !== 200) && afterDelay) return;
        if (Date.now() > sigtermAt + DELAY_MS + 5000) return;
      }
    };
    const load = Promise.all(Array.from({ length: WORKERS }, worker));

    // An in-flight request still running when the server closes: it waits on a row lock that
    // this test holds until after the delay.
    const lock = await db.pool.connect();
    await lock.query('BEGIN');
    await lock.query('SELECT 1 FROM accounts WHERE user_id = $1 FOR UPDATE', [slowUser]);

    await sleep(700);
    sigtermAt = Date.now();
    service.kill('SIGTERM');

    await sleep(300);
    const ready = await request(port, undefined, 'GET', '/billing/health/ready');
    await sleep(DELAY_MS - 300 - 300);
    const slow = request(port, undefined, 'POST', '/billing/charge-tokens', {
      user_id: slowUser,
      amount: 3,
      description: 'in flight at close',
    });
    await sleep(300 + 700); // the delay is over: the server is closing, waiting for `slow`
    await lock.query('COMMIT');
    lock.release();

    const slowAnswer = await slow;
    await load;
    agent.destroy();
    const exit = await exited;

    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ code: 'SHUTTING_DOWN' });
    expect(slowAnswer).toMatchObject({ status: 200, body: { balance: 7 } });

    // Refused none before the delay ended (a 100 ms margin for timer slack).
    const duringDelay = attempts.filter((a) => a.sentAt < sigtermAt + DELAY_MS - 100);
    const afterSigterm = duringDelay.filter((a) => a.sentAt >= sigtermAt);
    expect(afterSigterm.length).toBeGreaterThan(20);
    expect(duringDelay.filter((a) => a.answer?.status !== 200)).toEqual([]);

    // Exited 0, after the delay, well within a 30 s termination grace period.
    expect(exit.code).toBe(0);
    expect(exit.at - sigtermAt).toBeGreaterThanOrEqual(DELAY_MS);
    expect(exit.at - sigtermAt).toBeLessThan(DELAY_MS + DRAIN_TIMEOUT_MS);

    // Lost no acknowledged charge, and wrote none that was not acknowledged.
    const acknowledged = attempts
      .filter((a) => a.answer?.status === 200)
      .map((a) => a.answer?.body.transaction_id as string);
    const { rows } = await db.pool.query<{ id: string }>(
      `SELECT id FROM ledger_entries WHERE user_id = $1 AND type = 'debit'`,
      [loadUser],
    );
    expect(rows.map((r) => r.id).sort()).toEqual([...acknowledged].sort());
    const balance = await db.pool.query<{ balance: string }>(
      'SELECT balance FROM accounts WHERE user_id = $1',
      [loadUser],
    );
    expect(Number(balance.rows[0].balance)).toBe(1_000_000 - acknowledged.length);

    const logged = output.filter((line) => line.trim() !== '');
    for (const line of logged) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(logged.join('\n')).not.toContain(TOKEN);
    expect(logged.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
  }, 90_000);
});
