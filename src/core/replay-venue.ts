/**
 * The replay venue: one trader's orders executed against a recorded L2 (market-by-price) book.
 * Pure (no I/O, no clock): the RL environment and the simulator's replay mode both feed it the
 * recorded events and the trader's orders, so backtests and replayed sessions share one fill model.
 * The book is core's `OrderBook`, the fees core's `takerFee` / `makerFee`, positions and cash core's
 * `applyFill`; money stays integer (Price, Count, Micros).
 *
 * Rules (the documented L2 queue-position rules of hftbacktest's queue models and
 * NautilusTrader's L2 matching with `liquidity_consumption`; no code taken from either):
 * - the venue's book = the recorded book minus what our marketable orders consumed. A marketable
 *   order walks the opposite levels at each level's price (taker fee per level). What it took stays
 *   consumed: later recorded additions show normally; recorded removals at that level take our
 *   consumed part first (we took the front of the queue, which is what trades away first); a
 *   snapshot keeps the offset, capped at the restated size.
 * - a passive order (one per side) joins at the own leg's best bid with queue ahead = the displayed
 *   size there. Joining again at the price it already rests at changes nothing (as the live
 *   strategy keeps an order that already rests at its price): the queue position is kept.
 * - a limit order at any price (`placeLimit`, the rule strategies' orders): its marketable part
 *   walks the book up to its limit as a take does (refused whole when post-only), the rest rests
 *   in its side's slot with queue ahead = the displayed size at its price (0 inside the spread).
 * - queue ahead advances on recorded trades at our price (the trade takes the queue ahead first;
 *   we fill only the excess once ahead reaches zero, at our price, maker fee). A trade through our
 *   price (a seller below our bid) would have hit us first: up to its size fills.
 * - a trade's own book delta must not count twice. Kalshi publishes the maker's delta *before* the
 *   trade, so within one exchange timestamp reductions at our level are held as "pending" and each
 *   trade at that price first explains pending reduction (and a trade seen first waits for its
 *   delta) — hftbacktest's "trade quantities at the level are subtracted from the book change".
 * - what remains unexplained at the end of the timestamp (`endBatch`) is a cancellation, and is
 *   attributed by the queue model: `risk-averse` (default, hftbacktest's RiskAverseQueueModel:
 *   cancellations are behind us, queue ahead only shrinks to the level's remaining size) or
 *   `power` / `log` (hftbacktest's ProbQueueModel with f(x) = xⁿ or log(1 + x): the share
 *   f(back) / (f(front) + f(back)) of a cancellation is behind us, the rest ahead).
 * - the recorded book crossing a resting order's price at the end of a timestamp means someone
 *   would have traded with it: it fills at its price against the crossing liquidity, consuming it.
 * - no book (before the first snapshot, after a gap or a refused delta): nothing trades.
 * Cash moves as Kalshi moves a balance: per order, each fill floored to the account precision
 * with the residue rebated in whole cents (core `FeeRounding`, as the simulator's exchange does),
 * so the venue's cash and fees are the exchange's to the micro.
 */
import { BookError, OrderBook } from './orderbook.ts';
import { ONE_DOLLAR } from './money.ts';
import type { Count, Micros, Price } from './money.ts';
import { CENT_PRECISION, DEFAULT_FEE_SCHEDULE, FeeRounding, makerFee, takerFee } from './fees.ts';
import type { FeeSchedule } from './fees.ts';
import { applyFill, emptyPosition, settlePosition } from './positions.ts';
import type { Position } from './positions.ts';
import { BUY_NO, BUY_YES, FEE_BOUND_PER_UNIT, FEE_ROUNDING, HOLD, SELL_NO, SELL_YES, baseActionMask } from './features/actions.ts';
import type { MaskInputs, OrderStyle } from './features/actions.ts';
import type { OrderSide } from './order-state.ts';

/** How unexplained size reductions at our level move our queue position (see the module header). */
export type QueueModel = { kind: 'risk-averse' } | { kind: 'power'; n: number } | { kind: 'log' };

export const DEFAULT_QUEUE_MODEL: QueueModel = Object.freeze({ kind: 'risk-averse' }) as QueueModel;

export interface ReplayVenueConfig {
  startingCash: Micros;
  /** Largest |position| the trader may hold (Count). */
  maxPosition: Count;
  fees: FeeSchedule;
  queue: QueueModel;
  /** Balance precision for Kalshi's per-order rounding (Micros; default $0.01, a normal account). */
  accountPrecision: Micros;
}

/** One execution of ours, as the venue reports it (YES-leg side and price). */
export interface VenueFill {
  side: OrderSide;
  price: Price;
  count: Count;
  fee: Micros;
  taker: boolean;
}

const SLOTS = ONE_DOLLAR + 1;

export interface RestingOrder {
  active: boolean;
  /** YES-leg price. */
  price: Price;
  remaining: Count;
  /** Estimated size ahead of us at our level. */
  queueAhead: Count;
  /** Reductions of our level this timestamp not yet explained by a trade. */
  pendingReduction: Count;
  /** Trades at our price this timestamp whose delta has not arrived yet. */
  pendingTrade: Count;
  placedMs: number;
  /** A SELL: fills only what is still held when it executes. */
  closeOnly: boolean;
  /** The order's balance rounding across its fills. */
  rounding: FeeRounding | null;
}

function idleOrder(): RestingOrder {
  return { active: false, price: 0, remaining: 0, queueAhead: 0, pendingReduction: 0, pendingTrade: 0, placedMs: Number.NaN, closeOnly: false, rounding: null };
}

export class ReplayVenue {
  readonly book: OrderBook;
  readonly config: ReplayVenueConfig;
  /** False from a gap or refused delta until the next snapshot: no trading on an unknown book. */
  valid = false;
  position: Position;
  cash: Micros;
  /** Resting YES-leg bid (BUY_YES / SELL_NO join) and ask (SELL_YES / BUY_NO join). */
  readonly bid: RestingOrder = idleOrder();
  readonly ask: RestingOrder = idleOrder();
  fills = 0;
  feesPaid: Micros = 0;
  /** Filled since the caller last zeroed it (Count). */
  filledThisStep: Count = 0;
  /** Counts changes our orders made to the public book (a fill, an order placed or replaced). */
  ownBookChanges = 0;
  /** Told of every execution (the simulator's replay mode books them on the account). */
  onFill: ((fill: VenueFill) => void) | null = null;

  private readonly consumedYes = new Float64Array(SLOTS);
  private readonly consumedNo = new Float64Array(SLOTS);
  /** Prices with consumption (side × SLOTS + price); cleared on a lost book. */
  private touched: number[] = [];
  private readonly maskInputs: MaskInputs = { bookValid: false, yesBid: null, noBid: null, position: 0, cash: 0, maxPosition: 0 };
  private batchOpen = false;

  constructor(ticker: string, config: Partial<ReplayVenueConfig> = {}) {
    this.book = new OrderBook(ticker);
    this.config = {
      startingCash: config.startingCash ?? 100_000_000,
      maxPosition: config.maxPosition ?? 10_000,
      fees: config.fees ?? DEFAULT_FEE_SCHEDULE,
      queue: config.queue ?? DEFAULT_QUEUE_MODEL,
      accountPrecision: config.accountPrecision ?? CENT_PRECISION,
    };
    new FeeRounding(this.config.accountPrecision); // validates the precision
    const q = this.config.queue;
    if (q.kind === 'power' && !(Number.isFinite(q.n) && q.n > 0)) throw new RangeError(`power queue model needs n > 0, got ${q.n}`);
    this.position = emptyPosition(ticker);
    this.cash = this.config.startingCash;
    this.maskInputs.maxPosition = this.config.maxPosition;
  }

  reset(): void {
    this.book.clear();
    this.clearConsumed();
    this.valid = false;
    this.position = emptyPosition(this.book.ticker);
    this.cash = this.config.startingCash;
    this.bid.active = false;
    this.ask.active = false;
    this.fills = 0;
    this.feesPaid = 0;
    this.filledThisStep = 0;
    this.batchOpen = false;
  }

  // ------------------------------------------------------------ recorded events
  // Events of one exchange timestamp form a batch; the caller ends it with `endBatch()` before the
  // trader may act (the environment's decision ticks, the simulator's replay clock).

  applySnapshot(yes: ReadonlyArray<readonly [Price, Count]>, no: ReadonlyArray<readonly [Price, Count]>): void {
    this.batchOpen = true;
    try {
      this.book.applySnapshot(yes, no);
      this.valid = true;
    } catch (error) {
      if (!(error instanceof BookError)) throw error;
      this.lose();
      return;
    }
    this.reapplyConsumed();
  }

  /** A recorded delta (NO side in NO-leg prices). Invalidates the book if it would go negative. */
  applyDelta(side: 'yes' | 'no', price: Price, delta: Count): void {
    if (!this.valid) return;
    this.batchOpen = true;
    const consumed = side === 'yes' ? this.consumedYes : this.consumedNo;
    const c = consumed[price];
    let removedVisible = 0;
    try {
      if (c === 0 || delta > 0) {
        this.book.applyDelta(side, price, delta);
        if (delta < 0) removedVisible = -delta;
      } else {
        const visible = this.book.sizeAt(side, price);
        const recorded = visible + c + delta;
        if (recorded < 0) throw new BookError(`${this.book.ticker}: recorded level would go negative`);
        const left = Math.max(0, c + delta);
        consumed[price] = left;
        const change = recorded - left - visible;
        if (change !== 0) this.book.applyDelta(side, price, change);
        removedVisible = Math.max(0, -change);
      }
    } catch (error) {
      if (!(error instanceof BookError)) throw error;
      this.lose();
      return;
    }
    if (removedVisible > 0) {
      const order = this.restingAt(side, price);
      if (order) {
        // first explained by trades at our price already seen this timestamp
        const explained = Math.min(removedVisible, order.pendingTrade);
        order.pendingTrade -= explained;
        order.pendingReduction += removedVisible - explained;
      }
    }
  }

  /** A recorded trade; `takerSide` null when unknown (then only the price decides). */
  applyTrade(yesPrice: Price, count: Count, takerSide: 'yes' | 'no' | null): void {
    if (!this.valid) return;
    this.batchOpen = true;
    const bid = this.bid;
    // a seller (NO taker) hits bids: ours at or above the trade price
    if (bid.active && takerSide !== 'yes' && yesPrice <= bid.price) this.tradeAgainst(bid, 'bid', yesPrice === bid.price, count);
    const ask = this.ask;
    if (ask.active && takerSide !== 'no' && yesPrice >= ask.price) this.tradeAgainst(ask, 'ask', yesPrice === ask.price, count);
  }

  /** A recorded gap: the book is unknown until the next snapshot. */
  applyGap(): void {
    this.lose();
  }

  /**
   * Ends the current exchange timestamp: unexplained reductions at our levels are attributed by the
   * queue model, queue ahead is capped at the level's size, and a book that crosses a resting
   * order trades with it.
   */
  endBatch(): void {
    if (!this.batchOpen) return;
    this.batchOpen = false;
    if (!this.valid) return;
    if (this.bid.active) this.settleQueue(this.bid, 'yes', this.bid.price);
    if (this.ask.active) this.settleQueue(this.ask, 'no', ONE_DOLLAR - this.ask.price);
    this.checkCrossing();
  }

  // ------------------------------------------------------------ trader orders

  /** Executes a trader action now. Returns the count filled immediately. */
  act(base: number, size: Count, style: OrderStyle, tsMs: number): Count {
    if (base === HOLD || !this.valid || size <= 0) return 0;
    if (style === 'take') return this.take(base, size);
    this.join(base, size, tsMs);
    return 0;
  }

  /**
   * Liquidity the trader took somewhere else than `act` (the simulator's replay mode, where the
   * exchange matched the order): it stays consumed by the rules above. Capped at the level.
   */
  consume(side: 'yes' | 'no', price: Price, count: Count): void {
    if (!this.valid || count <= 0) return;
    const n = Math.min(count, this.book.sizeAt(side, price));
    if (n > 0) this.consumeLevel(side, price, n);
  }

  cancelAll(): void {
    this.bid.active = false;
    this.ask.active = false;
  }

  /**
   * A limit order of a rule strategy: buy (`bid`) or sell (`ask`) YES at `price` (YES leg), up to
   * `count`. A bid buys YES (closing NO first), an ask sells YES (closing YES first, then opening
   * NO), within the position limit and the cash. The marketable part executes at once against the
   * book up to the limit (taker fee per level); a post-only order that would is refused whole.
   * What is left rests in the side's slot (replacing an order at another price; one already at
   * this price is kept, queue and all) unless `immediate` (IOC). Returns the count filled now.
   */
  placeLimit(side: OrderSide, price: Price, count: Count, tsMs: number, options: { postOnly?: boolean; immediate?: boolean } = {}): Count {
    if (!this.valid || count <= 0 || price <= 0 || price >= ONE_DOLLAR) return 0;
    const book = this.book;
    const noBid = book.bestNoBid();
    const yesBid = book.bestYesBid();
    const marketable = side === 'bid' ? noBid !== null && ONE_DOLLAR - noBid <= price : yesBid !== null && yesBid >= price;
    if (marketable && options.postOnly) return 0;
    const base = side === 'bid' ? BUY_YES : BUY_NO;
    const filled = marketable ? this.take(base, count, price) : 0;
    const left = Math.min(count - filled, this.capacity(side === 'bid'));
    if (left <= 0 || options.immediate) return filled;
    const order = side === 'bid' ? this.bid : this.ask;
    const legPrice = side === 'bid' ? price : ONE_DOLLAR - price;
    this.rest(order, price, left, book.sizeAt(side === 'bid' ? 'yes' : 'no', legPrice), tsMs, false);
    return filled;
  }

  /** Cancels the resting order on one side (YES-leg bid or ask), if any. */
  cancel(side: OrderSide): void {
    (side === 'bid' ? this.bid : this.ask).active = false;
  }

  /** Pays out the position at $1 for the winning side. */
  settle(result: 'yes' | 'no'): void {
    this.cancelAll();
    const { position, revenue } = settlePosition(this.position, result);
    this.position = position;
    this.cash += revenue;
  }

  /** Whether each base action can do anything now, for `style` (out[HOLD..SELL_NO]); see `baseActionMask`. */
  baseMask(style: OrderStyle, out: Uint8Array): Uint8Array {
    const m = this.maskInputs;
    m.bookValid = this.valid;
    m.yesBid = this.book.bestYesBid();
    m.noBid = this.book.bestNoBid();
    m.position = this.position.position;
    m.cash = this.cash;
    return baseActionMask(style, m, out);
  }

  // ------------------------------------------------------------ internals

  /** Room to buy YES (position may grow to +max) / NO (to −max). */
  private capacity(buyYes: boolean): Count {
    const p = this.position.position;
    return Math.max(0, buyYes ? this.config.maxPosition - p : this.config.maxPosition + p);
  }

  /** A marketable order; `limit` (YES-leg price) stops the walk at levels worse than it. */
  private take(base: number, size: Count, limit: Price | null = null): Count {
    const pos = this.position.position;
    let want: Count;
    // BUY_YES and SELL_NO buy on the YES leg (walk the NO bids); SELL_YES and BUY_NO sell it.
    const yesLegBuy = base === BUY_YES || base === SELL_NO;
    if (base === BUY_YES) want = Math.min(size, this.capacity(true));
    else if (base === SELL_NO) want = Math.min(size, Math.max(0, -pos));
    else if (base === SELL_YES) want = Math.min(size, Math.max(0, pos));
    else if (base === BUY_NO) want = Math.min(size, this.capacity(false));
    else return 0;
    const opening = base === BUY_YES || base === BUY_NO;
    let filled = 0;
    let rounding: FeeRounding | null = null;
    const leg = yesLegBuy ? 'no' : 'yes';
    const book = this.book;
    for (let level = book.bestBid(leg); level !== null && want > 0; level = book.bestBid(leg)) {
      // the YES-leg execution price: buying YES at $1 − NO bid, selling YES at the YES bid
      const yesPrice = yesLegBuy ? ONE_DOLLAR - level.price : level.price;
      if (limit !== null && (yesLegBuy ? yesPrice > limit : yesPrice < limit)) break;
      let t = Math.min(want, level.size);
      if (opening) {
        const openPrice = base === BUY_YES ? yesPrice : ONE_DOLLAR - yesPrice;
        const affordable = Math.floor((this.cash - FEE_ROUNDING) / (openPrice + FEE_BOUND_PER_UNIT));
        if (affordable < t) t = Math.max(0, affordable);
      }
      if (t <= 0) break;
      rounding ??= new FeeRounding(this.config.accountPrecision);
      this.execute(yesLegBuy ? 'bid' : 'ask', yesPrice, t, takerFee(yesPrice, t, this.config.fees), true, rounding);
      this.consumeLevel(leg, level.price, t);
      want -= t;
      filled += t;
    }
    return filled;
  }

  private join(base: number, size: Count, tsMs: number): void {
    const book = this.book;
    const pos = this.position.position;
    if (base === BUY_YES || base === SELL_NO) {
      const price = book.bestYesBid();
      if (price === null) return;
      const count = base === BUY_YES ? Math.min(size, this.capacity(true)) : Math.min(size, Math.max(0, -pos));
      if (count <= 0) return;
      this.rest(this.bid, price, count, book.sizeAt('yes', price), tsMs, base === SELL_NO);
    } else if (base === SELL_YES || base === BUY_NO) {
      const noBid = book.bestNoBid();
      if (noBid === null) return;
      const count = base === BUY_NO ? Math.min(size, this.capacity(false)) : Math.min(size, Math.max(0, pos));
      if (count <= 0) return;
      this.rest(this.ask, ONE_DOLLAR - noBid, count, book.sizeAt('no', noBid), tsMs, base === SELL_YES);
    }
  }

  /** Replaces the resting order on that side, unless it already rests at that price (kept, queue and all). */
  private rest(order: RestingOrder, price: Price, count: Count, queueAhead: Count, tsMs: number, closeOnly: boolean): void {
    if (order.active && order.price === price) return;
    this.ownBookChanges++;
    order.active = true;
    order.price = price;
    order.remaining = count;
    order.queueAhead = queueAhead;
    order.pendingReduction = 0;
    order.pendingTrade = 0;
    order.placedMs = tsMs;
    order.closeOnly = closeOnly;
    order.rounding = null;
  }

  /** Our resting order at a book level (NO side in NO-leg prices), if any. */
  private restingAt(side: 'yes' | 'no', price: Price): RestingOrder | null {
    if (side === 'yes') return this.bid.active && this.bid.price === price ? this.bid : null;
    return this.ask.active && ONE_DOLLAR - this.ask.price === price ? this.ask : null;
  }

  private tradeAgainst(order: RestingOrder, side: OrderSide, atOurPrice: boolean, count: Count): void {
    if (!atOurPrice) {
      // through our price: we were ahead of everything it traded with
      this.fillResting(order, side, Math.min(count, order.remaining));
      return;
    }
    const fill = Math.max(0, count - order.queueAhead);
    order.queueAhead = Math.max(0, order.queueAhead - count);
    // the trade's own delta: already seen (pending reduction) or still to come (pending trade)
    const explained = Math.min(count, order.pendingReduction);
    order.pendingReduction -= explained;
    order.pendingTrade += count - explained;
    if (fill > 0) this.fillResting(order, side, Math.min(fill, order.remaining));
  }

  private settleQueue(order: RestingOrder, side: 'yes' | 'no', bookPrice: Price): void {
    const level = this.book.sizeAt(side, bookPrice);
    const cancelled = order.pendingReduction;
    order.pendingReduction = 0;
    order.pendingTrade = 0;
    let ahead = order.queueAhead;
    const q = this.config.queue;
    if (cancelled > 0 && q.kind !== 'risk-averse') {
      // the level before this timestamp's cancellations held `front` ahead of us and `back` behind
      const front = ahead;
      const back = Math.max(0, level + cancelled - front);
      const f = q.kind === 'power' ? (x: number) => Math.pow(x, q.n) : (x: number) => Math.log1p(x);
      const fb = f(back);
      const ff = f(front);
      const behind = fb + ff > 0 ? fb / (fb + ff) : 1;
      // the share in front leaves the queue ahead; what cannot have come from behind does too
      const estimate = front - (1 - behind) * cancelled + Math.min(back - behind * cancelled, 0);
      ahead = Math.ceil(Math.max(0, estimate));
    }
    // the size ahead of us is part of the displayed level
    order.queueAhead = Math.min(ahead, level);
  }

  private execute(side: OrderSide, yesPrice: Price, count: Count, fee: Micros, taker: boolean, rounding: FeeRounding): void {
    const { position, cashChange } = applyFill(this.position, { side, price: yesPrice, count, fee });
    // Kalshi floors the balance change to the account precision (rebating the residue per order)
    const revenue = cashChange + fee;
    const rounded = rounding.settleFill(revenue, fee);
    const netFee = revenue - rounded.balanceChange;
    if (netFee !== fee) position.feesPaid += netFee - fee;
    this.position = position;
    this.cash += rounded.balanceChange;
    this.fills++;
    this.ownBookChanges++;
    this.feesPaid += netFee;
    this.filledThisStep += count;
    this.onFill?.({ side, price: yesPrice, count, fee: netFee, taker });
  }

  private consumeLevel(leg: 'yes' | 'no', price: Price, count: Count): void {
    const consumed = leg === 'yes' ? this.consumedYes : this.consumedNo;
    if (consumed[price] === 0) {
      if (this.touched.length > 4096) this.touched = this.touched.filter((k) => (k >= SLOTS ? this.consumedNo[k - SLOTS] : this.consumedYes[k]) > 0);
      this.touched.push(leg === 'yes' ? price : SLOTS + price);
    }
    consumed[price] += count;
    this.book.applyDelta(leg, price, -count);
  }

  /** After a snapshot: what we took stays taken, up to the restated level's size. */
  private reapplyConsumed(): void {
    const touched = this.touched;
    for (let i = 0; i < touched.length; i++) {
      const k = touched[i];
      const leg = k >= SLOTS ? 'no' : 'yes';
      const price = k >= SLOTS ? k - SLOTS : k;
      const consumed = leg === 'yes' ? this.consumedYes : this.consumedNo;
      const c = Math.min(consumed[price], this.book.sizeAt(leg, price));
      consumed[price] = c;
      if (c > 0) this.book.applyDelta(leg, price, -c);
    }
  }

  private lose(): void {
    this.clearConsumed();
    this.valid = false;
    this.bid.pendingReduction = this.bid.pendingTrade = 0;
    this.ask.pendingReduction = this.ask.pendingTrade = 0;
  }

  private clearConsumed(): void {
    const touched = this.touched;
    for (let i = 0; i < touched.length; i++) {
      const k = touched[i];
      if (k >= SLOTS) this.consumedNo[k - SLOTS] = 0;
      else this.consumedYes[k] = 0;
    }
    touched.length = 0;
  }

  /** How much of `count` the resting order may still fill: close-only caps, cash for openings. */
  private fillable(order: RestingOrder, side: OrderSide, count: Count): Count {
    const pos = this.position.position;
    if (order.closeOnly) return Math.min(count, side === 'bid' ? Math.max(0, -pos) : Math.max(0, pos));
    const openPrice = side === 'bid' ? order.price : ONE_DOLLAR - order.price;
    const room = side === 'bid' ? this.capacity(true) : this.capacity(false);
    const affordable = Math.floor((this.cash - FEE_ROUNDING) / (openPrice + FEE_BOUND_PER_UNIT));
    return Math.max(0, Math.min(count, room, affordable));
  }

  private fillResting(order: RestingOrder, side: OrderSide, count: Count): void {
    if (count <= 0) return;
    const n = this.fillable(order, side, count);
    if (n > 0) {
      order.rounding ??= new FeeRounding(this.config.accountPrecision);
      this.execute(side, order.price, n, makerFee(order.price, n, this.config.fees), false, order.rounding);
    }
    // what cannot be filled any more (position closed, no cash) is canceled with the rest
    order.remaining -= count;
    if (order.remaining <= 0 || n < count) order.active = false;
  }

  /** The recorded book crossed a resting order: it trades with the crossing liquidity, at its price. */
  private checkCrossing(): void {
    const book = this.book;
    const bid = this.bid;
    // a NO bid at n is a YES ask at $1 − n: it crosses our bid when $1 − n ≤ bid price
    for (let n = book.bestNoBid(); bid.active && n !== null && ONE_DOLLAR - n <= bid.price; n = book.bestNoBid()) {
      const want = Math.min(bid.remaining, book.sizeAt('no', n));
      const filled = this.fillable(bid, 'bid', want);
      this.fillResting(bid, 'bid', want);
      if (filled <= 0) break;
      this.consumeLevel('no', n, filled);
    }
    const ask = this.ask;
    for (let y = book.bestYesBid(); ask.active && y !== null && y >= ask.price; y = book.bestYesBid()) {
      const want = Math.min(ask.remaining, book.sizeAt('yes', y));
      const filled = this.fillable(ask, 'ask', want);
      this.fillResting(ask, 'ask', want);
      if (filled <= 0) break;
      this.consumeLevel('yes', y, filled);
    }
  }
}
