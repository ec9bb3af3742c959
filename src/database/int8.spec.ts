import { describe, expect, it } from '@jest/globals';
import { parseInt8, pgTypes } from './int8.js';

describe('parseInt8', () => {
  it('converts int8 text to a number', () => {
    expect(parseInt8('0')).toBe(0);
    expect(parseInt8('-42')).toBe(-42);
    expect(parseInt8('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseInt8('-9007199254740991')).toBe(-Number.MAX_SAFE_INTEGER);
  });

  it('refuses a value past 2^53-1 instead of rounding it', () => {
    expect(() => parseInt8('9007199254740992')).toThrow(RangeError);
    expect(() => parseInt8('-9007199254740993')).toThrow(RangeError);
  });

  it('is the parser the pool uses for int8, and dates stay text', () => {
    const parse = pgTypes.getTypeParser(20, 'text') as (text: string) => unknown;
    expect(parse('12')).toBe(12);
    const date = pgTypes.getTypeParser(1082, 'text') as (text: string) => unknown;
    expect(date('2026-11-01')).toBe('2026-11-01');
  });
});
