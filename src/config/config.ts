import { readFileSync } from 'node:fs';
import {
  type ClientCredential,
  parseClients,
  parseRateLimits,
  type RateLimits,
} from './clients.js';

/**
 * The service's configuration: read from the environment once, at boot, validated into one typed
 * object. Nothing else in the code reads process.env. A bad value stops the service with a message
 * that names the variable (and never echoes a secret such as DATABASE_URL).
 */
export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/**
 * `clients`: every route but health, metrics and the docs needs a bearer token of a named client.
 * `open`: no clients configured outside production; every caller is `anonymous` (warned at start).
 * `off`: BILLING_AUTH=off, the explicit opt-out (the only way to run without clients in production).
 */
export type AuthMode = 'clients' | 'open' | 'off';

export interface AppConfig {
  nodeEnv: NodeEnv;
  host: string;
  port: number;
  logLevel: LogLevel;
  /** Browser origins allowed by CORS (exact `scheme://host[:port]`); empty: CORS off. */
  corsOrigins: string[];
  /** Request bodies larger than this are refused with 413. */
  bodyLimitBytes: number;
  /** A request not answered within this is answered 503 (its outcome is then unknown to the
   *  caller: retry with the same Idempotency-Key). */
  requestTimeoutMs: number;
  idempotency: {
    /** Keys are kept at least this long (never less than 24 hours). */
    retentionHours: number;
    /** How often the purge job runs (0: never). */
    purgeIntervalMs: number;
  };
  reservations: {
    /** How often the sweep marks expired holds (0: never; expiry is exact without it). */
    sweepIntervalMs: number;
  };
  jobs: {
    /** Rows per statement of a background job. */
    batchSize: number;
  };
  /** Time allowed to receive a whole request, headers and body (slow clients get 408). */
  requestReceiveTimeoutMs: number;
  auth: {
    mode: AuthMode;
    clients: ClientCredential[];
  };
  /** Per client name (`*`: any other client); empty: no rate limiting. */
  rateLimits: RateLimits;
  health: {
    /** Readiness fails (503) when the database does not answer a ping within this. */
    readyTimeoutMs: number;
  };
  shutdown: {
    /** After SIGTERM: readiness is 503 but requests are still served, for this long (default
     *  5 s in production, where endpoints take a moment to drop the pod; 0 otherwise). */
    delayMs: number;
    /** Then: time allowed for in-flight requests to finish before the process gives up. */
    drainTimeoutMs: number;
  };
  database: {
    /** Unset: the service starts an embedded PostgreSQL (development only). */
    url: string | undefined;
    migrateOnStart: boolean;
    poolSize: number;
    connectTimeoutMs: number;
    statementTimeoutMs: number;
    lockTimeoutMs: number;
  };
  embedded: {
    dataDir: string;
    port: number;
    /** EMBEDDED_PG_PORT was set: a taken port is an error, not a reason to take another. */
    portExplicit: boolean;
  };
  charges: {
    /** Group commit: charges that arrive while a debit statement is in flight are debited
     *  together by the next one. Off: one statement per charge. */
    batching: boolean;
    /** The most charges one batch statement debits. */
    batchMax: number;
  };
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

function text(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number (got "${raw}")`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(name, `must be between ${min} and ${max} (got ${value})`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be true or false (got "${raw}")`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')} (got "${raw}")`);
  }
  return raw as T;
}

function corsOrigins(env: Env): string[] {
  const raw = text(env, 'CORS_ORIGINS', '');
  const origins = raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const origin of origins) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (parsed?.origin !== origin) {
      throw new ConfigError(
        'CORS_ORIGINS',
        `must list origins such as https://dashboard.example.com, comma-separated (got "${origin}")`,
      );
    }
  }
  return origins;
}

function databaseUrl(env: Env): string | undefined {
  const raw = env.DATABASE_URL;
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    // The value may hold a password: never repeat it.
    throw new ConfigError('DATABASE_URL', 'is not a valid URL');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError('DATABASE_URL', 'must start with postgres:// or postgresql://');
  }
  return raw;
}

/** The clients' definition: inline, or from a file (a mounted Kubernetes secret); not both. */
function clientsDefinition(env: Env): { variable: string; value: string } | undefined {
  const inline = env.BILLING_CLIENTS;
  const file = env.BILLING_CLIENTS_FILE;
  if (inline && file) {
    throw new ConfigError('BILLING_CLIENTS_FILE', 'cannot be combined with BILLING_CLIENTS');
  }
  if (inline) return { variable: 'BILLING_CLIENTS', value: inline };
  if (!file) return undefined;
  try {
    return { variable: 'BILLING_CLIENTS_FILE', value: readFileSync(file, 'utf8') };
  } catch (error) {
    const reason = (error as { code?: string }).code ?? 'unreadable';
    throw new ConfigError('BILLING_CLIENTS_FILE', `names a file that cannot be read (${reason})`);
  }
}

function auth(env: Env, nodeEnv: NodeEnv): AppConfig['auth'] {
  const switchedOff = oneOf(env, 'BILLING_AUTH', ['on', 'off'], 'on') === 'off';
  const definition = clientsDefinition(env);
  let clients: ClientCredential[] = [];
  if (definition !== undefined) {
    try {
      clients = parseClients(definition.value);
    } catch (error) {
      throw new ConfigError(definition.variable, (error as Error).message);
    }
  }
  if (switchedOff) {
    if (clients.length > 0) {
      throw new ConfigError(
        'BILLING_AUTH',
        `cannot be off while ${definition?.variable} lists clients`,
      );
    }
    return { mode: 'off', clients };
  }
  if (clients.length > 0) return { mode: 'clients', clients };
  if (nodeEnv === 'production') {
    throw new ConfigError(
      'BILLING_CLIENTS',
      'is required when NODE_ENV=production (or set BILLING_AUTH=off to run without authentication)',
    );
  }
  return { mode: 'open', clients };
}

function rateLimits(env: Env): RateLimits {
  try {
    return parseRateLimits(env.BILLING_RATE_LIMITS ?? '');
  } catch (error) {
    throw new ConfigError('BILLING_RATE_LIMITS', (error as Error).message);
  }
}

export function loadConfig(env: Env = process.env): AppConfig {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'], 'development');
  const url = databaseUrl(env);
  if (nodeEnv === 'production' && url === undefined) {
    throw new ConfigError(
      'DATABASE_URL',
      'is required when NODE_ENV=production (the embedded database is for development only)',
    );
  }
  return {
    nodeEnv,
    host: text(env, 'HOST', '127.0.0.1'),
    port: integer(env, 'PORT', 3000, 0, 65535),
    logLevel: oneOf(
      env,
      'LOG_LEVEL',
      ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      'info',
    ),
    corsOrigins: corsOrigins(env),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 16 * 1024, 1024, 1024 * 1024),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 10_000, 100, 600_000),
    idempotency: {
      retentionHours: integer(env, 'IDEMPOTENCY_KEY_RETENTION_HOURS', 24, 24, 24 * 365),
      purgeIntervalMs: integer(env, 'IDEMPOTENCY_PURGE_INTERVAL_MS', 60_000, 0, 86_400_000),
    },
    reservations: {
      sweepIntervalMs: integer(env, 'RESERVATION_SWEEP_INTERVAL_MS', 10_000, 0, 86_400_000),
    },
    jobs: {
      batchSize: integer(env, 'JOB_BATCH_SIZE', 1000, 1, 100_000),
    },
    requestReceiveTimeoutMs: integer(env, 'REQUEST_RECEIVE_TIMEOUT_MS', 10_000, 1000, 120_000),
    auth: auth(env, nodeEnv),
    rateLimits: rateLimits(env),
    health: {
      readyTimeoutMs: integer(env, 'HEALTH_READY_TIMEOUT_MS', 1000, 50, 30_000),
    },
    shutdown: {
      delayMs: integer(env, 'SHUTDOWN_DELAY_MS', nodeEnv === 'production' ? 5000 : 0, 0, 60_000),
      drainTimeoutMs: integer(env, 'SHUTDOWN_DRAIN_TIMEOUT_MS', 15_000, 100, 120_000),
    },
    database: {
      url,
      migrateOnStart: boolean(env, 'MIGRATE_ON_START', false),
      poolSize: integer(env, 'DB_POOL_SIZE', 20, 1, 500),
      connectTimeoutMs: integer(env, 'DB_CONNECT_TIMEOUT_MS', 5000, 100, 120_000),
      statementTimeoutMs: integer(env, 'DB_STATEMENT_TIMEOUT_MS', 5000, 100, 600_000),
      lockTimeoutMs: integer(env, 'DB_LOCK_TIMEOUT_MS', 3000, 100, 600_000),
    },
    embedded: {
      dataDir: text(env, 'EMBEDDED_PG_DIR', '.data/postgres'),
      port: integer(env, 'EMBEDDED_PG_PORT', 54329, 1, 65535),
      portExplicit: text(env, 'EMBEDDED_PG_PORT', '') !== '',
    },
    charges: {
      batching: boolean(env, 'CHARGE_BATCHING', true),
      batchMax: integer(env, 'CHARGE_BATCH_MAX', 500, 2, 5000),
    },
  };
}

export const APP_CONFIG = Symbol('APP_CONFIG');
