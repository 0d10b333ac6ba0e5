/**
 * The venue as the trader's actors see it: the mappings from Kalshi's REST and WS shapes to the
 * core's records (orders, fills, positions), and the order actors' dependencies bound to the REST
 * client and the order journal (order.actors.ts holds the actors themselves).
 */
import type { Clock } from '../core/clock.ts';
import type { FillRecord, VenueOrderRecord } from '../core/reconcile.ts';
import type { OrderSide } from '../core/order-state.ts';
import type { Position } from '../core/positions.ts';
import type { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import type { KalshiFill, KalshiOrder, KalshiPosition } from '../adapters/kalshi/rest.schemas.ts';
import type { FillMsg, UserOrderMsg } from '../adapters/kalshi/ws.schemas.ts';
import type { OrderActorDeps } from './order.actors.ts';
import { journalOrderNote, journalResend, journalSubmit, journalVenueAnswer, type OrderJournalContext } from './order-journal.ts';

/** The REST client and the order journal's context (its onJournalFailure hears a failed write before a send). */
export interface VenueContext extends OrderJournalContext {
  rest: KalshiRestClient;
}

export function venueOrderRecord(order: KalshiOrder): VenueOrderRecord {
  return {
    orderId: order.orderId,
    clientOrderId: order.clientOrderId || null,
    ticker: order.ticker,
    side: order.side,
    price: order.yesPrice,
    status: order.status,
    fillCount: order.fillCount,
    remainingCount: order.remainingCount,
  };
}

/**
 * Keyed by `trade_id`, not `fill_id`: a WS fill carries only `trade_id`, and the journal must
 * give the same fill the same key whichever way it arrived (Kalshi documents the REST `trade_id`
 * as equal to `fill_id`; the simulator numbers them separately, and keying REST fills by
 * `fill_id` journaled every WS-seen fill a second time at the next sync after a restart).
 */
export function fillRecordFromRest(fill: KalshiFill, clock: Clock): FillRecord {
  return {
    fillId: fill.tradeId,
    orderId: fill.orderId,
    ticker: fill.ticker,
    side: fill.side,
    price: fill.yesPrice,
    count: fill.count,
    fee: fill.feeCost,
    isTaker: fill.isTaker,
    tsMs: fill.createdTimeMs ?? clock.now(),
  };
}

/** The YES-book side of a WS fill: new direction fields first, the deprecated pair as fallback. */
export function fillBookSide(msg: Pick<FillMsg, 'bookSide' | 'side' | 'action' | 'outcomeSide'>): OrderSide {
  if (msg.bookSide) return msg.bookSide;
  const outcome = msg.outcomeSide ?? msg.side ?? 'yes';
  const buying = (msg.action ?? 'buy') === 'buy';
  // buy YES / sell NO rest on the bid; buy NO / sell YES on the ask.
  return (outcome === 'yes') === buying ? 'bid' : 'ask';
}

export function fillRecordFromWs(msg: FillMsg, clock: Clock): FillRecord {
  return {
    fillId: msg.tradeId,
    orderId: msg.orderId,
    clientOrderId: msg.clientOrderId ?? null,
    ticker: msg.ticker,
    side: fillBookSide(msg),
    price: msg.yesPrice,
    count: msg.count,
    fee: msg.fee ?? 0,
    isTaker: msg.isTaker,
    tsMs: msg.tsMs ?? clock.now(),
  };
}

/**
 * The user_orders frame carries no update reason, so an expiry is recognised by its time: a
 * cancel stamped at or after the order's expiration is the venue expiring it (the order actor
 * then ends in `expired`, not `canceled`).
 */
export function orderStatusFromWs(msg: UserOrderMsg) {
  const expired =
    msg.status === 'canceled' &&
    msg.expirationTsMs !== undefined &&
    msg.lastUpdatedTsMs !== undefined &&
    msg.lastUpdatedTsMs >= msg.expirationTsMs;
  return {
    type: 'ORDER_STATUS_RECEIVED' as const,
    orderId: msg.orderId,
    clientOrderId: msg.clientOrderId ?? null,
    ticker: msg.ticker,
    status: msg.status,
    fillCount: msg.fillCount ?? 0,
    remainingCount: msg.remainingCount ?? 0,
    ...(expired ? { reason: 'Expired' } : {}),
  };
}

export function positionFromVenue(p: KalshiPosition): Position {
  return {
    ticker: p.ticker,
    position: p.position,
    costBasis: p.marketExposure,
    realizedPnl: p.realizedPnl,
    feesPaid: p.feesPaid,
    totalTraded: p.totalTraded,
  };
}

/** The order actors' three venue calls and their ledger, bound to the REST client and the journal. */
export function orderActorDeps(ctx: VenueContext): OrderActorDeps {
  return {
    submit: (request, options) => ctx.rest.createOrder(request, options),
    query: (order) => ctx.rest.lookupOrder(order),
    cancel: (order) => ctx.rest.cancelOrder(order.orderId, { ticker: order.ticker }),
    journal: {
      submit: (input) => journalSubmit(ctx, input),
      resent: (clientOrderId) => journalResend(ctx, clientOrderId),
      answer: (clientOrderId, answer) => journalVenueAnswer(ctx, clientOrderId, answer),
      note: (clientOrderId, kind, details) => journalOrderNote(ctx, clientOrderId, kind, details),
      ...(ctx.onJournalFailure ? { failed: ctx.onJournalFailure } : {}),
    },
  };
}
