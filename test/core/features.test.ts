import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FEATURE_COUNT,
  FEATURE_INDEX,
  FEATURE_NAMES,
  FeatureState,
  OBS_VERSION,
  computeFeatures,
  easternHour,
  writeFeatures,
} from '../../src/core/features.ts';
import { OrderBook } from '../../src/core/orderbook.ts';

const MONDAY_10_EST = Date.UTC(2026, 0, 5, 15, 0, 0);

function bookOf(yes: Array<[number, number]>, no: Array<[number, number]>): OrderBook {
  const book = new OrderBook('T');
  book.applySnapshot(yes, no);
  return book;
}

/** YES bids 45¢ ×10, 44¢ ×30; NO bids 52¢ ×20, 51¢ ×5 (YES ask 48¢). */
function sampleBook(): OrderBook {
  return bookOf(
    [
      [4_500, 1_000],
      [4_400, 3_000],
    ],
    [
      [5_200, 2_000],
      [5_100, 500],
    ],
  );
}

function named(obs: Float32Array): Record<string, number> {
  return Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, obs[i]]));
}

describe('obs-v1 feature contract', () => {
  it('has 52 unique names in the original index order', () => {
    expect(OBS_VERSION).toBe('obs-v1');
    expect(FEATURE_NAMES).toHaveLength(FEATURE_COUNT);
    expect(new Set(FEATURE_NAMES).size).toBe(52);
    expect(FEATURE_INDEX.best_yes_bid_norm).toBe(0);
    expect(FEATURE_INDEX.yes_microprice_norm).toBe(20);
    expect(FEATURE_INDEX.yes_book_depth_norm).toBe(22);
    expect(FEATURE_INDEX.yes_liquidity_concentration).toBe(24);
    expect(FEATURE_INDEX.time_since_last_update).toBe(26);
    expect(FEATURE_INDEX.cash_ratio).toBe(36);
    expect(FEATURE_INDEX.leverage).toBe(46);
    expect(FEATURE_INDEX.has_open_buy).toBe(47);
    expect(FEATURE_INDEX.time_since_order).toBe(51);
  });
});

describe('market features (0–25)', () => {
  it('computes the original formulas from the fixed-point book', () => {
    const book = sampleBook();
    const state = new FeatureState();
    state.observe(book, MONDAY_10_EST);
    const f = named(computeFeatures(book, state, MONDAY_10_EST));
    expect(f.best_yes_bid_norm).toBeCloseTo(0.45, 6);
    expect(f.best_yes_ask_norm).toBeCloseTo(0.48, 6);
    expect(f.best_no_bid_norm).toBeCloseTo(0.52, 6);
    expect(f.best_no_ask_norm).toBeCloseTo(0.55, 6);
    expect(f.yes_mid_price_norm).toBeCloseTo(0.465, 6);
    expect(f.no_mid_price_norm).toBeCloseTo(0.535, 6);
    expect(f.yes_spread_cents).toBeCloseTo(0.03, 6);
    expect(f.no_spread_cents).toBeCloseTo(0.03, 6);
    expect(f.yes_spread_pct).toBeCloseTo(3 / 46.5, 6);
    expect(f.no_spread_pct).toBeCloseTo(3 / 53.5, 6);
    expect(f.yes_spread_regime).toBe(0.25);
    expect(f.no_spread_regime).toBe(0.25);
    expect(f.yes_breakeven_move).toBeCloseTo(0.03, 6);
    // V = all four books in contracts: 2 × (40 + 25) = 130
    expect(f.total_volume_norm).toBeCloseTo(Math.log(131) / Math.log(10_001), 6);
    expect(f.volume_imbalance).toBe(0);
    expect(f.yes_side_imbalance).toBeCloseTo(15 / 65, 6);
    expect(f.no_side_imbalance).toBeCloseTo(-15 / 65, 6);
    expect(f.bid_ask_depth_ratio).toBe(0);
    expect(f.yes_no_consistency).toBe(0);
    expect(f.yes_microprice_norm).toBeCloseTo((45 * 25 + 48 * 40) / 65 / 100, 6);
    expect(f.no_microprice_norm).toBeCloseTo((52 * 40 + 55 * 25) / 65 / 100, 6);
    expect(f.yes_book_depth_norm).toBeCloseTo(0.2, 6);
    expect(f.no_book_depth_norm).toBeCloseTo(0.2, 6);
    expect(f.yes_liquidity_concentration).toBeCloseTo(6_000 / 6_500, 6);
    expect(f.no_liquidity_concentration).toBeCloseTo(6_000 / 6_500, 6);
  });

  it('keeps 0.1¢ ticks exact', () => {
    const book = bookOf([[4_550, 100]], [[5_430, 100]]);
    const state = new FeatureState();
    state.observe(book, MONDAY_10_EST);
    const f = named(computeFeatures(book, state, MONDAY_10_EST));
    expect(f.best_yes_bid_norm).toBe(Math.fround(0.455));
    expect(f.best_yes_ask_norm).toBe(Math.fround(0.457));
    expect(f.yes_spread_cents).toBeCloseTo(0.002, 7);
    expect(f.yes_spread_regime).toBe(0);
  });

  it('uses the documented defaults, in the same slots, without a book', () => {
    const state = new FeatureState();
    const f = named(writeFeatures(null, state, MONDAY_10_EST, new Float32Array(52)));
    expect(f.best_yes_bid_norm).toBe(0.5);
    expect(f.yes_mid_price_norm).toBe(0.5);
    expect(f.yes_spread_cents).toBeCloseTo(0.1, 6);
    expect(f.yes_spread_regime).toBe(0.75);
    expect(f.yes_no_consistency).toBe(0.5);
    expect(f.yes_microprice_norm).toBe(0.5);
    expect(f.yes_book_depth_norm).toBe(0);
    expect(f.yes_liquidity_concentration).toBe(0.5);
    expect(f.update_frequency).toBeCloseTo(0.1, 6);
    expect(f.volatility_regime).toBeCloseTo(0.1, 6);
    expect(f.price_stability).toBe(0.5);
    expect(f.cash_ratio).toBe(1); // PV ≤ $0.01 → default portfolio block
  });

  it('handles a one-sided book with defaults for the missing side', () => {
    const book = bookOf([[3_000, 500]], []);
    const state = new FeatureState();
    state.observe(book, MONDAY_10_EST);
    const f = named(computeFeatures(book, state, MONDAY_10_EST));
    expect(f.best_yes_bid_norm).toBeCloseTo(0.3, 6);
    expect(f.best_yes_ask_norm).toBe(0.5);
    expect(f.best_no_ask_norm).toBeCloseTo(0.7, 6);
    expect(f.yes_spread_cents).toBeCloseTo(0.1, 6);
    expect(f.yes_mid_price_norm).toBe(0.5);
  });
});

describe('temporal features (26–35)', () => {
  function bookWithMid(midCents: number): OrderBook {
    // spread 1¢ around the mid; equal volumes so activity stays constant
    const bid = Math.round((midCents - 0.5) * 100);
    const ask = Math.round((midCents + 0.5) * 100);
    return bookOf([[bid, 1_000]], [[10_000 - ask, 1_000]]);
  }

  it('derives gaps, frequency, momentum and stability from the rolling history', () => {
    const state = new FeatureState();
    const t0 = MONDAY_10_EST;
    const points: Array<[number, number]> = [
      [46.5, t0],
      [47.5, t0 + 1_000],
      [48.0, t0 + 3_000],
      [49.5, t0 + 6_000],
    ];
    let book = bookWithMid(46.5);
    for (const [mid, ts] of points) {
      book = bookWithMid(mid);
      state.observe(book, ts);
    }
    const f = named(computeFeatures(book, state, t0 + 6_000));
    expect(f.time_since_last_update).toBeCloseTo(3 / 300, 6);
    expect(f.update_frequency).toBeCloseTo(3 / 3 / 2, 6);
    expect(f.price_momentum).toBeCloseTo(Math.tanh((1.5 - 0.5) / 0.5), 6);
    expect(f.price_stability).toBeCloseTo(1 - 1 / 5, 6);
    expect(f.volatility_regime).toBeCloseTo(0.1, 6); // fewer than 5 points
    expect(f.current_activity_score).toBeCloseTo(Math.log1p(40) / 1000, 7);
    expect(f.activity_change).toBe(0);
    expect(f.activity_burst_indicator).toBe(0);
    expect(f.activity_trend).toBe(0);
  });

  it('flags an activity burst and a rising activity trend', () => {
    const state = new FeatureState();
    const small = bookOf([[4_000, 100]], [[5_000, 100]]);
    const big = bookOf([[4_000, 1_000_000]], [[5_000, 1_000_000]]);
    for (let i = 0; i < 6; i++) state.observe(small, MONDAY_10_EST + i * 1_000);
    state.observe(big, MONDAY_10_EST + 6_000);
    const f = named(computeFeatures(big, state, MONDAY_10_EST + 6_000));
    expect(f.activity_burst_indicator).toBe(1);
    expect(f.activity_trend).toBeGreaterThan(0);
    expect(f.activity_change).toBeGreaterThan(0);
  });

  it('keeps only 10 points of history and restarts cleanly after reset', () => {
    const state = new FeatureState();
    const book = sampleBook();
    for (let i = 0; i < 25; i++) state.observe(book, MONDAY_10_EST + i * 1_000);
    expect(state.length).toBe(11);
    state.reset();
    state.observe(book, MONDAY_10_EST);
    const fresh = new FeatureState();
    fresh.observe(book, MONDAY_10_EST);
    expect(computeFeatures(book, state, MONDAY_10_EST)).toEqual(computeFeatures(book, fresh, MONDAY_10_EST));
  });

  it('measures time of day in US Eastern time, across daylight saving', () => {
    expect(easternHour(MONDAY_10_EST)).toBeCloseTo(10, 9);
    expect(easternHour(Date.UTC(2026, 6, 6, 14, 0))).toBeCloseTo(10, 9);
    expect(easternHour(Date.UTC(2026, 2, 8, 6, 59))).toBeCloseTo(1 + 59 / 60, 9);
    expect(easternHour(Date.UTC(2026, 2, 8, 7, 0))).toBeCloseTo(3, 9);
    expect(easternHour(Date.UTC(2026, 10, 1, 5, 59))).toBeCloseTo(1 + 59 / 60, 9);
    expect(easternHour(Date.UTC(2026, 10, 1, 6, 0))).toBeCloseTo(1, 9);
    const state = new FeatureState();
    const book = sampleBook();
    state.observe(book, MONDAY_10_EST);
    expect(named(computeFeatures(book, state, MONDAY_10_EST)).time_of_day_norm).toBeCloseTo(1 / 7, 6);
    // 10:00 UTC is 05:00 in New York: outside the 9–16 window
    expect(named(computeFeatures(book, state, Date.UTC(2026, 0, 5, 10, 0))).time_of_day_norm).toBe(0);
  });
});

describe('portfolio (36–46) and order (47–51) features', () => {
  it('works in dollars and values positions at the executable bid of their leg', () => {
    const book = sampleBook();
    const state = new FeatureState();
    state.observe(book, MONDAY_10_EST);
    state.cash = 100_000_000; // $100
    state.position = 1_000; // 10 YES
    state.costBasis = 4_600_000; // paid $4.60
    state.openBidPrice = 4_400;
    state.lastOrderMs = MONDAY_10_EST - 60_000;
    const f = named(computeFeatures(book, state, MONDAY_10_EST));
    const pv = 104.5; // $100 + 10 × $0.45
    expect(f.cash_ratio).toBeCloseTo(100 / pv, 6);
    expect(f.position_ratio).toBeCloseTo(4.5 / pv, 6);
    expect(f.position_count_norm).toBeCloseTo(0.1, 6);
    expect(f.average_position_size_norm).toBeCloseTo(0.01, 6);
    expect(f.long_position_ratio).toBe(1);
    expect(f.short_position_ratio).toBe(0);
    expect(f.net_position_bias).toBeCloseTo(Math.tanh(1), 6);
    expect(f.position_concentration).toBeCloseTo(4.5 / pv, 6);
    expect(f.largest_position_norm).toBeCloseTo(0.01, 6);
    expect(f.unrealized_pnl_ratio).toBeCloseTo(Math.tanh(-0.1 / pv), 6);
    expect(f.leverage).toBeCloseTo(4.5 / pv / 2, 6);
    expect(f.has_open_buy).toBe(1);
    expect(f.has_open_sell).toBe(0);
    expect(f.buy_distance_from_mid).toBeCloseTo((4_650 - 4_400) / 10_000, 6);
    expect(f.sell_distance_from_mid).toBe(0);
    expect(f.time_since_order).toBeCloseTo(0.2, 6);
  });

  it('values a NO position at the NO bid (not the YES mid)', () => {
    const book = sampleBook();
    const state = new FeatureState();
    state.observe(book, MONDAY_10_EST);
    state.cash = 50_000_000;
    state.position = -2_000; // 20 NO at the 52¢ NO bid = $10.40
    state.costBasis = 11_000_000;
    expect(state.positionValue()).toBe(10_400_000);
    const f = named(computeFeatures(book, state, MONDAY_10_EST));
    expect(f.short_position_ratio).toBe(1);
    expect(f.largest_position_norm).toBeCloseTo(-0.02, 6);
    expect(f.position_concentration).toBeCloseTo(10.4 / 60.4, 6);
  });
});

describe('bounds', () => {
  it('always yields 52 finite values within [−2, 2]', () => {
    const level = fc.tuple(fc.integer({ min: 1, max: 9_999 }), fc.integer({ min: 1, max: 10_000_000 }));
    fc.assert(
      fc.property(
        fc.uniqueArray(level, { selector: (l) => l[0], maxLength: 30 }),
        fc.uniqueArray(level, { selector: (l) => l[0], maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 600_000 }), { maxLength: 15 }),
        fc.integer({ min: -1_000_000_000, max: 1_000_000_000 }),
        fc.integer({ min: -100_000, max: 100_000 }),
        fc.integer({ min: 0, max: 9_999 }),
        (yes, no, gaps, cash, position, openBid) => {
          const book = bookOf(yes, no);
          const state = new FeatureState();
          let ts = MONDAY_10_EST;
          state.observe(book, ts);
          for (const g of gaps) state.observe(book, (ts += g));
          state.cash = cash;
          state.position = position;
          state.costBasis = Math.abs(position) * 50;
          state.openBidPrice = openBid;
          state.lastOrderMs = ts - 1_000;
          const obs = computeFeatures(book, state, ts);
          expect(obs).toHaveLength(52);
          for (const v of obs) {
            expect(Number.isFinite(v)).toBe(true);
            expect(v).toBeGreaterThanOrEqual(-2);
            expect(v).toBeLessThanOrEqual(2);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
