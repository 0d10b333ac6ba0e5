/**
 * Synthetic market activity: generated markets are varied and reproducible, a run is identical
 * for the same seed on a VirtualClock, makers quote within the configured spread range (also on
 * 0.1¢ grids), the fair value follows drift and jumps, scheduled settlement happens, and the
 * simulator façade drives it all behind its REST API.
 */
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { complement } from '../../src/core/money.ts';
import { SyntheticActivity } from '../../src/sim/activity/activity.ts';
import { FairValue } from '../../src/sim/activity/fair-value.ts';
import { generateMarkets, marketDefinitionFor, marketSpecSchema, type MarketSpec } from '../../src/sim/activity/markets.ts';
import { quotePrices } from '../../src/sim/activity/participants.ts';
import { priceRangesFor } from '../../src/core/ticks.ts';
import { Exchange } from '../../src/sim/exchange.ts';
import { Rng } from '../../src/core/random.ts';
import { startSimulator } from '../../src/sim/simulator.ts';

const T0 = Date.UTC(2026, 0, 1, 12);

function world(specs: MarketSpec[], seed: number) {
  const clock = new VirtualClock(T0);
  const exchange = new Exchange({ clock, seed });
  for (const spec of specs) exchange.addMarket(marketDefinitionFor(spec, clock.now()));
  const activity = new SyntheticActivity({ exchange, clock, seed, markets: specs });
  return { clock, exchange, activity };
}

function tradeTape(seed: number, ms: number) {
  const w = world(generateMarkets(6, seed), seed);
  w.activity.start();
  w.clock.advance(ms);
  w.activity.stop();
  return w.exchange.listTrades().map((t) => `${t.tradeId} ${t.ticker} ${t.price} ${t.count} ${t.takerSide} ${t.tsMs}`);
}

/** Best bid / best ask of one user's resting orders in a market. */
function ownQuote(exchange: Exchange, userId: string, ticker: string) {
  let bid: number | null = null;
  let ask: number | null = null;
  for (const o of exchange.listOrders(userId, { ticker, status: 'resting' })) {
    if (o.side === 'bid') bid = bid === null ? o.price : Math.max(bid, o.price);
    else ask = ask === null ? o.price : Math.min(ask, o.price);
  }
  return { bid, ask };
}

describe('generateMarkets', () => {
  it('makes the requested number of valid, uniquely named, varied markets, the same for a seed', () => {
    const specs = generateMarkets(60, 7);
    expect(specs).toHaveLength(60);
    expect(new Set(specs.map((s) => s.ticker)).size).toBe(60);
    for (const s of specs) {
      expect(marketSpecSchema.safeParse(s).success).toBe(true);
      expect(s.ticker).toMatch(/^[A-Z0-9-]+$/);
      expect(s.ticker.startsWith(`${s.eventTicker}-`)).toBe(true);
    }
    const structures = new Set(specs.map((s) => s.priceLevelStructure));
    expect(structures).toContain('linear_cent');
    expect(structures).toContain('deci_cent');
    expect(new Set(specs.map((s) => s.eventTicker)).size).toBeLessThan(60);
    expect(new Set(specs.map((s) => s.volatility)).size).toBeGreaterThan(10);
    expect(specs.some((s) => (s.spread?.max ?? 0) >= 1000)).toBe(true);
    expect(generateMarkets(60, 7)).toEqual(specs);
    expect(generateMarkets(60, 8)).not.toEqual(specs);
    expect(generateMarkets(0, 1)).toEqual([]);
  });
});

describe('quotePrices', () => {
  it('keeps the center inside the quote and the spread within range on every grid', () => {
    const rng = new Rng(3);
    for (const structure of ['linear_cent', 'deci_cent', 'tapered_deci_cent'] as const) {
      const ranges = priceRangesFor(structure);
      const range = { min: structure === 'deci_cent' ? 10 : 100, max: 1500 };
      for (let i = 0; i < 2000; i++) {
        const center = rng.int(300, 9700);
        const spread = rng.int(range.min, range.max);
        const { bid, ask } = quotePrices(center, spread, range, ranges);
        if (bid === null || ask === null) continue;
        expect(bid).toBeLessThanOrEqual(center);
        expect(ask - bid).toBeGreaterThanOrEqual(range.min);
        expect(ask - bid).toBeLessThanOrEqual(range.max);
      }
    }
  });
});

describe('FairValue', () => {
  it('follows drift without volatility and stays inside (0, 1)', () => {
    const rng = new Rng(1);
    const up = new FairValue(0.5, 0, 2);
    up.advance(3_600_000, rng);
    expect(up.probability).toBeGreaterThan(0.85);
    const wild = new FairValue(0.5, 50);
    for (let i = 0; i < 1000; i++) {
      wild.advance(60_000, rng);
      expect(wild.probability).toBeGreaterThan(0);
      expect(wild.probability).toBeLessThan(1);
    }
    const still = new FairValue(0.3, 0);
    still.advance(3_600_000, rng);
    expect(still.probability).toBeCloseTo(0.3, 12);
  });
});

describe('SyntheticActivity', () => {
  it('is deterministic for a seed on a VirtualClock: same seed, same trades', () => {
    const a = tradeTape(11, 120_000);
    const b = tradeTape(11, 120_000);
    expect(a.length).toBeGreaterThan(20);
    expect(b).toEqual(a);
    expect(tradeTape(12, 120_000)).not.toEqual(a);
  });

  it('makers quote within the configured spread range; the book spread stays within it', () => {
    const specs: MarketSpec[] = [
      { ticker: 'KXSPR-26JAN01-A', fair: 0.5, volatility: 1.5, spread: { min: 200, max: 800 }, makers: 3, takerRate: 2 },
      { ticker: 'KXSPR-26JAN01-B', fair: 0.2, volatility: 1, spread: { min: 100, max: 300 }, makers: 2, takerRate: 1 },
      { ticker: 'KXSPR-26JAN01-C', fair: 0.6, volatility: 1, spread: { min: 10, max: 250 }, makers: 2, priceLevelStructure: 'deci_cent', takerRate: 1 },
    ];
    const w = world(specs, 5);
    w.activity.start();
    let samples = 0;
    let subPenny = 0;
    for (let t = 0; t < 600; t++) {
      w.clock.advance(97);
      for (const spec of specs) {
        const range = spec.spread!;
        for (let m = 1; m <= spec.makers!; m++) {
          const q = ownQuote(w.exchange, `sim-maker-${m}-${spec.ticker}`, spec.ticker);
          if (q.bid === null || q.ask === null) continue;
          samples++;
          expect(q.ask - q.bid).toBeGreaterThanOrEqual(range.min);
          expect(q.ask - q.bid).toBeLessThanOrEqual(range.max);
          if (q.bid % 100 !== 0 || q.ask % 100 !== 0) subPenny++;
        }
        const book = w.exchange.bookLevels(spec.ticker)!;
        const bestBid = book.yes.at(-1)?.[0];
        const bestNo = book.no.at(-1)?.[0];
        if (bestBid !== undefined && bestNo !== undefined) {
          expect(complement(bestNo) - bestBid).toBeLessThanOrEqual(range.max);
          expect(complement(bestNo)).toBeGreaterThan(bestBid);
        }
      }
    }
    expect(samples).toBeGreaterThan(1000);
    expect(subPenny).toBeGreaterThan(0);
    for (const s of w.activity.stats()) {
      const range = specs.find((x) => x.ticker === s.ticker)!.spread!;
      expect(s.minQuotedSpread).toBeGreaterThanOrEqual(range.min);
      expect(s.maxQuotedSpread).toBeLessThanOrEqual(range.max);
      expect(s.takerOrders).toBeGreaterThan(10);
      expect(s.requotes).toBeGreaterThan(10);
    }
    expect(w.exchange.listTrades().length).toBeGreaterThan(20);
  });

  it('applies jumps and settles on schedule, then leaves the market alone', () => {
    const specs: MarketSpec[] = [
      { ticker: 'KXJMP-26JAN01-A', fair: 0.2, volatility: 0, jumps: [{ atMs: 10_000, to: 0.9 }], settle: { atMs: 30_000, result: 'no' } },
    ];
    const w = world(specs, 9);
    w.activity.start();
    w.clock.advance(9_000);
    expect(w.activity.stats()[0].fair).toBeCloseTo(0.2, 9);
    w.clock.advance(2_000);
    expect(w.activity.stats()[0].fair).toBeCloseTo(0.9, 9);
    w.clock.advance(6_000);
    const book = w.exchange.bookLevels(specs[0].ticker)!;
    expect(book.yes.at(-1)![0]).toBeLessThanOrEqual(9000);
    expect(complement(book.no.at(-1)![0])).toBeGreaterThanOrEqual(9000);

    w.clock.advance(14_000);
    const market = w.exchange.getMarket(specs[0].ticker)!;
    expect(market).toMatchObject({ status: 'finalized', result: 'no' });
    expect(w.activity.stats()[0].settled).toBe(true);
    const steps = w.activity.stats()[0].steps;
    w.clock.advance(10_000);
    expect(w.activity.stats()[0].steps).toBe(steps);
    expect(w.exchange.bookLevels(specs[0].ticker)).toEqual({ yes: [], no: [] });
  });

  it('stop() cancels its timer; start() resumes', () => {
    const w = world(generateMarkets(2, 3), 3);
    w.activity.start();
    w.clock.advance(5_000);
    w.activity.stop();
    expect(w.clock.pending).toBe(0);
    const steps = w.activity.stats().map((s) => s.steps);
    w.clock.advance(5_000);
    expect(w.activity.stats().map((s) => s.steps)).toEqual(steps);
    w.activity.start();
    w.clock.advance(5_000);
    expect(w.activity.stats()[0].steps).toBeGreaterThan(steps[0]);
  });
});

describe('startSimulator with activity', () => {
  it('serves live synthetic books and trades over REST, and stops everything on close', async () => {
    const clock = new VirtualClock(T0);
    const sim = await startSimulator({ clock, seed: 4, markets: 4 });
    try {
      expect(sim.markets).toHaveLength(4);
      clock.advance(60_000);
      const markets: any = await (await fetch(`${sim.restUrl}/markets`)).json();
      expect(markets.markets).toHaveLength(4);
      const quoted = markets.markets.filter((m: any) => m.yes_bid_dollars !== '0.0000' && m.yes_ask_dollars !== '1.0000');
      expect(quoted.length).toBeGreaterThan(0);
      const trades: any = await (await fetch(`${sim.restUrl}/markets/trades?limit=5`)).json();
      expect(trades.trades.length).toBe(5);
      expect(trades.cursor).not.toBe('');
      const state: any = await (await fetch(`${sim.controlUrl}/state`)).json();
      expect(state.accounts.some((a: any) => a.user_id.startsWith('sim-maker-'))).toBe(true);
    } finally {
      await sim.close();
    }
    expect(sim.activity?.isRunning).toBe(false);
    await expect(fetch(`${sim.restUrl}/markets`)).rejects.toThrow();
  });
});
