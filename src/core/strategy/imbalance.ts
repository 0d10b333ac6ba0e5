/**
 * `imbalance`: a one-sided quoter that follows the order book's imbalance. It sums the others'
 * size on the best `levels` levels of each leg (YES bids = demand, NO bids = supply of YES) into
 * imbalance = (bids − asks) / (bids + asks) ∈ [−1, 1]; at or above `threshold` it rests a limit
 * bid at the best bid (one tick better with `improve`, when the spread has room), at or below
 * −`threshold` a limit ask at the best ask; in between it quotes nothing. The side the imbalance
 * does not point to is canceled. Inventory: a side whose fill would take |position| past
 * `maxInventory` is not quoted, so a position is only ever closed by the next signal the other
 * way. Post-only GTC orders, like the spread-quoter's; our own resting size is not counted as the
 * others' (the book includes our quotes).
 */
import { z } from 'zod';
import type { Count, Price } from '../money.ts';
import type { OutcomeSide } from '../orderbook.ts';
import { nextTickDown, nextTickUp } from '../ticks.ts';
import { cancelAll, othersTouch, parseStrategyOptions, quoteSide } from './spread-quoter.ts';
import type { BookView, Decision, MarketView, SyncStrategy } from './types.ts';

export const imbalanceOptionsSchema = z
  .object({
    /** Levels of each leg summed (best first). */
    levels: z.number().int().min(1).max(20).default(3),
    /** |imbalance| from which a side is quoted, in (0, 1]. */
    threshold: z.number().gt(0).max(1).default(0.3),
    /** Count per order (1/100 contract). */
    size: z.number().int().positive().default(100),
    /** Max |position| a fill may lead to (1/100 contract). */
    maxInventory: z.number().int().nonnegative().default(1_000),
    /** Improve the best price by one tick when the spread leaves room (else join it). */
    improve: z.boolean().default(false),
    postOnly: z.boolean().default(true),
  })
  .strict();

export type ImbalanceOptions = z.infer<typeof imbalanceOptionsSchema>;

/** The others' size on the best `levels` levels of a leg (our own resting size taken out). */
function othersDepth(book: BookView, leg: OutcomeSide, levels: number, own: ReadonlyMap<Price, Count>): Count {
  let total = 0;
  let counted = 0;
  for (const level of book.depth(leg, levels + own.size)) {
    const others = level.size - (own.get(level.price) ?? 0);
    if (others <= 0) continue;
    total += others;
    if (++counted >= levels) break;
  }
  return total;
}

/** (bids − asks) / (bids + asks) over the others' best levels; null when both legs are empty. */
export function bookImbalance(book: BookView, levels: number, ownBids: ReadonlyMap<Price, Count>, ownAsksAsNo: ReadonlyMap<Price, Count>): number | null {
  const bids = othersDepth(book, 'yes', levels, ownBids);
  const asks = othersDepth(book, 'no', levels, ownAsksAsNo);
  return bids + asks > 0 ? (bids - asks) / (bids + asks) : null;
}

export function createImbalanceStrategy(rawOptions: unknown = {}): SyncStrategy {
  const options = { ...parseStrategyOptions('imbalance', imbalanceOptionsSchema, rawOptions), timeInForce: 'good_till_canceled' };

  return {
    name: 'imbalance',
    needsBook: true,
    decide(view: MarketView): Decision[] {
      const own = view.openOrders;
      const touch = othersTouch(view);
      if (touch.kind === 'none') return cancelAll(own, touch.reason);
      const { bestBid, bestAsk } = touch;
      const imbalance = bookImbalance(touch.book, options.levels, touch.ownBids, touch.ownAsksAsNo);

      let bid: Price | null = null;
      let ask: Price | null = null;
      let reason = imbalance === null ? 'empty book' : `imbalance ${imbalance.toFixed(2)} inside ±${options.threshold}`;
      if (imbalance !== null && imbalance >= options.threshold) {
        if (view.position + options.size > options.maxInventory) reason = 'bid would exceed max inventory';
        else {
          const better = options.improve ? nextTickUp(bestBid, view.priceRanges) : null;
          bid = better !== null && better < bestAsk ? better : bestBid;
        }
        reason = bid === null ? reason : `imbalance ${imbalance.toFixed(2)} points up`;
      } else if (imbalance !== null && imbalance <= -options.threshold) {
        if (view.position - options.size < -options.maxInventory) reason = 'ask would exceed max inventory';
        else {
          const better = options.improve ? nextTickDown(bestAsk, view.priceRanges) : null;
          ask = better !== null && better > bestBid ? better : bestAsk;
        }
        reason = ask === null ? reason : `imbalance ${imbalance.toFixed(2)} points down`;
      }
      return [...quoteSide(view, 'bid', bid, reason, own, options), ...quoteSide(view, 'ask', ask, reason, own, options)];
    },
  };
}
