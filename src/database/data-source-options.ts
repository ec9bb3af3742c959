import pg from 'pg';
import type { DataSourceOptions } from 'typeorm';
import { migrations } from '../../migrations/index.js';
import { pgTypes } from './int8.js';

export interface DatabaseSettings {
  url: string;
  poolSize: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

type ErrorSink = (error: Error) => void;

let reportClientError: ErrorSink = (error) => {
  process.emitWarning(`PostgreSQL connection error: ${error.message}`);
};

/** Where errors of connections that are checked out of the pool are reported (the app's logger). */
export function onDatabaseClientError(sink: ErrorSink): void {
  reportClientError = sink;
}

/**
 * Every connection gets an `error` listener the moment it exists. The pool's own listener only
 * covers idle connections; without this, a backend terminated while a connection is checked out
 * (inside a transaction) would crash the whole process. The failed query itself still rejects.
 */
class ListeningClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', (error: Error) => reportClientError(error));
  }
}

export function dataSourceOptions(settings: DatabaseSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: settings.url,
    // No entities: every query is SQL owned by a repository, on the driver under this DataSource
    // (its pool); the schema's one truth is migrations/.
    entities: [],
    migrations,
    migrationsRun: false,
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error', 'migration'],
    poolSize: settings.poolSize,
    connectTimeoutMS: settings.connectTimeoutMs,
    applicationName: 'billing-service',
    poolErrorHandler: (error: unknown) =>
      reportClientError(error instanceof Error ? error : new Error(String(error))),
    extra: {
      Client: ListeningClient,
      types: pgTypes,
      statement_timeout: settings.statementTimeoutMs,
      lock_timeout: settings.lockTimeoutMs,
      idle_in_transaction_session_timeout: Math.max(settings.statementTimeoutMs * 2, 10_000),
      idleTimeoutMillis: 30_000,
      // Client-side bound for a server that stops answering (a network that drops packets):
      // statement_timeout only helps while the server can still reply.
      // (0: no statement timeout, no client-side bound either; the migration job's setting.)
      query_timeout:
        settings.statementTimeoutMs > 0 ? settings.statementTimeoutMs + 2000 : undefined,
      keepAlive: true,
    },
  };
}
