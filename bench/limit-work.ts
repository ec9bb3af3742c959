import pg from 'pg';
import { BALANCE } from '../src/balance/balance.repository.js';
import { pgTypes } from '../src/database/int8.js';
import { toTransactionDto } from '../src/ledger/dto/transaction.dto.js';
import type { LedgerRow } from '../src/ledger/ledger.repository.js';
import { HISTORY_PAGE } from '../src/ledger/ledger.repository.js';
import { monthBounds } from '../src/usage/month.js';
import { MONTH } from '../src/usage/usage.repository.js';
import { BARE_DEBIT, LIMIT_DESCRIPTION } from './pg-limit.js';

/**
 * What the comparison servers (bare Fastify, minimal NestJS) do behind their routes: the
 * service's own read statements (imported, so they cannot drift) and the per-charge limit's bare
 * debit, on one pool, answering the service's JSON shapes. One definition, so that the two servers
 * differ only in their framework.
 */
export class LimitWork {
  /** The charge answer, as a constant (the HTTP limit sends it with no database). */
  static readonly charged = {
    status: 'success',
    transaction_id: '6f1c1d3e-5b1a-4f7e-9c55-2b8f0e4a1d20',
    balance: 880,
  };

  readonly pool: pg.Pool;

  constructor(url: string, poolSize: number) {
    this.pool = new pg.Pool({ connectionString: url, max: poolSize, types: pgTypes });
    this.pool.on('error', () => undefined);
  }

  async debit(userId: string, amount: number) {
    const { rows } = await this.pool.query<{ id: string; balance_after: number }>({
      ...BARE_DEBIT,
      values: [userId, amount, LIMIT_DESCRIPTION],
    });
    return { status: 'success', transaction_id: rows[0].id, balance: rows[0].balance_after };
  }

  async balance(userId: string) {
    const { rows } = await this.pool.query<{ balance: number }>({ ...BALANCE, values: [userId] });
    return { user_id: userId, balance: rows[0].balance };
  }

  async usage(userId: string) {
    const { rows } = await this.pool.query<{
      month: string;
      tokens_consumed: number;
      consultations_count: number;
    }>({ ...MONTH, values: [userId, null] });
    const { start, end } = monthBounds(rows[0].month);
    return {
      user_id: userId,
      tokens_consumed: rows[0].tokens_consumed,
      consultations_count: rows[0].consultations_count,
      start_date: start.toISOString(),
      end_date: end.toISOString(),
    };
  }

  async page(userId: string, limit: number) {
    const values = [userId, null, null, null, null, limit + 1];
    const { rows } = await this.pool.query<LedgerRow>({ ...HISTORY_PAGE, values });
    return rows.slice(0, limit).map(toTransactionDto);
  }

  /** On SIGTERM (the bench stopping it): close the server, then the pool, then exit. */
  stopOnSigterm(server: { close(): Promise<unknown> }): void {
    process.on('SIGTERM', () => {
      void server
        .close()
        .then(() => this.pool.end())
        .then(() => process.exit(0));
    });
  }
}
