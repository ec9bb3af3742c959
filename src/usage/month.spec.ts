import { describe, expect, it } from '@jest/globals';
import { monthBounds } from './month.js';

describe('monthBounds', () => {
  it('gives the first instant of the month and of the next one', () => {
    const { start, end } = monthBounds('2026-11-01');
    expect(start.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(end.toISOString()).toBe('2026-12-01T00:00:00.000Z');
  });

  it('rolls December over into January of the next year', () => {
    expect(monthBounds('2026-12-01').end.toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  it('handles February of a leap year', () => {
    expect(monthBounds('2028-02-01').end.toISOString()).toBe('2028-03-01T00:00:00.000Z');
  });

  it('refuses a date that is not the first of a month', () => {
    expect(() => monthBounds('2026-11-15')).toThrow('not the first day of a month');
  });
});
