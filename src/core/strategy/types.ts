/**
 * The strategy contract: a pure function of a market view to decisions (place / cancel). Lives in
 * core so live trading, replay and the RL environment run the very same strategy code; the trader
 * actor builds the view, passes place decisions through risk and turns them into order actors.
 */
import type { Count, Price } from '../money.ts';
import type { OrderIntent, OrderSide } from '../order-state.ts';
import type { OutcomeSide, Level } from '../orderbook.ts';
import type { PriceRange } from '../ticks.ts';

/** What a strategy may read of a book; `OrderBook` satisfies it without copying. */
export interface BookView {
  bestYesBid(): Price | null;
  bestYesAsk(): Price | null;
  spread(): Price | null;
  mid(): Price | null;
  /** Best-first levels of one leg's bids (NO levels in NO-leg prices). */
  depth(side: OutcomeSide, maxLevels?: number): Level[];
}

/** One of this trader's own orders in the market, as the trader knows it. */
export interface OwnOrder {
  clientOrderId: string;
  side: OrderSide;
  /** YES-leg price. */
  price: Price;
  remaining: Count;
  /** A cancel has been requested and not yet confirmed: do not cancel again, do not count as a quote. */
  cancelPending?: boolean;
}

export interface MarketView {
  ticker: string;
  /** null: no usable book (not yet snapshotted, stale, or the feed is degraded). */
  book: BookView | null;
  /** Signed position in this market (+YES / −NO). */
  position: Count;
  openOrders: ReadonlyArray<OwnOrder>;
  nowMs: number;
  priceRanges: readonly PriceRange[];
}

export type Decision =
  | { kind: 'place'; intent: OrderIntent }
  | { kind: 'cancel'; clientOrderId: string; reason: string };

export interface Strategy {
  readonly name: string;
  /** True if the strategy cannot decide without a book (the trader skips or pauses it when degraded). */
  readonly needsBook: boolean;
  /** May be async (e.g. an ONNX policy); rule strategies answer synchronously. */
  decide(view: MarketView): Decision[] | Promise<Decision[]>;
}

/** A strategy that always answers synchronously (the rule strategies). */
export interface SyncStrategy extends Strategy {
  decide(view: MarketView): Decision[];
}
