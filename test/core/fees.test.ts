import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CENTICENT_PRECISION,
  FeeError,
  FeeRounding,
  TAKER_FEE_RATE,
  makerFee,
  takerFee,
  tradeFee,
} from '../../src/core/fees.ts';
import type { FeeSchedule } from '../../src/core/fees.ts';

const withMakerFees: FeeSchedule = { feeType: 'quadratic_with_maker_fees' };
const combo: FeeSchedule = { feeType: 'quadratic_with_combo_maker_fees' };

/** Oracle: ceil(rate × C × P × (1 − P)) to $0.0001, with rate = num/den, in BigInt. */
function oracleFee(rateNum: bigint, rateDen: bigint, price: number, count: number): number {
  // dollars = rate × (count/100) × (price/1e4) × ((1e4 − price)/1e4); micros = dollars × 1e6
  const num = rateNum * BigInt(count) * BigInt(price) * BigInt(10_000 - price) * 1_000_000n;
  const den = rateDen * 100n * 10_000n * 10_000n * 100n; // last ×100: units of $0.0001
  const units = (num + den - 1n) / den;
  return Number(units) * 100;
}

describe('trade fees — known values', () => {
  it('kalshi-api.md §6.3: 10 contracts at $0.50 taker → $0.1750', () => {
    expect(takerFee(5_000, 1_000)).toBe(175_000);
    expect(TAKER_FEE_RATE).toBe(0.07);
  });

  it('rounds up to $0.0001, not to the cent', () => {
    expect(takerFee(550, 100)).toBe(3_700); // 0.07 × 0.055 × 0.945 = 0.00363825
    expect(takerFee(500, 10_000)).toBe(332_500); // 100 @ $0.05: $0.3325
    expect(takerFee(5_000, 100)).toBe(17_500); // exactly $0.0175
    expect(takerFee(100, 100)).toBe(700); // 0.07 × 0.01 × 0.99 = 0.000693
    expect(takerFee(5_000, 1)).toBe(200); // 0.01 contract: $0.000175 → $0.0002
  });

  it('maker fees depend on the fee type', () => {
    expect(makerFee(5_000, 1_000)).toBe(0);
    expect(makerFee(5_000, 1_000, withMakerFees)).toBe(43_800); // $0.04375 → $0.0438
    expect(makerFee(5_000, 1_000, combo)).toBe(87_500); // 0.035 × 10 × 0.25
    expect(tradeFee(5_000, 1_000, true, withMakerFees)).toBe(175_000);
    expect(tradeFee(5_000, 1_000, false, withMakerFees)).toBe(43_800);
    expect(tradeFee(5_000, 1_000, false)).toBe(0);
  });

  it('applies the fee multiplier exactly', () => {
    expect(takerFee(5_000, 1_000, { feeType: 'quadratic', multiplier: 0.5 })).toBe(87_500);
    expect(takerFee(5_000, 1_000, { feeType: 'quadratic', multiplier: 2 })).toBe(350_000);
    expect(takerFee(5_000, 1_000, { feeType: 'quadratic', multiplier: 0 })).toBe(0);
    expect(makerFee(5_000, 1_000, { feeType: 'quadratic_with_maker_fees', multiplier: 1.5 })).toBe(65_700); // $0.065625
    expect(takerFee(5_000, 1_000, { feeType: 'quadratic', multiplier: 1 })).toBe(175_000);
  });

  it('is zero at $0, $1 and for zero contracts', () => {
    expect(takerFee(0, 1_000)).toBe(0);
    expect(takerFee(10_000, 1_000)).toBe(0);
    expect(takerFee(5_000, 0)).toBe(0);
  });

  it('stays exact for very large counts (BigInt path)', () => {
    const count = 1_000_000_000; // 10 million contracts
    expect(takerFee(5_000, count)).toBe(oracleFee(7n, 100n, 5_000, count));
    expect(takerFee(5_000, count)).toBe(175_000 * 1_000_000);
    expect(takerFee(3_333, 987_654_321)).toBe(oracleFee(7n, 100n, 3_333, 987_654_321));
    expect(takerFee(3_333, 987_654_321, { feeType: 'quadratic', multiplier: 1.25 })).toBe(
      oracleFee(7n * 125n, 100n * 100n, 3_333, 987_654_321),
    );
  });

  it('rejects invalid input and the unpublished flat schedule', () => {
    expect(() => takerFee(-1, 100)).toThrow(FeeError);
    expect(() => takerFee(10_001, 100)).toThrow(FeeError);
    expect(() => takerFee(50.5, 100)).toThrow(FeeError);
    expect(() => takerFee(5_000, -100)).toThrow(FeeError);
    expect(() => takerFee(5_000, 1.5)).toThrow(FeeError);
    expect(() => takerFee(5_000, 100, { feeType: 'flat' })).toThrow(/flat/);
    expect(() => makerFee(5_000, 100, { feeType: 'flat' })).toThrow(FeeError);
    expect(() => takerFee(5_000, 100, { feeType: 'quadratic', multiplier: -1 })).toThrow(FeeError);
    expect(() => takerFee(5_000, 100, { feeType: 'quadratic', multiplier: 0.1234567 })).toThrow(FeeError);
    expect(() => makerFee(5_000, 100, { feeType: 'weird' as never })).toThrow(FeeError);
  });
});

describe('trade fees — properties', () => {
  const price = fc.integer({ min: 1, max: 9_999 });
  const count = fc.integer({ min: 0, max: 10_000_000 });

  it('equals the exact rational fee rounded up to $0.0001, for taker and maker rates', () => {
    fc.assert(
      fc.property(price, count, (p, c) => {
        expect(takerFee(p, c)).toBe(oracleFee(7n, 100n, p, c));
        expect(makerFee(p, c, withMakerFees)).toBe(oracleFee(175n, 10_000n, p, c));
        expect(makerFee(p, c, combo)).toBe(oracleFee(35n, 1_000n, p, c));
      }),
      { numRuns: 500 },
    );
  });

  it('is never negative, symmetric in P ↔ 1−P, monotone in count and in |P − ½|, taker ≥ maker', () => {
    fc.assert(
      fc.property(price, count, count, (p, c1, c2) => {
        const [lo, hi] = c1 <= c2 ? [c1, c2] : [c2, c1];
        const fee = takerFee(p, lo);
        expect(fee).toBeGreaterThanOrEqual(0);
        expect(fee % 100).toBe(0);
        expect(takerFee(10_000 - p, lo)).toBe(fee);
        expect(takerFee(p, hi)).toBeGreaterThanOrEqual(fee);
        const closer = p < 5_000 ? p + 1 : p > 5_000 ? p - 1 : p;
        expect(takerFee(closer, lo)).toBeGreaterThanOrEqual(fee);
        expect(fee).toBeGreaterThanOrEqual(makerFee(p, lo, combo));
        expect(makerFee(p, lo, combo)).toBeGreaterThanOrEqual(makerFee(p, lo, withMakerFees));
      }),
      { numRuns: 500 },
    );
  });
});

describe('FeeRounding — official per-order rounding', () => {
  it('kalshi-api.md §6.3: buyer of 10 at $0.50 pays $5.18 in total', () => {
    const rounding = new FeeRounding();
    const fee = takerFee(5_000, 1_000);
    const r = rounding.settleFill(-5_000_000, fee);
    expect(r).toEqual({ balanceChange: -5_180_000, roundingFee: 5_000, rebate: 0 });
  });

  it('three 1-lot fills at $0.055 cost the same as one 3-lot fill', () => {
    const split = new FeeRounding();
    let total = 0;
    for (let i = 0; i < 3; i++) {
      const r = split.settleFill(-55_000, takerFee(550, 100));
      expect(r.balanceChange).toBe(-60_000);
      expect(r.roundingFee).toBe(1_300);
      total += r.balanceChange;
    }
    const single = new FeeRounding().settleFill(-165_000, takerFee(550, 300));
    expect(single.balanceChange).toBe(-180_000);
    expect(total).toBe(single.balanceChange);
  });

  it('issues a whole-cent rebate when the accumulated rounding reaches $0.01', () => {
    const rounding = new FeeRounding();
    // Maker fills on a 'quadratic' series (no fee) at $0.555: each leaves $0.0045 of rounding.
    const a = rounding.settleFill(-5_550, 0);
    expect(a).toEqual({ balanceChange: -10_000, roundingFee: 4_450, rebate: 0 });
    const b = rounding.settleFill(-5_550, 0);
    expect(b).toEqual({ balanceChange: -10_000, roundingFee: 4_450, rebate: 0 });
    const c = rounding.settleFill(-5_550, 0);
    expect(c).toEqual({ balanceChange: 0, roundingFee: 4_450, rebate: 10_000 });
    expect(rounding.accumulatedRounding).toBe(3_350);
    // 3 × $0.00555 = $0.01665 exactly → a single fill would have cost $0.02, as the three did.
    expect(a.balanceChange + b.balanceChange + c.balanceChange).toBe(-20_000);
  });

  it('floors sellers too (toward −∞)', () => {
    const r = new FeeRounding().settleFill(5_550_000, takerFee(5_550, 1_000));
    expect(takerFee(5_550, 1_000)).toBe(172_900);
    expect(r).toEqual({ balanceChange: 5_370_000, roundingFee: 7_100, rebate: 0 });
  });

  it('supports the direct-member precision of $0.0001', () => {
    const r = new FeeRounding(CENTICENT_PRECISION).settleFill(-5_000_000, 175_000);
    expect(r).toEqual({ balanceChange: -5_175_000, roundingFee: 0, rebate: 0 });
    const odd = new FeeRounding(CENTICENT_PRECISION).settleFill(-5_550, 0);
    expect(odd).toEqual({ balanceChange: -5_600, roundingFee: 50, rebate: 0 });
  });

  it('rejects bad precisions and inputs', () => {
    expect(() => new FeeRounding(0)).toThrow(FeeError);
    expect(() => new FeeRounding(3_000)).toThrow(FeeError);
    expect(() => new FeeRounding().settleFill(1.5, 0)).toThrow(FeeError);
    expect(() => new FeeRounding().settleFill(-100, -1)).toThrow(FeeError);
  });

  it('property: n fills at one price never cost more than one fill + 1¢ + $0.0001 per fill, and the net fee is never negative', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 9_999 }),
        fc.array(fc.integer({ min: 1, max: 5_000 }), { minLength: 1, maxLength: 60 }),
        fc.boolean(),
        fc.boolean(),
        (price, parts, buyer, taker) => {
          const schedule = withMakerFees;
          const rounding = new FeeRounding();
          let paid = 0;
          let netFees = 0;
          let exactTotal = 0;
          for (const count of parts) {
            const revenue = (buyer ? -1 : 1) * price * count;
            const fee = tradeFee(price, count, taker, schedule);
            const r = rounding.settleFill(revenue, fee);
            expect(Math.abs(r.balanceChange % 10_000)).toBe(0);
            expect(r.roundingFee).toBeGreaterThanOrEqual(0);
            expect(r.roundingFee).toBeLessThan(10_000);
            expect(r.rebate % 10_000).toBe(0);
            expect(r.balanceChange).toBe(revenue - fee - r.roundingFee + r.rebate);
            paid -= r.balanceChange;
            exactTotal += revenue - fee;
            netFees += fee + r.roundingFee - r.rebate;
            expect(netFees).toBeGreaterThanOrEqual(0);
          }
          // Conservation: what is not yet rebated is exactly the accumulator.
          expect(exactTotal - rounding.accumulatedRounding + paid).toBe(0);
          expect(rounding.accumulatedRounding).toBeLessThan(10_000);

          const total = parts.reduce((a, b) => a + b, 0);
          const single = new FeeRounding().settleFill((buyer ? -1 : 1) * price * total, tradeFee(price, total, taker, schedule));
          expect(paid).toBeLessThanOrEqual(-single.balanceChange + 10_000 + 100 * parts.length);
          // When the per-fill fees add up exactly (no $0.0001 rounding lost), the cost is identical.
          const feesSum = parts.reduce((a, c) => a + tradeFee(price, c, taker, schedule), 0);
          if (feesSum === tradeFee(price, total, taker, schedule)) expect(paid + single.balanceChange).toBe(0);
        },
      ),
      { numRuns: 400 },
    );
  });
});
