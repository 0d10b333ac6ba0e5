/**
 * Aggregated L2 order book of one market on Kalshi's bids-only model: YES bids and NO bids, each
 * keyed by its own leg's price (a NO bid at p is a YES ask at $1 − p). Pure core; the market
 * subscription actor, the recorder, the simulator's public book and the RL environment all keep
 * their books in this class.
 *
 * Built for the delta hot path: each side is a dense Float64Array indexed by price slot, with a
 * maintained best slot, level count, total size and occupancy bitmap. A delta is O(1) and
 * allocates nothing; emptying the best level finds the next one through the bitmap.
 *
 * The price grid adapts: a book starts on the 1¢ grid (101 slots a side, ~2 KB a book) and moves
 * to a finer one (0.5¢, 0.1¢ … down to $0.0001, 10,001 slots) the first time a price off its grid
 * arrives, re-indexing its levels. Most Kalshi markets trade in whole cents, and 1,000 books on
 * the finest grid would hold 160 MB of mostly-empty arrays.
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
/** The grid a new book starts on: whole cents. */
const START_UNIT = 100;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

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

  /** `slots` = prices on the grid + 1 (slot 0 is price 0, never a level). */
  constructor(slots: number, sizes?: Float64Array, occupied?: Uint32Array) {
    this.sizes = sizes ?? new Float64Array(slots);
    this.occupied = occupied ?? new Uint32Array(Math.ceil(slots / 32));
  }

  mark(price: number): void {
    this.occupied[price >>> 5] |= 1 << (price & 31);
  }

  unmark(price: number): void {
    this.occupied[price >>> 5] &= ~(1 << (price & 31));
  }

  /** Highest occupied slot ≤ `price` (a slot), or 0 when there is none. */
  highestAtOrBelow(price: number): number {
    if (price < 1) return 0;
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
      this.sizes.fill(0, 1, this.best + 1);
      this.occupied.fill(0, 0, (this.best >>> 5) + 1);
    }
    this.best = 0;
    this.count = 0;
    this.total = 0;
  }

  copy(): SideLevels {
    const side = new SideLevels(this.sizes.length, new Float64Array(this.sizes), new Uint32Array(this.occupied));
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
  /** Price units per slot: 100 on the 1¢ grid, 10 on the 0.1¢ grid, 1 at the finest. */
  private unit = START_UNIT;
  private yes = new SideLevels(ONE_DOLLAR / START_UNIT + 1);
  private no = new SideLevels(ONE_DOLLAR / START_UNIT + 1);

  constructor(ticker: string) {
    this.ticker = ticker;
  }

  private sideOf(side: OutcomeSide): SideLevels {
    if (side === 'yes') return this.yes;
    if (side === 'no') return this.no;
    throw new BookError(`${this.ticker}: unknown book side ${JSON.stringify(side)}`);
  }

  /** Moves both sides to the grid of `unit` (a divisor of the current unit), keeping every level. */
  private refine(unit: number): void {
    const factor = this.unit / unit;
    const slots = ONE_DOLLAR / unit + 1;
    for (const name of ['yes', 'no'] as const) {
      const from = this[name];
      const to = new SideLevels(slots);
      for (let p = from.best; p !== 0; p = from.highestAtOrBelow(p - 1)) {
        const slot = p * factor;
        to.sizes[slot] = from.sizes[p];
        to.mark(slot);
      }
      to.best = from.best * factor;
      to.count = from.count;
      to.total = from.total;
      this[name] = to;
    }
    this.unit = unit;
  }

  /** The slot of a valid book price, refining the grid first when the price is off it. */
  private slotOf(price: number): number {
    const slot = price / this.unit;
    if ((slot | 0) === slot) return slot;
    this.refine(gcd(this.unit, price));
    return price / this.unit;
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
    let unit = this.unit;
    for (const levels of [yes, no]) for (let i = 0; i < levels.length; i++) unit = gcd(unit, levels[i][0]);
    if (unit !== this.unit) this.refine(unit);
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
    const unit = this.unit;
    for (let i = 0; i < levels.length; i++) {
      const [price, size] = levels[i];
      const slot = price / unit;
      if (sizes[slot] !== 0) {
        this.clear();
        throw new BookError(`${this.ticker}: snapshot ${name} has price ${formatPrice(price)} twice`);
      }
      sizes[slot] = size;
      side.mark(slot);
      side.count++;
      side.total += size;
      if (slot > side.best) side.best = slot;
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
    if (side !== 'yes' && side !== 'no') this.sideOf(side);
    let slot = price / this.unit;
    if ((slot | 0) !== slot) {
      // a level is only created by a positive delta: refining for a doomed negative one is harmless
      slot = this.slotOf(price);
    }
    const s = side === 'yes' ? this.yes : this.no;
    const sizes = s.sizes;
    const old = sizes[slot];
    const next = old + delta;
    if (next < 0) {
      throw new BookError(
        `${this.ticker}: ${side} level ${formatPrice(price)} would go negative ` +
          `(size ${formatCount(old)}, delta ${formatCount(delta)}); re-snapshot required`,
      );
    }
    sizes[slot] = next;
    s.total += delta;
    if (old === 0) {
      if (next !== 0) {
        s.count++;
        s.mark(slot);
        if (slot > s.best) s.best = slot;
      }
    } else if (next === 0) {
      s.count--;
      s.unmark(slot);
      if (slot === s.best) s.best = s.highestAtOrBelow(slot - 1);
    }
  }

  /** Best YES bid / best NO bid with its size. */
  bestBid(side: OutcomeSide): Level | null {
    const s = this.sideOf(side);
    return s.best === 0 ? null : { price: s.best * this.unit, size: s.sizes[s.best] };
  }

  bestYesBid(): Price | null {
    return this.yes.best === 0 ? null : this.yes.best * this.unit;
  }

  /** $1 − best NO bid. */
  bestYesAsk(): Price | null {
    return this.no.best === 0 ? null : ONE_DOLLAR - this.no.best * this.unit;
  }

  bestNoBid(): Price | null {
    return this.no.best === 0 ? null : this.no.best * this.unit;
  }

  /** $1 − best YES bid. */
  bestNoAsk(): Price | null {
    return this.yes.best === 0 ? null : ONE_DOLLAR - this.yes.best * this.unit;
  }

  /** YES ask − YES bid (negative if the data is crossed); null if either side is empty. */
  spread(): Price | null {
    if (this.yes.best === 0 || this.no.best === 0) return null;
    return ONE_DOLLAR - (this.no.best + this.yes.best) * this.unit;
  }

  /** floor((YES bid + YES ask) / 2); null if either side is empty. */
  mid(): Price | null {
    if (this.yes.best === 0 || this.no.best === 0) return null;
    return Math.floor(((this.yes.best - this.no.best) * this.unit + ONE_DOLLAR) / 2);
  }

  sizeAt(side: OutcomeSide, price: Price): Count {
    if (!isBookPrice(price)) return 0;
    const slot = price / this.unit;
    // a price off the grid has never held a level
    return (slot | 0) === slot ? this.sideOf(side).sizes[slot] : 0;
  }

  /** Best-first levels, at most `maxLevels` (all when omitted). */
  depth(side: OutcomeSide, maxLevels: number = Infinity): Level[] {
    const s = this.sideOf(side);
    const unit = this.unit;
    const want = Math.min(s.count, Math.max(0, maxLevels));
    const out: Level[] = [];
    for (let p = s.best; out.length < want && p !== 0; p = s.highestAtOrBelow(p - 1)) {
      out.push({ price: p * unit, size: s.sizes[p] });
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
    const unit = this.unit;
    const out = new Array<[Price, Count]>(s.count);
    let i = s.count - 1;
    for (let p = s.best; i >= 0 && p !== 0; p = s.highestAtOrBelow(p - 1)) {
      out[i--] = [p * unit, s.sizes[p]];
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
    copy.unit = this.unit;
    copy.yes = this.yes.copy();
    copy.no = this.no.copy();
    return copy;
  }

  /** Same ticker and the same levels on both sides (whatever grid each book is on). */
  equals(other: OrderBook): boolean {
    if (this.ticker !== other.ticker) return false;
    if (this.unit === other.unit) return sameSide(this.yes, other.yes) && sameSide(this.no, other.no);
    return sameLevels(this.levels('yes'), other.levels('yes')) && sameLevels(this.levels('no'), other.levels('no'));
  }
}

function sameLevels(a: Array<[Price, Count]>, b: Array<[Price, Count]>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i][0] !== b[i][0] || a[i][1] !== b[i][1]) return false;
  return true;
}

function sameSide(a: SideLevels, b: SideLevels): boolean {
  if (a.best !== b.best || a.count !== b.count || a.total !== b.total) return false;
  for (let p = a.best; p !== 0; p = a.highestAtOrBelow(p - 1)) if (a.sizes[p] !== b.sizes[p]) return false;
  return true;
}
