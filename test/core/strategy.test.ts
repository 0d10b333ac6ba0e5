/**
 * Strategies: `hold`, the `spread-quoter` (placement, self-awareness, inventory, stale quotes) and
 * the spec lookup; property tests for the quoter's prices on every Kalshi tick structure.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ONE_DOLLAR } from '../../src/core/money.ts';
import { OrderBook } from '../../src/core/orderbook.ts';
import { isValidPrice, nextTickDown, nextTickUp, priceRangesFor, allTicks } from '../../src/core/ticks.ts';
import type { PriceLevelStructure } from '../../src/core/ticks.ts';
import { createStrategy, createSpreadQuoter, createHoldStrategy, UnknownStrategyError } from '../../src/core/strategy/index.ts';
import type { Decision, MarketView, OwnOrder } from '../../src/core/strategy/index.ts';

const cents = priceRangesFor('linear_cent');

/** A book whose others' best YES bid is `bid` and best YES ask is `ask` (cents grid by default). */
function book(bid: number | null, ask: number | null, extraYes: Array<[number, number]> = [], extraNo: Array<[number, number]> = []) {
  const b = new OrderBook('KX-T');
  const yes: Array<[number, number]> = bid === null ? [] : [[bid, 500], [bid - 100, 800]];
  const no: Array<[number, number]> = ask === null ? [] : [[ONE_DOLLAR - ask, 500], [ONE_DOLLAR - ask - 100, 800]];
  const merge = (levels: Array<[number, number]>) => {
    const m = new Map<number, number>();
    for (const [p, size] of levels) if (p > 0) m.set(p, (m.get(p) ?? 0) + size);
    return [...m];
  };
  b.applySnapshot(merge([...yes, ...extraYes]), merge([...no, ...extraNo]));
  return b;
}

function view(partial: Partial<MarketView> = {}): MarketView {
  return { ticker: 'KX-T', book: book(4000, 4600), position: 0, openOrders: [], nowMs: 0, priceRanges: cents, ...partial };
}

const places = (d: Decision[] | Promise<Decision[]>) => (d as Decision[]).filter((x) => x.kind === 'place').map((x) => (x.kind === 'place' ? x.intent : null)!);
const cancels = (d: Decision[] | Promise<Decision[]>) => (d as Decision[]).filter((x) => x.kind === 'cancel').map((x) => (x.kind === 'cancel' ? x.clientOrderId : ''));

describe('hold', () => {
  it('never places or cancels anything', () => {
    const s = createHoldStrategy();
    expect(s.name).toBe('hold');
    expect(s.needsBook).toBe(false);
    expect(s.decide(view())).toEqual([]);
    expect(s.decide(view({ book: null, openOrders: [{ clientOrderId: 'a', side: 'bid', price: 4000, remaining: 100 }] }))).toEqual([]);
  });
});

describe('spread-quoter', () => {
  const quoter = createSpreadQuoter({ size: 100, maxInventory: 300 });

  it('quotes a bid and an ask one tick inside a wide spread, post-only GTC', () => {
    const d = quoter.decide(view());
    expect(places(d)).toEqual([
      { ticker: 'KX-T', side: 'bid', price: 4100, count: 100, timeInForce: 'good_till_canceled', postOnly: true },
      { ticker: 'KX-T', side: 'ask', price: 4500, count: 100, timeInForce: 'good_till_canceled', postOnly: true },
    ]);
    expect(cancels(d)).toEqual([]);
  });

  it('does not quote a spread narrower than minSpreadTicks, and pulls its quotes', () => {
    const own: OwnOrder[] = [{ clientOrderId: 'q1', side: 'bid', price: 4000, remaining: 100 }];
    const d = quoter.decide(view({ book: book(4000, 4100, [[4000, 100]]), openOrders: own }));
    expect(places(d)).toEqual([]);
    expect(cancels(d)).toEqual(['q1']);
  });

  it('on a two-tick spread improves only one side: the bid when flat', () => {
    const d = quoter.decide(view({ book: book(4000, 4200) }));
    expect(places(d).map((i) => [i.side, i.price])).toEqual([
      ['bid', 4100],
      ['ask', 4200],
    ]);
  });

  it('recognises its own quotes in the book and keeps them (no outbidding itself)', () => {
    // the book shows our bid at 41¢ and our ask at 45¢ (as a NO bid at 55¢) on top of the others
    const b = book(4000, 4600, [[4100, 100]], [[ONE_DOLLAR - 4500, 100]]);
    expect(b.bestYesBid()).toBe(4100);
    const own: OwnOrder[] = [
      { clientOrderId: 'b1', side: 'bid', price: 4100, remaining: 100 },
      { clientOrderId: 'a1', side: 'ask', price: 4500, remaining: 100 },
    ];
    expect(quoter.decide(view({ book: b, openOrders: own }))).toEqual([]);
  });

  it('cancels a stale quote when the book moves away, and re-quotes only after the cancel is done', () => {
    const own: OwnOrder[] = [
      { clientOrderId: 'b1', side: 'bid', price: 4100, remaining: 100 },
      { clientOrderId: 'a1', side: 'ask', price: 4500, remaining: 100 },
    ];
    // the others' bid moved up to 43¢: our 41¢ bid is no longer one tick better
    const moved = book(4300, 4600, [[4100, 100]], [[ONE_DOLLAR - 4500, 100]]);
    const d1 = quoter.decide(view({ book: moved, openOrders: own }));
    expect(cancels(d1)).toEqual(['b1']);
    expect(places(d1)).toEqual([]);
    // cancel in flight: nothing new on that side
    const pending = [{ ...own[0], cancelPending: true }, own[1]];
    expect(quoter.decide(view({ book: moved, openOrders: pending }))).toEqual([]);
    // cancel confirmed: re-quote at the new target
    const d3 = quoter.decide(view({ book: book(4300, 4600, [], [[ONE_DOLLAR - 4500, 100]]), openOrders: [own[1]] }));
    expect(places(d3).map((i) => [i.side, i.price])).toEqual([['bid', 4400]]);
  });

  it('treats someone joining its price as the new best and steps ahead of them', () => {
    const own: OwnOrder[] = [{ clientOrderId: 'b1', side: 'bid', price: 4100, remaining: 100 }];
    const joined = book(4000, 4600, [[4100, 300]]); // 100 ours + 200 theirs
    expect(cancels(quoter.decide(view({ book: joined, openOrders: own })))).toEqual(['b1']);
  });

  it('stops quoting the side that would grow inventory past maxInventory', () => {
    const longD = quoter.decide(view({ position: 300 }));
    expect(places(longD).map((i) => i.side)).toEqual(['ask']);
    const shortD = quoter.decide(view({ position: -300 }));
    expect(places(shortD).map((i) => i.side)).toEqual(['bid']);
    // a resting bid is pulled once the position reaches the limit
    const own: OwnOrder[] = [{ clientOrderId: 'b1', side: 'bid', price: 4000, remaining: 100 }];
    const d = quoter.decide(view({ position: 300, openOrders: own, book: book(4000, 4600, [[4000, 100]]) }));
    expect(cancels(d)).toEqual(['b1']);
  });

  it('skews while holding inventory: the growing side joins instead of improving', () => {
    const long = places(quoter.decide(view({ position: 100 })));
    expect(long.map((i) => [i.side, i.price])).toEqual([
      ['bid', 4000],
      ['ask', 4500],
    ]);
    const short = places(quoter.decide(view({ position: -100 })));
    expect(short.map((i) => [i.side, i.price])).toEqual([
      ['bid', 4100],
      ['ask', 4600],
    ]);
  });

  it('with no book or a one-sided book cancels everything not already being canceled', () => {
    const own: OwnOrder[] = [
      { clientOrderId: 'b1', side: 'bid', price: 4100, remaining: 100 },
      { clientOrderId: 'a1', side: 'ask', price: 4500, remaining: 100, cancelPending: true },
    ];
    expect(cancels(quoter.decide(view({ book: null, openOrders: own })))).toEqual(['b1']);
    expect(cancels(quoter.decide(view({ book: book(4000, null), openOrders: own })))).toEqual(['b1']);
  });

  it('cancels duplicate quotes on one side, keeping the one at the target', () => {
    const own: OwnOrder[] = [
      { clientOrderId: 'b1', side: 'bid', price: 4100, remaining: 100 },
      { clientOrderId: 'b2', side: 'bid', price: 4100, remaining: 100 },
    ];
    const d = quoter.decide(view({ book: book(4000, 4600, [[4100, 200]]), openOrders: own }));
    expect(cancels(d)).toEqual(['b2']);
    expect(places(d).map((i) => i.side)).toEqual(['ask']);
  });
});

describe('spread-quoter properties', () => {
  const structures: PriceLevelStructure[] = ['linear_cent', 'tapered_deci_cent', 'deci_cent'];

  it('quotes are on ticks, strictly inside ($0, $1), bid < ask, and never cross the others', () => {
    const arb = fc
      .record({
        structure: fc.constantFrom(...structures),
        a: fc.double({ min: 0, max: 1, noNaN: true }),
        b: fc.double({ min: 0, max: 1, noNaN: true }),
        position: fc.integer({ min: -2_000, max: 2_000 }),
        size: fc.integer({ min: 1, max: 500 }),
        minSpreadTicks: fc.integer({ min: 2, max: 5 }),
      })
      .map((r) => {
        const ticks = allTicks(priceRangesFor(r.structure));
        const i = Math.floor(r.a * (ticks.length - 1));
        const j = Math.floor(r.b * (ticks.length - 1));
        return { ...r, bid: ticks[Math.min(i, j)], ask: ticks[Math.max(i, j)] };
      })
      .filter((r) => r.bid < r.ask);

    fc.assert(
      fc.property(arb, (r) => {
        const ranges = priceRangesFor(r.structure);
        const s = createSpreadQuoter({ size: r.size, maxInventory: 1_000, minSpreadTicks: r.minSpreadTicks });
        const b = new OrderBook('KX-P');
        b.applySnapshot([[r.bid, 100]], [[ONE_DOLLAR - r.ask, 100]]);
        const decisions = s.decide({ ticker: 'KX-P', book: b, position: r.position, openOrders: [], nowMs: 0, priceRanges: ranges }) as Decision[];
        const quotes = places(decisions);
        for (const q of quotes) {
          expect(isValidPrice(q.price, ranges)).toBe(true);
          expect(q.price).toBeGreaterThan(0);
          expect(q.price).toBeLessThan(ONE_DOLLAR);
          if (q.side === 'bid') {
            expect(q.price).toBeLessThan(r.ask);
            expect(r.position + q.count).toBeLessThanOrEqual(1_000);
          } else {
            expect(q.price).toBeGreaterThan(r.bid);
            expect(r.position - q.count).toBeGreaterThanOrEqual(-1_000);
          }
        }
        const bid = quotes.find((q) => q.side === 'bid');
        const ask = quotes.find((q) => q.side === 'ask');
        if (bid && ask) expect(bid.price).toBeLessThan(ask.price);
        // a wide enough spread and a flat book always gets quoted on both sides
        let wide = r.bid as number | null;
        for (let k = 0; k < r.minSpreadTicks + 1 && wide !== null; k++) wide = nextTickUp(wide, ranges);
        if (r.position === 0 && r.size <= 1_000 && wide !== null && wide <= r.ask) {
          expect(quotes.map((q) => q.side)).toEqual(['bid', 'ask']);
          expect(bid!.price).toBe(nextTickUp(r.bid, ranges));
          expect(ask!.price).toBe(nextTickDown(r.ask, ranges));
        }
      }),
      { numRuns: 500, seed: 20260101 },
    );
  });
});

describe('createStrategy', () => {
  it('builds the known strategies and passes options through', () => {
    expect(createStrategy('hold').name).toBe('hold');
    const s = createStrategy('spread-quoter', { size: 300 });
    expect(s.needsBook).toBe(true);
    expect(places(s.decide(view()) as Decision[])[0].count).toBe(300);
  });

  it('rejects unknown names, listing the known ones', () => {
    expect(() => createStrategy('martingale')).toThrow(UnknownStrategyError);
    expect(() => createStrategy('martingale')).toThrow('known: hold, imbalance, spread-quoter');
  });

  it('rejects invalid options with a readable message', () => {
    expect(() => createStrategy('spread-quoter', { size: -1 })).toThrow(/spread-quoter options: size/);
    expect(() => createStrategy('spread-quoter', { sise: 1 })).toThrow(/spread-quoter options/);
  });

  it('accepts extra factories with an argument (how onnx:<path> will plug in)', () => {
    const seen: string[] = [];
    const s = createStrategy('onnx:/models/a.onnx', {}, {
      onnx: (arg) => {
        seen.push(arg);
        return { name: `onnx:${arg}`, needsBook: true, decide: async () => [] };
      },
    });
    expect(seen).toEqual(['/models/a.onnx']);
    expect(s.name).toBe('onnx:/models/a.onnx');
  });
});
