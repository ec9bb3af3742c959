import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Module, Param, Post, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import pg from 'pg';
import { BALANCE } from '../balance/balance.repository.js';
import { pgTypes } from '../database/int8.js';
import { toTransactionDto } from '../transactions/dto/transaction.dto.js';
import type { LedgerRow } from '../transactions/transactions.repository.js';
import { HISTORY_PAGE } from '../transactions/transactions.repository.js';
import { monthBounds } from '../usage/month.js';
import { MONTH } from '../usage/usage.repository.js';
import { BARE_DEBIT, LIMIT_DESCRIPTION } from './pg-limit.js';

/**
 * The framework's own floor, run as its own process like the service: a minimal NestJS-on-Fastify
 * application (one controller; no guards, pipes, hooks, logger or validation) running the same
 * statements as the bare Fastify + pg server, and the per-charge limit's bare debit. It is not a
 * limit the service is held to: it shows how much of the gap to bare Fastify is NestJS itself, and
 * how much is the service's own work (authentication, validation, idempotency, metrics, logs).
 * Arguments: port, database URL, pool size.
 */
const [port, url, poolSize] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: Number(poolSize), types: pgTypes });
pool.on('error', () => undefined);

const charged = {
  status: 'success',
  transaction_id: '6f1c1d3e-5b1a-4f7e-9c55-2b8f0e4a1d20',
  balance: 880,
};

@Controller()
class FloorController {
  @Post('json')
  @HttpCode(200)
  json() {
    return charged;
  }

  @Post('debit')
  @HttpCode(200)
  async debit(@Body() body: { user_id: string; amount: number }) {
    const { rows } = await pool.query<{ id: string; balance_after: number }>({
      ...BARE_DEBIT,
      values: [body.user_id, body.amount, LIMIT_DESCRIPTION],
    });
    return { status: 'success', transaction_id: rows[0].id, balance: rows[0].balance_after };
  }

  @Get('balance/:id')
  async balance(@Param('id') id: string) {
    const { rows } = await pool.query<{ balance: number }>({ ...BALANCE, values: [id] });
    return { user_id: id, balance: rows[0].balance };
  }

  @Get('monthly-usage/:id')
  async usage(@Param('id') id: string) {
    const { rows } = await pool.query<{
      month: string;
      tokens_consumed: number;
      consultations_count: number;
    }>({ ...MONTH, values: [id, null] });
    const { start, end } = monthBounds(rows[0].month);
    return {
      user_id: id,
      tokens_consumed: rows[0].tokens_consumed,
      consultations_count: rows[0].consultations_count,
      start_date: start.toISOString(),
      end_date: end.toISOString(),
    };
  }

  @Get('transactions/:id')
  async page(@Param('id') id: string, @Query('limit') limitText: string) {
    const limit = Number(limitText);
    const values = [id, null, null, null, null, limit + 1];
    const { rows } = await pool.query<LedgerRow>({ ...HISTORY_PAGE, values });
    return rows.slice(0, limit).map(toTransactionDto);
  }
}

@Module({ controllers: [FloorController] })
class FloorModule {}

const app = await NestFactory.create<NestFastifyApplication>(FloorModule, new FastifyAdapter(), {
  logger: false,
});
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});
