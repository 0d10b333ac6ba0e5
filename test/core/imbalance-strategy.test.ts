/**
 * The `imbalance` rule strategy: it rests a limit order on the side the order book's imbalance
 * points to (bid when the others' bids outweigh their asks, ask the other way), nothing in
 * between, cancels the other side, counts only the others' size, respects its inventory limit,
 * validates its own options, and is in the one strategy registry (core lookup and the app's).
 */
import { describe, expect, it } from 'vitest';
import { ONE_DOLLAR } from '../../src/core/money.ts';
import { OrderBook } from '../../src/core/orderbook.ts';
import { priceRangesFor } from '../../src/core/ticks.ts';
import { bookImbalance, createImbalanceStrategy, createStrategy, imbalanceOptionsSchema } from '../../src/core/strategy/index.ts';
import type { Decision, MarketView, OwnOrder } from '../../src/core/strategy/index.ts';
import { strategyFactoriesFor } from '../../src/app/strategies.ts';

const cents = priceRangesFor('linear_cent');

/** Best YES bid 40¢ (size `bids` there and 100 below), best YES ask 46¢ (size `asks` and 100 above). */
function book(bids: number, asks: number): OrderBook {
  const b = new OrderBook('KX-T');
  b.applySnapshot(
    [
      [3900, 100],
      [4000, bids],
    ],
    [
      [ONE_DOLLAR - 4700, 100],
      [ONE_DOLLAR - 4600, asks],
    ],
  );
  return b;
}

function view(partial: Partial<MarketView> = {}): MarketView {
  return { ticker: 'KX-T', book: book(500, 500), position: 0, openOrders: [], nowMs: 0, priceRanges: cents, ...partial };
}

const places = (d: Decision[]) => d.filter((x) => x.kind === 'place').map((x) => (x.kind === 'place' ? x.intent : null)!);
const cancels = (d: Decision[]) => d.filter((x) => x.kind === 'cancel').map((x) => (x.kind === 'cancel' ? x.clientOrderId : ''));

describe('imbalance strategy', () => {
  const strategy = createImbalanceStrategy({ size: 200, threshold: 0.3, levels: 2, maxInventory: 400 });

  it('bids at the best bid when the bids outweigh the asks, asks at the best ask the other way', () => {
    // bids 900 + 100, asks 100 + 100: imbalance (1000 − 200) / 1200 = 0.67
    expect(places(strategy.decide(view({ book: book(900, 100) })))).toEqual([
      { ticker: 'KX-T', side: 'bid', price: 4000, count: 200, timeInForce: 'good_till_canceled', postOnly: true },
    ]);
    expect(places(strategy.decide(view({ book: book(100, 900) })))).toEqual([
      { ticker: 'KX-T', side: 'ask', price: 4600, count: 200, timeInForce: 'good_till_canceled', postOnly: true },
    ]);
  });

  it('quotes nothing inside the threshold and cancels what it had resting', () => {
    const own: OwnOrder[] = [
      { clientOrderId: 'b1', side: 'bid', price: 4000, remaining: 200 },
      { clientOrderId: 'a1', side: 'ask', price: 4600, remaining: 200 },
    ];
    // our own 200 on each side are not the others': 500 vs 500 + 100 each, balanced
    const d = strategy.decide(view({ book: book(700, 700), openOrders: own }));
    expect(places(d)).toEqual([]);
    expect(cancels(d).sort()).toEqual(['a1', 'b1']);
  });

  it('takes its own resting size out of the imbalance and keeps an order already at its target', () => {
    const own: OwnOrder[] = [{ clientOrderId: 'b1', side: 'bid', price: 4000, remaining: 600 }];
    // displayed bids 900 at 40¢ include our 600: the others' 300 + 100 vs 200 → 0.33, still up
    const d = strategy.decide(view({ book: book(900, 100), openOrders: own }));
    expect(d).toEqual([]);
    expect(bookImbalance(book(900, 100), 2, new Map([[4000, 600]]), new Map())).toBeCloseTo(200 / 600, 9);
    // the signal flips: the bid goes, an ask is placed once nothing is left on the ask side
    const flipped = strategy.decide(view({ book: book(700, 900), openOrders: own }));
    expect(cancels(flipped)).toEqual(['b1']);
    expect(places(flipped).map((p) => [p.side, p.price])).toEqual([['ask', 4600]]);
  });

  it('does not quote a side whose fill would pass maxInventory', () => {
    expect(places(strategy.decide(view({ book: book(900, 100), position: 300 })))).toEqual([]);
    expect(places(strategy.decide(view({ book: book(100, 900), position: -300 })))).toEqual([]);
    // closing is always allowed
    expect(places(strategy.decide(view({ book: book(100, 900), position: 300 }))).map((p) => p.side)).toEqual(['ask']);
  });

  it('improves by one tick when asked and the spread has room', () => {
    const improving = createImbalanceStrategy({ improve: true, levels: 2 });
    expect(places(improving.decide(view({ book: book(900, 100) })))[0].price).toBe(4100);
    expect(places(improving.decide(view({ book: book(100, 900) })))[0].price).toBe(4500);
  });

  it('pulls its orders without a usable book', () => {
    const own: OwnOrder[] = [{ clientOrderId: 'b1', side: 'bid', price: 4000, remaining: 200 }];
    expect(cancels(strategy.decide(view({ book: null, openOrders: own })))).toEqual(['b1']);
  });

  it('validates its options with its own schema', () => {
    expect(imbalanceOptionsSchema.parse({})).toEqual({ levels: 3, threshold: 0.3, size: 100, maxInventory: 1000, improve: false, postOnly: true });
    expect(() => createImbalanceStrategy({ threshold: 0 })).toThrow(/imbalance options: threshold/);
    expect(() => createImbalanceStrategy({ levels: 2.5 })).toThrow(/levels/);
    expect(() => createImbalanceStrategy({ size: 100, spread: 3 })).toThrow(/Unrecognized key/);
  });

  it('is a registered strategy: `imbalance` builds through the core lookup and the app registry', async () => {
    const s = createStrategy('imbalance', { size: 300 });
    expect(s.name).toBe('imbalance');
    expect(s.needsBook).toBe(true);
    expect(places((await s.decide(view({ book: book(900, 100) }))) as Decision[])[0].count).toBe(300);
    await expect(strategyFactoriesFor('imbalance')).resolves.toEqual({});
  });
});
