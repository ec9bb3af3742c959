import 'reflect-metadata';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { freePort } from '../test/support/free-port.js';
import { runHttp, type HttpScenario, type LoadShape } from './http-load.js';
import { benchUser, type Measurement } from './measurement.js';
import { findPgbench, runPgbench } from './pgbench.js';
import { runPgLimit } from './pg-limit.js';
import { type Running, startProcess } from './processes.js';
import {
  consoleTable,
  type Check,
  type Line,
  loadAverage,
  machine,
  markdown,
  type Report,
} from './report.js';
import { checkInvariants, population, seed } from './seed.js';
import { loadConfig } from '../src/config/config.js';
import { dataSourceOptions } from '../src/database/data-source-options.js';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres.js';
import { applyMigrations } from '../src/database/migrate.js';
import { BENCH_CLIENTS } from './client-token.js';

/**
 * `npm run bench` (`-- --smoke` for a few seconds with no thresholds, as CI runs it; `--seconds N`
 * per scenario). Starts PostgreSQL (embedded, or a fresh database on DATABASE_URL's server), seeds
 * users, runs the built service and the limits it is compared with, prints the table and writes it
 * as JSON and Markdown. Exits 1 if any request failed or an invariant broke.
 */
const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const option = (name: string, fallback: number): number => {
  const at = args.indexOf(name);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const shape: LoadShape & { rounds: number } = {
  connections: option('--connections', 50),
  seconds: option('--seconds', smoke ? 1 : 10),
  warmupSeconds: option('--warmup', smoke ? 0 : 2),
  rounds: option('--rounds', smoke ? 1 : 3),
};
const people = population(smoke ? 1000 : 10_000, smoke ? 10_000 : 1_000_000);
/** Where this file runs from: dist-bench/bench/ (compiled by bench/tsconfig.json). */
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const log = (message: string) => console.log(`[bench ${new Date().toISOString()}] ${message}`);

interface Database {
  url: string;
  stop(): Promise<void>;
}

/** A fresh database: on DATABASE_URL's server (dropped afterwards) or an embedded cluster. */
async function database(): Promise<Database> {
  const server = loadConfig(process.env).database.url;
  const name = `billing_bench_${Date.now()}`;
  let adminUrl: string;
  let stopServer = (): Promise<void> => Promise.resolve();
  if (server !== undefined) {
    adminUrl = server;
  } else {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'billing-bench-'));
    await chmod(dir, 0o755); // reachable by the postgres user when running as root
    const embedded = await startEmbeddedPostgres({
      dataDir: path.join(dir, 'pg'),
      port: await freePort(),
      database: 'postgres',
      log: () => undefined,
      // Three service processes, the bare server and the limit's pool, each up to
      // `connections` connections, are all open at once.
      settings: { max_connections: String(shape.connections * 5 + 20) },
    });
    adminUrl = embedded.url;
    stopServer = async () => {
      await embedded.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    stop: async () => {
      if (server !== undefined) {
        const client = new pg.Client({ connectionString: adminUrl });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
      }
      await stopServer();
    },
  };
}

async function migrate(url: string): Promise<void> {
  const settings = { url, poolSize: 2, connectTimeoutMs: 5000 };
  const dataSource = new DataSource(
    dataSourceOptions({ ...settings, statementTimeoutMs: 600_000, lockTimeoutMs: 60_000 }),
  );
  await dataSource.initialize();
  await applyMigrations(dataSource, () => undefined);
  await dataSource.destroy();
}

const randomIndex = () => 1 + Math.floor(Math.random() * people.users);
const randomUser = () => benchUser(randomIndex());
const hotUser = () => benchUser(people.hot);
const charge = (user: () => string) => () => ({ user_id: user(), amount: 1, description: 'bench' });

const scenarios = {
  chargeRandom: {
    name: 'charge, random user',
    method: 'POST',
    path: () => '/billing/charge-tokens',
    body: charge(randomUser),
  },
  chargeHot: {
    name: 'charge, one hot user',
    method: 'POST',
    path: () => '/billing/charge-tokens',
    body: charge(hotUser),
  },
  credit: {
    name: 'credit, random user',
    method: 'POST',
    path: () => '/billing/credit-tokens',
    body: charge(randomUser),
  },
  balance: { name: 'balance', method: 'GET', path: () => `/billing/balance/${randomUser()}` },
  page: {
    name: 'transactions, first page of 20',
    method: 'GET',
    path: () => `/billing/transactions/${randomUser()}?limit=20`,
  },
  usage: {
    name: 'monthly usage',
    method: 'GET',
    path: () => `/billing/monthly-usage/${randomUser()}`,
  },
  pageSmall: {
    name: 'page of 10, user with 10 rows',
    method: 'GET',
    path: () => `/billing/transactions/${benchUser(people.small)}?limit=10`,
  },
  pageBig: {
    name: `page of 10, user with ${people.bigHistory} rows`,
    method: 'GET',
    path: () => `/billing/transactions/${benchUser(people.big)}?limit=10`,
  },
  usageSmall: {
    name: 'usage, user with 10 rows',
    method: 'GET',
    path: () => `/billing/monthly-usage/${benchUser(people.small)}`,
  },
  usageBig: {
    name: `usage, user with ${people.bigHistory} rows`,
    method: 'GET',
    path: () => `/billing/monthly-usage/${benchUser(people.big)}`,
  },
  bareJson: {
    name: 'bare Fastify, same JSON (HTTP limit)',
    method: 'POST',
    path: () => '/json',
    body: charge(randomUser),
  },
  bareBalance: {
    name: 'bare Fastify + pg: balance',
    method: 'GET',
    path: () => `/balance/${randomUser()}`,
  },
  barePage: {
    name: 'bare Fastify + pg: first page of 20',
    method: 'GET',
    path: () => `/transactions/${randomUser()}?limit=20`,
  },
  bareUsage: {
    name: 'bare Fastify + pg: monthly usage',
    method: 'GET',
    path: () => `/monthly-usage/${randomUser()}`,
  },
  floorJson: {
    name: 'minimal NestJS, same JSON',
    method: 'POST',
    path: () => '/json',
    body: charge(randomUser),
  },
  floorDebit: {
    name: 'minimal NestJS + pg: per-charge statement, random user',
    method: 'POST',
    path: () => '/debit',
    body: charge(randomUser),
  },
  floorBalance: {
    name: 'minimal NestJS + pg: balance',
    method: 'GET',
    path: () => `/balance/${randomUser()}`,
  },
  floorPage: {
    name: 'minimal NestJS + pg: first page of 20',
    method: 'GET',
    path: () => `/transactions/${randomUser()}?limit=20`,
  },
  floorUsage: {
    name: 'minimal NestJS + pg: monthly usage',
    method: 'GET',
    path: () => `/monthly-usage/${randomUser()}`,
  },
} satisfies Record<string, HttpScenario>;

async function main(): Promise<number> {
  const runDir = path.join(root, 'artifacts', 'bench');
  await mkdir(runDir, { recursive: true });
  const loadBefore = loadAverage();
  log(
    `mode ${smoke ? 'smoke' : 'full'}: ${shape.seconds} s per scenario, ${shape.connections} connections; load average ${loadBefore}`,
  );

  const db = await database();
  const processes: Running[] = [];
  const lines: Line[] = [];
  const checks: Check[] = [];
  const readyTimes: number[] = [];
  let peakRss = 0;
  const measure = async (group: string, run: () => Promise<Measurement>): Promise<Measurement> => {
    const measured = await run();
    lines.push({ group, ...measured });
    log(
      `${group} / ${measured.name}: ${measured.rate.toFixed(0)} req/s, p99 ${measured.p99.toFixed(1)} ms, ${measured.errors} errors`,
    );
    return measured;
  };

  const service = async (name: string, batching: boolean): Promise<Running> => {
    const port = await freePort();
    const running = await startProcess({
      name,
      script: path.join(root, 'dist/src/main.js'),
      env: {
        NODE_ENV: 'production',
        BILLING_CLIENTS: BENCH_CLIENTS,
        DATABASE_URL: db.url,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        // As many database connections as the limit's pool has: the same concurrency end to end.
        DB_POOL_SIZE: String(shape.connections),
        CHARGE_BATCHING: String(batching),
      },
      port,
      probePath: `/billing/balance/${benchUser(1)}`,
      logFile: path.join(runDir, `${name}.log`),
    });
    readyTimes.push(running.readyMs);
    processes.push(running);
    return running;
  };
  const stop = async (running: Running) => {
    peakRss = Math.max(peakRss, running.peakRss());
    await running.stop();
    processes.splice(processes.indexOf(running), 1);
  };

  const pgbench = await findPgbench();
  try {
    await migrate(db.url);
    const pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined);
    const postgresVersion = (
      await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")
    ).rows[0].v;
    const syncCommit = (
      await pool.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")
    ).rows[0].s;
    log(`seeding ${people.users} users and a ${people.bigHistory}-row history`);
    const seeded = Date.now();
    await seed(pool, people);
    log(`seeded in ${Date.now() - seeded} ms`);

    // Every process up front, so that each scenario runs right after the limit it is compared
    // with: on a shared machine the load drifts, and a ratio of neighbours drifts least.
    const main = await service('service-batching-on', true);
    const off = await service('service-batching-off', false);
    const second = await service('service-batching-on-2', true);
    const barePort = await freePort();
    const bare = await startProcess({
      name: 'bare-fastify',
      script: path.join(here, 'bare-server.js'),
      args: [String(barePort), db.url, String(shape.connections)],
      port: barePort,
      probePath: `/balance/${benchUser(1)}`,
      logFile: path.join(runDir, 'bare-fastify.log'),
    });
    processes.push(bare);
    const floorPort = await freePort();
    const floor = await startProcess({
      name: 'nest-floor',
      script: path.join(here, 'nest-floor.js'),
      args: [String(floorPort), db.url, String(shape.connections)],
      port: floorPort,
      probePath: `/balance/${benchUser(1)}`,
      logFile: path.join(runDir, 'nest-floor.log'),
    });
    processes.push(floor);
    type Run = (shape: LoadShape) => Promise<Measurement>;
    const http =
      (s: HttpScenario, targets: Running[], name = s.name): Run =>
      (roundShape) =>
        runHttp(
          { ...s, name },
          targets.map((t) => t.url),
          roundShape,
        );
    const pgLimit =
      (name: string, user: () => string): Run =>
      (roundShape) =>
        runPgLimit(
          name,
          db.url,
          user,
          roundShape.connections,
          roundShape.seconds,
          roundShape.warmupSeconds,
        );

    /**
     * A limit and the scenarios held to it, measured in alternating rounds (L S S L S S …): on a
     * shared machine the load drifts, and rounds spread the drift over every member alike. Rates
     * are totals over all rounds; p50 the median of the rounds'; p99 the worst round's.
     */
    const compare = async (members: [string, Run][]): Promise<Measurement[]> => {
      const rounds: Measurement[][] = members.map(() => []);
      for (let round = 0; round < shape.rounds; round++) {
        for (const [i, [, run]] of members.entries()) {
          rounds[i].push(
            await run({
              ...shape,
              seconds: shape.seconds / shape.rounds,
              warmupSeconds: round === 0 ? shape.warmupSeconds : 0,
            }),
          );
        }
      }
      return members.map(([group], i) => {
        const runs = rounds[i];
        const requests = runs.reduce((sum, m) => sum + m.requests, 0);
        const p50s = runs.map((m) => m.p50).sort((x, y) => x - y);
        const measured: Measurement = {
          name: runs[0].name,
          rate: runs.reduce((sum, m) => sum + m.rate, 0) / runs.length,
          p50: p50s[Math.floor(p50s.length / 2)],
          p99: Math.max(...runs.map((m) => m.p99)),
          requests,
          errors: runs.reduce((sum, m) => sum + m.errors, 0),
        };
        lines.push({ group, ...measured });
        log(
          `${group} / ${measured.name}: ${measured.rate.toFixed(0)} req/s, p99 ${measured.p99.toFixed(1)} ms, ${measured.errors} errors`,
        );
        return measured;
      });
    };

    const [limitRandom, chargeRandom, offRandom, twoRandom, floorDebit] = await compare([
      ['limit', pgLimit('per-charge limit (pg pool), random user', randomUser)],
      ['service', http(scenarios.chargeRandom, [main])],
      ['batching off', http(scenarios.chargeRandom, [off], 'charge, random user (batching off)')],
      [
        '2 processes',
        http(scenarios.chargeRandom, [main, second], 'charge, random user, 2 processes'),
      ],
      ['framework floor', http(scenarios.floorDebit, [floor])],
    ]);
    const [limitHot, chargeHot, offHot, twoHot] = await compare([
      ['limit', pgLimit('per-charge limit (pg pool), one hot user', hotUser)],
      ['service', http(scenarios.chargeHot, [main])],
      ['batching off', http(scenarios.chargeHot, [off], 'charge, one hot user (batching off)')],
      [
        '2 processes',
        http(scenarios.chargeHot, [main, second], 'charge, one hot user, 2 processes'),
      ],
    ]);
    if (pgbench !== undefined) {
      for (const [label, users] of [
        ['random user', people.users],
        ['one hot user', 0],
      ] as const) {
        await measure('limit', () =>
          runPgbench(
            pgbench,
            `pgbench bare debit, ${label}`,
            db.url,
            users,
            shape.connections,
            shape.seconds,
          ),
        );
      }
    }
    const [
      bareJson,
      floorJson,
      ,
      bareBalance,
      floorBalance,
      balance,
      barePage,
      floorPage,
      page,
      bareUsage,
      floorUsage,
      usage,
    ] = await compare([
      ['limit', http(scenarios.bareJson, [bare])],
      ['framework floor', http(scenarios.floorJson, [floor])],
      ['service', http(scenarios.credit, [main])],
      ['limit', http(scenarios.bareBalance, [bare])],
      ['framework floor', http(scenarios.floorBalance, [floor])],
      ['service', http(scenarios.balance, [main])],
      ['limit', http(scenarios.barePage, [bare])],
      ['framework floor', http(scenarios.floorPage, [floor])],
      ['service', http(scenarios.page, [main])],
      ['limit', http(scenarios.bareUsage, [bare])],
      ['framework floor', http(scenarios.floorUsage, [floor])],
      ['service', http(scenarios.usage, [main])],
    ]);
    const [pageSmall, pageBig, usageSmall, usageBig] = await compare([
      ['flat cost', http(scenarios.pageSmall, [main])],
      ['flat cost', http(scenarios.pageBig, [main])],
      ['flat cost', http(scenarios.usageSmall, [main])],
      ['flat cost', http(scenarios.usageBig, [main])],
    ]);
    for (const running of [main, off, second]) await stop(running);

    const invariants = await checkInvariants(pool);
    await pool.end();

    const relate = (m: Measurement, limit: Measurement, minRatio: number, maxP99: number) => {
      const line = lines.find((l) => l.name === m.name) as Line;
      line.limit = limit.name;
      line.ratio = m.rate / limit.rate;
      line.target = `≥ ${minRatio}× limit, p99 ≤ ${maxP99} ms, 0 errors`;
      line.met = smoke ? undefined : line.ratio >= minRatio && m.p99 <= maxP99 && m.errors === 0;
    };
    relate(chargeRandom, limitRandom, 2, 20);
    relate(chargeHot, limitHot, 5, 20);
    relate(offRandom, limitRandom, 0.9, 40);
    relate(offHot, limitHot, 0.9, 40);
    relate(balance, bareBalance, 0.9, 20);
    relate(page, barePage, 0.9, 20);
    relate(usage, bareUsage, 0.9, 20);
    relate(twoRandom, limitRandom, 2, 20);
    relate(twoHot, limitHot, 5, 20);
    const compareTo = (m: Measurement, limit: Measurement) => {
      const line = lines.find((l) => l.name === m.name) as Line;
      line.limit = limit.name;
      line.ratio = m.rate / limit.rate;
    };
    for (const m of [bareBalance, barePage, bareUsage]) compareTo(m, bareJson);
    // The framework's floor: what NestJS alone keeps of each limit (no target; see nest-floor.ts).
    compareTo(floorJson, bareJson);
    compareTo(floorDebit, limitRandom);
    compareTo(floorBalance, bareBalance);
    compareTo(floorPage, barePage);
    compareTo(floorUsage, bareUsage);
    const flat = (name: string, small: Measurement, big: Measurement) => {
      const slower = Math.max(big.p50 / Math.max(small.p50, 0.001), small.rate / big.rate);
      checks.push({
        name,
        value: `${slower.toFixed(2)}× (p50 ${small.p50} → ${big.p50} ms, ${small.rate.toFixed(0)} → ${big.rate.toFixed(0)} req/s)`,
        target: '≤ 2×',
        met: smoke ? undefined : slower <= 2,
      });
    };
    flat(`flat cost: page, 10 vs ${people.bigHistory} rows`, pageSmall, pageBig);
    flat(`flat cost: monthly usage, 10 vs ${people.bigHistory} rows`, usageSmall, usageBig);
    const rssMb = peakRss / 2 ** 20;
    checks.push({
      name: 'service peak RSS',
      value: `${rssMb.toFixed(0)} MB`,
      target: '< 300 MB',
      met: smoke ? undefined : rssMb < 300,
    });
    const slowestStart = Math.max(...readyTimes);
    checks.push({
      name: 'start-up to ready, existing database',
      value: `${readyTimes.map((t) => `${t} ms`).join(', ')}`,
      target: '< 3000 ms',
      met: smoke ? undefined : slowestStart < 3000,
    });

    const report: Report = {
      date: new Date().toISOString(),
      mode: smoke ? 'smoke' : 'full',
      machine: machine(postgresVersion, pgbench),
      settings: {
        'seconds per scenario': shape.seconds,
        'warm-up seconds per scenario (not measured)': shape.warmupSeconds,
        'alternating rounds per comparison': shape.rounds,
        connections: shape.connections,
        users: people.users,
        synchronous_commit: syncCommit,
        'database pool size (service, bare server and limit alike)': shape.connections,
        'load average (1/5/15 min) before': loadBefore,
        'load average (1/5/15 min) after': loadAverage(),
      },
      lines,
      checks,
      invariants,
    };
    console.log(`\n${consoleTable(report)}\n`);
    const base = smoke ? path.join(runDir, 'bench-smoke') : path.join(root, 'docs', 'benchmarks');
    await mkdir(path.dirname(base), { recursive: true });
    await writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(`${base}.md`, markdown(report));
    log(`wrote ${base}.json and ${base}.md`);

    const failed = lines.filter((l) => l.errors > 0).map((l) => l.name);
    const broken =
      invariants.ledgerMismatches + invariants.rollupMismatches + invariants.negativeBalances;
    if (failed.length > 0) console.error(`requests failed in: ${failed.join('; ')}`);
    if (broken > 0) console.error(`invariants broken: ${JSON.stringify(invariants)}`);
    return failed.length > 0 || broken > 0 ? 1 : 0;
  } finally {
    for (const running of processes) await running.stop();
    await db.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
