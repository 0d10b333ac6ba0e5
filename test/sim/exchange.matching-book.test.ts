import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { OrderLevelBook } from '../../src/sim/matching/book.ts';
import type { BookEntry } from '../../src/sim/matching/book.ts';
import { ExpiryQueue } from '../../src/sim/matching/expiry-queue.ts';

interface Entry extends BookEntry {
  id: number;
}

describe('OrderLevelBook', () => {
  it('tracks best prices, level totals and FIFO fronts like a naive model (incl. bitset word edges)', () => {
    const edgePrices = [1, 2, 31, 32, 33, 63, 64, 65, 4999, 5000, 9966, 9967, 9968, 9998, 9999];
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), side: fc.constantFrom('bid' as const, 'ask' as const), price: fc.constantFrom(...edgePrices), count: fc.integer({ min: 1, max: 50 }) }),
      fc.record({ kind: fc.constant('reduce' as const), pick: fc.nat(), by: fc.integer({ min: 1, max: 60 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
        const book = new OrderLevelBook<Entry>();
        const live: Entry[] = [];
        let nextId = 0;
        for (const o of ops) {
          if (o.kind === 'add') {
            const e: Entry = { id: nextId++, side: o.side, price: o.price, remainingCount: o.count };
            book.add(e);
            live.push(e);
          } else if (live.length > 0) {
            const idx = o.pick % live.length;
            const e = live[idx]!;
            const by = Math.min(o.by, e.remainingCount);
            e.remainingCount -= by;
            book.reduce(e, by);
            if (e.remainingCount === 0) live.splice(idx, 1);
          }
          const bids = live.filter((e) => e.side === 'bid');
          const asks = live.filter((e) => e.side === 'ask');
          expect(book.bestBid()).toBe(bids.length ? Math.max(...bids.map((e) => e.price)) : null);
          expect(book.bestAsk()).toBe(asks.length ? Math.min(...asks.map((e) => e.price)) : null);
          expect(book.size).toBe(live.length);
          for (const side of ['bid', 'ask'] as const) {
            const model = new Map<number, number>();
            for (const e of live) if (e.side === side) model.set(e.price, (model.get(e.price) ?? 0) + e.remainingCount);
            expect(book.levels(side)).toEqual([...model.entries()].sort((a, b) => a[0] - b[0]));
            for (const [price] of model) {
              // the front of a level is the oldest live entry at that price
              const oldest = live.filter((e) => e.side === side && e.price === price).sort((a, b) => a.id - b.id)[0];
              expect(book.level(side, price)!.front()).toBe(oldest);
            }
          }
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('compacts a level full of canceled entries without losing order', () => {
    const book = new OrderLevelBook<Entry>();
    const entries: Entry[] = [];
    for (let i = 0; i < 500; i++) {
      const e: Entry = { id: i, side: 'bid', price: 4200, remainingCount: 1 };
      book.add(e);
      entries.push(e);
    }
    for (let i = 0; i < 500; i++) {
      if (i % 50 === 7) continue;
      entries[i]!.remainingCount = 0;
      book.reduce(entries[i]!, 1);
    }
    const level = book.level('bid', 4200)!;
    expect(level.items.length - level.head).toBeLessThan(100);
    expect([...level.entries()].map((e) => e.id)).toEqual([7, 57, 107, 157, 207, 257, 307, 357, 407, 457]);
    expect(level.total).toBe(10);
  });

  it('rejects prices outside 1..9999 and empty entries', () => {
    const book = new OrderLevelBook<Entry>();
    expect(() => book.add({ id: 0, side: 'bid', price: 0, remainingCount: 1 })).toThrow(RangeError);
    expect(() => book.add({ id: 0, side: 'ask', price: 10_000, remainingCount: 1 })).toThrow(RangeError);
    expect(() => book.add({ id: 0, side: 'ask', price: 5000, remainingCount: 0 })).toThrow(RangeError);
  });
});

describe('ExpiryQueue', () => {
  it('pops due items earliest first, ties in insertion order', () => {
    const q = new ExpiryQueue<string>();
    q.push(30, 'c');
    q.push(10, 'a1');
    q.push(20, 'b');
    q.push(10, 'a2');
    q.push(40, 'd');
    expect(q.peekTime()).toBe(10);
    expect(q.popDue(20)).toEqual(['a1', 'a2', 'b']);
    expect(q.popDue(25)).toEqual([]);
    expect(q.popDue(100)).toEqual(['c', 'd']);
    expect(q.size).toBe(0);
  });
});
