import type { RateLimits } from '../../config/clients.js';

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client name: `requests` per window, refilled continuously, bursts up to
 * `requests`. Counted in this process only (each replica counts on its own). The names are the
 * configured clients (or `anonymous`), so the map stays small.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly limits: RateLimits) {}

  get enabled(): boolean {
    return this.limits.size > 0;
  }

  /** Takes one request for `name` at `now` (ms): 0 when allowed, else the ms to wait. */
  take(name: string, now: number): number {
    const limit = this.limits.get(name) ?? this.limits.get('*');
    if (limit === undefined) return 0;
    const perMs = limit.requests / limit.windowMs;
    let bucket = this.buckets.get(name);
    if (bucket === undefined) {
      bucket = { tokens: limit.requests, at: now };
      this.buckets.set(name, bucket);
    }
    bucket.tokens = Math.min(limit.requests, bucket.tokens + (now - bucket.at) * perMs);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    // (the epsilon keeps float error from adding a millisecond)
    return Math.max(1, Math.ceil((1 - bucket.tokens) / perMs - 1e-6));
  }
}
