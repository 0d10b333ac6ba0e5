import { describe, expect, it } from 'vitest';
import { formatCents, formatUsd } from '../../src/core/display.ts';

describe('money for people (core/display.ts)', () => {
  it('dollars: 2 decimals, grouping, sign; sub-cent digits only when present', () => {
    expect(formatUsd(0)).toBe('$0.00');
    expect(formatUsd(10_000_130_000)).toBe('$10,000.13');
    expect(formatUsd(-3_720_000)).toBe('-$3.72');
    expect(formatUsd(269_000)).toBe('$0.269');
    expect(formatUsd(17_500)).toBe('$0.0175');
    expect(formatUsd(160_000)).toBe('$0.16');
  });

  it('prices in cents, 0.1¢ ticks kept', () => {
    expect(formatCents(5600)).toBe('56¢');
    expect(formatCents(5650)).toBe('56.5¢');
    expect(formatCents(1)).toBe('0.01¢');
    expect(formatCents(9990)).toBe('99.9¢');
  });
});
