/**
 * Events of the trader actor: from the coordinator/wiring (start, reconciliation outcome, pause),
 * from the market registry (book updated), from the venue streams (fills, order status), and from
 * its own order actors (see `order.events.ts`).
 */
import type { Micros, Count } from '../core/money.ts';
import type { VenueOrderStatus } from '../core/order-state.ts';
import type { Position } from '../core/positions.ts';
import type { FillRecord, Finding, OrderStatusUpdate, VenueOrderRecord } from '../core/reconcile.ts';
import type { Decision } from '../core/strategy/types.ts';
import type { OrderParentEvent } from './order.events.ts';
import type { UnansweredCreate } from './trader.types.ts';

export type TraderEvent =
  | { type: 'START' }
  /**
   * Outcome of a reconciliation (`core/reconcile.ts`). With `agreed` the trader holds the snapshot's
   * positions (re-applying the fills it does not account for), adopts its earlier runs' resting
   * orders, tracks the external ones and starts (or keeps) trading; without it, it calibrates.
   */
  | {
      type: 'RECONCILED';
      agreed: boolean;
      asOfMs?: number;
      /** Positions as of the snapshot. */
      positions?: readonly Position[];
      /** Tickers of `positions` that are venue reports (default: all of them). */
      reportedTickers?: readonly string[];
      /** Fill ids the snapshot accounts for (default: none). */
      accountedFillIds?: readonly string[];
      /** Resting venue orders of this trader's earlier runs: managed from now on. */
      adoptOrders?: readonly VenueOrderRecord[];
      /**
       * Creates of an earlier run that never got an answer and that the venue did not know when
       * looked up: they may still land, so they are managed (and counted) until settled.
       */
      unansweredCreates?: readonly UnansweredCreate[];
      externalOrders?: readonly VenueOrderRecord[];
      missingFills?: readonly FillRecord[];
      orderUpdates?: readonly OrderStatusUpdate[];
      findings?: readonly Finding[];
      cash?: Micros;
    }
  /** Stop acting until the next agreeing reconciliation (e.g. after a reconnect). */
  | { type: 'CALIBRATE'; reason: string }
  | { type: 'BOOK_UPDATED'; ticker: string }
  | { type: 'FILL_RECEIVED'; fill: FillRecord }
  | {
      type: 'ORDER_STATUS_RECEIVED';
      orderId: string;
      clientOrderId?: string | null;
      ticker?: string;
      status: VenueOrderStatus;
      fillCount: Count;
      remainingCount: Count;
      reason?: string;
    }
  | { type: 'CASH_UPDATED'; cash: Micros }
  /**
   * The system stops entries (outage, error, shutdown) until RESUME; `risk` marks the trader's own
   * pause after a risk denial, which the operator's resume ends.
   */
  | { type: 'PAUSE'; reason: string; source?: 'system' | 'risk' }
  | { type: 'RESUME' }
  /** Cancels the trader's resting orders (in one market with `ticker`); the strategy may quote again. */
  | { type: 'CANCEL_ALL'; reason: string; ticker?: string }
  /** The operator holds the trader paused (reason `operator`) until OPERATOR_RESUME; a system RESUME does not end it. */
  | { type: 'OPERATOR_PAUSE' }
  | { type: 'OPERATOR_RESUME' }
  /** The operator's flatten: hold paused, cancel, then close each position with a marketable order (core/flatten.ts). */
  | { type: 'FLATTEN'; ticker?: string }
  /** Internal: raised by FLATTEN once paused (after the pause's own cancels), so its closing orders are not cancelled. */
  | { type: 'CLOSE_POSITIONS'; ticker: string | null }
  /** The venue answers again (after a fault): query every `unknown` order by client_order_id now. */
  | { type: 'RESOLVE_UNKNOWN'; reason: string }
  /** Internal: a throttle window for `ticker` ended with an update pending. */
  | { type: 'THROTTLE_ELAPSED'; ticker: string }
  /** Internal: an async strategy answered. */
  | { type: 'DECISIONS_READY'; ticker: string; decisions: Decision[] }
  | { type: 'DECISION_FAILED'; ticker: string; error: string }
  | OrderParentEvent;
