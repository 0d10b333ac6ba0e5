/**
 * Aggregated L2 order book of one market on Kalshi's bids-only model: YES bids and NO bids, each
 * keyed by its own leg's price (a NO bid at p is a YES ask at $1 − p). Pure core; the market
 * subscription actor, the recorder, the simulator's public book and the RL environment all keep
 * their books in this class.
 *
 * Built for the delta hot path: each side is a dense Float64Array indexed by price (1..9999, so
 * 0.1¢ ticks fit), with a maintained best price, level count, total size and occupancy bitmap.
 * A delta is O(1) and allocates nothing; emptying the best level finds the next one through the
 * bitmap (at most 313 words).
 */
import { ONE_DOLLAR, formatCount, formatPrice } from './money.ts';
import type { Count, Price } from './money.ts';

export type OutcomeSide = 'yes' | 'no';

export interface Level {
  price: Price;
  size: Count;
}

export class BookError extends Error {
  override readonly name = 'BookError';
}

const MIN_PRICE = 1;
const MAX_PRICE = ONE_DOLLAR - 1;
const SLOTS = ONE_DOLLAR + 1;
const WORDS = Math.ceil(SLOTS / 32);

/**
 * One side's levels. Float64 so sizes stay exact integers far beyond 2^31 hundredths. An
 * occupancy bitmap (one bit per price) lets best-level rescans, level walks and clears skip
 * empty prices 32 at a time instead of touching every slot.
 */
class SideLevels {
  sizes: Float64Array;
  occupied: Uint32Array;
  /** Highest price with a non-zero size; 0 when the side is empty. */
  best = 0;
  count = 0;
  total = 0;

  constructor(sizes?: Float64Array, occupied?: Uint32Array) {
    this.sizes = sizes ?? new Float64Array(SLOTS);
    this.occupied = occupied ?? new Uint32Array(WORDS);
  }

  mark(price: number): void {
    this.occupied[price >>> 5] |= 1 << (price & 31);
  }

  unmark(price: number): void {
    this.occupied[price >>> 5] &= ~(1 << (price & 31));
  }

  /** Highest occupied price ≤ `price`, or 0 when there is none. */
  highestAtOrBelow(price: number): number {
    if (price < MIN_PRICE) return 0;
    const bits = this.occupied;
    let w = price >>> 5;
    let m = bits[w] & (0xffffffff >>> (31 - (price & 31)));
    while (m === 0) {
      if (--w < 0) return 0;
      m = bits[w];
    }
    return (w << 5) + 31 - Math.clz32(m);
  }

  clear(): void {
    if (this.count !== 0) {
      this.sizes.fill(0, MIN_PRICE, this.best + 1);
      this.occupied.fill(0, 0, (this.best >>> 5) + 1);
    }
    this.best = 0;
    this.count = 0;
    this.total = 0;
  }

  copy(): SideLevels {
    const side = new SideLevels(new Float64Array(this.sizes), new Uint32Array(this.occupied));
    side.best = this.best;
    side.count = this.count;
    side.total = this.total;
    return side;
  }
}

function isBookPrice(price: number): boolean {
  return (price | 0) === price && price >= MIN_PRICE && price <= MAX_PRICE;
}

export class OrderBook {
  readonly ticker: string;
  private yes = new SideLevels();
  private no = new SideLevels();

  constructor(ticker: string) {
    this.ticker = ticker;
  }

  private sideOf(side: OutcomeSide): SideLevels {
    if (side === 'yes') return this.yes;
    if (side === 'no') return this.no;
    throw new BookError(`${this.ticker}: unknown book side ${JSON.stringify(side)}`);
  }

  /**
   * Replaces both sides. Levels as on the wire: [price, size] (any order). Sizes > 0.
   * Values are validated before anything changes; a duplicate price (which Kalshi never sends)
   * is detected while applying and leaves the book empty, so the caller must re-snapshot.
   */
  applySnapshot(
    yes: ReadonlyArray<readonly [Price, Count]>,
    no: ReadonlyArray<readonly [Price, Count]>,
  ): void {
    this.validateLevels('yes', yes);
    this.validateLevels('no', no);
    this.yes.clear();
    this.no.clear();
    this.fillSide('yes', this.yes, yes);
    this.fillSide('no', this.no, no);
  }

  private validateLevels(name: OutcomeSide, levels: ReadonlyArray<readonly [Price, Count]>): void {
    for (let i = 0; i < levels.length; i++) {
      const [price, size] = levels[i];
      if (!isBookPrice(price)) throw new BookError(`${this.ticker}: snapshot ${name} level ${i}: invalid price ${price}`);
      if (!Number.isSafeInteger(size) || size <= 0) {
        throw new BookError(`${this.ticker}: snapshot ${name} level ${i}: size must be a positive integer, got ${size}`);
      }
    }
  }

  private fillSide(name: OutcomeSide, side: SideLevels, levels: ReadonlyArray<readonly [Price, Count]>): void {
    const sizes = side.sizes;
    for (let i = 0; i < levels.length; i++) {
      const [price, size] = levels[i];
      if (sizes[price] !== 0) {
        this.clear();
        throw new BookError(`${this.ticker}: snapshot ${name} has price ${formatPrice(price)} twice`);
      }
      sizes[price] = size;
      side.mark(price);
      side.count++;
      side.total += size;
      if (price > side.best) side.best = price;
    }
  }

  /**
   * Adds a signed delta at a level (NO side in NO-leg prices, as Kalshi sends by default).
   * Throws BookError if the level would go negative (the caller must re-snapshot); the book is
   * left unchanged in that case. A level reaching 0 is removed.
   */
  applyDelta(side: OutcomeSide, price: Price, delta: Count): void {
    if (!isBookPrice(price)) throw new BookError(`${this.ticker}: invalid ${side} delta price ${price}`);
    if (!Number.isInteger(delta)) throw new BookError(`${this.ticker}: delta must be an integer count, got ${delta}`);
    const s = side === 'yes' ? this.yes : side === 'no' ? this.no : this.sideOf(side);
    const sizes = s.sizes;
    const old = sizes[price];
    const next = old + delta;
    if (next < 0) {
      throw new BookError(
        `${this.ticker}: ${side} level ${formatPrice(price)} would go negative ` +
          `(size ${formatCount(old)}, delta ${formatCount(delta)}); re-snapshot required`,
      );
    }
    sizes[price] = next;
    s.total += delta;
    if (old === 0) {
      if (next !== 0) {
        s.count++;
        s.mark(price);
        if (price > s.best) s.best = price;
      }
    } else if (next === 0) {
      s.count--;
      s.unmark(price);
      if (price === s.best) s.best = s.highestAtOrBelow(price - 1);
    }
  }

  /** Best YES bid / best NO bid with its size. */
  bestBid(side: OutcomeSide): Level | null {
    const s = this.sideOf(side);
    return s.best === 0 ? null : { price: s.best, size: s.sizes[s.best] };
  }

  bestYesBid(): Price | null {
    return this.yes.best === 0 ? null : this.yes.best;
  }

  /** $1 − best NO bid. */
  bestYesAsk(): Price | null {
    return this.no.best === 0 ? null : ONE_DOLLAR - this.no.best;
  }

  bestNoBid(): Price | null {
    return this.no.best === 0 ? null : this.no.best;
  }

  /** $1 − best YES bid. */
  bestNoAsk(): Price | null {
    return this.yes.best === 0 ? null : ONE_DOLLAR - this.yes.best;
  }

  /** YES ask − YES bid (negative if the data is crossed); null if either side is empty. */
  spread(): Price | null {
    if (this.yes.best === 0 || this.no.best === 0) return null;
    return ONE_DOLLAR - this.no.best - this.yes.best;
  }

  /** floor((YES bid + YES ask) / 2); null if either side is empty. */
  mid(): Price | null {
    if (this.yes.best === 0 || this.no.best === 0) return null;
    return Math.floor((this.yes.best + ONE_DOLLAR - this.no.best) / 2);
  }

  sizeAt(side: OutcomeSide, price: Price): Count {
    if (!isBookPrice(price)) return 0;
    return this.sideOf(side).sizes[price];
  }

  /** Best-first levels, at most `maxLevels` (all when omitted). */
  depth(side: OutcomeSide, maxLevels: number = Infinity): Level[] {
    const s = this.sideOf(side);
    const want = Math.min(s.count, Math.max(0, maxLevels));
    const out: Level[] = [];
    for (let p = s.best; out.length < want && p !== 0; p = s.highestAtOrBelow(p - 1)) {
      out.push({ price: p, size: s.sizes[p] });
    }
    return out;
  }

  /** Calls `fn` with each level's size, best first, without allocating (the features' hot path). */
  forEachLevelSize(side: OutcomeSide, fn: (size: Count) => void): void {
    const s = this.sideOf(side);
    for (let p = s.best, n = 0; n < s.count && p !== 0; p = s.highestAtOrBelow(p - 1), n++) fn(s.sizes[p]);
  }

  /** Ascending-by-price levels, Kalshi's REST/WS snapshot order (best bid last). */
  levels(side: OutcomeSide): Array<[Price, Count]> {
    const s = this.sideOf(side);
    const out = new Array<[Price, Count]>(s.count);
    let i = s.count - 1;
    for (let p = s.best; i >= 0 && p !== 0; p = s.highestAtOrBelow(p - 1)) {
      out[i--] = [p, s.sizes[p]];
    }
    return out;
  }

  totalSize(side: OutcomeSide): Count {
    return this.sideOf(side).total;
  }

  levelCount(side: OutcomeSide): number {
    return this.sideOf(side).count;
  }

  /** True when neither side has a level. */
  isEmpty(): boolean {
    return this.yes.count === 0 && this.no.count === 0;
  }

  clear(): void {
    this.yes.clear();
    this.no.clear();
  }

  clone(): OrderBook {
    const copy = new OrderBook(this.ticker);
    copy.yes = this.yes.copy();
    copy.no = this.no.copy();
    return copy;
  }

  /** Same ticker and the same levels on both sides. */
  equals(other: OrderBook): boolean {
    return this.ticker === other.ticker && sameSide(this.yes, other.yes) && sameSide(this.no, other.no);
  }
}

function sameSide(a: SideLevels, b: SideLevels): boolean {
  if (a.best !== b.best || a.count !== b.count || a.total !== b.total) return false;
  for (let p = a.best; p !== 0; p = a.highestAtOrBelow(p - 1)) if (a.sizes[p] !== b.sizes[p]) return false;
  return true;
}
