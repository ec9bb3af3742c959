import autocannon from 'autocannon';
import { BENCH_HEADERS } from './client-token.js';
import type { Measurement } from './measurement.js';

export interface HttpScenario {
  name: string;
  method: 'GET' | 'POST';
  /** The path (and body) of each request: called once per request, so users can vary. */
  path: () => string;
  body?: () => unknown;
}

export interface LoadShape {
  connections: number;
  seconds: number;
  /** Run first and discarded: JIT, connections and plan caches settle before measuring. */
  warmupSeconds: number;
}

/** Drives one or more base URLs at once (several service processes), connections split evenly. */
export async function runHttp(
  scenario: HttpScenario,
  baseUrls: string[],
  shape: LoadShape,
): Promise<Measurement> {
  if (shape.warmupSeconds > 0) {
    await runHttp(scenario, baseUrls, { ...shape, seconds: shape.warmupSeconds, warmupSeconds: 0 });
  }
  const share = Math.max(1, Math.floor(shape.connections / baseUrls.length));
  const results = await Promise.all(
    baseUrls.map((url) =>
      autocannon({
        url,
        connections: share,
        duration: shape.seconds,
        timeout: 10,
        requests: [
          {
            method: scenario.method,
            setupRequest: (request) => ({
              ...request,
              path: scenario.path(),
              ...(scenario.body === undefined
                ? { headers: BENCH_HEADERS }
                : {
                    headers: { ...BENCH_HEADERS, 'content-type': 'application/json' },
                    body: JSON.stringify(scenario.body()),
                  }),
            }),
          },
        ],
      }),
    ),
  );
  const seconds = Math.max(...results.map((r) => r.duration));
  const requests = results.reduce((sum, r) => sum + r.requests.total, 0);
  // Several processes: the slower process's percentile, never a flattering average.
  return {
    name: scenario.name,
    rate: requests / seconds,
    p50: Math.max(...results.map((r) => r.latency.p50)),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    requests,
    errors: results.reduce((sum, r) => sum + r.errors + r.non2xx, 0),
  };
}
