import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DEFAULT_RISK_LIMITS, checkOrder, intentCost } from '../../src/core/risk.ts';
import type { OrderIntent, RiskContext, RiskLimits } from '../../src/core/risk.ts';
import { takerFee } from '../../src/core/fees.ts';

const ctx = (over: Partial<RiskContext> = {}): RiskContext => ({
  position: 0,
  openOrders: 0,
  pendingExposure: 0,
  cash: 1_000_000_000, // $1,000
  lastOrderAtMs: null,
  nowMs: 1_000_000,
  ...over,
});
const intent = (over: Partial<OrderIntent> = {}): OrderIntent => ({ ticker: 'T', side: 'bid', price: 5_000, count: 500, ...over });
const limits = (over: Partial<RiskLimits> = {}): RiskLimits => ({ ...DEFAULT_RISK_LIMITS, ...over });

function rule(i: OrderIntent, c: RiskContext, l: RiskLimits = DEFAULT_RISK_LIMITS): string {
  const v = checkOrder(i, c, l);
  return v.ok ? 'ok' : v.rule;
}

describe('risk checks', () => {
  it('has the documented defaults: 100 contracts, 10 per order, $100, $0 reserve, 20 open, 250 ms', () => {
    expect(DEFAULT_RISK_LIMITS).toEqual({
      maxPositionPerMarket: 10_000,
      maxOrderSize: 1_000,
      maxNotional: 100_000_000,
      cashReserve: 0,
      maxOpenOrders: 20,
      throttleMs: 250,
    });
    expect(Object.isFrozen(DEFAULT_RISK_LIMITS)).toBe(true);
  });

  it('accepts an ordinary order', () => {
    expect(checkOrder(intent(), ctx(), DEFAULT_RISK_LIMITS)).toEqual({ ok: true });
  });

  it('rejects malformed intents as invalid', () => {
    expect(rule(intent({ ticker: '' }), ctx())).toBe('invalid');
    expect(rule(intent({ side: 'buy' as never }), ctx())).toBe('invalid');
    expect(rule(intent({ price: 0 }), ctx())).toBe('invalid');
    expect(rule(intent({ price: 10_000 }), ctx())).toBe('invalid');
    expect(rule(intent({ price: 50.5 }), ctx())).toBe('invalid');
    expect(rule(intent({ count: 0 }), ctx())).toBe('invalid');
    expect(rule(intent({ count: -100 }), ctx())).toBe('invalid');
  });

  it('max_order: caps the size of one order', () => {
    expect(rule(intent({ count: 1_000 }), ctx())).toBe('ok');
    const v = checkOrder(intent({ count: 1_001 }), ctx(), DEFAULT_RISK_LIMITS);
    expect(v).toMatchObject({ ok: false, rule: 'max_order' });
    if (!v.ok) expect(v.reason).toContain('10.01');
  });

  it('max_open_orders: counts resting orders in all markets', () => {
    expect(rule(intent(), ctx({ openOrders: 19 }))).toBe('ok');
    expect(rule(intent(), ctx({ openOrders: 20 }))).toBe('max_open_orders');
  });

  it('throttle: one order per market per throttle window', () => {
    expect(rule(intent(), ctx({ lastOrderAtMs: 1_000_000 - 249 }))).toBe('throttle');
    expect(rule(intent(), ctx({ lastOrderAtMs: 1_000_000 - 250 }))).toBe('ok');
    expect(rule(intent(), ctx({ lastOrderAtMs: 1_000_000 }), limits({ throttleMs: 0 }))).toBe('ok');
  });

  it('max_position: counts resting orders as filled, in both directions', () => {
    expect(rule(intent({ count: 1_000 }), ctx({ position: 9_000 }))).toBe('ok');
    expect(rule(intent({ count: 1_000 }), ctx({ position: 9_000, pendingExposure: 100 }))).toBe('max_position');
    expect(rule(intent({ side: 'ask', count: 1_000 }), ctx({ position: -9_500 }))).toBe('max_position');
    expect(rule(intent({ side: 'ask', count: 1_000 }), ctx({ position: 0, pendingExposure: -9_500 }))).toBe('max_position');
  });

  it('max_position: an order that reduces an over-limit position is allowed', () => {
    expect(rule(intent({ side: 'ask', count: 1_000 }), ctx({ position: 15_000 }))).toBe('ok');
    expect(rule(intent({ side: 'bid', count: 1_000 }), ctx({ position: -15_000 }))).toBe('ok');
    expect(rule(intent({ side: 'bid', count: 1_000 }), ctx({ position: 15_000 }))).toBe('max_position');
  });

  it('cost: a bid pays the YES price, an ask the NO price, reducing parts are free', () => {
    expect(intentCost(intent({ side: 'bid', price: 3_000, count: 1_000 }), 0)).toBe(3_000_000);
    expect(intentCost(intent({ side: 'ask', price: 3_000, count: 1_000 }), 0)).toBe(7_000_000);
    expect(intentCost(intent({ side: 'ask', price: 3_000, count: 1_000 }), 1_000)).toBe(0);
    expect(intentCost(intent({ side: 'ask', price: 3_000, count: 1_000 }), 400)).toBe(600 * 7_000);
    expect(intentCost(intent({ side: 'bid', price: 3_000, count: 1_000 }), -1_000)).toBe(0);
    expect(intentCost(intent({ side: 'bid', price: 3_000, count: 1_000 }), 500)).toBe(3_000_000);
  });

  it('max_notional: limits what one order commits', () => {
    const l = limits({ maxNotional: 3_000_000 });
    expect(rule(intent({ price: 3_000, count: 1_000 }), ctx(), l)).toBe('ok');
    expect(rule(intent({ price: 3_001, count: 1_000 }), ctx(), l)).toBe('max_notional');
    expect(rule(intent({ side: 'ask', price: 3_000, count: 1_000 }), ctx(), l)).toBe('max_notional');
    expect(rule(intent({ side: 'ask', price: 3_000, count: 1_000 }), ctx({ position: 1_000 }), l)).toBe('ok');
  });

  it('cash_reserve: cash left after cost and worst-case taker fee must stay above the reserve', () => {
    const cost = 5_000 * 500;
    const fee = takerFee(5_000, 500);
    expect(rule(intent(), ctx({ cash: cost + fee }))).toBe('ok');
    expect(rule(intent(), ctx({ cash: cost + fee - 1 }))).toBe('cash_reserve');
    expect(rule(intent(), ctx({ cash: cost + fee + 1_000_000 }), limits({ cashReserve: 1_000_000 }))).toBe('ok');
    expect(rule(intent(), ctx({ cash: cost + fee + 999_999 }), limits({ cashReserve: 1_000_000 }))).toBe('cash_reserve');
    // Closing a long YES costs nothing, so it passes even with no cash at all.
    expect(rule(intent({ side: 'ask' }), ctx({ cash: 0, position: 500 }))).toBe('ok');
    const v = checkOrder(intent(), ctx({ cash: 0 }), DEFAULT_RISK_LIMITS);
    if (!v.ok) expect(v.reason).toMatch(/reserve/);
  });

  it('property: an accepted order never exceeds any limit', () => {
    fc.assert(
      fc.property(
        fc.record({
          ticker: fc.constant('T'),
          side: fc.constantFrom<'bid' | 'ask'>('bid', 'ask'),
          price: fc.integer({ min: 1, max: 9_999 }),
          count: fc.integer({ min: 1, max: 3_000 }),
        }),
        fc.record({
          position: fc.integer({ min: -20_000, max: 20_000 }),
          openOrders: fc.integer({ min: 0, max: 30 }),
          pendingExposure: fc.integer({ min: -5_000, max: 5_000 }),
          cash: fc.integer({ min: 0, max: 200_000_000 }),
          lastOrderAtMs: fc.option(fc.integer({ min: 0, max: 2_000 })),
          nowMs: fc.constant(2_000),
        }),
        (i, c) => {
          const v = checkOrder(i, c, DEFAULT_RISK_LIMITS);
          if (!v.ok) {
            expect(v.reason.length).toBeGreaterThan(0);
            return;
          }
          const before = c.position + c.pendingExposure;
          const after = before + (i.side === 'bid' ? i.count : -i.count);
          expect(i.count).toBeLessThanOrEqual(DEFAULT_RISK_LIMITS.maxOrderSize);
          expect(c.openOrders).toBeLessThan(DEFAULT_RISK_LIMITS.maxOpenOrders);
          expect(Math.abs(after) <= DEFAULT_RISK_LIMITS.maxPositionPerMarket || Math.abs(after) <= Math.abs(before)).toBe(true);
          const cost = intentCost(i, c.position);
          expect(cost).toBeLessThanOrEqual(DEFAULT_RISK_LIMITS.maxNotional);
          if (cost > 0) expect(c.cash - cost).toBeGreaterThanOrEqual(DEFAULT_RISK_LIMITS.cashReserve);
          if (c.lastOrderAtMs !== null) expect(c.nowMs - c.lastOrderAtMs).toBeGreaterThanOrEqual(DEFAULT_RISK_LIMITS.throttleMs);
        },
      ),
      { numRuns: 500 },
    );
  });
});
