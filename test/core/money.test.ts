import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FixedPointError,
  formatCount,
  formatDollars,
  formatPrice,
  notional,
  parseCount,
  parseDollars,
  parsePrice,
} from '../../src/core/money.ts';

describe('fixed-point money', () => {
  it('parses Kalshi price strings exactly, including 0.1¢ ticks and trailing zeros', () => {
    expect(parsePrice('0.5600')).toBe(5600);
    expect(parsePrice('0.960')).toBe(9600);
    expect(parsePrice('0.0010')).toBe(10);
    expect(parsePrice('1')).toBe(10_000);
    expect(parsePrice('0.560000')).toBe(5600);
  });

  it('refuses prices finer than $0.0001 and non-numbers', () => {
    expect(() => parsePrice('0.56001')).toThrow(FixedPointError);
    expect(() => parsePrice('abc')).toThrow(/not a decimal/);
    expect(() => parsePrice('')).toThrow(FixedPointError);
    expect(() => parsePrice('1e-2')).toThrow(FixedPointError);
  });

  it('parses and formats counts with two decimals, signed deltas included', () => {
    expect(parseCount('10')).toBe(1000);
    expect(parseCount('10.0')).toBe(1000);
    expect(parseCount('-54.00')).toBe(-5400);
    expect(parseCount('0.01')).toBe(1);
    expect(() => parseCount('0.001')).toThrow(/more than 2 decimal/);
    expect(formatCount(1000)).toBe('10.00');
    expect(formatCount(-5)).toBe('-0.05');
    expect(formatPrice(5600)).toBe('0.5600');
    expect(formatPrice(10)).toBe('0.0010');
  });

  it('formats dollars with 4 decimals and keeps sub-0.0001 amounts', () => {
    expect(formatDollars(5_180_000)).toBe('5.1800');
    expect(formatDollars(-180_000)).toBe('-0.1800');
    expect(formatDollars(1_234_567)).toBe('1.234567');
    expect(parseDollars('-5.175')).toBe(-5_175_000);
  });

  it('computes notional exactly in micros', () => {
    expect(notional(5000, 1000)).toBe(5_000_000); // 10 contracts at $0.50 = $5
    expect(notional(5001, 1)).toBe(5001); // 0.01 contract at $0.5001 = $0.005001
  });

  it('round-trips every price and count (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000 }), (p) => parsePrice(formatPrice(p)) === p));
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), (c) => parseCount(formatCount(c)) === c),
    );
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), (m) => parseDollars(formatDollars(m)) === m),
    );
  });
});
