import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/core/clock.ts';
import { takerFee } from '../../src/core/fees.ts';
import { OrderBook } from '../../src/core/orderbook.ts';
import { marketDefinitionFor } from '../../src/sim/activity/markets.ts';
import { Exchange } from '../../src/sim/exchange.ts';
import { startInProcessSimulator } from '../../src/sim/in-process.ts';
import { RecordedReplay, REPLAY_MAKER } from '../../src/sim/replay/recorded-replay.ts';
import type { ReplayEvent } from '../../src/sim/replay/recorded-replay.ts';
import { syntheticTimeline } from '../../src/rl/synthetic.ts';

const T0 = Date.UTC(2026, 2, 2, 15);
const TICKER = 'REPLAY-26MAR02-T50';

function setUp(events: ReplayEvent[]) {
  const clock = new VirtualClock(T0);
  const exchange = new Exchange({ clock, seed: 3 });
  exchange.addMarket(marketDefinitionFor({ ticker: TICKER, fair: 0.5, volatility: 0 }, T0));
  exchange.ensureAccount('alice', 100_000_000);
  const replay = new RecordedReplay(exchange, clock, [{ ticker: TICKER, events }]);
  replay.start();
  const order = (side: 'bid' | 'ask', price: number, count: number, tif: 'good_till_canceled' | 'immediate_or_cancel' = 'good_till_canceled') => {
    const r = exchange.createOrder({ userId: 'alice', ticker: TICKER, side, price, count, timeInForce: tif, selfTradePrevention: 'taker_at_cross' });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  const book = () => exchange.bookLevels(TICKER)!;
  const position = () => exchange.listPositions('alice').find((p) => p.ticker === TICKER)?.position ?? 0;
  return { clock, exchange, replay, order, book, position };
}

/** YES bids 40¢ ×10; NO bids 58¢ ×3 (a 42¢ YES ask), then Kalshi-ordered events 1 s apart. */
const BASE: ReplayEvent[] = [
  { kind: 'snapshot', tsMs: 1_000, yes: [[4_000, 1_000]], no: [[5_800, 300], [5_600, 500]] },
];

describe('replay mode: the recorded books', () => {
  it('are the exchange book after every recorded timestamp, trades included', () => {
    const timeline = syntheticTimeline({ seed: 6, events: 1_500, tradeProbability: 0.1, gapProbability: 0.003, meanIntervalMs: 80 });
    const events = timeline.events as ReplayEvent[];
    const { clock, book, exchange } = setUp(events);
    const recorded = new OrderBook('R');
    let valid = false;
    let i = 0;
    let checked = 0;
    const t0 = events[0].tsMs;
    while (i < events.length) {
      const ts = events[i].tsMs;
      for (; i < events.length && events[i].tsMs === ts; i++) {
        const e = events[i];
        if (e.kind === 'snapshot') {
          recorded.applySnapshot(e.yes, e.no);
          valid = true;
        } else if (e.kind === 'delta' && valid) recorded.applyDelta(e.side, e.price, e.delta);
        else if (e.kind === 'gap') valid = false;
      }
      clock.advanceTo(T0 + (ts - t0));
      if (valid) {
        expect(book()).toEqual({ yes: recorded.levels('yes'), no: recorded.levels('no') });
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
    // recorded trades printed on the exchange
    expect(exchange.listTrades({ ticker: TICKER }).length).toBeGreaterThan(50);
  });
});

describe('replay mode: the trader', () => {
  it('takes at book prices, and what it took stays consumed until the recording replenishes it', () => {
    const { clock, order, book, position, exchange } = setUp([
      ...BASE,
      { kind: 'delta', tsMs: 2_000, side: 'no', price: 5_800, delta: 200 },
      { kind: 'delta', tsMs: 3_000, side: 'no', price: 5_600, delta: -200 },
    ]);
    const taken = order('bid', 4_400, 400, 'immediate_or_cancel');
    expect(taken.fills.map((f) => [f.price, f.count])).toEqual([
      [4_200, 300],
      [4_400, 100],
    ]);
    // taker fees, after the exchange's per-order rounding to the cent
    expect(taken.fills.every((f) => f.isTaker)).toBe(true);
    const fees = taken.fills.reduce((s, f) => s + f.fee, 0);
    expect(Math.abs(fees - takerFee(4_200, 300) - takerFee(4_400, 100))).toBeLessThan(2 * 10_000);
    expect(position()).toBe(400);
    expect(book().no).toEqual([[5_600, 400]]);
    // the recording adds 2 at 58¢ (recorded 5): only those 2 show
    clock.advance(1_000);
    expect(book().no).toEqual([[5_600, 400], [5_800, 200]]);
    // the recording loses 2 at 56¢ (recorded 5 → 3): our consumed 1 goes first, then 1 more
    clock.advance(1_000);
    expect(book().no).toEqual([[5_600, 300], [5_800, 200]]);
    expect(exchange.listOrders(REPLAY_MAKER, { status: 'resting' }).length).toBeGreaterThan(0);
  });

  it("rests behind the displayed queue, counts a trade and its maker's delta once, and fills only the excess", () => {
    const { clock, order, position } = setUp([
      ...BASE,
      // Kalshi's order: the maker's delta, then the trade (one exchange timestamp)
      { kind: 'delta', tsMs: 2_000, side: 'yes', price: 4_000, delta: -600 },
      { kind: 'trade', tsMs: 2_000, yesPrice: 4_000, count: 600, takerSide: 'no' },
      { kind: 'delta', tsMs: 3_000, side: 'yes', price: 4_000, delta: -400 },
      { kind: 'trade', tsMs: 3_000, yesPrice: 4_000, count: 600, takerSide: 'no' },
    ]);
    const resting = order('bid', 4_000, 300);
    expect(resting.order.status).toBe('resting');
    clock.advance(1_000);
    expect(position()).toBe(0); // 4 still ahead (a double count would have filled 2)
    clock.advance(1_000);
    // 6 trade against the 4 ahead: 2 of ours fill, at our price
    expect(position()).toBe(200);
  });

  it('is not moved forward by cancellations, and trades with a recorded book that crosses it', () => {
    const { clock, order, position, exchange } = setUp([
      ...BASE,
      { kind: 'delta', tsMs: 2_000, side: 'yes', price: 4_000, delta: 500 }, // 5 join behind us
      { kind: 'delta', tsMs: 3_000, side: 'yes', price: 4_000, delta: -500 }, // 5 cancel: the newest
      { kind: 'trade', tsMs: 4_000, yesPrice: 4_000, count: 1_000, takerSide: 'no' },
      { kind: 'delta', tsMs: 4_000, side: 'yes', price: 4_000, delta: -1_000 },
      // a NO bid at 61¢ (a 39¢ YES ask) crosses our 40¢ bid
      { kind: 'delta', tsMs: 5_000, side: 'no', price: 6_100, delta: 300 },
    ]);
    order('bid', 4_000, 300);
    clock.advance(2_000);
    expect(position()).toBe(0);
    clock.advance(1_000);
    expect(position()).toBe(0); // the 10 ahead took the whole trade
    clock.advance(1_000);
    expect(position()).toBe(300);
    const fills = exchange.listFills('alice');
    expect(fills[0]).toMatchObject({ price: 4_000, count: 300, isTaker: false });
  });

  it('runs in the simulator instead of synthetic participants', async () => {
    const clock = new VirtualClock(T0);
    const sim = startInProcessSimulator({
      clock,
      markets: [
        { ticker: TICKER, fair: 0.5, volatility: 0 },
        { ticker: 'SYNTH-26MAR02-T50', fair: 0.5, volatility: 0.1 },
      ],
      replay: [{ ticker: TICKER, events: BASE }],
    });
    try {
      expect(sim.replay).not.toBeNull();
      expect(sim.exchange.bookLevels(TICKER)).toEqual({ yes: [[4_000, 1_000]], no: [[5_600, 500], [5_800, 300]] });
      clock.advance(60_000);
      // the other market still has its synthetic makers; the replayed one only the recording
      expect(sim.exchange.bookLevels('SYNTH-26MAR02-T50')!.yes.length).toBeGreaterThan(0);
      expect(sim.exchange.bookLevels(TICKER)).toEqual({ yes: [[4_000, 1_000]], no: [[5_600, 500], [5_800, 300]] });
    } finally {
      await sim.close();
    }
  });
});
