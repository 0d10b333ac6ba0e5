/**
 * The order vocabulary shared by strategies, risk, reconciliation and the order actor: V2 order
 * intents (side bid|ask on the YES leg), fills, Kalshi's order statuses, and the order states
 * (NautilusTrader's names, lower case). Pure types and constants; `src/machines/order.types.ts`
 * re-exports them for the actor layer.
 */
import type { Count, Micros, Price } from './money.ts';

/** V2 book side on the YES leg: bid = buy YES, ask = sell YES (= buy NO at $1 − price). */
export type OrderSide = 'bid' | 'ask';
export type TimeInForce = 'good_till_canceled' | 'immediate_or_cancel' | 'fill_or_kill';
/** Kalshi's order statuses (REST and the user_orders WS channel). */
export type VenueOrderStatus = 'resting' | 'canceled' | 'executed';

/** What a strategy asks for; becomes a V2 create-order request. Price is the YES-leg price. */
export interface OrderIntent {
  ticker: string;
  side: OrderSide;
  price: Price;
  count: Count;
  timeInForce: TimeInForce;
  postOnly?: boolean;
  /** Unix seconds; only with good_till_canceled. */
  expirationTime?: number;
}

/** An order's state as the venue reports it (REST or the user_orders channel), in core units. */
export interface VenueOrderReport {
  orderId: string;
  status: VenueOrderStatus;
  fillCount: Count;
  remainingCount: Count;
  /** e.g. 'Expired', 'PostOnlyCrossCancel' (Kalshi's last_update_reason), when known. */
  reason?: string;
}

/** One execution against the order, as reported by the venue (WS `fill` or REST `/portfolio/fills`). */
export interface OrderFill {
  fillId: string;
  count: Count;
  /** YES-leg execution price. */
  price: Price;
  fee: Micros;
  isTaker: boolean;
  tsMs: number;
}

/** The state names of the order chart, in NautilusTrader's vocabulary (lower case). */
export type OrderStateName =
  | 'initialized'
  | 'denied'
  | 'submitted'
  | 'accepted'
  | 'partially_filled'
  | 'filled'
  | 'pending_cancel'
  | 'canceled'
  | 'rejected'
  | 'expired'
  | 'unknown';

export const CLOSED_ORDER_STATES: ReadonlySet<OrderStateName> = new Set([
  'denied',
  'filled',
  'canceled',
  'rejected',
  'expired',
]);

/**
 * States in which a request to the venue is outstanding (the trader reports itself "acting").
 * `unknown` is left out on purpose: resolving it can take minutes of query backoff, and it must
 * neither hold the coordinator in `acting` nor defer the periodic sync that helps resolve it.
 */
export const IN_FLIGHT_ORDER_STATES: ReadonlySet<OrderStateName> = new Set([
  'initialized',
  'submitted',
  'pending_cancel',
]);
