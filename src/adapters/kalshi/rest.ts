/**
 * The Kalshi Trade API v2 REST client (on global `fetch`), used by the trader's actors for orders,
 * portfolio sync and reconciliation, and by market discovery/recording. It sits in the adapters
 * layer: it knows HTTP, signing and Kalshi's wire format, and hands out the integer money types of
 * `src/core/money.ts` through the schemas in `rest.schemas.ts`.
 *
 * Safety rules it enforces:
 * - every call has a timeout; reads retry on 429/5xx/network/timeout with backoff and jitter;
 * - creates are never blindly retried: after an ambiguous failure the order is looked up by its
 *   `client_order_id` and sent again only when it is certainly absent; a 409 duplicate resolves to
 *   the existing order; a failed lookup surfaces as KalshiOrderOutcomeUnknownError;
 * - cancels retry (they are idempotent), and a 404 after a retried cancel means "already gone";
 * - in a read-only environment (production) every order-writing method throws before any I/O.
 */
import type { z } from 'zod';
import { systemClock, type Clock } from '../../core/clock.ts';
import { formatCount, formatPrice, type Count, type Micros, type Price } from '../../core/money.ts';
import { assertMarketTickers, isMarketTicker, MARKET_TICKER_RULE } from '../../core/tickers.ts';
import { readBoundedText } from '../http/body.ts';
import { signRequest, type KalshiCredentials } from './auth.ts';
import { orderWriteRefusal, type KalshiEndpoints } from './environments.ts';
import {
  InvalidOrderRequestError,
  KalshiApiError,
  KalshiNetworkError,
  KalshiOrderOutcomeUnknownError,
  KalshiTimeoutError,
  KalshiValidationError,
  createMayHaveLanded,
  MissingCredentialsError,
  ReadOnlyEnvironmentError,
  isRetryableError,
} from './errors.ts';
import { DEFAULT_BACKOFF, backoffDelay, sleep, type BackoffPolicy } from './retry.ts';
import { TokenBucket, requestCost, type AccountLimits } from '../../core/rate-limits.ts';
import {
  GetEventResponseSchema,
  GetEventsResponseSchema,
  GetMarketCandlesticksResponseSchema,
  GetSeriesListResponseSchema,
  GetSeriesResponseSchema,
  type KalshiCandlestick,
  type KalshiEvent,
  type KalshiSeries,
  AccountLimitsSchema,
  CreateOrderGroupResponseSchema,
  EmptyResponseSchema,
  OrderGroupResponseSchema,
  OrderGroupsResponseSchema,
  type KalshiOrderGroup,
  AmendOrderV2ResponseSchema,
  DecreaseOrderV2ResponseSchema,
  GetOrderQueuePositionResponseSchema,
  GetOrderQueuePositionsResponseSchema,
  type KalshiAmendOrderResponse,
  type KalshiDecreaseOrderResponse,
  type KalshiQueuePosition,
  BatchCancelOrdersV2ResponseSchema,
  BatchCreateOrdersV2ResponseSchema,
  CancelOrderV2ResponseSchema,
  CreateOrderV2RequestSchema,
  CreateOrderV2ResponseSchema,
  ExchangeStatusSchema,
  GetFillsResponseSchema,
  GetMarketResponseSchema,
  GetMarketsResponseSchema,
  GetOrderbookResponseSchema,
  GetOrderResponseSchema,
  GetOrdersResponseSchema,
  GetPositionsResponseSchema,
  GetSettlementsResponseSchema,
  BalanceSchema,
  type KalshiBalance,
  type KalshiBookSide,
  type KalshiCreateOrderResponse,
  type KalshiEventPosition,
  type KalshiExchangeStatus,
  type KalshiFill,
  type KalshiMarket,
  type KalshiOrder,
  type KalshiOrderbook,
  type KalshiOrderStatus,
  type KalshiPosition,
  type KalshiSelfTradePrevention,
  type KalshiSettlement,
  type KalshiTimeInForce,
} from './rest.schemas.ts';

export interface KalshiRestOptions {
  endpoints: KalshiEndpoints;
  credentials?: KalshiCredentials;
  /** Per request, including reading the body. Default 10,000 ms. */
  timeoutMs?: number;
  /** `attempts` = total tries of one call (1 = no retry). Default 4 tries, DEFAULT_BACKOFF. */
  retry?: { attempts: number; backoff: BackoffPolicy };
  /** Signature timestamps and backoff waits. Default: the system clock. */
  clock?: Clock;
  /** Default: the global `fetch`, looked up at call time (so test interceptors installed later apply). */
  fetch?: typeof fetch;
  /** Jitter source. Default Math.random. */
  random?: () => number;
  /** A response body longer than this is refused unread (default 16 MiB; a 1,000-market page is ~3 MB). */
  maxResponseBytes?: number;
  /**
   * Client-side token buckets (src/core/rate-limits.ts) so the account stays inside its budget
   * and never meets a 429 in normal operation: 'account' sizes them from `GET /account/limits` at
   * the first signed request (no pacing if that read fails), or give the limits. Default: none.
   * A 429 still empties the bucket it came from, and the call backs off as before.
   */
  rateLimits?: 'account' | AccountLimits;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/**
 * One HTTP exchange with the venue, as observers see it: `fault` when the venue could not serve
 * it (429, 5xx, network error, timeout) — the answers a caller should back off from. A 4xx such as
 * 400 or 404 is an answer, not a fault.
 */
export interface KalshiRequestOutcome {
  method: string;
  path: string;
  /** HTTP status; null when no response arrived (network error, timeout). */
  status: number | null;
  fault: boolean;
  /** For a fault: what happened, one line, no secrets. */
  detail?: string;
  /** Wall time from sending to the whole body read (or the failure), in milliseconds. */
  durationMs?: number;
}

// ---------------------------------------------------------------------------------------------
// Request and result types

/**
 * Query timestamps (`min…Ts`, `max…Ts`) are Unix **seconds**, as Kalshi expects; values that look
 * like milliseconds are refused.
 */
export interface KalshiMarketFilter {
  /** Query vocabulary (differs from the `status` values in responses). */
  status?: 'unopened' | 'open' | 'paused' | 'closed' | 'settled';
  eventTicker?: string;
  seriesTicker?: string;
  tickers?: string[];
  /** Page size, 1–1000 (Kalshi's default 100). */
  limit?: number;
  cursor?: string;
  minCreatedTs?: number;
  maxCreatedTs?: number;
  minCloseTs?: number;
  maxCloseTs?: number;
  minSettledTs?: number;
  maxSettledTs?: number;
  minUpdatedTs?: number;
  maxUpdatedTs?: number;
  mveFilter?: 'only' | 'exclude';
}

export interface KalshiOrderFilter {
  ticker?: string;
  /** Up to 10 event tickers. */
  eventTickers?: string[];
  status?: KalshiOrderStatus;
  minTs?: number;
  maxTs?: number;
  limit?: number;
  cursor?: string;
  subaccount?: number;
}

export interface KalshiFillFilter {
  ticker?: string;
  orderId?: string;
  minTs?: number;
  maxTs?: number;
  limit?: number;
  cursor?: string;
  subaccount?: number;
}

export interface KalshiPositionFilter {
  ticker?: string;
  eventTicker?: string;
  /** Only positions where one of these is non-zero. */
  countFilter?: ('position' | 'total_traded')[];
  /** Spec 3.31: positions in settled or unsettled markets, or all. */
  settlementStatus?: 'unsettled' | 'settled' | 'all';
  limit?: number;
  cursor?: string;
  subaccount?: number;
}

export interface KalshiSettlementFilter {
  ticker?: string;
  eventTicker?: string;
  minTs?: number;
  maxTs?: number;
  limit?: number;
  cursor?: string;
  subaccount?: number;
}

/** How one create may be stopped and its resends journaled (`createOrder`). */
export interface CreateOrderOptions {
  /** Aborted when the caller no longer waits for this create: it is not sent again. */
  signal?: AbortSignal;
  /** Runs before each resend, which does not happen if it throws (journal first). */
  beforeResend?: () => Promise<void>;
}

export interface KalshiCreateOrderRequest {
  ticker: string;
  /** Required: the idempotency key that makes a lost answer recoverable. Journal it before sending. */
  clientOrderId: string;
  /** YES book: bid = buy YES, ask = sell YES (= buy NO at $1 − price). */
  side: KalshiBookSide;
  /** YES-leg limit price. */
  price: Price;
  count: Count;
  timeInForce: KalshiTimeInForce;
  /** Unix seconds; with good_till_canceled only. */
  expirationTime?: number;
  postOnly?: boolean;
  /** Default 'taker_at_cross'. */
  selfTradePrevention?: KalshiSelfTradePrevention;
  reduceOnly?: boolean;
  cancelOrderOnPause?: boolean;
  subaccount?: number;
  orderGroupId?: string;
}

/** The outcome of a successful create, whether answered directly or recovered by lookup. */
export interface KalshiOrderPlacement {
  orderId: string;
  clientOrderId: string;
  fillCount: Count;
  remainingCount: Count;
  /**
   * 'created': the exchange answered the POST. 'recovered': the answer was lost (or was a 409
   * duplicate) and the order was found by `client_order_id` — `order` then holds its full state.
   */
  source: 'created' | 'recovered';
  /** Per contract, in Micros; only from a direct answer with fills. */
  averageFillPrice: Micros | null;
  averageFeePaid: Micros | null;
  tsMs: number | null;
  order: KalshiOrder | null;
  /** POST requests sent for this order (2 means: the first was certainly lost, then resent). */
  posts: number;
}

export interface KalshiCancelResult {
  orderId: string;
  clientOrderId: string | null;
  /** Contracts canceled by this call; null when the order was already gone. */
  reducedBy: Count | null;
  tsMs: number | null;
  /** True when a retried cancel found the order no longer there (404): it was canceled, filled or expired. */
  alreadyGone: boolean;
}

/**
 * An amend (V2): the order's ticker and side (as placed), its new price and its new **total**
 * count (already filled + desired resting, as Kalshi defines it). A price change or a larger total
 * sends the order to the back of the queue; an amend that only shrinks it or changes its expiry
 * keeps its place.
 */
export interface KalshiAmendOrderRequest {
  orderId: string;
  ticker: string;
  side: KalshiBookSide;
  price: Price;
  count: Count;
  /** The order's own client_order_id, if it has one (Kalshi checks it). */
  clientOrderId?: string;
  /** A new client_order_id for the amended order. */
  updatedClientOrderId?: string;
  /** Unix seconds; 0 removes the expiry (spec 3.31). */
  expirationTime?: number;
  subaccount?: number;
}

/** Exactly one of `reduceBy` (contracts less) and `reduceTo` (contracts left resting). */
export type KalshiDecreaseOrderRequest = { orderId: string; subaccount?: number } & ({ reduceBy: Count; reduceTo?: never } | { reduceTo: Count; reduceBy?: never });

export type KalshiBatchCreateResult =
  | { clientOrderId: string; status: 'placed'; placement: KalshiOrderPlacement }
  | { clientOrderId: string; status: 'rejected'; code: string | null; message: string | null }
  | { clientOrderId: string; status: 'unknown'; error: KalshiOrderOutcomeUnknownError };

export type KalshiBatchCancelResult =
  | { orderId: string; status: 'canceled'; clientOrderId: string | null; reducedBy: Count | null }
  | { orderId: string; status: 'already_gone' }
  | { orderId: string; status: 'rejected'; code: string | null; message: string | null };

export interface KalshiPositions {
  marketPositions: KalshiPosition[];
  eventPositions: KalshiEventPosition[];
}

// ---------------------------------------------------------------------------------------------
// Internals

type QueryValue = string | number | boolean | undefined | null;

interface CallSpec<T> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Relative to the REST base, e.g. `/markets`. */
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  schema: z.ZodType<T>;
}

/** Marker schema for endpoints that answer 204 with no body. */
const NO_CONTENT = {} as z.ZodType<void>;

const DEFAULT_TIMEOUT_MS = 10_000;
/** Share of the account's rate limits the client-side buckets use (see applyLimits). */
const LIMIT_MARGIN = 0.9;
const DEFAULT_ATTEMPTS = 4;
/** Page size for client_order_id lookups (Kalshi's documented default is 100; larger pages cost the same tokens). */
const LOOKUP_PAGE_SIZE = 200;
/** Query timestamps above this are milliseconds by mistake (1e11 s is the year 5138). */
const MAX_PLAUSIBLE_SECONDS = 1e11;

function seconds(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer of Unix seconds, got ${value}`);
  if (value >= MAX_PLAUSIBLE_SECONDS) throw new RangeError(`${name} is Unix seconds; ${value} looks like milliseconds`);
  return value;
}

/** Order-group limits are whole contracts (OrderGroupsApi docs). */
function wholeContracts(count: Count, name: string): Count {
  if (!Number.isSafeInteger(count) || count <= 0 || count % 100 !== 0) throw new RangeError(`${name} must be a positive whole number of contracts (a multiple of 100 Count), got ${count}`);
  return count;
}

function commaList(values: string[] | undefined): string | undefined {
  return values && values.length > 0 ? values.join(',') : undefined;
}

function tickerList(values: string[] | undefined): string | undefined {
  if (values) assertMarketTickers(values, 'tickers');
  return commaList(values);
}

function segment(value: string, what: string): string {
  if (typeof value !== 'string' || value === '') throw new RangeError(`${what} is empty`);
  if (what === 'ticker') assertMarketTickers([value]);
  return encodeURIComponent(value);
}

function isRateLimited(error: unknown): error is KalshiApiError {
  return error instanceof KalshiApiError && error.status === 429;
}

function isDuplicateOrder(error: unknown): error is KalshiApiError {
  return error instanceof KalshiApiError && error.status === 409;
}

/** Builds and checks the V2 create body; every problem is reported before any request is made. */
function createOrderBody(req: KalshiCreateOrderRequest): Record<string, unknown> {
  if (typeof req.clientOrderId !== 'string' || req.clientOrderId.trim() === '') {
    throw new InvalidOrderRequestError('createOrder: clientOrderId is required (it makes a lost answer recoverable)');
  }
  if (!isMarketTicker(req.ticker)) throw new InvalidOrderRequestError(`createOrder: ${MARKET_TICKER_RULE}`);
  if (!Number.isSafeInteger(req.price)) throw new InvalidOrderRequestError(`createOrder: price must be an integer Price, got ${req.price}`);
  if (!Number.isSafeInteger(req.count)) throw new InvalidOrderRequestError(`createOrder: count must be an integer Count, got ${req.count}`);
  if (req.expirationTime !== undefined) seconds('expirationTime', req.expirationTime);
  if (req.reduceOnly && req.timeInForce !== 'immediate_or_cancel') {
    throw new InvalidOrderRequestError(`createOrder ${req.clientOrderId}: reduce_only orders must be immediate_or_cancel (spec 3.31)`);
  }
  const body: Record<string, unknown> = {
    ticker: req.ticker,
    client_order_id: req.clientOrderId,
    side: req.side,
    count: formatCount(req.count),
    price: formatPrice(req.price),
    time_in_force: req.timeInForce,
    self_trade_prevention_type: req.selfTradePrevention ?? 'taker_at_cross',
  };
  if (req.expirationTime !== undefined) body.expiration_time = req.expirationTime;
  if (req.postOnly !== undefined) body.post_only = req.postOnly;
  if (req.reduceOnly !== undefined) body.reduce_only = req.reduceOnly;
  if (req.cancelOrderOnPause !== undefined) body.cancel_order_on_pause = req.cancelOrderOnPause;
  if (req.subaccount !== undefined) body.subaccount = req.subaccount;
  if (req.orderGroupId !== undefined) body.order_group_id = req.orderGroupId;
  const checked = CreateOrderV2RequestSchema.safeParse(body);
  if (!checked.success) {
    const why = checked.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new InvalidOrderRequestError(`createOrder ${req.clientOrderId}: ${why}`);
  }
  return body;
}

function placementFromResponse(r: KalshiCreateOrderResponse, clientOrderId: string, posts: number): KalshiOrderPlacement {
  return {
    orderId: r.orderId,
    clientOrderId: r.clientOrderId ?? clientOrderId,
    fillCount: r.fillCount,
    remainingCount: r.remainingCount,
    source: 'created',
    averageFillPrice: r.averageFillPrice,
    averageFeePaid: r.averageFeePaid,
    tsMs: r.tsMs,
    order: null,
    posts,
  };
}

function placementFromOrder(order: KalshiOrder, posts: number): KalshiOrderPlacement {
  return {
    orderId: order.orderId,
    clientOrderId: order.clientOrderId,
    fillCount: order.fillCount,
    remainingCount: order.remainingCount,
    source: 'recovered',
    averageFillPrice: null,
    averageFeePaid: null,
    tsMs: order.createdTimeMs,
    order,
    posts,
  };
}

// ---------------------------------------------------------------------------------------------

export class KalshiRestClient {
  readonly endpoints: KalshiEndpoints;
  private readonly credentials: KalshiCredentials | undefined;
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;
  private readonly attempts: number;
  private readonly backoff: BackoffPolicy;
  private readonly clock: Clock;
  private readonly fetchImpl: typeof fetch | undefined;
  private readonly random: () => number;
  private readonly baseUrl: string;
  private readonly outcomeListeners = new Set<(outcome: KalshiRequestOutcome) => void>();
  private rateLimitOption: 'account' | AccountLimits | undefined;
  private buckets: { read: TokenBucket; write: TokenBucket } | null = null;
  private limitsLoading: Promise<void> | null = null;
  private appliedLimits: AccountLimits | null = null;

  constructor(options: KalshiRestOptions) {
    this.endpoints = options.endpoints;
    this.credentials = options.credentials;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    if (!(this.timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${this.timeoutMs}`);
    this.attempts = options.retry?.attempts ?? DEFAULT_ATTEMPTS;
    if (!Number.isInteger(this.attempts) || this.attempts < 1) throw new RangeError(`retry.attempts must be an integer ≥ 1, got ${this.attempts}`);
    this.backoff = options.retry?.backoff ?? DEFAULT_BACKOFF;
    this.clock = options.clock ?? systemClock;
    this.fetchImpl = options.fetch;
    this.random = options.random ?? Math.random;
    this.baseUrl = options.endpoints.restBaseUrl.replace(/\/+$/, '');
    this.rateLimitOption = options.rateLimits;
    if (options.rateLimits !== undefined && options.rateLimits !== 'account') this.applyLimits(options.rateLimits);
  }

  /** The limits the client-side buckets use (null: not limiting, or not yet loaded). */
  get rateLimits(): AccountLimits | null {
    return this.appliedLimits;
  }

  /** The account's usage tier and bucket sizes (`GET /account/limits`). */
  async getAccountLimits(): Promise<AccountLimits> {
    this.requireCredentials('getAccountLimits');
    return this.read({ method: 'GET', path: '/account/limits', schema: AccountLimitsSchema });
  }

  /**
   * The buckets run at 90% of the account's rate and capacity: the exchange counts a request when
   * it arrives, the client when it leaves, and uneven latency between two requests would
   * otherwise let one arrive a few tokens early.
   */
  private applyLimits(limits: AccountLimits, alreadySpent = 0): void {
    const now = this.clock.now();
    const margin = (b: AccountLimits['read']) => ({ refillRate: b.refillRate * LIMIT_MARGIN, bucketCapacity: b.bucketCapacity * LIMIT_MARGIN });
    this.appliedLimits = limits;
    this.buckets = { read: new TokenBucket(margin(limits.read), now), write: new TokenBucket(margin(limits.write), now) };
    if (alreadySpent > 0) this.buckets.read.take(alreadySpent, now);
  }

  /** Waits until the request's bucket holds its cost, then takes it (no await between the check and the take). */
  private async waitForTokens(spec: CallSpec<unknown>): Promise<void> {
    if (this.rateLimitOption === undefined || !this.credentials) return;
    if (this.buckets === null && this.rateLimitOption === 'account') {
      if (spec.path === '/account/limits') return; // the sizing read itself
      this.limitsLoading ??= this.getAccountLimits().then(
        (limits) => this.applyLimits(limits, requestCost('GET', '/account/limits').cost),
        // a venue without the endpoint (or a read that failed through its retries): no client-side
        // pacing; the 429 backoff still applies
        () => {
          this.rateLimitOption = undefined;
        },
      );
      await this.limitsLoading;
    }
    const buckets = this.buckets;
    if (buckets === null) return;
    const items = spec.path.endsWith('/batched') ? ((spec.body as { orders?: unknown[] } | undefined)?.orders?.length ?? 1) : 1;
    const { bucket, cost } = requestCost(spec.method, spec.path, items);
    for (;;) {
      const wait = buckets[bucket].waitMs(cost, this.clock.now());
      if (wait === 0) {
        buckets[bucket].take(cost, this.clock.now());
        return;
      }
      await sleep(wait, this.clock);
    }
  }

  /**
   * How long one request may take before it is given up: a create sent this long ago that the venue
   * does not know has not landed and will not (the order actor's `createLandingMs`).
   */
  get requestTimeoutMs(): number {
    return this.timeoutMs;
  }

  /** Whether requests are signed. */
  get authenticated(): boolean {
    return this.credentials !== undefined;
  }

  /** Calls `listener` after every HTTP attempt (each retry included); returns the unsubscribe function. */
  onRequestOutcome(listener: (outcome: KalshiRequestOutcome) => void): () => void {
    this.outcomeListeners.add(listener);
    return () => this.outcomeListeners.delete(listener);
  }

  private reportOutcome(outcome: KalshiRequestOutcome): void {
    for (const listener of this.outcomeListeners) {
      try {
        listener(outcome);
      } catch {
        // an observer's failure must not change the request's outcome
      }
    }
  }

  // ---- exchange & markets (public) ----------------------------------------------------------

  async getExchangeStatus(): Promise<KalshiExchangeStatus> {
    return this.read({ method: 'GET', path: '/exchange/status', schema: ExchangeStatusSchema });
  }

  async getMarkets(filter: KalshiMarketFilter = {}): Promise<{ markets: KalshiMarket[]; cursor: string }> {
    return this.read({
      method: 'GET',
      path: '/markets',
      query: {
        status: filter.status,
        event_ticker: filter.eventTicker,
        series_ticker: filter.seriesTicker,
        tickers: tickerList(filter.tickers),
        limit: filter.limit,
        cursor: filter.cursor || undefined,
        min_created_ts: seconds('minCreatedTs', filter.minCreatedTs),
        max_created_ts: seconds('maxCreatedTs', filter.maxCreatedTs),
        min_close_ts: seconds('minCloseTs', filter.minCloseTs),
        max_close_ts: seconds('maxCloseTs', filter.maxCloseTs),
        min_settled_ts: seconds('minSettledTs', filter.minSettledTs),
        max_settled_ts: seconds('maxSettledTs', filter.maxSettledTs),
        min_updated_ts: seconds('minUpdatedTs', filter.minUpdatedTs),
        max_updated_ts: seconds('maxUpdatedTs', filter.maxUpdatedTs),
        mve_filter: filter.mveFilter,
      },
      schema: GetMarketsResponseSchema,
    });
  }

  /** Every market matching `filter`, page by page, following cursors until Kalshi returns an empty one. */
  iterateMarkets(filter: KalshiMarketFilter = {}): AsyncGenerator<KalshiMarket> {
    return this.paginate('/markets', filter.cursor, async (cursor) => {
      const page = await this.getMarkets({ ...filter, cursor });
      return { items: page.markets, cursor: page.cursor };
    });
  }

  async getAllMarkets(filter: KalshiMarketFilter = {}): Promise<KalshiMarket[]> {
    return collect(this.iterateMarkets(filter));
  }

  async getMarket(ticker: string): Promise<KalshiMarket> {
    const body = await this.read({ method: 'GET', path: `/markets/${segment(ticker, 'ticker')}`, schema: GetMarketResponseSchema });
    return body.market;
  }

  // ---- events, series, candlesticks (public) -----------------------------------------------

  async getEvents(filter: { seriesTicker?: string; status?: 'unopened' | 'open' | 'closed' | 'settled'; withNestedMarkets?: boolean; limit?: number; cursor?: string } = {}): Promise<{ events: KalshiEvent[]; cursor: string }> {
    return this.read({
      method: 'GET',
      path: '/events',
      query: {
        series_ticker: filter.seriesTicker,
        status: filter.status,
        with_nested_markets: filter.withNestedMarkets,
        limit: filter.limit,
        cursor: filter.cursor || undefined,
      },
      schema: GetEventsResponseSchema,
    });
  }

  /** One event with its markets. */
  async getEvent(eventTicker: string): Promise<KalshiEvent> {
    return this.read({ method: 'GET', path: `/events/${segment(eventTicker, 'eventTicker')}`, schema: GetEventResponseSchema });
  }

  async getSeries(seriesTicker: string): Promise<KalshiSeries> {
    return this.read({ method: 'GET', path: `/series/${segment(seriesTicker, 'seriesTicker')}`, schema: GetSeriesResponseSchema });
  }

  async getSeriesList(filter: { category?: string } = {}): Promise<KalshiSeries[]> {
    return this.read({ method: 'GET', path: '/series', query: { category: filter.category }, schema: GetSeriesListResponseSchema });
  }

  /** Candles of one market whose periods end in [startTs, endTs] (Unix seconds); `periodMinutes` 1, 60 or 1440. */
  async getMarketCandlesticks(seriesTicker: string, ticker: string, range: { startTs: number; endTs: number; periodMinutes: 1 | 60 | 1440 }): Promise<KalshiCandlestick[]> {
    return this.read({
      method: 'GET',
      path: `/series/${segment(seriesTicker, 'seriesTicker')}/markets/${segment(ticker, 'ticker')}/candlesticks`,
      query: { start_ts: seconds('startTs', range.startTs), end_ts: seconds('endTs', range.endTs), period_interval: range.periodMinutes },
      schema: GetMarketCandlesticksResponseSchema,
    });
  }

  /** YES and NO bid levels, `[price, count]`, ascending by price (best bid last), as Kalshi sends them. */
  async getOrderbook(ticker: string, depth?: number): Promise<KalshiOrderbook> {
    const body = await this.read({
      method: 'GET',
      path: `/markets/${segment(ticker, 'ticker')}/orderbook`,
      query: { depth },
      schema: GetOrderbookResponseSchema,
    });
    return body.orderbook_fp;
  }

  // ---- orders: writes -------------------------------------------------------------------------

  /**
   * Places one limit order (V2, YES book). Never creates a second order for one `clientOrderId`:
   * after a lost answer it looks the order up and resends only if it is certainly absent.
   * `beforeResend` runs before every send after the first (journal first: a throw stops the
   * resend); once `signal` is aborted (the caller gave up on this create) nothing more is sent.
   * Throws KalshiOrderOutcomeUnknownError when the outcome cannot be established, its
   * `mayHaveLanded` saying whether any send may have been accepted.
   */
  async createOrder(req: KalshiCreateOrderRequest, options: CreateOrderOptions = {}): Promise<KalshiOrderPlacement> {
    this.assertWritable('createOrder');
    this.requireCredentials('createOrder');
    const body = createOrderBody(req);
    let posts = 0;
    let mayHaveLanded = false;
    const superseded = () => {
      if (options.signal?.aborted) throw new KalshiOrderOutcomeUnknownError(req.clientOrderId, req.ticker, 'create superseded: not sent again', mayHaveLanded);
    };
    for (let attempt = 0; ; attempt++) {
      if (posts > 0) {
        superseded();
        await options.beforeResend?.();
        superseded();
      }
      posts++;
      try {
        const response = await this.send({ method: 'POST', path: '/portfolio/events/orders', body, schema: CreateOrderV2ResponseSchema });
        return placementFromResponse(response, req.clientOrderId, posts);
      } catch (error) {
        mayHaveLanded ||= createMayHaveLanded(error);
        if (isDuplicateOrder(error)) {
          const existing = await this.lookupAfterFailedCreate(req, true);
          if (existing) return placementFromOrder(existing, posts);
          throw error;
        }
        if (!isRetryableError(error)) throw error;
        if (isRateLimited(error)) {
          // Kalshi refuses a request over its budget before doing anything: this order was not
          // placed, so it is sent again after the backoff without looking for it.
          if (attempt + 1 >= this.attempts) throw this.unanswered(req, error, mayHaveLanded);
          await sleep(backoffDelay(attempt, this.backoff, this.random), this.clock);
          continue;
        }
        // The POST may have reached the matching engine. Give it time to finish, then look.
        await sleep(backoffDelay(attempt, this.backoff, this.random), this.clock);
        superseded();
        const existing = await this.lookupAfterFailedCreate(req, mayHaveLanded);
        if (existing) return placementFromOrder(existing, posts);
        if (attempt + 1 >= this.attempts) throw this.unanswered(req, error, mayHaveLanded);
      }
    }
  }

  /** The last send's error, unless an earlier send may have landed though this one cannot have. */
  private unanswered(req: KalshiCreateOrderRequest, error: unknown, mayHaveLanded: boolean): unknown {
    return mayHaveLanded && !createMayHaveLanded(error) ? new KalshiOrderOutcomeUnknownError(req.clientOrderId, req.ticker, error, true) : error;
  }

  /**
   * Places several orders in one request. Results follow the input order. A lost answer is
   * resolved item by item through `client_order_id`; only the orders certainly absent are resent.
   */
  async batchCreateOrders(reqs: KalshiCreateOrderRequest[]): Promise<KalshiBatchCreateResult[]> {
    this.assertWritable('batchCreateOrders');
    this.requireCredentials('batchCreateOrders');
    if (reqs.length === 0) return [];
    const bodies = reqs.map(createOrderBody);
    const ids = new Set(reqs.map((r) => r.clientOrderId));
    if (ids.size !== reqs.length) throw new InvalidOrderRequestError('batchCreateOrders: clientOrderIds must be distinct within a batch');

    const results: (KalshiBatchCreateResult | undefined)[] = reqs.map(() => undefined);
    const posts = reqs.map(() => 0);
    let pending = reqs.map((_, i) => i);

    for (let attempt = 0; pending.length > 0; attempt++) {
      for (const i of pending) posts[i]++;
      let answer: z.output<typeof BatchCreateOrdersV2ResponseSchema>;
      try {
        answer = await this.send({
          method: 'POST',
          path: '/portfolio/events/orders/batched',
          body: { orders: pending.map((i) => bodies[i]) },
          schema: BatchCreateOrdersV2ResponseSchema,
        });
      } catch (error) {
        if (!isRetryableError(error) && !isDuplicateOrder(error)) throw error;
        if (isRateLimited(error) && attempt + 1 < this.attempts) {
          // refused before anything was placed (see createOrder): the same pending orders go again
          await sleep(backoffDelay(attempt, this.backoff, this.random), this.clock);
          continue;
        }
        if (isRetryableError(error)) await sleep(backoffDelay(attempt, this.backoff, this.random), this.clock);
        const stillAbsent: number[] = [];
        for (const i of pending) {
          const found = await this.lookupForBatch(reqs[i], posts[i]);
          if (found) results[i] = found;
          else stillAbsent.push(i);
        }
        pending = stillAbsent;
        if (pending.length > 0 && (attempt + 1 >= this.attempts || !isRetryableError(error))) {
          const reason = error instanceof KalshiApiError ? error : null;
          for (const i of pending) {
            results[i] = {
              clientOrderId: reqs[i].clientOrderId,
              status: 'rejected',
              code: reason?.code ?? null,
              message: error instanceof Error ? error.message : String(error),
            };
          }
          pending = [];
        }
        continue;
      }

      // Items come back in request order; match by client_order_id when Kalshi echoes it.
      const byClientId = new Map(answer.orders.filter((o) => o.clientOrderId).map((o) => [o.clientOrderId as string, o]));
      for (const [position, i] of pending.entries()) {
        const req = reqs[i];
        const item = byClientId.get(req.clientOrderId) ?? answer.orders[position];
        if (!item) {
          results[i] = { clientOrderId: req.clientOrderId, status: 'rejected', code: null, message: 'missing from the batch answer' };
        } else if (item.error) {
          results[i] =
            item.error.code === 'order_already_exists'
              ? ((await this.lookupForBatch(req, posts[i])) ?? {
                  clientOrderId: req.clientOrderId,
                  status: 'rejected',
                  code: item.error.code,
                  message: item.error.message,
                })
              : { clientOrderId: req.clientOrderId, status: 'rejected', code: item.error.code, message: item.error.message };
        } else if (item.orderId && item.fillCount !== null && item.remainingCount !== null) {
          results[i] = {
            clientOrderId: req.clientOrderId,
            status: 'placed',
            placement: placementFromResponse(
              {
                orderId: item.orderId,
                clientOrderId: item.clientOrderId,
                fillCount: item.fillCount,
                remainingCount: item.remainingCount,
                averageFillPrice: item.averageFillPrice,
                averageFeePaid: item.averageFeePaid,
                tsMs: item.tsMs,
              },
              req.clientOrderId,
              posts[i],
            ),
          };
        } else {
          results[i] = { clientOrderId: req.clientOrderId, status: 'rejected', code: null, message: 'batch item has neither an order nor an error' };
        }
      }
      pending = [];
    }
    return results as KalshiBatchCreateResult[];
  }

  /**
   * Cancels one order (V2). Retries on 429/5xx/network/timeout; a 404 on a retry means the first
   * attempt (or a fill, or expiry) already removed it, reported as `alreadyGone`.
   */
  async cancelOrder(orderId: string, options: { ticker?: string; subaccount?: number } = {}): Promise<KalshiCancelResult> {
    this.assertWritable('cancelOrder');
    this.requireCredentials('cancelOrder');
    const path = `/portfolio/events/orders/${segment(orderId, 'orderId')}`;
    let retried = false;
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.send({
          method: 'DELETE',
          path,
          query: { market_ticker: options.ticker, subaccount: options.subaccount },
          schema: CancelOrderV2ResponseSchema,
        });
        return { orderId: r.orderId, clientOrderId: r.clientOrderId, reducedBy: r.reducedBy, tsMs: r.tsMs, alreadyGone: false };
      } catch (error) {
        if (retried && error instanceof KalshiApiError && error.status === 404) {
          return { orderId, clientOrderId: null, reducedBy: null, tsMs: null, alreadyGone: true };
        }
        if (!isRetryableError(error) || attempt + 1 >= this.attempts) throw error;
        retried = true;
        await sleep(backoffDelay(attempt, this.backoff, this.random), this.clock);
      }
    }
  }

  /**
   * Amends a resting order (V2). The request names a target state (price, total count), so it is
   * retried on 429/5xx/network/timeout: if a lost attempt was applied, the resend asks for what
   * the order already is. 404/409 (gone, no longer resting) and 400s surface as KalshiApiError.
   */
  async amendOrder(req: KalshiAmendOrderRequest): Promise<KalshiAmendOrderResponse> {
    this.assertWritable('amendOrder');
    this.requireCredentials('amendOrder');
    if (!isMarketTicker(req.ticker)) throw new InvalidOrderRequestError(`amendOrder: ${MARKET_TICKER_RULE}`);
    if (!Number.isSafeInteger(req.price) || req.price <= 0) throw new InvalidOrderRequestError(`amendOrder: price must be a positive integer Price, got ${req.price}`);
    if (!Number.isSafeInteger(req.count) || req.count <= 0) throw new InvalidOrderRequestError(`amendOrder: count must be a positive integer Count, got ${req.count}`);
    const body: Record<string, unknown> = { ticker: req.ticker, side: req.side, price: formatPrice(req.price), count: formatCount(req.count) };
    if (req.clientOrderId) body.client_order_id = req.clientOrderId;
    if (req.updatedClientOrderId) body.updated_client_order_id = req.updatedClientOrderId;
    if (req.expirationTime !== undefined) body.expiration_time = req.expirationTime === 0 ? 0 : seconds('expirationTime', req.expirationTime);
    return this.retrying(() =>
      this.send({
        method: 'POST',
        path: `/portfolio/events/orders/${segment(req.orderId, 'orderId')}/amend`,
        query: { subaccount: req.subaccount },
        body,
        schema: AmendOrderV2ResponseSchema,
      }),
    );
  }

  /**
   * Decreases a resting order (V2), keeping its queue place. `reduceTo` names a target and is
   * retried like a read; `reduceBy` is relative, so a resend could take off twice: it is retried
   * only after a 429, which Kalshi answers before doing anything.
   */
  async decreaseOrder(req: KalshiDecreaseOrderRequest): Promise<KalshiDecreaseOrderResponse> {
    this.assertWritable('decreaseOrder');
    this.requireCredentials('decreaseOrder');
    const amount = req.reduceTo ?? req.reduceBy;
    if ((req.reduceTo === undefined) === (req.reduceBy === undefined) || !Number.isSafeInteger(amount) || (amount as number) < 0) {
      throw new InvalidOrderRequestError('decreaseOrder: exactly one of reduceBy and reduceTo, a non-negative integer Count');
    }
    const body = req.reduceTo !== undefined ? { reduce_to: formatCount(req.reduceTo) } : { reduce_by: formatCount(req.reduceBy as Count) };
    const call = () =>
      this.send({
        method: 'POST',
        path: `/portfolio/events/orders/${segment(req.orderId, 'orderId')}/decrease`,
        query: { subaccount: req.subaccount },
        body,
        schema: DecreaseOrderV2ResponseSchema,
      });
    if (req.reduceTo !== undefined) return this.retrying(call);
    return this.retrying(call, isRateLimited);
  }

  /** Cancels several orders in one request; retried as a whole (cancels are idempotent). Results follow the input order. */
  async batchCancelOrders(orderIds: string[]): Promise<KalshiBatchCancelResult[]> {
    this.assertWritable('batchCancelOrders');
    this.requireCredentials('batchCancelOrders');
    if (orderIds.length === 0) return [];
    for (const id of orderIds) segment(id, 'orderId');
    let retried = false;
    for (let attempt = 0; ; attempt++) {
      let answer: z.output<typeof BatchCancelOrdersV2ResponseSchema>;
      try {
        answer = await this.send({
          method: 'DELETE',
          path: '/portfolio/events/orders/batched',
          body: { orders: orderIds.map((order_id) => ({ order_id })) },
          schema: BatchCancelOrdersV2ResponseSchema,
        });
      } catch (error) {
        if (!isRetryableError(error) || attempt + 1 >= this.attempts) throw error;
        retried = true;
        await sleep(backoffDelay(attempt, this.backoff, this.random), this.clock);
        continue;
      }
      const byId = new Map(answer.orders.map((o) => [o.orderId, o]));
      return orderIds.map((orderId): KalshiBatchCancelResult => {
        const item = byId.get(orderId);
        if (!item) return { orderId, status: 'rejected', code: null, message: 'missing from the batch answer' };
        if (item.error) {
          // per-item errors carry no HTTP status; Kalshi's not-found codes say it
          if (retried && /not[_ ]?found/i.test(item.error.code ?? '')) return { orderId, status: 'already_gone' };
          return { orderId, status: 'rejected', code: item.error.code, message: item.error.message };
        }
        return { orderId, status: 'canceled', clientOrderId: item.clientOrderId, reducedBy: item.reducedBy };
      });
    }
  }

  /** Cancels every resting event order of the account (shutdown). Kalshi may also cancel orders placed during the following minute. */
  async cancelAllOrders(options: { subaccount?: number } = {}): Promise<void> {
    this.assertWritable('cancelAllOrders');
    this.requireCredentials('cancelAllOrders');
    await this.retrying(() =>
      this.send({ method: 'DELETE', path: '/portfolio/events/orders', query: { subaccount: options.subaccount }, schema: NO_CONTENT }),
    );
  }

  // ---- order groups ---------------------------------------------------------------------------
  // Writes that name a target state (create aside) are retried like reads: deleting, resetting,
  // triggering or setting a limit twice leaves the group as once. A create is retried only after
  // a 429 (not applied); a lost create answer may leave an unused empty group, which is harmless.

  /** A new order group; `contractsLimit` (whole contracts, as Count) caps matched contracts per rolling 15 s. */
  async createOrderGroup(options: { contractsLimit?: Count; subaccount?: number } = {}): Promise<string> {
    this.assertWritable('createOrderGroup');
    this.requireCredentials('createOrderGroup');
    const body: Record<string, unknown> = {};
    if (options.contractsLimit !== undefined) body.contracts_limit_fp = formatCount(wholeContracts(options.contractsLimit, 'contractsLimit'));
    if (options.subaccount !== undefined) body.subaccount = options.subaccount;
    const answer = await this.retrying(
      () => this.send({ method: 'POST', path: '/portfolio/order_groups/create', body, schema: CreateOrderGroupResponseSchema }),
      isRateLimited,
    );
    return answer.orderGroupId;
  }

  async getOrderGroup(orderGroupId: string): Promise<KalshiOrderGroup> {
    this.requireCredentials('getOrderGroup');
    const w = await this.read({ method: 'GET', path: `/portfolio/order_groups/${segment(orderGroupId, 'orderGroupId')}`, schema: OrderGroupResponseSchema });
    return { orderGroupId, contractsLimit: w.contracts_limit_fp, autoCancelEnabled: w.is_auto_cancel_enabled, orderIds: w.orders ?? [] };
  }

  async getOrderGroups(): Promise<KalshiOrderGroup[]> {
    this.requireCredentials('getOrderGroups');
    return this.read({ method: 'GET', path: '/portfolio/order_groups', schema: OrderGroupsResponseSchema });
  }

  /** Cancels the group's orders and removes it. */
  deleteOrderGroup(orderGroupId: string): Promise<void> {
    return this.orderGroupWrite('deleteOrderGroup', 'DELETE', orderGroupId, '');
  }

  /** Zeroes the group's matched contracts: it takes orders again. */
  resetOrderGroup(orderGroupId: string): Promise<void> {
    return this.orderGroupWrite('resetOrderGroup', 'PUT', orderGroupId, '/reset', {});
  }

  /** Does what reaching the limit does: cancels the group's orders, refuses new ones until reset. */
  triggerOrderGroup(orderGroupId: string): Promise<void> {
    return this.orderGroupWrite('triggerOrderGroup', 'PUT', orderGroupId, '/trigger', {});
  }

  /** A new limit; at or below what the window already matched, the group triggers at once. */
  updateOrderGroupLimit(orderGroupId: string, contractsLimit: Count): Promise<void> {
    return this.orderGroupWrite('updateOrderGroupLimit', 'PUT', orderGroupId, '/limit', {
      contracts_limit_fp: formatCount(wholeContracts(contractsLimit, 'contractsLimit')),
    });
  }

  private async orderGroupWrite(operation: string, method: 'PUT' | 'DELETE', orderGroupId: string, suffix: string, body?: unknown): Promise<void> {
    this.assertWritable(operation);
    this.requireCredentials(operation);
    const path = `/portfolio/order_groups/${segment(orderGroupId, 'orderGroupId')}${suffix}`;
    await this.retrying(() => this.send({ method, path, ...(body !== undefined ? { body } : {}), schema: EmptyResponseSchema }));
  }

  // ---- orders: reads --------------------------------------------------------------------------

  async getOrders(filter: KalshiOrderFilter = {}): Promise<{ orders: KalshiOrder[]; cursor: string }> {
    this.requireCredentials('getOrders');
    return this.read({
      method: 'GET',
      path: '/portfolio/orders',
      query: {
        ticker: filter.ticker,
        event_ticker: commaList(filter.eventTickers),
        status: filter.status,
        min_ts: seconds('minTs', filter.minTs),
        max_ts: seconds('maxTs', filter.maxTs),
        limit: filter.limit,
        cursor: filter.cursor || undefined,
        subaccount: filter.subaccount,
      },
      schema: GetOrdersResponseSchema,
    });
  }

  iterateOrders(filter: KalshiOrderFilter = {}): AsyncGenerator<KalshiOrder> {
    return this.paginate('/portfolio/orders', filter.cursor, async (cursor) => {
      const page = await this.getOrders({ ...filter, cursor });
      return { items: page.orders, cursor: page.cursor };
    });
  }

  async getOrder(orderId: string): Promise<KalshiOrder> {
    this.requireCredentials('getOrder');
    const body = await this.read({ method: 'GET', path: `/portfolio/orders/${segment(orderId, 'orderId')}`, schema: GetOrderResponseSchema });
    return body.order;
  }

  /** Contracts ahead of a resting order by price-time priority. */
  async getQueuePosition(orderId: string): Promise<Count> {
    this.requireCredentials('getQueuePosition');
    return this.read({ method: 'GET', path: `/portfolio/orders/${segment(orderId, 'orderId')}/queue_position`, schema: GetOrderQueuePositionResponseSchema });
  }

  /** Queue positions of every resting order, optionally of some markets or one event. */
  async getQueuePositions(filter: { tickers?: string[]; eventTicker?: string; subaccount?: number } = {}): Promise<KalshiQueuePosition[]> {
    this.requireCredentials('getQueuePositions');
    return this.read({
      method: 'GET',
      path: '/portfolio/orders/queue_positions',
      query: { market_tickers: tickerList(filter.tickers), event_ticker: filter.eventTicker, subaccount: filter.subaccount },
      schema: GetOrderQueuePositionsResponseSchema,
    });
  }

  /**
   * An order of ours, by the venue's id when known (a 404 is null), else by `clientOrderId`. Null
   * means the venue answered and has no such order; an inconclusive lookup throws.
   */
  async lookupOrder(order: { orderId?: string | null; clientOrderId: string; ticker?: string }): Promise<KalshiOrder | null> {
    if (!order.orderId) return this.findOrderByClientOrderId(order.clientOrderId, order.ticker);
    try {
      return await this.getOrder(order.orderId);
    } catch (error) {
      if (error instanceof KalshiApiError && error.status === 404) return null;
      throw error;
    }
  }

  /**
   * The order placed with `clientOrderId` (any status), or null when there is none. Pass the
   * ticker whenever known: it keeps the scan to one market's orders.
   */
  async findOrderByClientOrderId(clientOrderId: string, ticker?: string): Promise<KalshiOrder | null> {
    for await (const order of this.iterateOrders({ ticker, limit: LOOKUP_PAGE_SIZE })) {
      if (order.clientOrderId === clientOrderId) return order;
    }
    return null;
  }

  // ---- portfolio ------------------------------------------------------------------------------

  async getFills(filter: KalshiFillFilter = {}): Promise<{ fills: KalshiFill[]; cursor: string }> {
    this.requireCredentials('getFills');
    return this.read({
      method: 'GET',
      path: '/portfolio/fills',
      query: {
        ticker: filter.ticker,
        order_id: filter.orderId,
        min_ts: seconds('minTs', filter.minTs),
        max_ts: seconds('maxTs', filter.maxTs),
        limit: filter.limit,
        cursor: filter.cursor || undefined,
        subaccount: filter.subaccount,
      },
      schema: GetFillsResponseSchema,
    });
  }

  iterateFills(filter: KalshiFillFilter = {}): AsyncGenerator<KalshiFill> {
    return this.paginate('/portfolio/fills', filter.cursor, async (cursor) => {
      const page = await this.getFills({ ...filter, cursor });
      return { items: page.fills, cursor: page.cursor };
    });
  }

  async getPositions(filter: KalshiPositionFilter = {}): Promise<KalshiPositions & { cursor: string }> {
    this.requireCredentials('getPositions');
    const body = await this.read({
      method: 'GET',
      path: '/portfolio/positions',
      query: {
        ticker: filter.ticker,
        event_ticker: filter.eventTicker,
        count_filter: commaList(filter.countFilter),
        settlement_status: filter.settlementStatus,
        limit: filter.limit,
        cursor: filter.cursor || undefined,
        subaccount: filter.subaccount,
      },
      schema: GetPositionsResponseSchema,
    });
    return { marketPositions: body.market_positions, eventPositions: body.event_positions, cursor: body.cursor };
  }

  /** All pages of positions, market and event positions concatenated. */
  async getAllPositions(filter: KalshiPositionFilter = {}): Promise<KalshiPositions> {
    const all: KalshiPositions = { marketPositions: [], eventPositions: [] };
    const pages = this.paginate('/portfolio/positions', filter.cursor, async (cursor) => {
      const page = await this.getPositions({ ...filter, cursor });
      return { items: [page], cursor: page.cursor };
    });
    for await (const page of pages) {
      all.marketPositions.push(...page.marketPositions);
      all.eventPositions.push(...page.eventPositions);
    }
    return all;
  }

  async getBalance(options: { subaccount?: number } = {}): Promise<KalshiBalance> {
    this.requireCredentials('getBalance');
    return this.read({ method: 'GET', path: '/portfolio/balance', query: { subaccount: options.subaccount }, schema: BalanceSchema });
  }

  async getSettlements(filter: KalshiSettlementFilter = {}): Promise<{ settlements: KalshiSettlement[]; cursor: string }> {
    this.requireCredentials('getSettlements');
    return this.read({
      method: 'GET',
      path: '/portfolio/settlements',
      query: {
        ticker: filter.ticker,
        event_ticker: filter.eventTicker,
        min_ts: seconds('minTs', filter.minTs),
        max_ts: seconds('maxTs', filter.maxTs),
        limit: filter.limit,
        cursor: filter.cursor || undefined,
        subaccount: filter.subaccount,
      },
      schema: GetSettlementsResponseSchema,
    });
  }

  iterateSettlements(filter: KalshiSettlementFilter = {}): AsyncGenerator<KalshiSettlement> {
    return this.paginate('/portfolio/settlements', filter.cursor, async (cursor) => {
      const page = await this.getSettlements({ ...filter, cursor });
      return { items: page.settlements, cursor: page.cursor };
    });
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private assertWritable(operation: string): void {
    const refusal = orderWriteRefusal(new URL(this.baseUrl), this.endpoints);
    if (refusal) throw new ReadOnlyEnvironmentError(operation, this.endpoints.environment, refusal);
  }

  private requireCredentials(operation: string): void {
    if (!this.credentials) throw new MissingCredentialsError(operation);
  }

  private async lookupAfterFailedCreate(req: KalshiCreateOrderRequest, mayHaveLanded = true): Promise<KalshiOrder | null> {
    try {
      return await this.findOrderByClientOrderId(req.clientOrderId, req.ticker);
    } catch (error) {
      throw new KalshiOrderOutcomeUnknownError(req.clientOrderId, req.ticker, error, mayHaveLanded);
    }
  }

  private async lookupForBatch(req: KalshiCreateOrderRequest, posts: number): Promise<KalshiBatchCreateResult | null> {
    try {
      const order = await this.lookupAfterFailedCreate(req);
      return order ? { clientOrderId: req.clientOrderId, status: 'placed', placement: placementFromOrder(order, posts) } : null;
    } catch (error) {
      if (error instanceof KalshiOrderOutcomeUnknownError) return { clientOrderId: req.clientOrderId, status: 'unknown', error };
      throw error;
    }
  }

  /** A read: retried on 429/5xx/network/timeout. */
  private read<T>(spec: CallSpec<T>): Promise<T> {
    return this.retrying(() => this.send(spec));
  }

  private async retrying<T>(call: () => Promise<T>, retryable: (error: unknown) => boolean = isRetryableError): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (!retryable(error) || attempt + 1 >= this.attempts) throw error;
        await sleep(backoffDelay(attempt, this.backoff, this.random), this.clock);
      }
    }
  }

  private async *paginate<T>(
    path: string,
    firstCursor: string | undefined,
    page: (cursor: string | undefined) => Promise<{ items: T[]; cursor: string }>,
  ): AsyncGenerator<T> {
    const seen = new Set<string>();
    let cursor = firstCursor || undefined;
    for (;;) {
      const { items, cursor: next } = await page(cursor);
      yield* items;
      if (!next) return;
      // a server that hands back a cursor it already gave would otherwise loop forever
      if (seen.has(next)) {
        throw new KalshiValidationError('GET', this.pathOf(path), [{ path: 'cursor', message: 'cursor repeated: pagination does not advance' }]);
      }
      seen.add(next);
      cursor = next;
    }
  }

  private pathOf(relative: string): string {
    return new URL(this.baseUrl + relative).pathname;
  }

  /** One HTTP exchange: sign, send with a timeout, read the whole body, validate. */
  private async send<T>(spec: CallSpec<T>): Promise<T> {
    const url = new URL(this.baseUrl + spec.path);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined && value !== null && value !== '') url.searchParams.set(key, String(value));
    }
    // Kalshi signs the full path (with /trade-api/v2) and never the query
    const path = url.pathname;
    if (spec.method !== 'GET') {
      // Every write is re-checked against the one venue rule on the URL it is about to use,
      // before signing or any I/O: the public methods' checks are not the only gate.
      const refusal = orderWriteRefusal(url, this.endpoints);
      if (refusal) throw new ReadOnlyEnvironmentError(`${spec.method} ${path}`, this.endpoints.environment, refusal);
    }
    await this.waitForTokens(spec as CallSpec<unknown>);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    if (this.credentials) Object.assign(headers, signRequest(this.credentials, spec.method, path, Math.floor(this.clock.now())));

    const fetchImpl = this.fetchImpl ?? globalThis.fetch;
    const controller = new AbortController();
    const timer = this.clock.setTimeout(() => controller.abort(), this.timeoutMs);
    const startedAt = performance.now();
    let status: number;
    let text: string;
    let tooLarge = false;
    try {
      const response = await fetchImpl(url, {
        method: spec.method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal: controller.signal,
      });
      status = response.status;
      const body = await readBoundedText(response, this.maxResponseBytes);
      tooLarge = !body.ok;
      text = body.ok ? body.text : '';
    } catch (error) {
      const failure = controller.signal.aborted
        ? new KalshiTimeoutError(spec.method, path, this.timeoutMs)
        : new KalshiNetworkError(spec.method, path, error);
      this.reportOutcome({ method: spec.method, path, status: null, fault: true, detail: failure.message, durationMs: performance.now() - startedAt });
      throw failure;
    } finally {
      this.clock.clearTimeout(timer);
    }

    if (status === 429 && this.buckets !== null) this.buckets[requestCost(spec.method, spec.path).bucket].drain(this.clock.now());
    const fault = status === 429 || status >= 500;
    this.reportOutcome({
      method: spec.method,
      path,
      status,
      fault,
      ...(fault ? { detail: `HTTP ${status} on ${spec.method} ${path}` } : {}),
      durationMs: performance.now() - startedAt,
    });
    if (tooLarge) {
      throw new KalshiValidationError(spec.method, path, [{ path: '', message: `response body exceeds ${this.maxResponseBytes} bytes (HTTP ${status})` }]);
    }
    if (status < 200 || status > 299) throw KalshiApiError.fromResponse(status, text, spec.method, path);
    if (spec.schema === NO_CONTENT) return undefined as T;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new KalshiValidationError(spec.method, path, [{ path: '', message: `body is not JSON (HTTP ${status}, ${text.length} bytes)` }]);
    }
    const parsed = spec.schema.safeParse(json);
    if (!parsed.success) {
      throw new KalshiValidationError(
        spec.method,
        path,
        parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
      );
    }
    return parsed.data;
  }
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
