/**
 * The order-level book of one market on the single YES leg: resting bids and asks in price-time
 * priority. Part of the simulator's matching engine (`src/sim/exchange.ts` drives it); it knows
 * prices and remaining counts, nothing about accounts, fees or events.
 *
 * Layout, for ≥100k orders/s on one core:
 * - prices are integers 1..9,999 (1/10,000 dollar), so each side is an array of levels indexed by
 *   price, plus a bitset of non-empty prices; the next best price is found with Math.clz32 over
 *   32-price words instead of scanning or keeping a tree;
 * - each level is a FIFO queue (array + head index). Cancels are O(1): the caller sets the entry's
 *   `remainingCount` to 0 and the level's total drops; dead entries are skipped when they reach the
 *   front and compacted away when they outnumber the live ones.
 */
import type { Count, Price } from '../../core/money.ts';
import type { BookSide } from '../exchange.types.ts';

/** What the book needs of a resting order. `remainingCount === 0` means it left the book. */
export interface BookEntry {
  readonly side: BookSide;
  readonly price: Price;
  remainingCount: Count;
}

/** One price level: FIFO of entries (dead ones included until compacted) and the live total. */
export class Level<T extends BookEntry> {
  items: T[] = [];
  head = 0;
  total: Count = 0;
  live = 0;

  constructor(readonly price: Price) {}

  /** The first entry still in the book, dropping dead ones from the front. */
  front(): T | undefined {
    const items = this.items;
    while (this.head < items.length) {
      const e = items[this.head] as T;
      if (e.remainingCount > 0) return e;
      this.head++;
    }
    return undefined;
  }

  /** Live entries in priority order (allocates; for inspection and FOK checks, not the hot path). */
  *entries(): IterableIterator<T> {
    for (let i = this.head; i < this.items.length; i++) {
      const e = this.items[i] as T;
      if (e.remainingCount > 0) yield e;
    }
  }

  compactIfSparse(): void {
    const stored = this.items.length - this.head;
    if (stored > 64 && stored > 4 * this.live) {
      const kept: T[] = [];
      for (let i = this.head; i < this.items.length; i++) {
        const e = this.items[i] as T;
        if (e.remainingCount > 0) kept.push(e);
      }
      this.items = kept;
      this.head = 0;
    }
  }
}

export const MIN_BOOK_PRICE: Price = 1;
export const MAX_BOOK_PRICE: Price = 9_999;
const WORDS = ((MAX_BOOK_PRICE + 1) >>> 5) + 1;
const NO_BID = 0;
const NO_ASK = MAX_BOOK_PRICE + 1;

/** One side: levels by price and a bitset of the prices that have live orders. */
class SideLevels<T extends BookEntry> {
  readonly levels: Array<Level<T> | undefined> = new Array(MAX_BOOK_PRICE + 1);
  readonly bits = new Uint32Array(WORDS);

  mark(price: Price): void {
    this.bits[price >>> 5] |= 1 << (price & 31);
  }

  unmark(price: Price): void {
    this.bits[price >>> 5] &= ~(1 << (price & 31));
  }

  /** Highest marked price ≤ from, or NO_BID. */
  highestAtOrBelow(from: Price): Price {
    if (from < MIN_BOOK_PRICE) return NO_BID;
    let w = from >>> 5;
    const b = from & 31;
    let x = b === 31 ? this.bits[w]! : this.bits[w]! & ((1 << (b + 1)) - 1);
    for (;;) {
      if (x !== 0) return (w << 5) + 31 - Math.clz32(x);
      if (w === 0) return NO_BID;
      w--;
      x = this.bits[w]!;
    }
  }

  /** Lowest marked price ≥ from, or NO_ASK. */
  lowestAtOrAbove(from: Price): Price {
    if (from > MAX_BOOK_PRICE) return NO_ASK;
    let w = from >>> 5;
    let x = this.bits[w]! & (-1 << (from & 31));
    for (;;) {
      if (x !== 0) {
        const p = (w << 5) + 31 - Math.clz32(x & -x);
        return p > MAX_BOOK_PRICE ? NO_ASK : p;
      }
      w++;
      if (w >= WORDS) return NO_ASK;
      x = this.bits[w]!;
    }
  }
}

export class OrderLevelBook<T extends BookEntry> {
  private readonly bidSide = new SideLevels<T>();
  private readonly askSide = new SideLevels<T>();
  private best = { bid: NO_BID, ask: NO_ASK };
  private restingCount = 0;

  /** Best (highest) bid price, or null when there are no bids. */
  bestBid(): Price | null {
    return this.best.bid === NO_BID ? null : this.best.bid;
  }

  /** Best (lowest) ask price, or null when there are no asks. */
  bestAsk(): Price | null {
    return this.best.ask === NO_ASK ? null : this.best.ask;
  }

  /** Number of live resting orders on both sides. */
  get size(): number {
    return this.restingCount;
  }

  level(side: BookSide, price: Price): Level<T> | undefined {
    const l = (side === 'bid' ? this.bidSide : this.askSide).levels[price];
    return l !== undefined && l.live > 0 ? l : undefined;
  }

  /** Appends an entry at the back of its price level (time priority). */
  add(entry: T): void {
    const price = entry.price;
    if (!Number.isInteger(price) || price < MIN_BOOK_PRICE || price > MAX_BOOK_PRICE) {
      throw new RangeError(`book price out of range: ${price}`);
    }
    if (!(entry.remainingCount > 0)) throw new RangeError('cannot rest an entry with nothing remaining');
    const s = entry.side === 'bid' ? this.bidSide : this.askSide;
    let level = s.levels[price];
    if (level === undefined) {
      level = new Level<T>(price);
      s.levels[price] = level;
    }
    if (level.live === 0) {
      level.items.length = 0;
      level.head = 0;
      s.mark(price);
      if (entry.side === 'bid') {
        if (price > this.best.bid) this.best.bid = price;
      } else if (price < this.best.ask) this.best.ask = price;
    }
    level.items.push(entry);
    level.total += entry.remainingCount;
    level.live++;
    this.restingCount++;
  }

  /**
   * Records that `entry` lost `by` contracts (fill, decrease or cancel). The caller has already
   * lowered `entry.remainingCount`; when it reached 0 the entry counts as gone from the book.
   */
  reduce(entry: T, by: Count): void {
    const s = entry.side === 'bid' ? this.bidSide : this.askSide;
    const level = s.levels[entry.price];
    if (level === undefined || level.live === 0) throw new Error(`no level at ${entry.side} ${entry.price}`);
    level.total -= by;
    if (entry.remainingCount === 0) {
      level.live--;
      this.restingCount--;
    }
    if (level.live === 0) {
      if (level.total !== 0) throw new Error(`level ${entry.side} ${entry.price} total ${level.total} with no live orders`);
      this.dropLevel(s, level, entry);
    } else if (entry.remainingCount === 0) {
      level.compactIfSparse();
    }
  }

  /**
   * Takes a live entry out of the book at once, keeping its `remainingCount` (an amend that loses
   * its place: the caller changes the entry and `add`s it again, at the back of its new level).
   * O(entries at its level).
   */
  remove(entry: T): void {
    const s = entry.side === 'bid' ? this.bidSide : this.askSide;
    const level = s.levels[entry.price];
    const at = level === undefined ? -1 : level.items.indexOf(entry, level.head);
    if (level === undefined || at < 0 || !(entry.remainingCount > 0)) throw new Error(`entry not live at ${entry.side} ${entry.price}`);
    level.items.splice(at, 1);
    level.total -= entry.remainingCount;
    level.live--;
    this.restingCount--;
    if (level.live === 0) this.dropLevel(s, level, entry);
  }

  /** Empties a level that has no live entry left and moves the best price past it. */
  private dropLevel(s: SideLevels<T>, level: Level<T>, entry: T): void {
    level.items.length = 0;
    level.head = 0;
    s.unmark(entry.price);
    if (entry.side === 'bid') {
      if (entry.price === this.best.bid) this.best.bid = s.highestAtOrBelow(entry.price - 1);
    } else if (entry.price === this.best.ask) this.best.ask = s.lowestAtOrAbove(entry.price + 1);
  }

  /**
   * Contracts that trade before `entry` gets a fill, by price-time priority: everything resting on
   * its side at better prices plus what is ahead of it at its own level. Kalshi's definition of
   * queue position (GET /portfolio/orders/{id}/queue_position, kalshi-typescript 3.30 docs: "the
   * number of contracts that need to be matched before an order receives a partial or full
   * match, determined using price-time priority"); whether Kalshi counts the better levels is
   * not stated — we follow the sentence literally.
   */
  contractsAhead(entry: T): Count {
    const s = entry.side === 'bid' ? this.bidSide : this.askSide;
    let ahead = 0;
    if (entry.side === 'bid') {
      for (let p = this.best.bid; p > entry.price && p >= MIN_BOOK_PRICE; p = s.highestAtOrBelow(p - 1)) ahead += s.levels[p]!.total;
    } else {
      for (let p = this.best.ask; p < entry.price && p <= MAX_BOOK_PRICE; p = s.lowestAtOrAbove(p + 1)) ahead += s.levels[p]!.total;
    }
    const level = s.levels[entry.price];
    if (level === undefined) return ahead;
    for (let i = level.head; i < level.items.length; i++) {
      const e = level.items[i] as T;
      if (e === entry) return ahead;
      ahead += e.remainingCount;
    }
    return ahead;
  }

  /** Live levels of one side as [price, total], ascending by price. */
  levels(side: BookSide): Array<[Price, Count]> {
    const s = side === 'bid' ? this.bidSide : this.askSide;
    const out: Array<[Price, Count]> = [];
    for (let p = s.lowestAtOrAbove(MIN_BOOK_PRICE); p <= MAX_BOOK_PRICE; p = s.lowestAtOrAbove(p + 1)) {
      out.push([p, s.levels[p]!.total]);
    }
    return out;
  }

  /** Levels that a taker on `takerSide` with limit `limit` could trade against, best first. */
  *crossingLevels(takerSide: BookSide, limit: Price): IterableIterator<Level<T>> {
    if (takerSide === 'bid') {
      for (let p = this.best.ask; p <= limit && p <= MAX_BOOK_PRICE; p = this.askSide.lowestAtOrAbove(p + 1)) {
        yield this.askSide.levels[p]!;
      }
    } else {
      for (let p = this.best.bid; p >= limit && p >= MIN_BOOK_PRICE; p = this.bidSide.highestAtOrBelow(p - 1)) {
        yield this.bidSide.levels[p]!;
      }
    }
  }

  /** Every live entry on both sides (order unspecified). */
  *allEntries(): IterableIterator<T> {
    for (const s of [this.bidSide, this.askSide]) {
      for (let p = s.lowestAtOrAbove(MIN_BOOK_PRICE); p <= MAX_BOOK_PRICE; p = s.lowestAtOrAbove(p + 1)) {
        yield* s.levels[p]!.entries();
      }
    }
  }
}
