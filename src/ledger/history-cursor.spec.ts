import { describe, expect, it } from '@jest/globals';
import { decodeCursor, encodeCursor } from './history-cursor.js';

describe('history cursor', () => {
  it('round-trips a seq', () => {
    expect(decodeCursor(encodeCursor(1))).toBe(1);
    expect(decodeCursor(encodeCursor(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('is opaque url-safe text', () => {
    expect(encodeCursor(123456)).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('refuses text it did not produce', () => {
    expect(decodeCursor('abc')).toBeUndefined();
    expect(decodeCursor(Buffer.from('v1.-5').toString('base64url'))).toBeUndefined();
    expect(decodeCursor(Buffer.from('v1.0').toString('base64url'))).toBeUndefined();
    expect(decodeCursor(Buffer.from('v1.99999999999999999').toString('base64url'))).toBeUndefined();
    expect(decodeCursor(Buffer.from('v2.5').toString('base64url'))).toBeUndefined();
  });
});
