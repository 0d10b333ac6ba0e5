/**
 * Types of the order actor (`order.machine.ts`): the V2 order intent, what the invoked adapter
 * actors (submit, query, cancel) resolve to, the actor's input and context. The wiring layer
 * implements the adapter actors against Kalshi's V2 endpoints (or the simulator) and supplies them
 * through `.provide({ actors })`; these types are the contract between the two.
 */
import type { AnyActorRef } from 'xstate';
import type { Clock } from '../core/clock.ts';
import type { Count, Micros, Price } from '../core/money.ts';
import type { LocalOrderRecord } from '../core/reconcile.ts';
import type { OrderIntent, OrderSide, OrderStateName, VenueOrderReport } from '../core/order-state.ts';

export type {
  OrderFill,
  OrderIntent,
  OrderSide,
  OrderStateName,
  TimeInForce,
  VenueOrderReport,
  VenueOrderStatus,
} from '../core/order-state.ts';
export { CLOSED_ORDER_STATES, IN_FLIGHT_ORDER_STATES } from '../core/order-state.ts';

// ---- adapter actor contracts -------------------------------------------------------------------

export interface SubmitOrderInput {
  clientOrderId: string;
  intent: OrderIntent;
  /** 1 for the first send, 2 for the single resubmission after a "certainly absent" query. */
  attempt: number;
}

/**
 * Result of the V2 create. `accepted` is the 201 body; `rejected` is a definite venue "no"
 * (400/403 and the like — never a timeout); `not_sent` is certain the request never left (the
 * intent could not be journaled first, e.g. the database is down); `unknown` is "sent, no answer"
 * (timeout, network error, 5xx). A promise rejection from the actor is treated as `unknown` too.
 */
export type SubmitOrderResult =
  | { outcome: 'accepted'; orderId: string; fillCount: Count; remainingCount: Count; tsMs?: number }
  | { outcome: 'rejected'; reason: string; code?: string }
  | { outcome: 'not_sent'; reason: string }
  | { outcome: 'unknown'; reason: string; /** Some send may have been accepted: "not found" is no answer until it can no longer land. */ mayHaveLanded?: boolean };

export interface QueryOrderInput {
  clientOrderId: string;
  ticker: string;
  orderId: string | null;
}

/**
 * `absent` must mean *certainly* absent (the venue answered and has no order with this
 * client_order_id); an inconclusive lookup must reject the promise so the query is retried.
 */
export type QueryOrderResult = { found: true; order: VenueOrderReport } | { found: false };

export interface CancelOrderInput {
  clientOrderId: string;
  orderId: string;
  ticker: string;
}

/** `not_found`: the venue no longer has it resting (filled or canceled meanwhile) — query to learn which. */
export type CancelOrderResult = { outcome: 'canceled'; reducedBy: Count } | { outcome: 'not_found' };

// ---- actor input / context ---------------------------------------------------------------------

export interface OrderTimings {
  /** How long `submitted` waits for the create response before the order becomes `unknown`. */
  submitTimeoutMs: number;
  /** First wait before querying an `unknown` order; doubles per failed query up to the cap. */
  queryBackoffMs: number;
  queryBackoffMaxMs: number;
  /** Cancel request timeout / retry spacing, and attempts before falling back to a query. */
  cancelTimeoutMs: number;
  cancelAttempts: number;
  /**
   * How long after a create was sent it may still land at the venue: the REST client's request
   * timeout. Before then a "not found" is not proof that it never will (see `OrderInput.recovered`).
   */
  createLandingMs: number;
}

export const DEFAULT_ORDER_TIMINGS: OrderTimings = {
  submitTimeoutMs: 10_000,
  queryBackoffMs: 1_000,
  queryBackoffMaxMs: 30_000,
  cancelTimeoutMs: 10_000,
  cancelAttempts: 3,
  createLandingMs: 10_000,
};

export interface OrderInput {
  clientOrderId: string;
  intent: OrderIntent;
  /** When set, the order is denied at birth (local risk said no) and never sent. */
  denial?: { reason: string; rule: string };
  /** Resubmit once, with the same client_order_id, when a query says the order certainly never arrived. */
  resubmitIfAbsent?: boolean;
  /**
   * An order already resting at the venue (placed by an earlier run) that this actor takes over:
   * it starts accepted (or partially filled) with the venue's counts and is never submitted.
   */
  adopted?: { orderId: string; fillCount: Count; remainingCount: Count };
  /**
   * A create an earlier run sent (at `sentAtMs`) and never heard back about, which the venue did
   * not know when it was looked up at start-up: it may still land until `createLandingMs` after it
   * was sent. The actor takes it over in `unknown` (never resubmitted): it keeps its slot until a
   * lookup after that time finds it (adopted: accepted, filled, …) or not (rejected, never placed).
   */
  recovered?: { sentAtMs: number };
  timings?: Partial<OrderTimings>;
  /** The clock history entries are stamped with (default: the system clock); the trader passes its own. */
  clock?: Clock;
  /** Who hears ORDER_UPDATED / ORDER_CLOSED (the trader passes itself); absent = nobody. */
  parentRef?: AnyActorRef;
}

export interface OrderHistoryEntry {
  atMs: number;
  state: OrderStateName;
  note: string;
}

/**
 * Kept under 20 top-level keys on purpose: XState's assign copies the context with
 * `Object.assign({}, context, update)`, which V8 runs ~20× slower from 20 properties up.
 */
export interface OrderContext {
  /** Mirrors the chart's current state, so summaries sent to the parent can name it. */
  state: OrderStateName;
  clientOrderId: string;
  intent: OrderIntent;
  config: {
    denial: { reason: string; rule: string } | null;
    /** Taken over from an earlier run (resting at the venue already): never submitted. */
    adopted: boolean;
    /** An earlier run's unanswered create, taken over (`OrderInput.recovered`): when it was sent. */
    recoveredSentAtMs: number | null;
    resubmitIfAbsent: boolean;
    timings: OrderTimings;
    clock: Clock;
    parentRef: AnyActorRef | null;
  };
  orderId: string | null;
  /** Sum of the counts of the fills applied (each fill id once). */
  filledCount: Count;
  /** Highest fill count any venue report has shown; may run ahead of `filledCount` until fills arrive. */
  venueFilledCount: Count;
  remainingCount: Count;
  /** Σ price × count over applied fills, so the average is exact until the final division. */
  filledNotional: Micros;
  /** Volume-weighted average fill price, rounded to the nearest Price unit; 0 before any fill. */
  avgPrice: Price;
  fees: Micros;
  fillIds: Set<string>;
  /** Requests made so far: submits (1 after the first send), queries, cancels. */
  attempts: { submit: number; query: number; cancel: number };
  /** A CANCEL arrived before the venue acknowledged the order; cancel as soon as it is accepted. */
  cancelRequested: boolean;
  /** Set once the venue has confirmed the order exists (accepted / found / a fill arrived). */
  acknowledged: boolean;
  /**
   * When the last send of an unanswered create that may have been accepted left (a recovered
   * one's journaled send; this run's: when the actor stopped waiting, as nothing is sent after
   * that); null when no send may still land. "Not found" is no answer until `createLandingMs` after it.
   */
  landingFromMs: number | null;
  closeReason: string | null;
  lastError: string | null;
  history: OrderHistoryEntry[];
}

/** A JSON-friendly picture of an order, carried by the events the order actor sends its parent. */
export interface OrderSummary extends Omit<LocalOrderRecord, 'createdAtMs'> {
  venueFilledCount: Count;
  avgPrice: Price;
  fees: Micros;
  inFlight: boolean;
  closeReason: string | null;
}
