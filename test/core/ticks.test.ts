import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  TickError,
  allTicks,
  isValidPrice,
  nextTickDown,
  nextTickUp,
  parsePriceRanges,
  priceRangesFor,
  priceRangesToWire,
  roundToTick,
} from '../../src/core/ticks.ts';
import type { PriceLevelStructure } from '../../src/core/ticks.ts';

const linear = priceRangesFor('linear_cent');
const tapered = priceRangesFor('tapered_deci_cent');
const deci = priceRangesFor('deci_cent');

describe('tick structures', () => {
  it('linear_cent: $0.01..$0.99 by $0.01', () => {
    const ticks = allTicks(linear);
    expect(ticks).toHaveLength(99);
    expect(ticks[0]).toBe(100);
    expect(ticks.at(-1)).toBe(9_900);
    expect(isValidPrice(5_600, linear)).toBe(true);
    expect(isValidPrice(5_650, linear)).toBe(false);
    expect(isValidPrice(0, linear)).toBe(false);
    expect(isValidPrice(10_000, linear)).toBe(false);
    expect(isValidPrice(5_600.5, linear)).toBe(false);
  });

  it('tapered_deci_cent: $0.001 below $0.10 and above $0.90, $0.01 between', () => {
    expect(isValidPrice(10, tapered)).toBe(true); // $0.001
    expect(isValidPrice(550, tapered)).toBe(true); // $0.055
    expect(isValidPrice(1_000, tapered)).toBe(true);
    expect(isValidPrice(1_010, tapered)).toBe(false); // $0.101: cent ticks in the middle
    expect(isValidPrice(1_100, tapered)).toBe(true);
    expect(isValidPrice(8_990, tapered)).toBe(false);
    expect(isValidPrice(9_000, tapered)).toBe(true);
    expect(isValidPrice(9_010, tapered)).toBe(true);
    expect(isValidPrice(9_990, tapered)).toBe(true);
    expect(isValidPrice(5, tapered)).toBe(false); // $0.0005 is below the grid
    // $0.001..$0.100 (100 ticks), $0.10..$0.90 (81), $0.900..$0.999 (100); $0.10 and $0.90 shared.
    expect(allTicks(tapered)).toHaveLength(100 + 81 + 100 - 2);
  });

  it('deci_cent: $0.001..$0.999 by $0.001', () => {
    const ticks = allTicks(deci);
    expect(ticks).toHaveLength(999);
    expect(ticks[0]).toBe(10);
    expect(ticks.at(-1)).toBe(9_990);
  });

  it('steps across range boundaries of the tapered grid', () => {
    expect(nextTickUp(990, tapered)).toBe(1_000);
    expect(nextTickUp(1_000, tapered)).toBe(1_100);
    expect(nextTickDown(1_100, tapered)).toBe(1_000);
    expect(nextTickDown(1_000, tapered)).toBe(990);
    expect(nextTickUp(8_900, tapered)).toBe(9_000);
    expect(nextTickUp(9_000, tapered)).toBe(9_010);
    expect(nextTickDown(9_010, tapered)).toBe(9_000);
    expect(nextTickDown(9_000, tapered)).toBe(8_900);
  });

  it('returns null past the ends of the grid', () => {
    expect(nextTickUp(9_900, linear)).toBeNull();
    expect(nextTickDown(100, linear)).toBeNull();
    expect(nextTickUp(9_990, deci)).toBeNull();
    expect(nextTickDown(10, deci)).toBeNull();
    expect(nextTickUp(0, linear)).toBe(100);
    expect(nextTickDown(10_000, linear)).toBe(9_900);
  });

  it('rounds off-grid prices in the requested direction, keeps valid ones', () => {
    expect(roundToTick(5_650, linear, 'up')).toBe(5_700);
    expect(roundToTick(5_650, linear, 'down')).toBe(5_600);
    expect(roundToTick(5_600, linear, 'up')).toBe(5_600);
    expect(roundToTick(9_950, linear, 'up')).toBeNull();
    expect(roundToTick(50, linear, 'down')).toBeNull();
    expect(roundToTick(50, linear, 'up')).toBe(100);
    expect(roundToTick(1_005, tapered, 'up')).toBe(1_100);
    expect(roundToTick(555, tapered, 'down')).toBe(550);
  });

  it('returns copies, so callers cannot corrupt the shared grids', () => {
    const r = priceRangesFor('linear_cent');
    r[0].step = 1;
    expect(priceRangesFor('linear_cent')[0].step).toBe(100);
    expect(() => priceRangesFor('bogus' as PriceLevelStructure)).toThrow(TickError);
  });
});

describe('parsePriceRanges', () => {
  it('parses Kalshi wire ranges spanning $0..$1 and excludes the endpoints', () => {
    const ranges = parsePriceRanges([
      { start: '0.0000', end: '0.1000', step: '0.0010' },
      { start: '0.1000', end: '0.9000', step: '0.0100' },
      { start: '0.9000', end: '1.0000', step: '0.0010' },
    ]);
    expect(ranges).toEqual([
      { start: 0, end: 1_000, step: 10 },
      { start: 1_000, end: 9_000, step: 100 },
      { start: 9_000, end: 10_000, step: 10 },
    ]);
    expect(isValidPrice(0, ranges)).toBe(false);
    expect(isValidPrice(10_000, ranges)).toBe(false);
    expect(allTicks(ranges)).toEqual(allTicks(tapered));
    expect(nextTickUp(0, ranges)).toBe(10);
    expect(nextTickDown(10_000, ranges)).toBe(9_990);
  });

  it('round-trips through the wire form', () => {
    for (const s of ['linear_cent', 'tapered_deci_cent', 'deci_cent'] as const) {
      expect(parsePriceRanges(priceRangesToWire(priceRangesFor(s)))).toEqual(priceRangesFor(s));
    }
    expect(priceRangesToWire(linear)).toEqual([{ start: '0.0100', end: '0.9900', step: '0.0100' }]);
  });

  it('rejects malformed ranges with TickError', () => {
    expect(() => parsePriceRanges([])).toThrow(TickError);
    expect(() => parsePriceRanges([{ start: 'x', end: '1', step: '0.01' }])).toThrow(TickError);
    expect(() => parsePriceRanges([{ start: '0', end: '1', step: '0' }])).toThrow(/step/);
    expect(() => parsePriceRanges([{ start: '0.5', end: '0.4', step: '0.01' }])).toThrow(TickError);
    expect(() => parsePriceRanges([{ start: '0', end: '1.5', step: '0.01' }])).toThrow(TickError);
    expect(() => parsePriceRanges([{ start: '0', end: '1', step: '0.00001' }])).toThrow(TickError);
    expect(() => parsePriceRanges([{ start: 0, end: 1, step: 0.01 }] as never)).toThrow(TickError);
  });
});

describe('tick properties', () => {
  const structures = fc.constantFrom<PriceLevelStructure>('linear_cent', 'tapered_deci_cent', 'deci_cent');

  it('nextTickUp/Down give the neighbouring valid prices and are inverse on the grid', () => {
    fc.assert(
      fc.property(structures, fc.integer({ min: -50, max: 10_050 }), (s, price) => {
        const ranges = priceRangesFor(s);
        const ticks = allTicks(ranges);
        const up = nextTickUp(price, ranges);
        const down = nextTickDown(price, ranges);
        expect(up).toBe(ticks.find((t) => t > price) ?? null);
        expect(down).toBe([...ticks].reverse().find((t) => t < price) ?? null);
        if (up !== null) {
          expect(isValidPrice(up, ranges)).toBe(true);
          if (isValidPrice(price, ranges)) expect(nextTickDown(up, ranges)).toBe(price);
        }
        const rounded = roundToTick(price, ranges, 'down');
        if (rounded !== null) {
          expect(rounded).toBeLessThanOrEqual(price);
          expect(isValidPrice(rounded, ranges)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});
