import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BookError, OrderBook } from '../../src/core/orderbook.ts';
import type { OutcomeSide } from '../../src/core/orderbook.ts';

function sample(): OrderBook {
  // The kalshi-api.md §5.4 snapshot: YES bids 8¢ ×300, 22¢ ×333; NO bids 54¢ ×20, 56¢ ×146.
  const book = new OrderBook('FED-23DEC-T3.00');
  book.applySnapshot(
    [
      [800, 30_000],
      [2_200, 33_300],
    ],
    [
      [5_600, 14_600],
      [5_400, 2_000],
    ],
  );
  return book;
}

describe('OrderBook — bids-only model', () => {
  it('derives asks from the opposite side’s bids ($1 − p)', () => {
    const book = sample();
    expect(book.bestYesBid()).toBe(2_200);
    expect(book.bestNoBid()).toBe(5_600);
    expect(book.bestYesAsk()).toBe(4_400);
    expect(book.bestNoAsk()).toBe(7_800);
    expect(book.spread()).toBe(2_200);
    expect(book.mid()).toBe(3_300);
    expect(book.bestBid('yes')).toEqual({ price: 2_200, size: 33_300 });
    expect(book.bestBid('no')).toEqual({ price: 5_600, size: 14_600 });
  });

  it('returns levels ascending (wire order) and depth best-first', () => {
    const book = sample();
    expect(book.levels('no')).toEqual([
      [5_400, 2_000],
      [5_600, 14_600],
    ]);
    expect(book.depth('yes')).toEqual([
      { price: 2_200, size: 33_300 },
      { price: 800, size: 30_000 },
    ]);
    expect(book.depth('yes', 1)).toEqual([{ price: 2_200, size: 33_300 }]);
    expect(book.depth('yes', 0)).toEqual([]);
    expect(book.totalSize('yes')).toBe(63_300);
    expect(book.levelCount('no')).toBe(2);
    expect(book.sizeAt('yes', 800)).toBe(30_000);
    expect(book.sizeAt('yes', 900)).toBe(0);
    expect(book.sizeAt('yes', 0)).toBe(0);
  });

  it('applies deltas: adds levels, removes a level reaching 0, finds the next best', () => {
    const book = sample();
    book.applyDelta('yes', 2_500, 1_000);
    expect(book.bestYesBid()).toBe(2_500);
    expect(book.levelCount('yes')).toBe(3);
    book.applyDelta('yes', 2_500, -1_000);
    expect(book.bestYesBid()).toBe(2_200);
    expect(book.levelCount('yes')).toBe(2);
    book.applyDelta('yes', 2_200, -33_300);
    expect(book.bestYesBid()).toBe(800);
    book.applyDelta('yes', 800, -30_000);
    expect(book.bestYesBid()).toBeNull();
    expect(book.bestNoAsk()).toBeNull();
    expect(book.mid()).toBeNull();
    expect(book.spread()).toBeNull();
    expect(book.levels('yes')).toEqual([]);
    expect(book.totalSize('yes')).toBe(0);
  });

  it('handles 0.1¢ prices and the extreme prices 1 and 9999', () => {
    const book = new OrderBook('SUBPENNY');
    book.applySnapshot([[1, 100], [9_999, 200], [555, 300]], []);
    expect(book.levels('yes')).toEqual([
      [1, 100],
      [555, 300],
      [9_999, 200],
    ]);
    book.applyDelta('yes', 9_999, -200);
    expect(book.bestYesBid()).toBe(555);
    book.applyDelta('yes', 555, -300);
    expect(book.bestYesBid()).toBe(1);
    book.applyDelta('no', 9_990, 50);
    expect(book.bestYesAsk()).toBe(10);
  });

  it('refuses a delta that would make a level negative and leaves the book unchanged', () => {
    const book = sample();
    const before = book.clone();
    expect(() => book.applyDelta('no', 5_600, -14_700)).toThrow(BookError);
    expect(() => book.applyDelta('yes', 3_000, -1)).toThrow(/negative/);
    expect(book.equals(before)).toBe(true);
  });

  it('rejects prices outside 1..9999, non-integer prices or deltas, and unknown sides', () => {
    const book = sample();
    for (const price of [0, 10_000, -5, 12.5, Number.NaN]) {
      expect(() => book.applyDelta('yes', price, 100)).toThrow(BookError);
    }
    expect(() => book.applyDelta('yes', 500, 0.5)).toThrow(BookError);
    expect(() => book.applyDelta('yes', 500, Number.NaN)).toThrow(BookError);
    expect(() => book.applyDelta('yes', 500, Infinity)).toThrow(BookError);
    expect(() => book.applyDelta('maybe' as OutcomeSide, 500, 100)).toThrow(BookError);
  });

  it('validates snapshots before touching the book', () => {
    const book = sample();
    const before = book.clone();
    expect(() => book.applySnapshot([[500, 0]], [])).toThrow(BookError);
    expect(() => book.applySnapshot([[500, -1]], [])).toThrow(BookError);
    expect(() => book.applySnapshot([], [[10_000, 5]])).toThrow(BookError);
    expect(book.equals(before)).toBe(true);
  });

  it('leaves the book empty after a snapshot with a duplicated price', () => {
    const book = sample();
    expect(() => book.applySnapshot([[500, 1], [500, 2]], [])).toThrow(/twice/);
    expect(book.isEmpty()).toBe(true);
  });

  it('a snapshot replaces everything that was there', () => {
    const book = sample();
    book.applySnapshot([[4_000, 100]], []);
    expect(book.levels('yes')).toEqual([[4_000, 100]]);
    expect(book.levels('no')).toEqual([]);
    expect(book.sizeAt('yes', 2_200)).toBe(0);
    expect(book.totalSize('no')).toBe(0);
  });

  it('clones independently and compares by ticker and content', () => {
    const book = sample();
    const copy = book.clone();
    expect(copy.equals(book)).toBe(true);
    copy.applyDelta('yes', 800, 1);
    expect(copy.equals(book)).toBe(false);
    expect(book.sizeAt('yes', 800)).toBe(30_000);
    copy.applyDelta('yes', 800, -1);
    expect(copy.equals(book)).toBe(true);
    const other = new OrderBook('OTHER');
    other.applySnapshot(book.levels('yes'), book.levels('no'));
    expect(other.equals(book)).toBe(false);
    book.clear();
    expect(book.isEmpty()).toBe(true);
    expect(book.bestYesBid()).toBeNull();
  });

  it('mid floors half-ticks', () => {
    const book = new OrderBook('M');
    book.applySnapshot([[4_500, 100]], [[5_400, 100]]); // YES ask 4600
    expect(book.mid()).toBe(4_550);
    book.applySnapshot([[4_501, 100]], [[5_400, 100]]);
    expect(book.mid()).toBe(4_550);
  });
});

// ---- property: the book against a naive Map model ----

type Op = { kind: 'delta'; side: OutcomeSide; price: number; delta: number } | { kind: 'snapshot'; yes: Array<[number, number]>; no: Array<[number, number]> };

const priceArb = fc.oneof(fc.integer({ min: 1, max: 9_999 }), fc.integer({ min: 4_000, max: 4_020 }), fc.constantFrom(1, 9_999));
const levelsArb = fc.uniqueArray(fc.tuple(priceArb, fc.integer({ min: 1, max: 1_000_000 })), { selector: (l) => l[0], maxLength: 40 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 20, arbitrary: fc.record({ kind: fc.constant('delta' as const), side: fc.constantFrom<OutcomeSide>('yes', 'no'), price: priceArb, delta: fc.integer({ min: -2_000, max: 2_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('snapshot' as const), yes: levelsArb, no: levelsArb }) },
);

class NaiveBook {
  sides: Record<OutcomeSide, Map<number, number>> = { yes: new Map(), no: new Map() };
  snapshot(yes: Array<[number, number]>, no: Array<[number, number]>): void {
    this.sides = { yes: new Map(yes), no: new Map(no) };
  }
  /** Returns false (and changes nothing) when the level would go negative. */
  delta(side: OutcomeSide, price: number, delta: number): boolean {
    const next = (this.sides[side].get(price) ?? 0) + delta;
    if (next < 0) return false;
    if (next === 0) this.sides[side].delete(price);
    else this.sides[side].set(price, next);
    return true;
  }
  ascending(side: OutcomeSide): Array<[number, number]> {
    return [...this.sides[side].entries()].sort((a, b) => a[0] - b[0]);
  }
  best(side: OutcomeSide): number | null {
    const prices = [...this.sides[side].keys()];
    return prices.length === 0 ? null : Math.max(...prices);
  }
}

function expectSame(book: OrderBook, model: NaiveBook): void {
  for (const side of ['yes', 'no'] as const) {
    const asc = model.ascending(side);
    expect(book.levels(side)).toEqual(asc);
    expect(book.depth(side, 5)).toEqual(asc.slice().reverse().slice(0, 5).map(([price, size]) => ({ price, size })));
    expect(book.levelCount(side)).toBe(asc.length);
    expect(book.totalSize(side)).toBe(asc.reduce((s, l) => s + l[1], 0));
    for (const [, size] of book.levels(side)) expect(size).toBeGreaterThan(0);
  }
  const yb = model.best('yes');
  const nb = model.best('no');
  expect(book.bestYesBid()).toBe(yb);
  expect(book.bestNoBid()).toBe(nb);
  expect(book.bestYesAsk()).toBe(nb === null ? null : 10_000 - nb);
  expect(book.bestNoAsk()).toBe(yb === null ? null : 10_000 - yb);
  expect(book.mid()).toBe(yb === null || nb === null ? null : Math.floor((yb + 10_000 - nb) / 2));
}

describe('OrderBook — property: matches a naive model', () => {
  it('random snapshots and deltas give the same book as a Map model; never negative', () => {
    fc.assert(
      fc.property(levelsArb, levelsArb, fc.array(opArb, { maxLength: 300 }), (yes, no, ops) => {
        const book = new OrderBook('PROP');
        const model = new NaiveBook();
        book.applySnapshot(yes, no);
        model.snapshot(yes, no);
        for (const op of ops) {
          if (op.kind === 'snapshot') {
            book.applySnapshot(op.yes, op.no);
            model.snapshot(op.yes, op.no);
          } else {
            const accepted = model.delta(op.side, op.price, op.delta);
            if (accepted) book.applyDelta(op.side, op.price, op.delta);
            else expect(() => book.applyDelta(op.side, op.price, op.delta)).toThrow(BookError);
          }
        }
        expectSame(book, model);
      }),
      { numRuns: 200 },
    );
  });

  it('clone/equals: a clone equals its source until either changes, and replaying the same ops keeps them equal', () => {
    fc.assert(
      fc.property(levelsArb, levelsArb, fc.array(opArb, { maxLength: 100 }), (yes, no, ops) => {
        const a = new OrderBook('EQ');
        a.applySnapshot(yes, no);
        const b = a.clone();
        expect(b.equals(a)).toBe(true);
        for (const op of ops) {
          for (const book of [a, b]) {
            if (op.kind === 'snapshot') book.applySnapshot(op.yes, op.no);
            else {
              try {
                book.applyDelta(op.side, op.price, op.delta);
              } catch (err) {
                expect(err).toBeInstanceOf(BookError);
              }
            }
          }
        }
        expect(a.equals(b)).toBe(true);
        const rebuilt = new OrderBook('EQ');
        rebuilt.applySnapshot(a.levels('yes'), a.levels('no'));
        expect(rebuilt.equals(a)).toBe(true);
        if (a.levelCount('yes') > 0) {
          const top = a.bestBid('yes')!;
          b.applyDelta('yes', top.price, 1);
          expect(a.equals(b)).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('forEachLevelSize', () => {
  it('visits the same sizes as depth(), best first', () => {
    const book = new OrderBook('T');
    book.applySnapshot([[100, 5], [4200, 700], [3000, 12]], [[5600, 1700]]);
    const seen: number[] = [];
    book.forEachLevelSize('yes', (size) => seen.push(size));
    expect(seen).toEqual(book.depth('yes').map((l) => l.size));
    expect(seen).toEqual([700, 12, 5]);
    const none: number[] = [];
    new OrderBook('E').forEachLevelSize('no', (size) => none.push(size));
    expect(none).toEqual([]);
  });
});

describe('adaptive price grid', () => {
  it('refines from the 1¢ grid when a 0.1¢ price arrives, keeping every level', () => {
    const book = new OrderBook('T');
    book.applySnapshot([[4200, 700], [3000, 12]], [[5600, 1700]]);
    book.applyDelta('yes', 4210, 50); // $0.421: off the cent grid
    expect(book.levels('yes')).toEqual([[3000, 12], [4200, 700], [4210, 50]]);
    expect(book.bestYesBid()).toBe(4210);
    expect(book.bestYesAsk()).toBe(4400);
    expect(book.spread()).toBe(190);
    expect(book.sizeAt('yes', 4200)).toBe(700);
    book.applyDelta('yes', 4210, -50);
    expect(book.bestYesBid()).toBe(4200);
    book.applyDelta('no', 1, 5); // $0.0001, the finest grid
    expect(book.levels('no')).toEqual([[1, 5], [5600, 1700]]);
  });

  it('a snapshot on a finer grid, equality and clones across grids', () => {
    const fine = new OrderBook('T');
    fine.applySnapshot([[4215, 10]], []);
    fine.applySnapshot([[4200, 700]], [[5600, 1700]]); // back on whole cents, still the fine grid
    const coarse = new OrderBook('T');
    coarse.applySnapshot([[4200, 700]], [[5600, 1700]]);
    expect(fine.equals(coarse)).toBe(true);
    expect(coarse.equals(fine)).toBe(true);
    const copy = fine.clone();
    copy.applyDelta('yes', 4215, 3);
    expect(copy.equals(fine)).toBe(false);
    expect(copy.sizeAt('yes', 4215)).toBe(3);
    expect(fine.sizeAt('yes', 4215)).toBe(0);
    expect(coarse.sizeAt('yes', 4215)).toBe(0);
  });

  it('a refused negative delta off the grid leaves the levels unchanged', () => {
    const book = new OrderBook('T');
    book.applySnapshot([[4200, 700]], []);
    expect(() => book.applyDelta('yes', 4205, -1)).toThrow(BookError);
    expect(book.levels('yes')).toEqual([[4200, 700]]);
  });
});
