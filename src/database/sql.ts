import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type pg from 'pg';
import Cursor from 'pg-cursor';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { translateDatabaseError } from './database-errors.js';
import { pgTypes } from './int8.js';

/** A named statement: pg prepares it once per connection and reuses the plan. */
export interface Statement {
  name: string;
  text: string;
}

/** Where a repository runs its statements: the pool (each statement its own transaction) or one
 *  transaction (see Sql.transaction). */
export interface Queryable {
  /** True inside Sql.transaction: statements must run on that transaction's connection. */
  readonly transactional: boolean;
  query<Row extends object>(statement: Statement, values: unknown[]): Promise<Row[]>;
  one<Row extends object>(statement: Statement, values: unknown[]): Promise<Row>;
}

async function run<Row extends object>(
  target: pg.Pool | pg.PoolClient,
  statement: Statement,
  values: unknown[],
): Promise<Row[]> {
  try {
    const result = await target.query<Row>({ ...statement, values });
    return result.rows;
  } catch (error) {
    throw translateDatabaseError(error);
  }
}

function exactlyOne<Row>(statement: Statement, rows: Row[]): Row {
  if (rows.length !== 1) {
    throw new Error(`statement ${statement.name} returned ${rows.length} rows, expected 1`);
  }
  return rows[0];
}

class Transaction implements Queryable {
  readonly transactional = true;

  constructor(private readonly client: pg.PoolClient) {}

  query<Row extends object>(statement: Statement, values: unknown[]): Promise<Row[]> {
    return run<Row>(this.client, statement, values);
  }

  async one<Row extends object>(statement: Statement, values: unknown[]): Promise<Row> {
    return exactlyOne(statement, await this.query<Row>(statement, values));
  }
}

/**
 * The driver underneath TypeORM's DataSource: the same pool, never a second one. Repositories use
 * it for statements on hot paths, where TypeORM's query path costs a third of the throughput.
 */
@Injectable()
export class Sql implements Queryable {
  readonly transactional = false;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get pool(): pg.Pool {
    return (this.dataSource.driver as PostgresDriver).master as pg.Pool;
  }

  /** Connections of the pool: checked out, idle, and requests waiting for one (for metrics). */
  poolUsage(): { inUse: number; idle: number; waiting: number } {
    const pool = this.pool;
    return {
      inUse: pool.totalCount - pool.idleCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
    };
  }

  query<Row extends object>(statement: Statement, values: unknown[]): Promise<Row[]> {
    return run<Row>(this.pool, statement, values);
  }

  /** Exactly one row (statements written to always return one). */
  async one<Row extends object>(statement: Statement, values: unknown[]): Promise<Row> {
    return exactlyOne(statement, await this.query<Row>(statement, values));
  }

  /**
   * Runs `work` in one transaction on one connection: COMMIT when it returns, ROLLBACK when it
   * throws. A COMMIT that fails on a lost connection leaves the outcome unknown to the caller (a
   * 503); idempotency keys are what make the retry safe.
   */
  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translateDatabaseError(error);
    }
    let broken = false;
    try {
      await client.query('BEGIN');
      const result = await work(new Transaction(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // A connection that cannot even roll back is dead: destroy it.
      await client.query('ROLLBACK').catch(() => (broken = true));
      throw translateDatabaseError(error);
    } finally {
      // A connection that failed is destroyed rather than returned to the pool.
      client.release(broken);
    }
  }

  /**
   * Rows of a statement read through a server-side cursor, `batchSize` at a time, on a connection
   * checked out of the same pool: memory stays bounded however many rows match. The connection
   * goes back to the pool when the iteration ends, and is discarded if it failed. A failure
   * mid-way rejects the iteration (the caller must not present a partial result as complete).
   */
  async *stream<Row extends object>(
    text: string,
    values: unknown[],
    batchSize: number,
  ): AsyncGenerator<Row[], void, undefined> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw translateDatabaseError(error);
    }
    let failure: Error | undefined;
    const cursor = client.query(new Cursor<Row>(text, values, { types: pgTypes }));
    try {
      for (;;) {
        const rows = await cursor.read(batchSize);
        if (rows.length === 0) return;
        yield rows;
      }
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
      throw translateDatabaseError(error);
    } finally {
      if (failure === undefined) {
        // An iteration abandoned early (the HTTP client went away) closes its portal first.
        await cursor.close().catch((error: unknown) => {
          failure = error instanceof Error ? error : new Error(String(error));
        });
      }
      client.release(failure);
    }
  }
}

/**
 * Runs a statement that answers "stale" when it waited for an account row lock and its snapshot
 * is older than the row it locked (see src/grants/grant-sql.ts): once more inside a transaction,
 * where its first run takes the lock and keeps it, so the next run's snapshot is current.
 */
export async function untilCurrent<T>(
  sql: Sql,
  db: Queryable,
  run: (target: Queryable) => Promise<T>,
  stale: (outcome: T) => boolean,
): Promise<T> {
  const first = await run(db);
  if (!stale(first)) return first;
  const underLock = async (tx: Queryable): Promise<T> => {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const outcome = await run(tx);
      if (!stale(outcome)) return outcome;
    }
    throw new Error('a statement stayed stale under its own row lock');
  };
  return db.transactional ? underLock(db) : sql.transaction(underLock);
}
