/**
 * `spread-quoter`: a simple market maker. When the others' spread is at least `minSpreadTicks`
 * wide it quotes one bid and one ask inside it, each one tick better than the best price, with
 * post-only GTC orders. Inventory: a side whose fill would take |position| past `maxInventory` is
 * not quoted; while holding inventory, the side that would grow it joins the best price instead of
 * improving it. A quote that is no longer where it should be (the book moved) is canceled, and the
 * side is re-quoted on a later tick, once the cancel has been confirmed.
 *
 * The book includes our own resting quotes, so "the best" is computed from the book minus our own
 * size at each level — otherwise the quoter would keep outbidding itself.
 */
import { z } from 'zod';
import { ONE_DOLLAR, type Count, type Price } from '../money.ts';
import type { OrderSide, TimeInForce } from '../order-state.ts';
import type { OutcomeSide } from '../orderbook.ts';
import { nextTickDown, nextTickUp, roundToTick, type PriceRange } from '../ticks.ts';
import type { BookView, Decision, MarketView, OwnOrder, SyncStrategy } from './types.ts';

export const spreadQuoterOptionsSchema = z
  .object({
    /** The others' spread must span at least this many ticks. */
    minSpreadTicks: z.number().int().min(2).default(2),
    /** Count per quote (1/100 contract). */
    size: z.number().int().positive().default(100),
    /** Max |position| a fill may lead to (1/100 contract). */
    maxInventory: z.number().int().nonnegative().default(1_000),
    timeInForce: z.enum(['good_till_canceled', 'immediate_or_cancel', 'fill_or_kill']).default('good_till_canceled'),
    postOnly: z.boolean().default(true),
  })
  .strict();

export type SpreadQuoterOptions = z.infer<typeof spreadQuoterOptionsSchema>;

export interface QuoteTargets {
  bid: Price | null;
  ask: Price | null;
  /** Why a side is not quoted, when it is not. */
  reason: string;
}

/**
 * The best bid on one leg, not counting our own orders: the first level (best first) with more
 * size than we rest there ourselves. `ownByLegPrice` maps a leg price to our resting count there.
 */
export function othersBest(book: BookView, leg: OutcomeSide, ownByLegPrice: ReadonlyMap<Price, Count>): Price | null {
  const levels = book.depth(leg, ownByLegPrice.size + 1);
  for (const level of levels) {
    if (level.size > (ownByLegPrice.get(level.price) ?? 0)) return level.price;
  }
  return null;
}

/** Number of ticks strictly above `low` up to and including `high`, counting at most `cap`. */
function ticksBetween(low: Price, high: Price, ranges: readonly PriceRange[], cap: number): number {
  let n = 0;
  let p: Price | null = low;
  while (n < cap) {
    p = nextTickUp(p, ranges);
    if (p === null || p > high) break;
    n++;
  }
  return n;
}

/** Where to quote given the others' best bid and ask (YES-leg prices) and our position. Pure. */
export function quoteTargets(
  bestBid: Price,
  bestAsk: Price,
  position: Count,
  options: SpreadQuoterOptions,
  ranges: readonly PriceRange[],
): QuoteTargets {
  if (ticksBetween(bestBid, bestAsk, ranges, options.minSpreadTicks) < options.minSpreadTicks) {
    return { bid: null, ask: null, reason: `spread below ${options.minSpreadTicks} ticks` };
  }
  // Holding YES: stop competing to buy more. Holding NO: stop competing to sell YES.
  const improveBid = position <= 0;
  let improveAsk = position >= 0;
  const improvedBid = nextTickUp(bestBid, ranges);
  const improvedAsk = nextTickDown(bestAsk, ranges);
  // A two-tick spread leaves room to improve one side only; the bid goes first when flat.
  if (improveBid && improveAsk && improvedBid !== null && improvedAsk !== null && improvedBid >= improvedAsk) {
    improveAsk = false;
  }
  let bid = improveBid ? improvedBid : roundToTick(bestBid, ranges, 'down');
  let ask = improveAsk ? improvedAsk : roundToTick(bestAsk, ranges, 'up');
  const reasons: string[] = [];
  if (position + options.size > options.maxInventory) {
    bid = null;
    reasons.push('bid would exceed max inventory');
  }
  if (position - options.size < -options.maxInventory) {
    ask = null;
    reasons.push('ask would exceed max inventory');
  }
  if (bid !== null && ask !== null && bid >= ask) {
    // unreachable on a sane grid with ≥ 2 ticks of spread; never quote crossed with ourselves
    return { bid: null, ask: null, reason: 'quotes would cross' };
  }
  return { bid, ask, reason: reasons.join('; ') };
}

/** Cancels every own order not already being canceled. */
export function cancelAll(own: ReadonlyArray<OwnOrder>, reason: string): Decision[] {
  return own.filter((o) => !o.cancelPending).map((o) => ({ kind: 'cancel', clientOrderId: o.clientOrderId, reason }));
}

/**
 * The others' best bid and ask (YES-leg prices) of a view, our own resting size taken out of the
 * book (`ownBids` by YES price, `ownAsksAsNo` by NO-leg price), or why there is none.
 */
export function othersTouch(
  view: MarketView,
):
  | { kind: 'touch'; book: BookView; bestBid: Price; bestAsk: Price; ownBids: Map<Price, Count>; ownAsksAsNo: Map<Price, Count> }
  | { kind: 'none'; reason: string } {
  if (view.book === null) return { kind: 'none', reason: 'no book' };
  const ownBids = new Map<Price, Count>();
  const ownAsksAsNo = new Map<Price, Count>();
  for (const o of view.openOrders) {
    // our ask at YES price p rests in the book as a NO bid at $1 − p
    const map = o.side === 'bid' ? ownBids : ownAsksAsNo;
    const legPrice = o.side === 'bid' ? o.price : ONE_DOLLAR - o.price;
    map.set(legPrice, (map.get(legPrice) ?? 0) + o.remaining);
  }
  const bestBid = othersBest(view.book, 'yes', ownBids);
  const bestNoBid = othersBest(view.book, 'no', ownAsksAsNo);
  if (bestBid === null || bestNoBid === null) return { kind: 'none', reason: 'one-sided book' };
  return { kind: 'touch', book: view.book, bestBid, bestAsk: ONE_DOLLAR - bestNoBid, ownBids, ownAsksAsNo };
}

/** A rule strategy's options, checked by its schema; a bad value is one error naming each field. */
export function parseStrategyOptions<S extends z.ZodType>(name: string, schema: S, rawOptions: unknown): z.output<S> {
  const parsed = schema.safeParse(rawOptions ?? {});
  if (!parsed.success) {
    throw new Error(`${name} options: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

export function createSpreadQuoter(rawOptions: unknown = {}): SyncStrategy {
  const options = parseStrategyOptions('spread-quoter', spreadQuoterOptionsSchema, rawOptions);

  return {
    name: 'spread-quoter',
    needsBook: true,
    decide(view: MarketView): Decision[] {
      const own = view.openOrders;
      const touch = othersTouch(view);
      if (touch.kind === 'none') return cancelAll(own, touch.reason);
      const { bestBid, bestAsk } = touch;

      const targets = quoteTargets(bestBid, bestAsk, view.position, options, view.priceRanges);
      const decisions: Decision[] = [];
      for (const side of ['bid', 'ask'] as const) {
        const target = side === 'bid' ? targets.bid : targets.ask;
        decisions.push(...quoteSide(view, side, target, targets.reason, own, options));
      }
      return decisions;
    },
  };
}

/** How a quoted side's orders are sent (the spread-quoter's and the imbalance strategy's). */
export interface QuoteOrderOptions {
  size: Count;
  timeInForce: string;
  postOnly: boolean;
}

/**
 * One side of a quote: keep the one order already at the target, cancel the rest; place only when
 * nothing is left on the side (a replaced order is re-placed once its cancel is confirmed).
 */
export function quoteSide(
  view: MarketView,
  side: OrderSide,
  target: Price | null,
  reason: string,
  own: ReadonlyArray<OwnOrder>,
  options: QuoteOrderOptions,
): Decision[] {
  const out: Decision[] = [];
  let kept = false;
  let waiting = false;
  for (const o of own) {
    if (o.side !== side) continue;
    if (o.cancelPending) {
      waiting = true;
      continue;
    }
    if (!kept && target !== null && o.price === target) {
      kept = true;
      continue;
    }
    out.push({
      kind: 'cancel',
      clientOrderId: o.clientOrderId,
      reason: target === null ? `not quoting ${side}: ${reason}` : `stale ${side} at ${o.price}, target ${target}`,
    });
    waiting = true;
  }
  if (!kept && !waiting && target !== null) {
    out.push({
      kind: 'place',
      intent: {
        ticker: view.ticker,
        side,
        price: target,
        count: options.size,
        timeInForce: options.timeInForce as TimeInForce,
        postOnly: options.postOnly,
      },
    });
  }
  return out;
}
