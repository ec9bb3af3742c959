import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type pg from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver.js';
import { translateDatabaseError } from './database-errors.js';

/** A named statement: pg prepares it once per connection and reuses the plan. */
export interface Statement {
  name: string;
  text: string;
}

/** Where a repository runs its statements: the pool (each statement its own transaction) or one
 *  transaction (see Sql.transaction). */
export interface Queryable {
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
}
