/**
 * The RL environment's fill model: one agent trading against a recorded book replayed event by
 * event. Kept here rather than reusing `src/sim/exchange.ts`, whose order objects, accounts and
 * event streams cost far more per step than the ≥ 200,000 steps/s the trainer needs, and which
 * matches orders against each other — a replay has no counterparties, only a recorded book.
 *
 * The book (`book`) is the recorded one minus the liquidity the agent took:
 * - marketable orders walk the opposite levels at book prices; what they take is "consumed": the
 *   level shows the recorded size minus what we took. Liquidity the recording adds later shows up
 *   normally (the level is replenished); what the recording removes later is taken from our
 *   consumed part first (we took the front of the queue, which is what trades away first), so
 *   the offset disappears once the recorded book has lost those contracts too. Snapshots keep the
 *   offset (capped at the restated level);
 * - passive orders rest at the own leg's best bid, not in the book (the recording does not contain
 *   them), with a queue position = the size ahead at placement; recorded decreases of that level
 *   shrink the queue; they fill (at their price, as maker) when a recorded trade reaches them or
 *   the recorded book crosses their price (someone would have traded with them). Optimistic in one
 *   way: every decrease of the level counts as queue ahead leaving, whether it was ahead or not.
 *
 * Fees are Kalshi's (`src/core/fees.ts`), per level fill; positions and cash follow
 * `src/core/positions.ts` (`applyFill`, netting). Money stays integer (Micros, Price, Count).
 */
import { BookError, OrderBook } from '../core/orderbook.ts';
import { ONE_DOLLAR } from '../core/money.ts';
import type { Count, Micros, Price } from '../core/money.ts';
import { DEFAULT_FEE_SCHEDULE, makerFee, takerFee } from '../core/fees.ts';
import type { FeeSchedule } from '../core/fees.ts';
import { applyFill, emptyPosition, settlePosition } from '../core/positions.ts';
import type { Position } from '../core/positions.ts';
import { BUY_NO, BUY_YES, FEE_BOUND_PER_UNIT, FEE_ROUNDING, HOLD, SELL_NO, SELL_YES, baseActionMask } from '../core/features/actions.ts';
import type { MaskInputs, OrderStyle } from '../core/features/actions.ts';

export interface MarketSimConfig {
  startingCash: Micros;
  /** Largest |position| the agent may hold (Count). */
  maxPosition: Count;
  fees: FeeSchedule;
}

const SLOTS = ONE_DOLLAR + 1;

export interface RestingOrder {
  active: boolean;
  /** YES-leg price. */
  price: Price;
  remaining: Count;
  queueAhead: Count;
  placedMs: number;
  /** A SELL: fills only what is still held when it executes. */
  closeOnly: boolean;
}

function idleOrder(): RestingOrder {
  return { active: false, price: 0, remaining: 0, queueAhead: 0, placedMs: Number.NaN, closeOnly: false };
}

export class MarketSim {
  readonly book: OrderBook;
  readonly config: MarketSimConfig;
  /** False from a gap or refused delta until the next snapshot: no trading on an unknown book. */
  valid = false;
  position: Position;
  cash: Micros;
  /** Resting YES-leg bid (BUY_YES / SELL_NO join) and ask (SELL_YES / BUY_NO join). */
  readonly bid: RestingOrder = idleOrder();
  readonly ask: RestingOrder = idleOrder();
  fills = 0;
  feesPaid: Micros = 0;
  /** Filled this step (Count), for `info`. */
  filledThisStep: Count = 0;

  private readonly consumedYes = new Float64Array(SLOTS);
  private readonly consumedNo = new Float64Array(SLOTS);
  /** Prices with consumption (side × SLOTS + price); cleared on snapshots. */
  private touched: number[] = [];
  private readonly maskInputs: MaskInputs = { bookValid: false, yesBid: null, noBid: null, position: 0, cash: 0, maxPosition: 0 };

  constructor(ticker: string, config: Partial<MarketSimConfig> = {}) {
    this.book = new OrderBook(ticker);
    this.config = {
      startingCash: config.startingCash ?? 100_000_000,
      maxPosition: config.maxPosition ?? 10_000,
      fees: config.fees ?? DEFAULT_FEE_SCHEDULE,
    };
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
  }

  // ------------------------------------------------------------ recorded events

  applySnapshot(yes: ReadonlyArray<readonly [Price, Count]>, no: ReadonlyArray<readonly [Price, Count]>, tsMs: number): void {
    try {
      this.book.applySnapshot(yes, no);
      this.valid = true;
    } catch (error) {
      if (!(error instanceof BookError)) throw error;
      this.clearConsumed();
      this.valid = false;
      return;
    }
    this.reapplyConsumed();
    if (this.bid.active) this.bid.queueAhead = Math.min(this.bid.queueAhead, this.book.sizeAt('yes', this.bid.price));
    if (this.ask.active) this.ask.queueAhead = Math.min(this.ask.queueAhead, this.book.sizeAt('no', ONE_DOLLAR - this.ask.price));
    this.checkCrossing(tsMs);
  }

  /** A recorded delta (NO side in NO-leg prices). Invalidates the book if it would go negative. */
  applyDelta(side: 'yes' | 'no', price: Price, delta: Count, tsMs: number): void {
    if (!this.valid) return;
    const consumed = side === 'yes' ? this.consumedYes : this.consumedNo;
    const c = consumed[price];
    try {
      if (c === 0 || delta > 0) {
        this.book.applyDelta(side, price, delta);
      } else {
        const visible = this.book.sizeAt(side, price);
        const recorded = visible + c + delta;
        if (recorded < 0) throw new BookError(`${this.book.ticker}: recorded level would go negative`);
        const left = Math.max(0, c + delta);
        consumed[price] = left;
        const change = recorded - left - visible;
        if (change !== 0) this.book.applyDelta(side, price, change);
      }
    } catch (error) {
      if (!(error instanceof BookError)) throw error;
      this.valid = false;
      return;
    }
    if (delta < 0) {
      if (this.bid.active && side === 'yes' && price === this.bid.price) {
        this.bid.queueAhead = Math.max(0, this.bid.queueAhead + delta);
      } else if (this.ask.active && side === 'no' && price === ONE_DOLLAR - this.ask.price) {
        this.ask.queueAhead = Math.max(0, this.ask.queueAhead + delta);
      }
    }
    this.checkCrossing(tsMs);
  }

  /** A recorded trade; `takerSide` null when unknown (then only the price decides). */
  applyTrade(yesPrice: Price, count: Count, takerSide: 'yes' | 'no' | null): void {
    if (!this.valid) return;
    const bid = this.bid;
    // a seller (NO taker) hits bids: ours at or above the trade price
    if (bid.active && takerSide !== 'yes' && yesPrice <= bid.price) {
      const fill = yesPrice < bid.price ? bid.remaining : Math.max(0, count - bid.queueAhead);
      bid.queueAhead = Math.max(0, bid.queueAhead - count);
      if (fill > 0) this.fillResting(bid, 'bid', Math.min(fill, bid.remaining));
    }
    const ask = this.ask;
    if (ask.active && takerSide !== 'no' && yesPrice >= ask.price) {
      const fill = yesPrice > ask.price ? ask.remaining : Math.max(0, count - ask.queueAhead);
      ask.queueAhead = Math.max(0, ask.queueAhead - count);
      if (fill > 0) this.fillResting(ask, 'ask', Math.min(fill, ask.remaining));
    }
  }

  /** A recorded gap: the book is unknown until the next snapshot. */
  applyGap(): void {
    this.valid = false;
  }

  // ------------------------------------------------------------ agent orders

  /** Executes an agent action now. Returns the count filled immediately. */
  act(base: number, size: Count, style: OrderStyle, tsMs: number): Count {
    if (base === HOLD || !this.valid || size <= 0) return 0;
    if (style === 'take') return this.take(base, size);
    this.join(base, size, tsMs);
    return 0;
  }

  /** Room to buy YES (position may grow to +max) / NO (to −max). */
  private capacity(buyYes: boolean): Count {
    const p = this.position.position;
    return Math.max(0, buyYes ? this.config.maxPosition - p : this.config.maxPosition + p);
  }

  private take(base: number, size: Count): Count {
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
    const leg = yesLegBuy ? 'no' : 'yes';
    const book = this.book;
    for (let level = book.bestBid(leg); level !== null && want > 0; level = book.bestBid(leg)) {
      // the YES-leg execution price: buying YES at $1 − NO bid, selling YES at the YES bid
      const yesPrice = yesLegBuy ? ONE_DOLLAR - level.price : level.price;
      let t = Math.min(want, level.size);
      if (opening) {
        const openPrice = base === BUY_YES ? yesPrice : ONE_DOLLAR - yesPrice;
        const affordable = Math.floor((this.cash - FEE_ROUNDING) / (openPrice + FEE_BOUND_PER_UNIT));
        if (affordable < t) t = Math.max(0, affordable);
      }
      if (t <= 0) break;
      this.execute(yesLegBuy ? 'bid' : 'ask', yesPrice, t, takerFee(yesPrice, t, this.config.fees));
      this.consume(leg, level.price, t);
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

  /** Replaces the resting order on that side (one per side, as the original's "one order per market"). */
  private rest(order: RestingOrder, price: Price, count: Count, queueAhead: Count, tsMs: number, closeOnly: boolean): void {
    order.active = true;
    order.price = price;
    order.remaining = count;
    order.queueAhead = queueAhead;
    order.placedMs = tsMs;
    order.closeOnly = closeOnly;
  }

  cancelAll(): void {
    this.bid.active = false;
    this.ask.active = false;
  }

  /** Pays out the position at $1 for the winning side. */
  settle(result: 'yes' | 'no'): void {
    this.cancelAll();
    const { position, revenue } = settlePosition(this.position, result);
    this.position = position;
    this.cash += revenue;
  }

  // ------------------------------------------------------------ internals

  private execute(side: 'bid' | 'ask', yesPrice: Price, count: Count, fee: Micros): void {
    const { position, cashChange } = applyFill(this.position, { side, price: yesPrice, count, fee });
    this.position = position;
    this.cash += cashChange;
    this.fills++;
    this.feesPaid += fee;
    this.filledThisStep += count;
  }

  private consume(leg: 'yes' | 'no', price: Price, count: Count): void {
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
  private fillable(order: RestingOrder, side: 'bid' | 'ask', count: Count): Count {
    const pos = this.position.position;
    if (order.closeOnly) return Math.min(count, side === 'bid' ? Math.max(0, -pos) : Math.max(0, pos));
    const openPrice = side === 'bid' ? order.price : ONE_DOLLAR - order.price;
    const room = side === 'bid' ? this.capacity(true) : this.capacity(false);
    const affordable = Math.floor((this.cash - FEE_ROUNDING) / (openPrice + FEE_BOUND_PER_UNIT));
    return Math.max(0, Math.min(count, room, affordable));
  }

  private fillResting(order: RestingOrder, side: 'bid' | 'ask', count: Count): void {
    const n = this.fillable(order, side, count);
    if (n > 0) this.execute(side, order.price, n, makerFee(order.price, n, this.config.fees));
    // what cannot be filled any more (position closed, no cash) is canceled with the rest
    order.remaining -= count;
    if (order.remaining <= 0 || n < count) order.active = false;
  }

  /** The recorded book crossed a resting order: it trades with the crossing liquidity, at its price. */
  private checkCrossing(_tsMs: number): void {
    const book = this.book;
    const bid = this.bid;
    // a NO bid at n is a YES ask at $1 − n: it crosses our bid when $1 − n ≤ bid price
    for (let n = book.bestNoBid(); bid.active && n !== null && ONE_DOLLAR - n <= bid.price; n = book.bestNoBid()) {
      const want = Math.min(bid.remaining, book.sizeAt('no', n));
      const filled = this.fillable(bid, 'bid', want);
      this.fillResting(bid, 'bid', want);
      if (filled <= 0) break;
      this.consume('no', n, filled);
    }
    const ask = this.ask;
    for (let y = book.bestYesBid(); ask.active && y !== null && y >= ask.price; y = book.bestYesBid()) {
      const want = Math.min(ask.remaining, book.sizeAt('yes', y));
      const filled = this.fillable(ask, 'ask', want);
      this.fillResting(ask, 'ask', want);
      if (filled <= 0) break;
      this.consume('yes', y, filled);
    }
  }

  // ------------------------------------------------------------ masks

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
}
