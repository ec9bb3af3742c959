import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import pg from 'pg';
import { freePort } from '../support/free-port.js';
import { check } from './check.js';
import { BANK_CLIENTS, Database, Service, sleep } from './cluster.js';
import { random, Workload } from './workload.js';

/**
 * `npm run test:bank`: Jepsen's bank workload against two service processes (the built dist/)
 * sharing one PostgreSQL, under faults: SIGKILL and restart of a service, pg_terminate_backend of
 * the service's connections, PostgreSQL restarts (fast and immediate). BANK_DURATION_S bounds the
 * workload (default 25 s); the figures are printed at the end.
 */
const DURATION_MS = Number(process.env.BANK_DURATION_S ?? 25) * 1000;
const CLIENTS = Number(process.env.BANK_CLIENTS ?? 12);
const USERS = 6;
const REQUEST_TIMEOUT_MS = 4000;
const FAULTS = ['kill-service', 'terminate-backends', 'restart-pg-fast', 'restart-pg-immediate'];
/** BANK_FAULTS=off: the same workload without faults (a baseline, for diagnosis). */
const WITH_FAULTS = process.env.BANK_FAULTS !== 'off';

/** `npm run ledger:verify` as an operator would run it (the built CLI): its exit code and output. */
function ledgerVerifyCli(url: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['dist/src/cli/ledger-verify.js'],
      { env: { ...process.env, DATABASE_URL: url } },
      (error, stdout, stderr) =>
        resolve({ code: error ? 1 : 0, output: `${stdout}${stderr}`.trim() }),
    );
  });
}

function out(line: string): void {
  process.stdout.write(`${line}\n`);
}

it('keeps the bank consistent under process kills, terminated backends and database restarts', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'billing-bank-'));
  await chmod(root, 0o755);
  const db = new Database(path.join(root, 'pg'), await freePort());
  await db.start();
  const env = {
    DATABASE_URL: db.url,
    MIGRATE_ON_START: 'true',
    NODE_ENV: 'production',
    BILLING_CLIENTS: BANK_CLIENTS,
    REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
    DB_POOL_SIZE: '8',
    DB_CONNECT_TIMEOUT_MS: '1000',
    DB_STATEMENT_TIMEOUT_MS: '2000',
    DB_LOCK_TIMEOUT_MS: '1000',
    RESERVATION_SWEEP_INTERVAL_MS: '1000',
  };
  const services = [
    new Service('service-a', await freePort(), env, path.join(root, 'service-a.log')),
    new Service('service-b', await freePort(), env, path.join(root, 'service-b.log')),
  ];
  const admin = new pg.Pool({ connectionString: db.url, max: 2 });
  admin.on('error', () => undefined);
  const faults = new Map<string, number>(FAULTS.map((f) => [f, 0]));
  let kept = false;
  try {
    services[0].start();
    await services[0].ready(30_000); // migrates first
    services[1].start();
    await services[1].ready(30_000);

    const users = Array.from({ length: USERS }, () => randomUUID());
    const work = new Workload(users, services, REQUEST_TIMEOUT_MS + 2000);
    for (const user of users) {
      const op = work.newOp('credit', user, '/credit-tokens', {
        user_id: user,
        amount: 500,
        description: 'bank opening balance',
      });
      await work.perform(op, 15_000);
      expect(op.outcome).toBe('ok');
    }

    const started = Date.now();
    const deadline = started + DURATION_MS;
    // The load runs until the deadline and, on a slow machine, until every kind of fault has
    // been injected at least once under it (the check below requires each of them).
    let everyFaultRan = !WITH_FAULTS;
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (Date.now() < deadline || !everyFaultRan) await work.step();
    });

    const injectFaults = async () => {
      let n = 0;
      await sleep(2000);
      while (WITH_FAULTS && (Date.now() < deadline - 4000 || n < FAULTS.length)) {
        const fault = n < FAULTS.length ? FAULTS[n] : FAULTS[random(FAULTS.length)];
        n += 1;
        faults.set(fault, (faults.get(fault) ?? 0) + 1);
        switch (fault) {
          case 'kill-service': {
            const victim = services[random(services.length)];
            await victim.kill();
            await sleep(500 + random(1000));
            // As a supervisor would; the next fault waits until it is back (a process that
            // cannot boot while the database is down is a different test).
            victim.start();
            await victim.ready(30_000);
            break;
          }
          case 'terminate-backends':
            await admin
              .query(
                `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                  WHERE application_name = 'billing-service' AND pid <> pg_backend_pid()`,
              )
              .catch(() => undefined);
            break;
          case 'restart-pg-fast':
          case 'restart-pg-immediate':
            await (fault === 'restart-pg-fast' ? db.stopFast() : db.stopImmediate());
            await sleep(1000 + random(1500));
            await db.start();
            break;
        }
        if (n >= FAULTS.length) everyFaultRan = true;
        await sleep(2500 + random(2000));
      }
      everyFaultRan = true;
    };

    await Promise.all([...clients, injectFaults()]);
    const unknownAtEnd = work.retryQueue.length;

    // Recovery without a restart: both services answer again (restart only a killed one).
    for (const service of services) await service.ready(30_000);
    const unsettled = await work.settle(20);
    const cli = await ledgerVerifyCli(db.url);
    out(cli.output);
    const violations = [
      ...(cli.code === 0 ? [] : [`ledger:verify exited ${cli.code}`]),
      ...work.stats.violations,
      ...services.flatMap((s) => s.crashes),
      ...(await check(admin, work.ops, new Map(users.map((u) => [u, 0])))),
    ];

    // What the group commit carried (counters since each process's last start).
    const groupCommit = await Promise.all(services.map((s) => groupCommitOf(s.port)));
    const counts = (kind?: string) => {
      const ops = work.ops.filter((o) => kind === undefined || o.kind === kind);
      return {
        ops: ops.length,
        ok: ops.filter((o) => o.outcome === 'ok').length,
        refused: ops.filter((o) => o.outcome === 'refused').length,
        unknown_then_settled: ops.filter((o) => o.wasUnknown && o.outcome !== 'unknown').length,
      };
    };
    const figures = {
      duration_s: Math.round((Date.now() - started) / 1000),
      clients: CLIENTS,
      users: USERS,
      operations: counts(),
      by_kind: Object.fromEntries(
        ['credit', 'charge', 'hold', 'capture', 'release'].map((k) => [k, counts(k)]),
      ),
      http_requests: work.stats.requests,
      balance_reads: work.stats.balanceReads,
      answers: Object.fromEntries([...work.stats.byStatus].map(([k, v]) => [String(k), v])),
      unknown_when_faults_stopped: unknownAtEnd,
      unsettled_after_retries: unsettled,
      max_latency_ms: work.stats.maxLatencyMs,
      faults: Object.fromEntries(faults),
      group_commit: groupCommit,
      service_crashes: services.flatMap((s) => s.crashes).length,
      violations: violations.length,
    };
    out('\n=== bank test figures');
    out(JSON.stringify(figures, null, 2));
    for (const v of violations.slice(0, 50)) out(`VIOLATION: ${v}`);
    if (process.env.BANK_FIGURES_FILE) {
      await writeFile(process.env.BANK_FIGURES_FILE, `${JSON.stringify(figures, null, 2)}\n`);
    }
    if (violations.length > 0) {
      kept = true;
      out(`service logs kept in ${root}`);
    }
    expect(violations).toEqual([]);
    if (WITH_FAULTS)
      for (const fault of FAULTS) expect(faults.get(fault)).toBeGreaterThanOrEqual(1);
  } catch (error) {
    kept = true;
    out(`service logs kept in ${root}`);
    throw error;
  } finally {
    await Promise.all(services.map((s) => s.stop()));
    await admin.end().catch(() => undefined);
    await db.stopFast().catch(() => undefined);
    if (!kept) await rm(root, { recursive: true, force: true });
  }
});

/** Batches, the charges they carried and their keys' outcomes, from a process's /metrics. */
async function groupCommitOf(port: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const value = (pattern: RegExp) =>
    text
      .split('\n')
      .filter((line) => pattern.test(line))
      .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
  const batches = value(/^billing_charge_batch_size_count /);
  const charges = value(/^billing_charge_batch_size_sum /);
  const keys = (outcome: string) =>
    value(new RegExp(`^billing_charge_batch_keys_total\\{outcome="${outcome}"\\} `));
  return {
    batches,
    charges_in_batches: charges,
    mean_batch_size: batches === 0 ? 0 : Math.round((charges / batches) * 10) / 10,
    keys_claimed_in_batches: keys('claimed'),
    keys_taken: keys('taken'),
    keys_in_flight_elsewhere: keys('in_flight'),
    keys_repeated_in_a_batch: keys('repeated'),
  };
}
