import { describe, expect, it } from '@jest/globals';
import { RateLimiter } from './rate-limiter.js';

describe('RateLimiter', () => {
  const limiter = () =>
    new RateLimiter(
      new Map([
        ['a', { requests: 2, windowMs: 1000 }],
        ['*', { requests: 1, windowMs: 1000 }],
      ]),
    );

  it('allows a burst up to the limit, then says how long to wait', () => {
    const l = limiter();
    expect([l.take('a', 0), l.take('a', 0)]).toEqual([0, 0]);
    expect(l.take('a', 0)).toBe(500);
    expect(l.take('a', 499)).toBe(1);
    expect(l.take('a', 500)).toBe(0);
  });

  it('counts each client on its own, others under the default', () => {
    const l = limiter();
    expect(l.take('b', 0)).toBe(0);
    expect(l.take('c', 0)).toBe(0);
    expect(l.take('b', 0)).toBe(1000);
    expect(l.take('a', 0)).toBe(0);
  });

  it('limits nothing when no limit applies', () => {
    const l = new RateLimiter(new Map([['a', { requests: 1, windowMs: 1000 }]]));
    expect(l.enabled).toBe(true);
    for (let i = 0; i < 100; i++) expect(l.take('other', 0)).toBe(0);
    expect(new RateLimiter(new Map()).enabled).toBe(false);
  });
});
