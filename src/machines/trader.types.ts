/**
 * Types of the trader actor (`trader.machine.ts`): its input (strategy, book source, limits,
 * callbacks), its context (positions, open orders, per-market throttle, denials) and what it
 * tells the outside world. The wiring layer builds the input from configuration and the market
 * registry; the status page reads the context.
 */
import type { AnyActorRef } from 'xstate';
import type { Clock } from '../core/clock.ts';
import type { Micros } from '../core/money.ts';
import type { OrderIntent } from '../core/order-state.ts';
import type { Position } from '../core/positions.ts';
import type { AppliedFill, FillRecord, Finding, LocalOrderRecord, VenueOrderRecord } from '../core/reconcile.ts';
import type { RiskLimits, RiskRule } from '../core/risk.ts';
import type { BookView, Strategy } from '../core/strategy/types.ts';
import type { PriceRange } from '../core/ticks.ts';
import type { OrderSummary, OrderTimings } from './order.types.ts';

export type TraderStateName = 'idle' | 'calibrating' | 'ready' | 'acting' | 'paused';

/** Where the trader reads books: the market registry, adapted. The book is never copied. */
export interface TraderBookSource {
  /** The market's current book, or null when it is not usable (no snapshot yet, stale, resyncing). */
  bookFor(ticker: string): BookView | null;
  priceRangesFor(ticker: string): readonly PriceRange[];
}

/** What the trader reports, through the optional `notify` callback (and TRADER_ACTING/IDLE to its parent). */
export type TraderNotification =
  | { type: 'TRADER_ACTING'; traderId: string }
  | { type: 'TRADER_IDLE'; traderId: string }
  | { type: 'TRADER_STATE'; traderId: string; state: TraderStateName; reason: string }
  | { type: 'ORDER_PLACED'; traderId: string; clientOrderId: string; intent: OrderIntent }
  | { type: 'ORDER_ADOPTED'; traderId: string; clientOrderId: string; orderId: string; canceling: boolean }
  /** An earlier run's unanswered create, managed and counted until it is found or can no longer land. */
  | { type: 'ORDER_RECOVERED'; traderId: string; clientOrderId: string; sentAtMs: number }
  | { type: 'ORDER_DENIED'; traderId: string; intent: OrderIntent; rule: RiskRule; reason: string }
  | { type: 'ORDER_CLOSED'; traderId: string; order: OrderSummary; reason: string }
  | { type: 'FILL_APPLIED'; traderId: string; fill: FillRecord; position: Position; managed: boolean }
  | { type: 'DECISION_FAILED'; traderId: string; ticker: string; error: string }
  /** The orders that blocked the last reconciliation have resolved themselves: reconcile again now. */
  | { type: 'RECONCILE_REQUESTED'; traderId: string; reason: string }
  /** Flatten: a market's position and what was done about it (a closing order sent, or why none). */
  | { type: 'POSITION_CLOSING'; traderId: string; ticker: string; sent: boolean; detail: string };

export interface TraderInput {
  traderId: string;
  /** Distinguishes runs, so client_order_ids never repeat across restarts: `${traderId}-${runNonce}-${seq}`. */
  runNonce: string;
  strategy: Strategy;
  books: TraderBookSource;
  /** Markets this trader may trade; absent = any market it is told about. */
  tickers?: readonly string[];
  riskLimits?: Partial<RiskLimits>;
  /** Cash estimate until the first reconciliation says otherwise. */
  cash?: Micros;
  positions?: readonly Position[];
  /** Minimum time between two strategy runs for one market (default: the risk limit's throttle, 250 ms). */
  throttleMs?: number;
  order?: { timings?: Partial<OrderTimings>; resubmitIfAbsent?: boolean };
  /** Cancel the trader's resting orders when it pauses (default true: quotes go stale while paused). */
  cancelOnPause?: boolean;
  /** Risk rules whose denial pauses the trader (default: cash_reserve). */
  pauseOnRules?: readonly RiskRule[];
  notify?: (notification: TraderNotification) => void;
  /** The clock decisions, fills and reconciliations are stamped with (default: the system clock). */
  clock?: Clock;
  /** Who hears TRADER_ACTING / TRADER_IDLE as events (e.g. an invoking coordinator); absent = nobody. */
  parentRef?: AnyActorRef;
}

/**
 * A create an earlier run journaled and sent (at `sentAtMs`) but never heard back about, which the
 * venue did not know when the sync looked it up: it may still land (see `OrderInput.recovered`).
 */
export interface UnansweredCreate {
  clientOrderId: string;
  intent: OrderIntent;
  sentAtMs: number;
}

/** An order this trader placed and manages; its actor is alive while it is here. */
export interface ManagedOrder extends LocalOrderRecord {
  inFlight: boolean;
  cancelPending: boolean;
}

export interface MarketPacing {
  lastDecisionAtMs: number | null;
  /** When the last cycle that placed an order ran (the risk throttle's reference). */
  lastOrderAtMs: number | null;
  /** A book update arrived inside the throttle window: run once more when it ends. */
  trailingPending: boolean;
  /** An async strategy is still deciding for this market. */
  deciding: boolean;
}

export interface DenialRecord {
  atMs: number;
  intent: OrderIntent;
  rule: RiskRule;
  reason: string;
}

export interface TraderCounters {
  decisionCycles: number;
  ordersPlaced: number;
  ordersDenied: number;
  ordersClosed: number;
  cancelsSent: number;
  fillsApplied: number;
  duplicateFills: number;
  /** Fills for orders whose actor was already released (applied to positions all the same). */
  unmanagedFills: number;
  throttledUpdates: number;
}

/** Fixed for the actor's life: from the input, resolved with defaults. */
export interface TraderConfig {
  traderId: string;
  runNonce: string;
  strategy: Strategy;
  books: TraderBookSource;
  tickers: ReadonlySet<string> | null;
  limits: RiskLimits;
  throttleMs: number;
  orderOptions: { timings?: Partial<OrderTimings>; resubmitIfAbsent: boolean };
  cancelOnPause: boolean;
  pauseOnRules: ReadonlySet<RiskRule>;
  notify: ((notification: TraderNotification) => void) | null;
  clock: Clock;
  parentRef: AnyActorRef | null;
}

/**
 * Kept under 20 top-level keys on purpose: XState's assign copies the context with
 * `Object.assign({}, context, update)`, which V8 runs ~20× slower from 20 properties up.
 */
export interface TraderContext {
  config: TraderConfig;
  /** Next client_order_id sequence number. */
  seq: number;
  orders: Record<string, ManagedOrder>;
  /** Venue order id → client_order_id for managed orders. */
  orderIdIndex: Record<string, string>;
  /** Venue orders tracked and counted in risk, never managed (placed by someone else). */
  externalOrders: Record<string, VenueOrderRecord>;
  positions: Record<string, Position>;
  cash: Micros;
  markets: Record<string, MarketPacing>;
  /**
   * Recently applied fill ids (bounded): a fill is applied to positions once; and the fills applied
   * most recently, in order, which a later snapshot may not account for yet. Mutated in place.
   */
  fillDedupe: { ids: Set<string>; order: string[]; recent: AppliedFill[] };
  denials: DenialRecord[];
  counters: TraderCounters;
  reconciled: boolean;
  /**
   * `recheck`: the client_order_ids of this trader's own orders still settling (unknown, submitted,
   * pending_cancel) that made it disagree; once all have resolved, it asks for a reconcile at once
   * instead of waiting a sync interval. Null when there is nothing to wait for (or it has asked).
   */
  lastReconcile: { atMs: number; agreed: boolean; findings: Finding[]; recheck: string[] | null } | null;
  /** Why the trader is calibrating or paused; null when trading. */
  reason: string | null;
  /** The operator paused it: only OPERATOR_RESUME ends the pause (a system RESUME does not). */
  operatorHold: boolean;
  /** The system's pause (outage, error) in force, ended by its RESUME; the operator cannot lift it. */
  systemPause: string | null;
  lastError: string | null;
}
