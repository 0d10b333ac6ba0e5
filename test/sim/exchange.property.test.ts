import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { CENTICENT_PRECISION, CENT_PRECISION } from '../../src/core/fees.ts';
import { ONE_DOLLAR } from '../../src/core/money.ts';
import { OrderBook } from '../../src/core/orderbook.ts';
import { allTicks, priceRangesFor } from '../../src/core/ticks.ts';
import { Exchange } from '../../src/sim/exchange.ts';
import type { PriceLevelStructure, SelfTradePrevention, TimeInForce } from '../../src/sim/exchange.types.ts';
import { T0, TICKER, marketDef, usd } from './exchange.helpers.ts';

const USERS = ['u0', 'u1', 'u2'] as const;

type Op =
  | {
      kind: 'order';
      user: number;
      side: 'bid' | 'ask';
      tick: number;
      count: number;
      tif: TimeInForce;
      stp: SelfTradePrevention;
      postOnly: boolean;
      reduceOnly: boolean;
      expiresInS: number | null;
    }
  | { kind: 'cancel'; user: number; pick: number }
  | { kind: 'decrease'; user: number; pick: number; by: number }
  | { kind: 'advance'; ms: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('order' as const),
      user: fc.integer({ min: 0, max: 2 }),
      side: fc.constantFrom('bid' as const, 'ask' as const),
      tick: fc.integer({ min: -12, max: 12 }),
      count: fc.oneof(fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 30 }).map((c) => c * 100)),
      tif: fc.constantFrom<TimeInForce>('good_till_canceled', 'good_till_canceled', 'immediate_or_cancel', 'fill_or_kill'),
      stp: fc.constantFrom<SelfTradePrevention>('taker_at_cross', 'maker'),
      postOnly: fc.integer({ min: 0, max: 6 }).map((x) => x === 0),
      reduceOnly: fc.integer({ min: 0, max: 9 }).map((x) => x === 0),
      expiresInS: fc.option(fc.integer({ min: 1, max: 30 }), { freq: 4 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), user: fc.integer({ min: 0, max: 2 }), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('decrease' as const), user: fc.integer({ min: 0, max: 2 }), pick: fc.nat(), by: fc.integer({ min: 1, max: 500 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 15_000 }) }) },
);

interface World {
  clock: VirtualClock;
  ex: Exchange;
  replayed: OrderBook;
  initialTotal: number;
}

function makeWorld(structure: PriceLevelStructure, precision: number, cash: number[]): World {
  const clock = new VirtualClock(T0);
  const ex = new Exchange({ clock, seed: 9, accountPrecision: precision });
  ex.addMarket(marketDef({ priceLevelStructure: structure, feeType: 'quadratic_with_maker_fees' }));
  USERS.forEach((u, i) => ex.ensureAccount(u, cash[i]));
  const replayed = new OrderBook(TICKER);
  ex.subscribe((e) => {
    if (e.type === 'book_delta') replayed.applyDelta(e.side, e.price, e.delta);
  });
  return { clock, ex, replayed, initialTotal: cash.reduce((a, b) => a + b, 0) };
}

function run(world: World, op: Op, ticks: number[]): void {
  const { ex, clock } = world;
  const mid = Math.floor(ticks.length / 2);
  switch (op.kind) {
    case 'order': {
      const price = ticks[Math.min(ticks.length - 1, Math.max(0, mid + op.tick))]!;
      const expirationTime = op.tif === 'good_till_canceled' && op.expiresInS !== null ? Math.floor(clock.now() / 1000) + op.expiresInS : undefined;
      ex.createOrder({
        userId: USERS[op.user]!,
        ticker: TICKER,
        side: op.side,
        price,
        count: op.count,
        timeInForce: op.tif,
        selfTradePrevention: op.stp,
        postOnly: op.postOnly,
        reduceOnly: op.reduceOnly,
        expirationTime,
      });
      return;
    }
    case 'cancel': {
      const resting = ex.listOrders(USERS[op.user]!, { status: 'resting' });
      if (resting.length > 0) expect(ex.cancelOrder(USERS[op.user]!, resting[op.pick % resting.length]!.orderId).ok).toBe(true);
      return;
    }
    case 'decrease': {
      const resting = ex.listOrders(USERS[op.user]!, { status: 'resting' });
      if (resting.length > 0) expect(ex.decreaseOrder(USERS[op.user]!, resting[op.pick % resting.length]!.orderId, op.by).ok).toBe(true);
      return;
    }
    case 'advance':
      clock.advance(op.ms);
      return;
  }
}

function checkInvariants(world: World, settled: boolean): void {
  const { ex } = world;
  const market = ex.getMarket(TICKER)!;
  let cash = 0;
  let fees = 0;
  let longs = 0;
  let shorts = 0;
  const restingYes = new Map<number, number>();
  const restingNo = new Map<number, number>();
  for (const u of USERS) {
    const summary = ex.cashSummary(u);
    cash += summary.cash;
    const fills = ex.listFills(u);
    const userFees = fills.reduce((s, f) => s + f.fee, 0);
    fees += userFees;
    const orders = ex.listOrders(u);
    expect(orders.reduce((s, o) => s + o.takerFees + o.makerFees, 0)).toBe(userFees);
    for (const p of ex.listPositions(u)) {
      expect(p.feesPaid).toBe(userFees);
      if (p.position > 0) longs += p.position;
      else shorts -= p.position;
      if (!settled) expect(fills[0]?.postPosition ?? 0).toBe(p.position);
    }
    const resting = orders.filter((o) => o.status === 'resting');
    if (resting.length === 0) expect(summary.reserved).toBe(0);
    expect(summary.reserved).toBeGreaterThanOrEqual(0);
    // A balance may dip below zero only by fee rounding (at most a cent and a few $0.0001 units).
    expect(summary.balance).toBeGreaterThan(-usd(0.02));
    for (const o of orders) {
      expect(o.fillCount + o.remainingCount).toBeLessThanOrEqual(o.initialCount);
      if (o.status === 'executed') expect(o.remainingCount).toBe(0);
      if (o.status === 'canceled') expect(o.remainingCount).toBe(0);
      if (o.status === 'resting') expect(o.remainingCount).toBeGreaterThan(0);
    }
    for (const o of resting) {
      const [m, p] = o.side === 'bid' ? [restingYes, o.price] : [restingNo, ONE_DOLLAR - o.price];
      m.set(p, (m.get(p) ?? 0) + o.remainingCount);
    }
  }
  expect(longs).toBe(shorts);
  expect(market.openInterest).toBe(longs);
  // money is conserved: cash + $1 per outstanding contract pair + fees paid
  expect(cash + longs * ONE_DOLLAR + fees).toBe(world.initialTotal);
  if (settled) expect(longs).toBe(0);

  const levels = ex.bookLevels(TICKER)!;
  const sorted = (m: Map<number, number>) => [...m.entries()].sort((a, b) => a[0] - b[0]);
  expect(levels.yes).toEqual(sorted(restingYes));
  expect(levels.no).toEqual(sorted(restingNo));
  // the L2 deltas, replayed, rebuild the book exactly
  expect(world.replayed.levels('yes')).toEqual(levels.yes);
  expect(world.replayed.levels('no')).toEqual(levels.no);
  const bestYes = levels.yes.at(-1)?.[0];
  const bestNo = levels.no.at(-1)?.[0];
  if (bestYes !== undefined && bestNo !== undefined) expect(bestYes + bestNo).toBeLessThan(ONE_DOLLAR);
}

describe('exchange properties (random order flow among 3 users)', () => {
  it('conserves money, keeps collateral consistent and publishes an exact L2 book', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<PriceLevelStructure>('linear_cent', 'tapered_deci_cent', 'deci_cent'),
        fc.constantFrom(CENT_PRECISION, CENTICENT_PRECISION),
        fc.array(fc.integer({ min: 5, max: 80 }), { minLength: 3, maxLength: 3 }),
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        fc.option(fc.constantFrom<'yes' | 'no'>('yes', 'no'), { freq: 2 }),
        (structure, precision, dollars, ops, result) => {
          const world = makeWorld(structure, precision, dollars.map((d) => usd(d)));
          const ticks = allTicks(priceRangesFor(structure)).filter((p) => p >= 3000 && p <= 7000);
          for (const op of ops) {
            run(world, op, ticks);
            checkInvariants(world, false);
          }
          if (result !== null) {
            expect(world.ex.settleMarket(TICKER, result).ok).toBe(true);
            checkInvariants(world, true);
            for (const u of USERS) expect(world.ex.cashSummary(u).reserved).toBe(0);
          }
        },
      ),
      { numRuns: 250, seed: 20260101 },
    );
  });
});
