/**
 * Actor logic that talks to the venue for the order and trader machines: submit (journal first,
 * then the V2 create), query by client_order_id, cancel — plus the mappings from Kalshi's REST
 * and WS shapes to the core's reconcile records. Part of the wiring between machines and
 * adapters; the machines only see the named actors.
 */
import { fromPromise } from 'xstate';
import type { Pool } from 'pg';
import type { Clock } from '../core/clock.ts';
import type { FillRecord, VenueOrderRecord } from '../core/reconcile.ts';
import type { OrderSide } from '../core/order-state.ts';
import type { Position } from '../core/positions.ts';
import { KalshiApiError, KalshiOrderOutcomeUnknownError } from '../adapters/kalshi/errors.ts';
import type { KalshiRestClient } from '../adapters/kalshi/rest.ts';
import type { KalshiFill, KalshiOrder, KalshiPosition } from '../adapters/kalshi/rest.schemas.ts';
import type { FillMsg, UserOrderMsg } from '../adapters/kalshi/ws.schemas.ts';
import { describeDbError } from '../adapters/store/database.ts';
import type { StoreEnvironment } from '../adapters/store/statuses.ts';
import { journalOrderNote, journalSubmit, journalVenueAnswer } from './order-journal.ts';
import type {
  CancelOrderInput,
  CancelOrderResult,
  QueryOrderInput,
  QueryOrderResult,
  SubmitOrderInput,
  SubmitOrderResult,
  VenueOrderReport,
} from '../machines/order.types.ts';

export interface VenueContext {
  rest: KalshiRestClient;
  pool: Pool;
  env: StoreEnvironment;
  clock: Clock;
  traderId: string;
  /** Told when a journal write failed before a send (so the system can enter its database outage). */
  onJournalFailure?: (error: unknown) => void;
  /** Reported for every venue interaction worth a console line. */
  onActivity?: (message: string, severity: 'info' | 'warning' | 'error', metadata?: Record<string, unknown>) => void;
}

export function venueOrderReport(order: KalshiOrder): VenueOrderReport {
  return {
    orderId: order.orderId,
    status: order.status,
    fillCount: order.fillCount,
    remainingCount: order.remainingCount,
    ...(order.lastUpdateReason ? { reason: order.lastUpdateReason } : {}),
  };
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

function describeError(error: unknown): string {
  if (error instanceof KalshiApiError) return `${error.status} ${error.code ?? ''} ${error.kalshiMessage ?? error.message}`.trim();
  return error instanceof Error ? error.message : String(error);
}

/**
 * The order machine's `submitOrder`: the intent is journaled with its client_order_id BEFORE the
 * request leaves, so a crash between the two is resolved at the next start by querying the
 * venue; the REST client never blindly resends a create (it looks the order up first).
 */
export function submitOrderActor(ctx: VenueContext) {
  return fromPromise<SubmitOrderResult, SubmitOrderInput>(async ({ input }) => {
    const { clientOrderId, intent } = input;
    try {
      await journalSubmit(ctx, input);
    } catch (error) {
      // Journal first: the request never left, so the order is certainly not at the venue and
      // needs no lookup (which pages through the ticker's order history).
      ctx.onJournalFailure?.(error);
      return { outcome: 'not_sent', reason: `journal unavailable (${describeDbError(error)})` };
    }
    try {
      const placed = await ctx.rest.createOrder({
        ticker: intent.ticker,
        clientOrderId,
        side: intent.side,
        price: intent.price,
        count: intent.count,
        timeInForce: intent.timeInForce,
        ...(intent.postOnly ? { postOnly: true } : {}),
        ...(intent.expirationTime !== undefined ? { expirationTime: intent.expirationTime } : {}),
      });
      const status = placed.order?.status ?? (placed.remainingCount === 0 ? 'executed' : 'resting');
      await journalVenueAnswer(ctx, clientOrderId, {
        orderId: placed.orderId,
        status,
        fillCount: placed.fillCount,
        remainingCount: placed.remainingCount,
        details: { source: placed.source, posts: placed.posts },
      });
      return {
        outcome: 'accepted',
        orderId: placed.orderId,
        fillCount: placed.fillCount,
        remainingCount: placed.remainingCount,
        ...(placed.tsMs !== null ? { tsMs: placed.tsMs } : {}),
      };
    } catch (error) {
      if (error instanceof KalshiApiError && !error.retryable && error.status !== 401) {
        await journalVenueAnswer(ctx, clientOrderId, { error: describeError(error) });
        return { outcome: 'rejected', reason: describeError(error), ...(error.code ? { code: error.code } : {}) };
      }
      await journalVenueAnswer(ctx, clientOrderId, { state: 'unknown', error: describeError(error) }).catch(() => undefined);
      const reason = error instanceof KalshiOrderOutcomeUnknownError ? 'create outcome unknown' : describeError(error);
      return { outcome: 'unknown', reason };
    }
  });
}

/** The order machine's `queryOrder`: certainly absent only when the venue answered without it. */
export function queryOrderActor(ctx: VenueContext) {
  return fromPromise<QueryOrderResult, QueryOrderInput>(async ({ input }) => {
    const order = input.orderId
      ? await ctx.rest.getOrder(input.orderId).catch((error: unknown) => {
          if (error instanceof KalshiApiError && error.status === 404) return null;
          throw error;
        })
      : await ctx.rest.findOrderByClientOrderId(input.clientOrderId, input.ticker);
    if (!order) {
      await journalOrderNote(ctx, input.clientOrderId, 'query', { found: false }).catch(() => undefined);
      return { found: false };
    }
    await journalVenueAnswer(ctx, input.clientOrderId, {
      orderId: order.orderId,
      status: order.status,
      fillCount: order.fillCount,
      remainingCount: order.remainingCount,
      details: { source: 'query' },
    }).catch(() => undefined);
    return { found: true, order: venueOrderReport(order) };
  });
}

export function cancelOrderActor(ctx: VenueContext) {
  return fromPromise<CancelOrderResult, CancelOrderInput>(async ({ input }) => {
    const result = await ctx.rest.cancelOrder(input.orderId, { ticker: input.ticker });
    await journalOrderNote(ctx, input.clientOrderId, 'cancel', { reducedBy: result.reducedBy, alreadyGone: result.alreadyGone }).catch(() => undefined);
    if (result.alreadyGone || result.reducedBy === null) return { outcome: 'not_found' };
    return { outcome: 'canceled', reducedBy: result.reducedBy };
  });
}
