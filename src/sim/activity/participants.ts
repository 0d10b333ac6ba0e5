/**
 * Synthetic participants of a simulated market, trading through the exchange as their own users:
 * market makers that quote both sides around the fair value with a spread drawn from a range and
 * a few levels of random depth (cancel and requote when hit or when fair moves), and takers that
 * send immediate-or-cancel orders into the book, mostly on the side the fair value favours, and
 * (when a market has one) an informed taker who knows where the fair value is going.
 * Part of src/sim/activity; driven by SyntheticActivity on the injected clock.
 */
import type { Count, Price } from '../../core/money.ts';
import { complement, ONE_DOLLAR } from '../../core/money.ts';
import { nextTickDown, nextTickUp, roundToTick, type PriceRange } from '../../core/ticks.ts';
import type { BookSide, ExchangeApi } from '../exchange.types.ts';
import type { Rng } from '../../core/random.ts';

export interface SpreadRange {
  min: Price;
  max: Price;
}

/** Fair probability → the nearest Price (a probability of 0.4237 → 4237). */
export function fairPrice(probability: number): Price {
  return Math.min(ONE_DOLLAR - 1, Math.max(1, Math.round(probability * ONE_DOLLAR)));
}

/**
 * Best bid and ask for a quote of spread `spread` around `center`, on the grid, with the center
 * inside [bid, ask] and ask − bid within `range`. A side that falls off the grid is null; if the
 * grid cannot honour the range, the ask is dropped rather than quoted too wide or too narrow.
 */
export function quotePrices(center: Price, spread: Price, range: SpreadRange, ranges: readonly PriceRange[]): { bid: Price | null; ask: Price | null } {
  const half = Math.floor(spread / 2);
  const bid = roundToTick(center - half, ranges, 'down');
  let ask = roundToTick(center + (spread - half), ranges, 'up');
  if (bid === null || ask === null) return { bid, ask };
  // rounding outwards can widen the quote past the range; pull the ask in, then out if too narrow
  if (ask - bid > range.max) ask = roundToTick(bid + range.max, ranges, 'down');
  if (ask !== null && ask - bid < range.min) ask = roundToTick(bid + range.min, ranges, 'up');
  if (ask === null || ask <= bid || ask - bid > range.max || ask - bid < range.min) return { bid, ask: null };
  return { bid, ask };
}

function stepAway(price: Price, ticks: number, direction: 'up' | 'down', ranges: readonly PriceRange[]): Price | null {
  let p: Price | null = price;
  for (let i = 0; i < ticks && p !== null; i++) p = direction === 'up' ? nextTickUp(p, ranges) : nextTickDown(p, ranges);
  return p;
}

/** A random order size: whole contracts mostly, sometimes fractional (Kalshi allows 0.01). */
function drawCount(rng: Rng, maxContracts: number): Count {
  return rng.chance(0.1) ? rng.int(1, maxContracts * 100) : rng.int(1, maxContracts) * 100;
}

export class MarketMaker {
  private resting: string[] = [];
  /** Spread of the last two-sided quote placed, for statistics. */
  lastQuotedSpread: Price | null = null;

  constructor(
    readonly userId: string,
    private readonly ticker: string,
    private readonly ranges: readonly PriceRange[],
    private readonly spread: SpreadRange,
    private readonly maxContracts: number,
  ) {}

  /** True when the quote is gone, partly filled, or never placed. */
  needsRequote(exchange: ExchangeApi): boolean {
    if (this.resting.length === 0) return true;
    for (const id of this.resting) {
      const order = exchange.getOrder(this.userId, id);
      if (!order || order.status !== 'resting' || order.fillCount > 0) return true;
    }
    return false;
  }

  cancelAll(exchange: ExchangeApi): void {
    for (const id of this.resting) exchange.cancelOrder(this.userId, id);
    this.resting = [];
  }

  /** Places a fresh quote around `center`; returns its spread when two-sided. */
  quote(exchange: ExchangeApi, center: Price, rng: Rng): Price | null {
    const spread = rng.int(this.spread.min, this.spread.max);
    const { bid, ask } = quotePrices(center, spread, this.spread, this.ranges);
    const levels = rng.int(1, 3);
    const gapTicks = rng.int(1, 3);
    for (let level = 0; level < levels; level++) {
      const b = bid === null ? null : stepAway(bid, level * gapTicks, 'down', this.ranges);
      const a = ask === null ? null : stepAway(ask, level * gapTicks, 'up', this.ranges);
      if (b !== null) this.place(exchange, 'bid', b, drawCount(rng, this.maxContracts));
      if (a !== null) this.place(exchange, 'ask', a, drawCount(rng, this.maxContracts));
    }
    this.lastQuotedSpread = bid !== null && ask !== null ? ask - bid : null;
    return this.lastQuotedSpread;
  }

  private place(exchange: ExchangeApi, side: BookSide, price: Price, count: Count): void {
    const outcome = exchange.createOrder({
      userId: this.userId,
      ticker: this.ticker,
      side,
      price,
      count,
      timeInForce: 'good_till_canceled',
      selfTradePrevention: 'taker_at_cross',
    });
    // a quote that traded in full on arrival (crossing a stale quote) has nothing left to track
    if (outcome.ok && outcome.value.order.status === 'resting') this.resting.push(outcome.value.order.orderId);
  }
}

export class Taker {
  constructor(
    readonly userId: string,
    private readonly ticker: string,
    private readonly ranges: readonly PriceRange[],
    private readonly maxContracts: number,
  ) {}

  /**
   * Sends one immediate-or-cancel order through the top of the book, sometimes a few ticks
   * deeper. Usually "informed" (buys when fair is above the mid); returns false if the side it
   * wanted to hit was empty.
   */
  act(exchange: ExchangeApi, fair: Price, rng: Rng): boolean {
    const book = exchange.bookLevels(this.ticker);
    if (!book) return false;
    const bestBid = book.yes.at(-1)?.[0] ?? null;
    const bestNo = book.no.at(-1)?.[0];
    const bestAsk = bestNo === undefined ? null : complement(bestNo);
    const mid = bestBid !== null && bestAsk !== null ? (bestBid + bestAsk) / 2 : fair;
    const side: BookSide = rng.chance(0.65) ? (fair >= mid ? 'bid' : 'ask') : rng.chance(0.5) ? 'bid' : 'ask';
    const touch = side === 'bid' ? bestAsk : bestBid;
    if (touch === null) return false;
    const sweep = rng.chance(0.2) ? rng.int(1, 3) : 0;
    const limit = stepAway(touch, sweep, side === 'bid' ? 'up' : 'down', this.ranges) ?? touch;
    exchange.createOrder({
      userId: this.userId,
      ticker: this.ticker,
      side,
      price: limit,
      count: drawCount(rng, this.maxContracts),
      timeInForce: 'immediate_or_cancel',
      selfTradePrevention: 'taker_at_cross',
    });
    return true;
  }
}

/**
 * The informed taker: it knows the fair value a little ahead (`target`, from the driver: the next
 * scheduled jump within its lead, or where the drift takes the fair value) and trades toward it
 * with an immediate-or-cancel order at the touch — buying when the target is above the best ask,
 * selling when it is below the best bid — so quotes resting ahead of a jump or against a trend
 * are picked off. No edge, no order.
 */
export class InformedTaker {
  constructor(
    readonly userId: string,
    private readonly ticker: string,
    private readonly maxContracts: number,
  ) {}

  /** True when it sent an order. */
  act(exchange: ExchangeApi, target: Price, rng: Rng): boolean {
    const book = exchange.bookLevels(this.ticker);
    if (!book) return false;
    const bestBid = book.yes.at(-1)?.[0] ?? null;
    const bestNo = book.no.at(-1)?.[0];
    const bestAsk = bestNo === undefined ? null : complement(bestNo);
    let side: BookSide;
    let price: Price;
    if (bestAsk !== null && target > bestAsk) {
      side = 'bid';
      price = bestAsk;
    } else if (bestBid !== null && target < bestBid) {
      side = 'ask';
      price = bestBid;
    } else {
      return false;
    }
    exchange.createOrder({
      userId: this.userId,
      ticker: this.ticker,
      side,
      price,
      count: drawCount(rng, this.maxContracts),
      timeInForce: 'immediate_or_cancel',
      selfTradePrevention: 'taker_at_cross',
    });
    return true;
  }
}
