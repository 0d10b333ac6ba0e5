/**
 * Flattening a position (the operator's `flatten`): the one closing order for a market — a
 * marketable immediate-or-cancel order against the opposite side of the book (sell YES at the best
 * YES bid for a long, buy YES at the best YES ask for a short), capped at the order-size limit so
 * it still passes the trader's risk checks. Anything left after it (a partial fill, a position
 * bigger than one order) is closed by flattening again. Pure core.
 */
import type { Count, Price } from './money.ts';
import { formatCount } from './money.ts';
import type { OrderIntent } from './order-state.ts';

export interface BestPrices {
  bestYesBid: Price | null;
  bestYesAsk: Price | null;
}

export type ClosingOrder =
  | { ok: true; intent: OrderIntent; remaining: Count }
  | { ok: false; reason: string };

/** The closing order for `position` (signed: > 0 long YES) in `ticker`, or why there is none. */
export function closingOrder(ticker: string, position: Count, book: BestPrices | null, maxOrderSize: Count): ClosingOrder {
  if (position === 0) return { ok: false, reason: 'no position' };
  if (!book) return { ok: false, reason: 'no usable order book to price a closing order' };
  const long = position > 0;
  const price = long ? book.bestYesBid : book.bestYesAsk;
  if (price === null) return { ok: false, reason: `no ${long ? 'YES bid' : 'YES ask'} to close against` };
  const size = Math.abs(position);
  const count = Math.min(size, maxOrderSize);
  return {
    ok: true,
    intent: { ticker, side: long ? 'ask' : 'bid', price, count, timeInForce: 'immediate_or_cancel' },
    remaining: size - count,
  };
}

/** "sell 10 YES at the bid (5 left)" for the operator's answer. */
export function describeClosing(order: Extract<ClosingOrder, { ok: true }>): string {
  const verb = order.intent.side === 'ask' ? 'sell' : 'buy';
  const left = order.remaining > 0 ? ` (${formatCount(order.remaining)} left: flatten again)` : '';
  return `${verb} ${formatCount(order.intent.count)} YES immediate-or-cancel${left}`;
}
