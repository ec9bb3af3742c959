import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { alive } from '../src/database/embedded-postgres.js';
import { insertAccounts } from './support/accounts.js';
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

// Both suites below run the built service (dist/, as the image runs it): one build for the file
// (a build empties dist/ first, so two files building at once would break each other).
beforeAll(() => {
  execFileSync(process.execPath, ['node_modules/@nestjs/cli/bin/nest.js', 'build'], {
    stdio: 'ignore',
  });
}, 120_000);

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
    await insertAccounts(db.pool, [
      { user: loadUser, balance: 1000000 },
      { user: slowUser, balance: 10 },
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

/** `npm start`'s way: no DATABASE_URL, so the service runs its own embedded PostgreSQL. */
describe('stopping the service that runs the embedded PostgreSQL', () => {
  let root: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'billing-stop-'));
    await chmod(root, 0o755); // the postgres user must reach it when running as root
  });

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    const postmaster = await postmasterPid(path.join(root, 'pg'));
    if (postmaster !== undefined && alive(postmaster)) process.kill(postmaster, 'SIGQUIT');
    await rm(root, { recursive: true, force: true });
  });

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      NODE_ENV: 'development',
      EMBEDDED_PG_DIR: path.join(root, 'pg'),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...extra,
    };
  }

  interface Running {
    child: ChildProcess;
    port: number;
    output: () => string;
    exited: Promise<{ code: number | null; at: number }>;
  }

  /** `command` (argv) with `env`; resolves once the service logs that it listens. */
  async function launch(command: string[], extra: Record<string, string>): Promise<Running> {
    const port = await freePort();
    const child = spawn(command[0], command.slice(1), {
      env: env({ PORT: String(port), ...extra }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.push(child);
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
      child.once('exit', (code) => resolve({ code, at: Date.now() })),
    );
    const deadline = Date.now() + 60_000;
    while (!text.includes('"listening on')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`the service did not start:\n${text}`);
      }
      await sleep(50);
    }
    return { child, port, output: () => text, exited };
  }

  /** The built service in a real terminal (a pty from `script`): typing Ctrl-C there signals
   *  the terminal's whole foreground process group, as a user's Ctrl-C on `npm start` does. */
  const inTerminal = (extra: Record<string, string>) =>
    // `exec`: no shell in between (sh, also signalled, would report the Ctrl-C as exit 130).
    launch(['script', '-qfec', `exec ${process.execPath} dist/src/main.js`, '/dev/null'], extra);

  const ctrlC = (service: Running) => service.child.stdin?.write('\x03');

  it('on Ctrl-C in a terminal stops the API first, serving with its database until then, then the database; exit 0', async () => {
    const service = await inTerminal({ SHUTDOWN_DELAY_MS: '1500' });
    const postmaster = await postmasterPid(path.join(root, 'pg'));
    expect(postmaster).toBeDefined();
    const balance = `/billing/balance/${randomUUID()}`;
    expect((await request(service.port, undefined, 'GET', balance)).status).toBe(404);

    const pressedAt = Date.now();
    ctrlC(service);
    await sleep(500);
    // During the delay the database still answers: an unknown account is a 404, not a 503.
    const during = await request(service.port, undefined, 'GET', balance);
    const exit = await service.exited;

    expect(during.status).toBe(404);
    expect(exit.code).toBe(0);
    expect(exit.at - pressedAt).toBeLessThan(1500 + 3000);
    const lines = service.output();
    expect(lines).toContain('SIGINT received');
    expect(lines).not.toContain('terminating connection due to administrator command');
    const closing = lines.indexOf('closing the HTTP server');
    const stoppingDb = lines.indexOf('stopping the embedded PostgreSQL');
    expect(closing).toBeGreaterThan(0);
    expect(stoppingDb).toBeGreaterThan(closing);
    expect(lines.indexOf('"msg":"stopped"')).toBeGreaterThan(stoppingDb);
    expect(alive(postmaster ?? 0)).toBe(false);
  }, 120_000);

  it('in development, stops within about a second of Ctrl-C (no drain delay unless asked)', async () => {
    const service = await inTerminal({});
    const pressedAt = Date.now();
    ctrlC(service);
    const exit = await service.exited;
    expect(exit.code).toBe(0);
    expect(exit.at - pressedAt).toBeLessThan(1500);
    expect(service.output()).toContain('"msg":"stopped"');
  }, 120_000);

  it('stops the PostgreSQL a killed service left running, at the next start', async () => {
    const first = await launch([process.execPath, 'dist/src/main.js'], {});
    const orphan = await postmasterPid(path.join(root, 'pg'));
    first.child.kill('SIGKILL');
    await first.exited;
    await sleep(200);
    expect(alive(orphan ?? 0)).toBe(true); // its own session: the kill did not reach it

    const second = await launch([process.execPath, 'dist/src/main.js'], {});
    expect(second.output()).toContain(`stopping an orphaned embedded PostgreSQL (pid ${orphan})`);
    expect(alive(orphan ?? 0)).toBe(false);
    const next = await postmasterPid(path.join(root, 'pg'));
    expect(next).not.toBe(orphan);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(alive(next ?? 0)).toBe(false);
  }, 120_000);

  it('moves off a taken default port and says so; the CLIs find the running instance without DATABASE_URL', async () => {
    // Hold the default port (unless something else already does).
    const holder = net.createServer();
    await new Promise<void>((resolve) => {
      holder.once('error', () => resolve());
      holder.listen(54329, '127.0.0.1', () => resolve());
    });
    try {
      const service = await launch([process.execPath, 'dist/src/main.js'], {});
      const moved = /port 54329 is in use: the embedded PostgreSQL takes port (\d+) instead/.exec(
        service.output(),
      );
      expect(moved).not.toBeNull();
      const port = Number(moved?.[1]);
      const user = randomUUID();
      const credit = await request(service.port, undefined, 'POST', '/billing/credit-tokens', {
        user_id: user,
        amount: 5,
        description: 'cli check',
      });
      expect(credit.status).toBe(200);

      const cli = (script: string) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          execFile(process.execPath, [script], { env: env() }, (error, stdout, stderr) =>
            resolve({ code: error ? 1 : 0, out: stdout + stderr }),
          );
        });
      const verify = await cli('dist/src/cli/ledger-verify.js');
      expect(verify).toMatchObject({ code: 0 });
      expect(verify.out).toContain(`running on 127.0.0.1:${port}`);
      expect(verify.out).toMatch(/ok: \d+ account\(s\), no violations/);
      const migrate = await cli('dist/src/cli/migrate.js');
      expect(migrate).toMatchObject({ code: 0 });
      expect(migrate.out).toContain(`running on 127.0.0.1:${port}`);
      expect(migrate.out).toContain('schema is up to date');

      service.child.kill('SIGTERM');
      expect((await service.exited).code).toBe(0);
    } finally {
      holder.close();
    }
  }, 120_000);

  it('fails rather than moves when an explicitly set EMBEDDED_PG_PORT is taken', async () => {
    const holder = net.createServer();
    const taken = await freePort();
    await new Promise<void>((resolve) => holder.listen(taken, '127.0.0.1', () => resolve()));
    try {
      const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
        execFile(
          process.execPath,
          ['dist/src/main.js'],
          { env: env({ EMBEDDED_PG_PORT: String(taken), PORT: '0' }), timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? (error.code as number) : 0, out: stdout + stderr }),
        );
      });
      expect(result.code).toBe(1);
      expect(result.out).toContain(`is port ${taken} in use`);
    } finally {
      holder.close();
    }
  }, 120_000);
});

async function postmasterPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : Number(text.split('\n')[0]);
}
