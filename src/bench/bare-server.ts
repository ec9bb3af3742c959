import Fastify from 'fastify';
import pg from 'pg';
import { BALANCE } from '../balance/balance.repository.js';
import { pgTypes } from '../database/int8.js';
import { toTransactionDto } from '../transactions/dto/transaction.dto.js';
import type { LedgerRow } from '../transactions/transactions.repository.js';
import { HISTORY_PAGE } from '../transactions/transactions.repository.js';
import { monthBounds } from '../usage/month.js';
import { MONTH } from '../usage/usage.repository.js';

/**
 * The limits for the reads, run as their own process like the service: bare Fastify returning the
 * service's JSON with no database (the HTTP limit), and bare Fastify + pg running the service's
 * own read statements (imported, so they cannot drift) on a pool of the same size.
 * Arguments: port, database URL, pool size.
 */
const [port, url, poolSize] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: Number(poolSize), types: pgTypes });
pool.on('error', () => undefined);
const app = Fastify({ logger: false });

const charged = {
  status: 'success',
  transaction_id: '6f1c1d3e-5b1a-4f7e-9c55-2b8f0e4a1d20',
  balance: 880,
};
app.post('/json', () => charged);

app.get<{ Params: { id: string } }>('/balance/:id', async (request) => {
  const { rows } = await pool.query<{ balance: number }>({
    ...BALANCE,
    values: [request.params.id],
  });
  return { user_id: request.params.id, balance: rows[0].balance };
});

app.get<{ Params: { id: string } }>('/monthly-usage/:id', async (request) => {
  const { rows } = await pool.query<{
    month: string;
    tokens_consumed: number;
    consultations_count: number;
  }>({ ...MONTH, values: [request.params.id, null] });
  const { start, end } = monthBounds(rows[0].month);
  return {
    user_id: request.params.id,
    tokens_consumed: rows[0].tokens_consumed,
    consultations_count: rows[0].consultations_count,
    start_date: start.toISOString(),
    end_date: end.toISOString(),
  };
});

app.get<{ Params: { id: string }; Querystring: { limit: string } }>(
  '/transactions/:id',
  async (request) => {
    const limit = Number(request.query.limit);
    const values = [request.params.id, null, null, null, null, limit + 1];
    const { rows } = await pool.query<LedgerRow>({ ...HISTORY_PAGE, values });
    return rows.slice(0, limit).map(toTransactionDto);
  },
);

await app.listen({ port: Number(port), host: '127.0.0.1' });
process.on('SIGTERM', () => {
  void app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});
