import pg from 'pg';
import type { Statement } from '../src/database/sql.js';
import { type Measurement, summarise } from './measurement.js';

/** The limit's debits bypass the rollup by design (nothing else): the rollup check skips them. */
export const LIMIT_DESCRIPTION = 'bench limit, no rollup';

/**
 * The per-charge limit: the bare debit (conditional account UPDATE plus one ledger INSERT, one
 * CTE, nothing else) straight through a pg pool, no HTTP, no framework.
 */
export const BARE_DEBIT: Statement = {
  name: 'bench_bare_debit',
  text: `
    WITH debited AS (
      UPDATE accounts SET balance = balance - $2 WHERE user_id = $1 AND balance >= $2
      RETURNING user_id, balance
    )
    INSERT INTO ledger_entries (user_id, type, amount, balance_after, description, client)
    SELECT user_id, 'debit', -$2::bigint, balance, $3, 'bench' FROM debited
    RETURNING id, balance_after`,
};

/** `concurrency` callers, each issuing the statement again as soon as its answer arrives. */
export async function runPgLimit(
  name: string,
  url: string,
  user: () => string,
  concurrency: number,
  seconds: number,
  warmupSeconds = 0,
): Promise<Measurement> {
  if (warmupSeconds > 0) await runPgLimit(name, url, user, concurrency, warmupSeconds);
  const pool = new pg.Pool({ connectionString: url, max: concurrency });
  pool.on('error', () => undefined);
  const latencies: number[] = [];
  let errors = 0;
  try {
    // Connect and prepare before the clock starts, as pgbench does.
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        const client = await pool.connect();
        client.on('error', () => undefined);
        client.release();
      }),
    );
    const deadline = Date.now() + seconds * 1000;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < deadline) {
          const t0 = process.hrtime.bigint();
          try {
            const result = await pool.query({
              ...BARE_DEBIT,
              values: [user(), 1, LIMIT_DESCRIPTION],
            });
            if (result.rowCount !== 1) errors += 1;
            latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          } catch {
            errors += 1;
          }
        }
      }),
    );
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    return summarise(name, latencies, errors, elapsed);
  } finally {
    await pool.end();
  }
}
