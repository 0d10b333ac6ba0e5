/**
 * Events of the order actor: what it accepts (fills, venue status reports, cancel/expire requests)
 * and what it sends to its parent (normally the trader). Kept beside `order.machine.ts` so the
 * trader and the wiring can import the shapes without importing the machine.
 */
import type { OrderFill, OrderStateName, OrderSummary, VenueOrderReport } from './order.types.ts';

/** A fill for this order. Applied once per fillId, whichever path (WS or REST backfill) delivers it first. */
export interface OrderFillEvent extends OrderFill {
  type: 'FILL';
  /** The venue's order id, when the fill carries it (it may arrive before the create response). */
  orderId?: string;
}

/**
 * A status report from the venue (user_orders WS or a REST sync). Counts only move up: a report
 * older than a fill already applied cannot undo that fill.
 */
export interface OrderVenueUpdateEvent extends Omit<VenueOrderReport, 'orderId'> {
  type: 'VENUE_UPDATE';
  orderId?: string;
}

export interface OrderCancelEvent {
  type: 'CANCEL';
  reason?: string;
}

export interface OrderExpireEvent {
  type: 'EXPIRE';
}

/** Query an `unknown` order now instead of after its backoff (the venue is answering again). */
export interface OrderQueryNowEvent {
  type: 'QUERY_NOW';
}

export type OrderEvent = OrderFillEvent | OrderVenueUpdateEvent | OrderCancelEvent | OrderExpireEvent | OrderQueryNowEvent;

/** A fill as the venue reports it (WS `fill`, REST backfill, reconciliation's missing fills). */
export type VenueFillReport = OrderFill & { orderId?: string | null };

/**
 * The one translation of a venue report into the order actor's event: a fill → FILL, a status
 * report → VENUE_UPDATE. Live updates and reconciliation both use it, so an order hears the same
 * thing whichever path brought the news.
 */
export function toOrderEvent(report: VenueFillReport): OrderFillEvent;
export function toOrderEvent(report: VenueOrderReport): OrderVenueUpdateEvent;
export function toOrderEvent(report: VenueFillReport | VenueOrderReport): OrderFillEvent | OrderVenueUpdateEvent {
  if ('fillId' in report) {
    return {
      type: 'FILL',
      fillId: report.fillId,
      count: report.count,
      price: report.price,
      fee: report.fee,
      isTaker: report.isTaker,
      tsMs: report.tsMs,
      ...(report.orderId ? { orderId: report.orderId } : {}),
    };
  }
  return {
    type: 'VENUE_UPDATE',
    status: report.status,
    fillCount: report.fillCount,
    remainingCount: report.remainingCount,
    orderId: report.orderId,
    ...(report.reason ? { reason: report.reason } : {}),
  };
}

// ---- sent to the parent ------------------------------------------------------------------------

/** On every state change and every count change. */
export interface OrderUpdatedEvent {
  type: 'ORDER_UPDATED';
  order: OrderSummary;
  note: string;
}

/** The order reached a final state; the parent should stop the actor and release it. */
export interface OrderClosedEvent {
  type: 'ORDER_CLOSED';
  order: OrderSummary;
  state: Extract<OrderStateName, 'denied' | 'filled' | 'canceled' | 'rejected' | 'expired'>;
  reason: string;
}

// A fill is not reported on its own: the trader's accounting follows fill records (FILL_RECEIVED,
// which also covers fills of released orders), and ORDER_UPDATED carries the order's new counts.
export type OrderParentEvent = OrderUpdatedEvent | OrderClosedEvent;
