/** One scenario's figures, however it was driven (HTTP, a pg pool, pgbench). */
export interface Measurement {
  name: string;
  /** Completed requests (or transactions) per second. */
  rate: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  requests: number;
  /** Failed requests: connection errors, timeouts, non-2xx answers, database errors. */
  errors: number;
}

/** Percentile (0..100) of latencies in ms, by nearest rank. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summarise(
  name: string,
  latenciesMs: number[],
  errors: number,
  seconds: number,
): Measurement {
  const sorted = latenciesMs.slice().sort((a, b) => a - b);
  return {
    name,
    rate: sorted.length / seconds,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    requests: sorted.length,
    errors,
  };
}

/** Bench users: a deterministic UUID per index, the same in JS and SQL. */
export function benchUser(index: number): string {
  return `00000000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
}

export const benchUserSql = (indexExpression: string): string =>
  `('00000000-0000-4000-8000-' || lpad(to_hex(${indexExpression}), 12, '0'))::uuid`;
