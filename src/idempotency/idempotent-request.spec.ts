import { describe, expect, it } from '@jest/globals';
import { loadConfig } from '../config/config.js';
import { requestHash } from './idempotent-request.js';

describe('requestHash', () => {
  it('is the same for the same fields in any order, at any depth', () => {
    const a = requestHash('POST', '/billing/charge-tokens', { a: 1, b: { c: 2, d: [1, 2] } });
    const b = requestHash('POST', '/billing/charge-tokens', { b: { d: [1, 2], c: 2 }, a: 1 });
    expect(a).toBe(b);
  });

  it('differs by method, path, value and array order', () => {
    const base = requestHash('POST', '/p', { a: [1, 2] });
    expect(requestHash('PUT', '/p', { a: [1, 2] })).not.toBe(base);
    expect(requestHash('POST', '/q', { a: [1, 2] })).not.toBe(base);
    expect(requestHash('POST', '/p', { a: [2, 1] })).not.toBe(base);
    expect(requestHash('POST', '/p', { a: ['1', 2] })).not.toBe(base);
  });

  it('treats no body as {}', () => {
    expect(requestHash('POST', '/p', undefined)).toBe(requestHash('POST', '/p', {}));
  });
});

describe('money-safety settings', () => {
  it('keeps idempotency keys at least 24 hours', () => {
    expect(loadConfig({}).idempotency.retentionHours).toBe(24);
    expect(() => loadConfig({ IDEMPOTENCY_KEY_RETENTION_HOURS: '23' })).toThrow(
      /IDEMPOTENCY_KEY_RETENTION_HOURS/,
    );
  });

  it('bounds requests by a timeout of at most 10 s by default', () => {
    expect(loadConfig({}).requestTimeoutMs).toBe(10_000);
    expect(loadConfig({ REQUEST_TIMEOUT_MS: '2500' }).requestTimeoutMs).toBe(2500);
  });
});
