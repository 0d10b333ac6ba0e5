/**
 * The order machine's invoked actors — `submitOrder`, `queryOrder`, `cancelOrder` — over narrow
 * dependencies: three venue calls and the order's ledger, nothing else (no REST client, no pool).
 * The rules they own: journal first (the intent is durable before the create leaves, and an
 * intent that cannot be journaled is `not_sent`, needing no lookup); a definite venue "no" is
 * `rejected`, anything else unanswered is `unknown` (the machine then queries by client_order_id);
 * a query is `found: false` only when the venue answered without the order.
 */
import { fromPromise } from 'xstate';
import { KalshiApiError, KalshiOrderOutcomeUnknownError, createMayHaveLanded } from '../adapters/kalshi/errors.ts';
import type { CreateOrderOptions, KalshiCancelResult, KalshiCreateOrderRequest, KalshiOrderPlacement } from '../adapters/kalshi/rest.ts';
import type { KalshiOrder } from '../adapters/kalshi/rest.schemas.ts';
import { describeDbError } from '../adapters/store/database.ts';
import type { VenueAnswer } from '../adapters/store/journal.ts';
import type {
  CancelOrderInput,
  CancelOrderResult,
  QueryOrderInput,
  QueryOrderResult,
  SubmitOrderInput,
  SubmitOrderResult,
} from '../machines/order.types.ts';

/** The order's ledger, as the order actors write it (order-journal.ts is its one writer). */
export interface OrderLedger {
  /** The intent (first attempt) and its send, durable; throws when they are not. */
  submit(input: SubmitOrderInput): Promise<void>;
  /** A resend of the create by the REST client, durable before it leaves (the landing window counts from it). */
  resent(clientOrderId: string): Promise<void>;
  /** What the venue answered to a create or a query. */
  answer(clientOrderId: string, answer: Omit<VenueAnswer, 'answeredMs'>): Promise<void>;
  /** A venue interaction that changes no state (a query that found nothing, a cancel's result). */
  note(clientOrderId: string, kind: 'query' | 'cancel', details: Record<string, unknown>): Promise<void>;
  /** Told when the intent could not be journaled (so the system can enter its database outage). */
  failed?(error: unknown): void;
}

export interface OrderActorDeps {
  /** The V2 create; the REST client resolves a lost answer by client_order_id, never resends blindly. */
  submit(request: KalshiCreateOrderRequest, options: CreateOrderOptions): Promise<KalshiOrderPlacement>;
  /** The order by venue id or client_order_id; null: the venue answered and has none. */
  query(order: QueryOrderInput): Promise<KalshiOrder | null>;
  cancel(order: CancelOrderInput): Promise<KalshiCancelResult>;
  journal: OrderLedger;
}

function describeError(error: unknown): string {
  if (error instanceof KalshiApiError) return `${error.status} ${error.code ?? ''} ${error.kalshiMessage ?? error.message}`.trim();
  return error instanceof Error ? error.message : String(error);
}

const ignore = (): undefined => undefined;

/** `signal`: aborted when the order actor stops waiting for this create (it is then not resent). */
async function submitOrder(deps: OrderActorDeps, input: SubmitOrderInput, signal?: AbortSignal): Promise<SubmitOrderResult> {
  const { clientOrderId, intent } = input;
  try {
    await deps.journal.submit(input);
  } catch (error) {
    deps.journal.failed?.(error);
    return { outcome: 'not_sent', reason: `journal unavailable (${describeDbError(error)})` };
  }
  try {
    const placed = await deps.submit({
      ticker: intent.ticker,
      clientOrderId,
      side: intent.side,
      price: intent.price,
      count: intent.count,
      timeInForce: intent.timeInForce,
      ...(intent.postOnly ? { postOnly: true } : {}),
      ...(intent.expirationTime !== undefined ? { expirationTime: intent.expirationTime } : {}),
    }, { ...(signal ? { signal } : {}), beforeResend: () => deps.journal.resent(clientOrderId) });
    const { orderId, fillCount, remainingCount } = placed;
    const status = placed.order?.status ?? (remainingCount === 0 ? 'executed' : 'resting');
    await deps.journal.answer(clientOrderId, { orderId, status, fillCount, remainingCount, details: { source: placed.source, posts: placed.posts } });
    return { outcome: 'accepted', orderId, fillCount, remainingCount, ...(placed.tsMs !== null ? { tsMs: placed.tsMs } : {}) };
  } catch (error) {
    const reason = describeError(error);
    if (error instanceof KalshiApiError && !error.retryable && error.status !== 401) {
      await deps.journal.answer(clientOrderId, { error: reason });
      return { outcome: 'rejected', reason, ...(error.code ? { code: error.code } : {}) };
    }
    await deps.journal.answer(clientOrderId, { state: 'unknown', error: reason }).catch(ignore);
    return {
      outcome: 'unknown',
      reason: error instanceof KalshiOrderOutcomeUnknownError ? 'create outcome unknown' : reason,
      mayHaveLanded: createMayHaveLanded(error),
    };
  }
}

async function queryOrder(deps: OrderActorDeps, input: QueryOrderInput): Promise<QueryOrderResult> {
  const order = await deps.query(input);
  if (!order) {
    await deps.journal.note(input.clientOrderId, 'query', { found: false }).catch(ignore);
    return { found: false };
  }
  const { orderId, status, fillCount, remainingCount } = order;
  await deps.journal.answer(input.clientOrderId, { orderId, status, fillCount, remainingCount, details: { source: 'query' } }).catch(ignore);
  return { found: true, order: { orderId, status, fillCount, remainingCount, ...(order.lastUpdateReason ? { reason: order.lastUpdateReason } : {}) } };
}

async function cancelOrder(deps: OrderActorDeps, input: CancelOrderInput): Promise<CancelOrderResult> {
  const { reducedBy, alreadyGone } = await deps.cancel(input);
  await deps.journal.note(input.clientOrderId, 'cancel', { reducedBy, alreadyGone }).catch(ignore);
  return alreadyGone || reducedBy === null ? { outcome: 'not_found' } : { outcome: 'canceled', reducedBy };
}

/** The three actors `orderMachine.provide({ actors })` takes. */
export function orderActors(deps: OrderActorDeps) {
  return {
    submitOrder: fromPromise<SubmitOrderResult, SubmitOrderInput>(({ input, signal }) => submitOrder(deps, input, signal)),
    queryOrder: fromPromise<QueryOrderResult, QueryOrderInput>(({ input }) => queryOrder(deps, input)),
    cancelOrder: fromPromise<CancelOrderResult, CancelOrderInput>(({ input }) => cancelOrder(deps, input)),
  };
}
