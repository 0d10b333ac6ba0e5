/**
 * zod schemas for the Kalshi Trade API v2 (spec 3.30) bodies the system reads and writes. Each
 * response schema validates the wire JSON and turns Kalshi's fixed-point strings into the integer
 * units of `src/core/money.ts` (Price, Count, Micros), RFC3339 times into epoch ms, and snake_case
 * into camelCase — so nothing past this file ever sees a dollar string.
 *
 * Liberal where Kalshi is (unknown fields are ignored, optional and deprecated fields may be
 * absent or null), strict where money is: a money field that is present must parse exactly, and
 * the money fields the spec requires are required here. The simulator validates its own output
 * against these schemas, and its request parsing can reuse the request schemas at the end.
 */
import { z } from 'zod';
import {
  ONE_DOLLAR,
  centsToMicros,
  parseCount,
  parseDollars,
  parsePrice,
  complement,
  type Count,
  type Micros,
  type Price,
} from '../../core/money.ts';
import type { AccountLimits } from '../../core/rate-limits.ts';

// ---------------------------------------------------------------------------------------------
// Scalars

function fixedPoint(parse: (text: string) => number) {
  return z.string().transform((text, ctx) => {
    try {
      return parse(text);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
      return z.NEVER;
    }
  });
}

/** A `*_dollars` price string ("0.5600") → Price, within $0–$1. */
export const priceString = fixedPoint(parsePrice).refine((p) => p >= 0 && p <= ONE_DOLLAR, {
  message: 'price outside $0–$1',
});
/** A `*_fp` contract count string ("10.00") → Count. */
export const countString = fixedPoint(parseCount);
/** A dollar amount string (costs, fees, P&L, balances; up to 6 decimals) → Micros. */
export const dollarString = fixedPoint(parseDollars);
/** An integer number of cents (legacy balance / settlement fields) → Micros. */
export const centsInteger = z.number().int().transform((cents): Micros => centsToMicros(cents));
/** An RFC3339 time → epoch ms. */
export const isoTime = z.string().transform((text, ctx) => {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: 'not an RFC3339 time' });
    return z.NEVER;
  }
  return ms;
});

/** Absent or null → null. */
function optional<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((value) => (value ?? null) as z.output<T> | null);
}

const bookSide = z.enum(['bid', 'ask']);
const outcomeSide = z.enum(['yes', 'no']);
const orderStatus = z.enum(['resting', 'canceled', 'executed']);
const timeInForce = z.enum(['good_till_canceled', 'immediate_or_cancel', 'fill_or_kill']);
const selfTradePrevention = z.enum(['taker_at_cross', 'maker']);

export type KalshiBookSide = z.infer<typeof bookSide>;
export type KalshiOutcomeSide = z.infer<typeof outcomeSide>;
export type KalshiOrderStatus = z.infer<typeof orderStatus>;
export type KalshiTimeInForce = z.infer<typeof timeInForce>;
export type KalshiSelfTradePrevention = z.infer<typeof selfTradePrevention>;
/** Market statuses in responses (note: the `status` query filter uses another vocabulary: open, closed, settled…). */
export type KalshiMarketStatus =
  | 'initialized'
  | 'inactive'
  | 'active'
  | 'closed'
  | 'determined'
  | 'disputed'
  | 'amended'
  | 'finalized';

/** Error object as embedded in batch items (unwrapped) — the top-level shapes are read in errors.ts. */
export const ErrorResponseSchema = z
  .object({
    code: z.string().nullish(),
    message: z.string().nullish(),
    details: z.string().nullish(),
    service: z.string().nullish(),
  })
  .transform((w) => ({ code: w.code ?? null, message: w.message ?? null, details: w.details ?? null }));
export type KalshiErrorResponse = z.output<typeof ErrorResponseSchema>;

// ---------------------------------------------------------------------------------------------
// Exchange

export interface KalshiExchangeStatus {
  exchangeActive: boolean;
  tradingActive: boolean;
  estimatedResumeTime: string | null;
}

export const ExchangeStatusSchema = z
  .object({
    exchange_active: z.boolean(),
    trading_active: z.boolean(),
    exchange_estimated_resume_time: z.string().nullish(),
  })
  .transform(
    (w): KalshiExchangeStatus => ({
      exchangeActive: w.exchange_active,
      tradingActive: w.trading_active,
      estimatedResumeTime: w.exchange_estimated_resume_time ?? null,
    }),
  );

// ---------------------------------------------------------------------------------------------
// Markets

export interface KalshiPriceRange {
  start: Price;
  end: Price;
  step: Price;
}

export const PriceRangeSchema = z
  .object({ start: priceString, end: priceString, step: priceString })
  .refine((r) => r.step > 0 && r.start <= r.end, { message: 'price range needs step > 0 and start ≤ end' });

export interface KalshiMarket {
  ticker: string;
  eventTicker: string;
  marketType: string | null;
  title: string | null;
  yesSubTitle: string | null;
  noSubTitle: string | null;
  /** One of KalshiMarketStatus; kept open so a new status does not break market discovery. */
  status: KalshiMarketStatus | (string & {});
  /** 'yes' | 'no' | 'scalar' | '' (not settled). */
  result: string;
  createdTimeMs: number | null;
  openTimeMs: number | null;
  closeTimeMs: number;
  expectedExpirationTimeMs: number | null;
  latestExpirationTimeMs: number | null;
  yesBid: Price;
  yesBidSize: Count | null;
  yesAsk: Price;
  yesAskSize: Count | null;
  /** From `no_bid_dollars`, or $1 − yes ask when absent. */
  noBid: Price;
  /** From `no_ask_dollars`, or $1 − yes bid when absent. */
  noAsk: Price;
  lastPrice: Price;
  previousYesBid: Price | null;
  previousYesAsk: Price | null;
  previousPrice: Price | null;
  volume: Count;
  volume24h: Count | null;
  openInterest: Count;
  notionalValue: Micros | null;
  settlementValue: Price | null;
  settlementTimeMs: number | null;
  canCloseEarly: boolean | null;
  strikeType: string | null;
  floorStrike: number | null;
  capStrike: number | null;
  rulesPrimary: string | null;
  /** 'linear_cent' | 'tapered_deci_cent' | 'deci_cent'; 'linear_cent' when absent. */
  priceLevelStructure: string;
  priceRanges: KalshiPriceRange[];
  /** Spec 3.31: 'default' ($0/$1) or 'floor' (settles no lower than `settlementFloor`); 'default' when absent. */
  settlementBoundsType: 'default' | 'floor' | (string & {});
  settlementFloor: Micros | null;
  exchangeIndex: number | null;
}

export const MarketSchema = z
  .object({
    ticker: z.string().min(1),
    event_ticker: z.string(),
    market_type: z.string().nullish(),
    title: z.string().nullish(),
    yes_sub_title: z.string().nullish(),
    no_sub_title: z.string().nullish(),
    status: z.string().min(1),
    result: z.string().nullish(),
    created_time: optional(isoTime),
    open_time: optional(isoTime),
    close_time: isoTime,
    expected_expiration_time: optional(isoTime),
    latest_expiration_time: optional(isoTime),
    yes_bid_dollars: priceString,
    yes_bid_size_fp: optional(countString),
    yes_ask_dollars: priceString,
    yes_ask_size_fp: optional(countString),
    no_bid_dollars: optional(priceString),
    no_ask_dollars: optional(priceString),
    last_price_dollars: priceString,
    previous_yes_bid_dollars: optional(priceString),
    previous_yes_ask_dollars: optional(priceString),
    previous_price_dollars: optional(priceString),
    volume_fp: countString,
    volume_24h_fp: optional(countString),
    open_interest_fp: countString,
    notional_value_dollars: optional(dollarString),
    settlement_value_dollars: optional(priceString),
    settlement_ts: optional(isoTime),
    can_close_early: z.boolean().nullish(),
    strike_type: z.string().nullish(),
    floor_strike: z.number().nullish(),
    cap_strike: z.number().nullish(),
    rules_primary: z.string().nullish(),
    price_level_structure: z.string().nullish(),
    price_ranges: z.array(PriceRangeSchema).nullish(),
    settlement_bounds_type: z.string().nullish(),
    settlement_floor_dollars: optional(dollarString),
    exchange_index: z.number().int().nullish(),
  })
  .transform(
    (w): KalshiMarket => ({
      ticker: w.ticker,
      eventTicker: w.event_ticker,
      marketType: w.market_type ?? null,
      title: w.title ?? null,
      yesSubTitle: w.yes_sub_title ?? null,
      noSubTitle: w.no_sub_title ?? null,
      status: w.status,
      result: w.result ?? '',
      createdTimeMs: w.created_time,
      openTimeMs: w.open_time,
      closeTimeMs: w.close_time,
      expectedExpirationTimeMs: w.expected_expiration_time,
      latestExpirationTimeMs: w.latest_expiration_time,
      yesBid: w.yes_bid_dollars,
      yesBidSize: w.yes_bid_size_fp,
      yesAsk: w.yes_ask_dollars,
      yesAskSize: w.yes_ask_size_fp,
      noBid: w.no_bid_dollars ?? complement(w.yes_ask_dollars),
      noAsk: w.no_ask_dollars ?? complement(w.yes_bid_dollars),
      lastPrice: w.last_price_dollars,
      previousYesBid: w.previous_yes_bid_dollars,
      previousYesAsk: w.previous_yes_ask_dollars,
      previousPrice: w.previous_price_dollars,
      volume: w.volume_fp,
      volume24h: w.volume_24h_fp,
      openInterest: w.open_interest_fp,
      notionalValue: w.notional_value_dollars,
      settlementValue: w.settlement_value_dollars,
      settlementTimeMs: w.settlement_ts,
      canCloseEarly: w.can_close_early ?? null,
      strikeType: w.strike_type ?? null,
      floorStrike: w.floor_strike ?? null,
      capStrike: w.cap_strike ?? null,
      rulesPrimary: w.rules_primary ?? null,
      priceLevelStructure: w.price_level_structure ?? 'linear_cent',
      priceRanges: w.price_ranges ?? [],
      settlementBoundsType: w.settlement_bounds_type ?? 'default',
      settlementFloor: w.settlement_floor_dollars,
      exchangeIndex: w.exchange_index ?? null,
    }),
  );

const cursor = z
  .string()
  .nullish()
  .transform((c) => c ?? '');

export const GetMarketsResponseSchema = z.object({ markets: z.array(MarketSchema), cursor });
export const GetMarketResponseSchema = z.object({ market: MarketSchema });

// ---------------------------------------------------------------------------------------------
// Order book

/** One side of the book: `[price, count]` levels as Kalshi sends them (ascending price, best bid last). */
export type KalshiBookLevels = [Price, Count][];

export interface KalshiOrderbook {
  /** YES bids. */
  yes: KalshiBookLevels;
  /** NO bids (a NO bid at q is a YES ask at $1 − q). */
  no: KalshiBookLevels;
}

const bookLevels = z
  .array(z.tuple([priceString, countString]))
  .nullish()
  .transform((levels): KalshiBookLevels => levels ?? []);

export const OrderbookSchema = z
  .object({ yes_dollars: bookLevels, no_dollars: bookLevels })
  .transform((w): KalshiOrderbook => ({ yes: w.yes_dollars, no: w.no_dollars }));

export const GetOrderbookResponseSchema = z.object({ orderbook_fp: OrderbookSchema });

// ---------------------------------------------------------------------------------------------
// Orders

/** YES-book side from the legacy (side, action) pair: buy YES / sell NO bid, sell YES / buy NO ask. */
function legacyBookSide(side: 'yes' | 'no', action: 'buy' | 'sell'): KalshiBookSide {
  return (action === 'buy') === (side === 'yes') ? 'bid' : 'ask';
}

export interface KalshiOrder {
  orderId: string;
  userId: string | null;
  /** '' when the order was placed without one. */
  clientOrderId: string;
  ticker: string;
  /** Side on the YES book: bid = buy YES, ask = sell YES (= buy NO at $1 − price). */
  side: KalshiBookSide;
  outcomeSide: KalshiOutcomeSide | null;
  status: KalshiOrderStatus;
  yesPrice: Price;
  noPrice: Price;
  initialCount: Count;
  fillCount: Count;
  remainingCount: Count;
  takerFillCost: Micros;
  makerFillCost: Micros;
  takerFees: Micros;
  makerFees: Micros;
  expirationTimeMs: number | null;
  createdTimeMs: number | null;
  lastUpdateTimeMs: number | null;
  lastUpdateReason: string | null;
  selfTradePrevention: KalshiSelfTradePrevention | null;
  orderGroupId: string | null;
  cancelOrderOnPause: boolean | null;
  subaccount: number | null;
  exchangeIndex: number | null;
}

export const OrderSchema = z
  .object({
    order_id: z.string().min(1),
    user_id: z.string().nullish(),
    client_order_id: z.string().nullish(),
    ticker: z.string().min(1),
    side: outcomeSide.nullish(),
    action: z.enum(['buy', 'sell']).nullish(),
    outcome_side: outcomeSide.nullish(),
    book_side: bookSide.nullish(),
    status: orderStatus,
    yes_price_dollars: priceString,
    no_price_dollars: optional(priceString),
    fill_count_fp: countString,
    remaining_count_fp: countString,
    initial_count_fp: optional(countString),
    taker_fill_cost_dollars: dollarString,
    maker_fill_cost_dollars: dollarString,
    taker_fees_dollars: dollarString,
    maker_fees_dollars: dollarString,
    expiration_time: optional(isoTime),
    created_time: optional(isoTime),
    last_update_time: optional(isoTime),
    last_update_reason: z.string().nullish(),
    self_trade_prevention_type: selfTradePrevention.nullish(),
    order_group_id: z.string().nullish(),
    cancel_order_on_pause: z.boolean().nullish(),
    subaccount_number: z.number().int().nullish(),
    exchange_index: z.number().int().nullish(),
  })
  .transform((w, ctx): KalshiOrder => {
    const side = w.book_side ?? (w.side && w.action ? legacyBookSide(w.side, w.action) : null);
    if (side === null) {
      ctx.addIssue({ code: 'custom', message: 'order has neither book_side nor (side, action)', path: ['book_side'] });
      return z.NEVER;
    }
    return {
      orderId: w.order_id,
      userId: w.user_id ?? null,
      clientOrderId: w.client_order_id ?? '',
      ticker: w.ticker,
      side,
      outcomeSide: w.outcome_side ?? w.side ?? null,
      status: w.status,
      yesPrice: w.yes_price_dollars,
      noPrice: w.no_price_dollars ?? complement(w.yes_price_dollars),
      initialCount: w.initial_count_fp ?? w.fill_count_fp + w.remaining_count_fp,
      fillCount: w.fill_count_fp,
      remainingCount: w.remaining_count_fp,
      takerFillCost: w.taker_fill_cost_dollars,
      makerFillCost: w.maker_fill_cost_dollars,
      takerFees: w.taker_fees_dollars,
      makerFees: w.maker_fees_dollars,
      expirationTimeMs: w.expiration_time,
      createdTimeMs: w.created_time,
      lastUpdateTimeMs: w.last_update_time,
      lastUpdateReason: w.last_update_reason ?? null,
      selfTradePrevention: w.self_trade_prevention_type ?? null,
      orderGroupId: w.order_group_id ?? null,
      cancelOrderOnPause: w.cancel_order_on_pause ?? null,
      subaccount: w.subaccount_number ?? null,
      exchangeIndex: w.exchange_index ?? null,
    };
  });

export const GetOrdersResponseSchema = z.object({ orders: z.array(OrderSchema), cursor });
export const GetOrderResponseSchema = z.object({ order: OrderSchema });

/** What `POST /portfolio/events/orders` (201) answers. */
export interface KalshiCreateOrderResponse {
  orderId: string;
  clientOrderId: string | null;
  fillCount: Count;
  remainingCount: Count;
  /** Per contract, in Micros: an average of tick prices needs more than a Price's 4 decimals. */
  averageFillPrice: Micros | null;
  /** Per contract, in Micros. */
  averageFeePaid: Micros | null;
  tsMs: number | null;
}

export const CreateOrderV2ResponseSchema = z
  .object({
    order_id: z.string().min(1),
    client_order_id: z.string().nullish(),
    fill_count: countString,
    remaining_count: countString,
    average_fill_price: optional(dollarString),
    average_fee_paid: optional(dollarString),
    ts_ms: z.number().int().nullish(),
  })
  .transform(
    (w): KalshiCreateOrderResponse => ({
      orderId: w.order_id,
      clientOrderId: w.client_order_id ?? null,
      fillCount: w.fill_count,
      remainingCount: w.remaining_count,
      averageFillPrice: w.average_fill_price,
      averageFeePaid: w.average_fee_paid,
      tsMs: w.ts_ms ?? null,
    }),
  );

/** What `DELETE /portfolio/events/orders/{id}` answers. */
export interface KalshiCancelOrderResponse {
  orderId: string;
  clientOrderId: string | null;
  /** Contracts that were still resting and are now canceled. */
  reducedBy: Count;
  tsMs: number | null;
}

export const CancelOrderV2ResponseSchema = z
  .object({
    order_id: z.string().min(1),
    client_order_id: z.string().nullish(),
    reduced_by: countString,
    ts_ms: z.number().int().nullish(),
  })
  .transform(
    (w): KalshiCancelOrderResponse => ({
      orderId: w.order_id,
      clientOrderId: w.client_order_id ?? null,
      reducedBy: w.reduced_by,
      tsMs: w.ts_ms ?? null,
    }),
  );

/** What `POST /portfolio/events/orders/{id}/amend` answers (counts are present when the amend changed size or traded). */
export interface KalshiAmendOrderResponse {
  orderId: string;
  clientOrderId: string | null;
  fillCount: Count | null;
  remainingCount: Count | null;
  averageFillPrice: Micros | null;
  averageFeePaid: Micros | null;
  tsMs: number | null;
}

/** The create answer's fields, with the counts optional (Kalshi sends them when the amend changed size or traded). */
export const AmendOrderV2ResponseSchema = CreateOrderV2ResponseSchema.in
  .extend({ fill_count: optional(countString), remaining_count: optional(countString) })
  .transform(
    (w): KalshiAmendOrderResponse => ({
      orderId: w.order_id,
      clientOrderId: w.client_order_id ?? null,
      fillCount: w.fill_count,
      remainingCount: w.remaining_count,
      averageFillPrice: w.average_fill_price,
      averageFeePaid: w.average_fee_paid,
      tsMs: w.ts_ms ?? null,
    }),
  );

/** What `POST /portfolio/events/orders/{id}/decrease` answers. */
export interface KalshiDecreaseOrderResponse {
  orderId: string;
  clientOrderId: string | null;
  remainingCount: Count;
  tsMs: number | null;
}

export const DecreaseOrderV2ResponseSchema = z
  .object({
    order_id: z.string().min(1),
    client_order_id: z.string().nullish(),
    remaining_count: countString,
    ts_ms: z.number().int().nullish(),
  })
  .transform(
    (w): KalshiDecreaseOrderResponse => ({
      orderId: w.order_id,
      clientOrderId: w.client_order_id ?? null,
      remainingCount: w.remaining_count,
      tsMs: w.ts_ms ?? null,
    }),
  );

/** Contracts ahead of an order by price-time priority. */
export const GetOrderQueuePositionResponseSchema = z
  .object({ queue_position_fp: countString })
  .transform((w): Count => w.queue_position_fp);

export interface KalshiQueuePosition {
  orderId: string;
  ticker: string;
  /** Contracts ahead of the order. */
  queuePosition: Count;
}

export const GetOrderQueuePositionsResponseSchema = z
  .object({
    queue_positions: z
      .array(z.object({ order_id: z.string().min(1), market_ticker: z.string().min(1), queue_position_fp: countString }))
      .nullish(),
  })
  .transform((w): KalshiQueuePosition[] =>
    (w.queue_positions ?? []).map((q) => ({ orderId: q.order_id, ticker: q.market_ticker, queuePosition: q.queue_position_fp })),
  );

// ---------------------------------------------------------------------------------------------
// Events, series, candlesticks (kalshi-api.md §3.2)

export interface KalshiEvent {
  eventTicker: string;
  seriesTicker: string;
  title: string;
  subTitle: string | null;
  category: string | null;
  mutuallyExclusive: boolean;
  /** With `withNestedMarkets` (GET /events) or always (GET /events/{ticker}). */
  markets: KalshiMarket[];
}

const EventSchema = z
  .object({
    event_ticker: z.string().min(1),
    series_ticker: z.string(),
    title: z.string(),
    sub_title: z.string().nullish(),
    category: z.string().nullish(),
    mutually_exclusive: z.boolean(),
    markets: z.array(MarketSchema).nullish(),
  })
  .transform(
    (w): KalshiEvent => ({
      eventTicker: w.event_ticker,
      seriesTicker: w.series_ticker,
      title: w.title,
      subTitle: w.sub_title ?? null,
      category: w.category ?? null,
      mutuallyExclusive: w.mutually_exclusive,
      markets: w.markets ?? [],
    }),
  );

export const GetEventsResponseSchema = z.object({ events: z.array(EventSchema), cursor });
export const GetEventResponseSchema = z
  .object({ event: EventSchema, markets: z.array(MarketSchema) })
  .transform((w): KalshiEvent => ({ ...w.event, markets: w.markets }));

export interface KalshiSeries {
  ticker: string;
  title: string;
  category: string;
  frequency: string;
  feeType: string;
  feeMultiplier: number;
}

const SeriesSchema = z
  .object({ ticker: z.string().min(1), title: z.string(), category: z.string(), frequency: z.string(), fee_type: z.string(), fee_multiplier: z.number() })
  .transform((w): KalshiSeries => ({ ticker: w.ticker, title: w.title, category: w.category, frequency: w.frequency, feeType: w.fee_type, feeMultiplier: w.fee_multiplier }));

export const GetSeriesResponseSchema = z.object({ series: SeriesSchema }).transform((w) => w.series);
export const GetSeriesListResponseSchema = z.object({ series: z.array(SeriesSchema).nullish() }).transform((w) => w.series ?? []);

export interface KalshiOhlc {
  open: Price;
  low: Price;
  high: Price;
  close: Price;
}

export interface KalshiCandlestick {
  /** End of the period, Unix seconds. */
  endPeriodTs: number;
  yesBid: KalshiOhlc;
  yesAsk: KalshiOhlc;
  /** Trade prices; null when nothing traded in the period. */
  price: (KalshiOhlc & { mean: Price | null }) | null;
  volume: Count;
  openInterest: Count;
}

const ohlc = z
  .object({ open_dollars: priceString, low_dollars: priceString, high_dollars: priceString, close_dollars: priceString })
  .transform((w): KalshiOhlc => ({ open: w.open_dollars, low: w.low_dollars, high: w.high_dollars, close: w.close_dollars }));

const CandlestickSchema = z
  .object({
    end_period_ts: z.number().int(),
    yes_bid: ohlc,
    yes_ask: ohlc,
    price: z.object({
      open_dollars: optional(priceString),
      low_dollars: optional(priceString),
      high_dollars: optional(priceString),
      close_dollars: optional(priceString),
      mean_dollars: optional(priceString),
    }),
    volume_fp: countString,
    open_interest_fp: countString,
  })
  .transform(
    (w): KalshiCandlestick => ({
      endPeriodTs: w.end_period_ts,
      yesBid: w.yes_bid,
      yesAsk: w.yes_ask,
      price:
        w.price.open_dollars !== null && w.price.low_dollars !== null && w.price.high_dollars !== null && w.price.close_dollars !== null
          ? { open: w.price.open_dollars, low: w.price.low_dollars, high: w.price.high_dollars, close: w.price.close_dollars, mean: w.price.mean_dollars }
          : null,
      volume: w.volume_fp,
      openInterest: w.open_interest_fp,
    }),
  );

export const GetMarketCandlesticksResponseSchema = z.object({ ticker: z.string(), candlesticks: z.array(CandlestickSchema) }).transform((w) => w.candlesticks);

// ---------------------------------------------------------------------------------------------
// Account limits (kalshi-api.md §3.13)

const bucketLimit = z
  .object({ refill_rate: z.number().positive(), bucket_capacity: z.number().positive() })
  .transform((b) => ({ refillRate: b.refill_rate, bucketCapacity: b.bucket_capacity }));

export const AccountLimitsSchema = z
  .object({ usage_tier: z.string(), read: bucketLimit, write: bucketLimit })
  .transform((w): AccountLimits => ({ usageTier: w.usage_tier, read: w.read, write: w.write }));

// ---------------------------------------------------------------------------------------------
// Order groups (kalshi-api.md §3.12)

export interface KalshiOrderGroup {
  orderGroupId: string;
  /** null when the group has no limit. */
  contractsLimit: Count | null;
  /** False once the limit triggered the group (its orders cancelled, new ones refused) until a reset. */
  autoCancelEnabled: boolean;
  /** Only from GET one group. */
  orderIds: string[] | null;
}

export const CreateOrderGroupResponseSchema = z
  .object({ order_group_id: z.string().min(1), subaccount: z.number().int().nullish(), exchange_index: z.number().int().nullish() })
  .transform((w) => ({ orderGroupId: w.order_group_id }));

export const OrderGroupsResponseSchema = z
  .object({
    order_groups: z
      .array(z.object({ id: z.string().min(1), contracts_limit_fp: optional(countString), is_auto_cancel_enabled: z.boolean() }))
      .nullish(),
  })
  .transform((w): KalshiOrderGroup[] =>
    (w.order_groups ?? []).map((g) => ({ orderGroupId: g.id, contractsLimit: g.contracts_limit_fp, autoCancelEnabled: g.is_auto_cancel_enabled, orderIds: null })),
  );

/** GET /portfolio/order_groups/{id} (the id is the caller's: the answer does not repeat it). */
export const OrderGroupResponseSchema = z.object({
  contracts_limit_fp: optional(countString),
  is_auto_cancel_enabled: z.boolean(),
  orders: z.array(z.string()).nullish(),
});

/** Order-group writes (delete, reset, trigger, limit) answer an empty object. */
export const EmptyResponseSchema = z.object({}).passthrough().transform(() => undefined);

export interface KalshiBatchCreateItem {
  orderId: string | null;
  clientOrderId: string | null;
  fillCount: Count | null;
  remainingCount: Count | null;
  averageFillPrice: Micros | null;
  averageFeePaid: Micros | null;
  tsMs: number | null;
  error: KalshiErrorResponse | null;
}

export const BatchCreateOrdersV2ResponseSchema = z.object({
  orders: z.array(
    z
      .object({
        order_id: z.string().nullish(),
        client_order_id: z.string().nullish(),
        fill_count: optional(countString),
        remaining_count: optional(countString),
        average_fill_price: optional(dollarString),
        average_fee_paid: optional(dollarString),
        ts_ms: z.number().int().nullish(),
        error: ErrorResponseSchema.nullish(),
      })
      .transform(
        (w): KalshiBatchCreateItem => ({
          orderId: w.order_id ?? null,
          clientOrderId: w.client_order_id ?? null,
          fillCount: w.fill_count,
          remainingCount: w.remaining_count,
          averageFillPrice: w.average_fill_price,
          averageFeePaid: w.average_fee_paid,
          tsMs: w.ts_ms ?? null,
          error: w.error ?? null,
        }),
      ),
  ),
});

export interface KalshiBatchCancelItem {
  orderId: string;
  clientOrderId: string | null;
  reducedBy: Count | null;
  tsMs: number | null;
  error: KalshiErrorResponse | null;
}

export const BatchCancelOrdersV2ResponseSchema = z.object({
  orders: z.array(
    z
      .object({
        order_id: z.string().min(1),
        client_order_id: z.string().nullish(),
        reduced_by: optional(countString),
        ts_ms: z.number().int().nullish(),
        error: ErrorResponseSchema.nullish(),
      })
      .transform(
        (w): KalshiBatchCancelItem => ({
          orderId: w.order_id,
          clientOrderId: w.client_order_id ?? null,
          reducedBy: w.reduced_by,
          tsMs: w.ts_ms ?? null,
          error: w.error ?? null,
        }),
      ),
  ),
});

// ---------------------------------------------------------------------------------------------
// Fills, positions, balance, settlements

export interface KalshiFill {
  /** Unique per fill; the dedupe key. */
  fillId: string;
  tradeId: string;
  orderId: string;
  ticker: string;
  side: KalshiBookSide;
  outcomeSide: KalshiOutcomeSide | null;
  count: Count;
  yesPrice: Price;
  noPrice: Price;
  isTaker: boolean;
  feeCost: Micros;
  createdTimeMs: number | null;
  subaccount: number | null;
  exchangeIndex: number | null;
}

export const FillSchema = z
  .object({
    fill_id: z.string().nullish(),
    trade_id: z.string().nullish(),
    order_id: z.string().min(1),
    ticker: z.string().nullish(),
    market_ticker: z.string().nullish(),
    side: outcomeSide.nullish(),
    action: z.enum(['buy', 'sell']).nullish(),
    outcome_side: outcomeSide.nullish(),
    book_side: bookSide.nullish(),
    count_fp: countString,
    yes_price_dollars: priceString,
    no_price_dollars: optional(priceString),
    is_taker: z.boolean(),
    fee_cost: dollarString,
    created_time: optional(isoTime),
    ts: z.number().nullish(),
    subaccount_number: z.number().int().nullish(),
    exchange_index: z.number().int().nullish(),
  })
  .transform((w, ctx): KalshiFill => {
    const fillId = w.fill_id || w.trade_id;
    const ticker = w.ticker || w.market_ticker;
    const side = w.book_side ?? (w.side && w.action ? legacyBookSide(w.side, w.action) : null);
    if (!fillId) ctx.addIssue({ code: 'custom', message: 'fill has neither fill_id nor trade_id', path: ['fill_id'] });
    if (!ticker) ctx.addIssue({ code: 'custom', message: 'fill has neither ticker nor market_ticker', path: ['ticker'] });
    if (side === null) ctx.addIssue({ code: 'custom', message: 'fill has neither book_side nor (side, action)', path: ['book_side'] });
    if (!fillId || !ticker || side === null) return z.NEVER;
    return {
      fillId,
      tradeId: w.trade_id || fillId,
      orderId: w.order_id,
      ticker,
      side,
      outcomeSide: w.outcome_side ?? w.side ?? null,
      count: w.count_fp,
      yesPrice: w.yes_price_dollars,
      noPrice: w.no_price_dollars ?? complement(w.yes_price_dollars),
      isTaker: w.is_taker,
      feeCost: w.fee_cost,
      createdTimeMs: w.created_time ?? (typeof w.ts === 'number' ? w.ts * 1000 : null),
      subaccount: w.subaccount_number ?? null,
      exchangeIndex: w.exchange_index ?? null,
    };
  });

export const GetFillsResponseSchema = z.object({ fills: z.array(FillSchema), cursor });

export interface KalshiPosition {
  ticker: string;
  /** Positive = YES contracts held, negative = NO contracts. */
  position: Count;
  marketExposure: Micros;
  realizedPnl: Micros;
  feesPaid: Micros;
  totalTraded: Micros;
  lastUpdatedTimeMs: number | null;
  exchangeIndex: number | null;
}

export const MarketPositionSchema = z
  .object({
    ticker: z.string().min(1),
    position_fp: countString,
    market_exposure_dollars: dollarString,
    realized_pnl_dollars: dollarString,
    fees_paid_dollars: dollarString,
    total_traded_dollars: dollarString,
    // a date-time string despite its name
    last_updated_ts: optional(isoTime),
    exchange_index: z.number().int().nullish(),
  })
  .transform(
    (w): KalshiPosition => ({
      ticker: w.ticker,
      position: w.position_fp,
      marketExposure: w.market_exposure_dollars,
      realizedPnl: w.realized_pnl_dollars,
      feesPaid: w.fees_paid_dollars,
      totalTraded: w.total_traded_dollars,
      lastUpdatedTimeMs: w.last_updated_ts,
      exchangeIndex: w.exchange_index ?? null,
    }),
  );

export interface KalshiEventPosition {
  eventTicker: string;
  totalCost: Micros;
  totalCostShares: Count;
  eventExposure: Micros;
  realizedPnl: Micros;
  feesPaid: Micros;
}

export const EventPositionSchema = z
  .object({
    event_ticker: z.string().min(1),
    total_cost_dollars: dollarString,
    total_cost_shares_fp: countString,
    event_exposure_dollars: dollarString,
    realized_pnl_dollars: dollarString,
    fees_paid_dollars: dollarString,
  })
  .transform(
    (w): KalshiEventPosition => ({
      eventTicker: w.event_ticker,
      totalCost: w.total_cost_dollars,
      totalCostShares: w.total_cost_shares_fp,
      eventExposure: w.event_exposure_dollars,
      realizedPnl: w.realized_pnl_dollars,
      feesPaid: w.fees_paid_dollars,
    }),
  );

export const GetPositionsResponseSchema = z.object({
  market_positions: z
    .array(MarketPositionSchema)
    .nullish()
    .transform((p) => p ?? []),
  event_positions: z
    .array(EventPositionSchema)
    .nullish()
    .transform((p) => p ?? []),
  cursor,
});

export interface KalshiBalance {
  /** Available cash, exact: from `balance_dollars` (the legacy cents field truncates sub-cent amounts). */
  balance: Micros;
  /** Value of open positions (Kalshi reports it in cents). */
  portfolioValue: Micros | null;
  updatedTs: number | null;
  byExchangeIndex: { exchangeIndex: number; balance: Micros }[];
}

export const BalanceSchema = z
  .object({
    balance: centsInteger,
    balance_dollars: optional(dollarString),
    portfolio_value: optional(centsInteger),
    updated_ts: z.number().nullish(),
    balance_breakdown: z
      .array(z.object({ exchange_index: z.number().int(), balance: dollarString }))
      .nullish(),
  })
  .transform(
    (w): KalshiBalance => ({
      balance: w.balance_dollars ?? w.balance,
      portfolioValue: w.portfolio_value,
      updatedTs: w.updated_ts ?? null,
      byExchangeIndex: (w.balance_breakdown ?? []).map((b) => ({ exchangeIndex: b.exchange_index, balance: b.balance })),
    }),
  );

export interface KalshiSettlement {
  ticker: string;
  eventTicker: string;
  /** 'yes' | 'no' | 'scalar'. */
  marketResult: string;
  yesCount: Count;
  yesTotalCost: Micros;
  noCount: Count;
  noTotalCost: Micros;
  /** Payout received (Kalshi reports it in cents). */
  revenue: Micros;
  feeCost: Micros;
  /** Payout of one YES contract, when given (cents on the wire). */
  yesPayout: Price | null;
  settledTimeMs: number;
  exchangeIndex: number | null;
}

export const SettlementSchema = z
  .object({
    ticker: z.string().min(1),
    event_ticker: z.string().nullish(),
    market_result: z.string(),
    yes_count_fp: countString,
    yes_total_cost_dollars: dollarString,
    no_count_fp: countString,
    no_total_cost_dollars: dollarString,
    revenue: centsInteger,
    fee_cost: dollarString,
    value: z.number().int().min(0).max(100).nullish(),
    settled_time: isoTime,
    exchange_index: z.number().int().nullish(),
  })
  .transform(
    (w): KalshiSettlement => ({
      ticker: w.ticker,
      eventTicker: w.event_ticker ?? '',
      marketResult: w.market_result,
      yesCount: w.yes_count_fp,
      yesTotalCost: w.yes_total_cost_dollars,
      noCount: w.no_count_fp,
      noTotalCost: w.no_total_cost_dollars,
      revenue: w.revenue,
      feeCost: w.fee_cost,
      yesPayout: typeof w.value === 'number' ? (w.value * ONE_DOLLAR) / 100 : null,
      settledTimeMs: w.settled_time,
      exchangeIndex: w.exchange_index ?? null,
    }),
  );

export const GetSettlementsResponseSchema = z.object({ settlements: z.array(SettlementSchema), cursor });

// ---------------------------------------------------------------------------------------------
// Requests (what the client sends; the simulator parses incoming bodies with these)

export interface KalshiCreateOrderRequestParsed {
  ticker: string;
  clientOrderId: string | null;
  side: KalshiBookSide;
  price: Price;
  count: Count;
  timeInForce: KalshiTimeInForce;
  /** Unix seconds. */
  expirationTime: number | null;
  postOnly: boolean;
  selfTradePrevention: KalshiSelfTradePrevention;
  reduceOnly: boolean;
  cancelOrderOnPause: boolean;
  subaccount: number | null;
  orderGroupId: string | null;
  exchangeIndex: number | null;
}

export const CreateOrderV2RequestSchema = z
  .object({
    ticker: z.string().min(1),
    client_order_id: z.string().min(1).nullish(),
    side: bookSide,
    count: countString.refine((c) => c > 0, { message: 'count must be positive' }),
    price: priceString.refine((p) => p > 0 && p < ONE_DOLLAR, { message: 'price must be strictly between $0 and $1' }),
    time_in_force: timeInForce,
    expiration_time: z.number().int().positive().nullish(),
    post_only: z.boolean().nullish(),
    self_trade_prevention_type: selfTradePrevention,
    cancel_order_on_pause: z.boolean().nullish(),
    reduce_only: z.boolean().nullish(),
    subaccount: z.number().int().min(0).max(63).nullish(),
    order_group_id: z.string().nullish(),
    exchange_index: z.number().int().nullish(),
  })
  .transform(
    (w): KalshiCreateOrderRequestParsed => ({
      ticker: w.ticker,
      clientOrderId: w.client_order_id ?? null,
      side: w.side,
      price: w.price,
      count: w.count,
      timeInForce: w.time_in_force,
      expirationTime: w.expiration_time ?? null,
      postOnly: w.post_only ?? false,
      selfTradePrevention: w.self_trade_prevention_type,
      reduceOnly: w.reduce_only ?? false,
      cancelOrderOnPause: w.cancel_order_on_pause ?? false,
      subaccount: w.subaccount ?? null,
      orderGroupId: w.order_group_id ?? null,
      exchangeIndex: w.exchange_index ?? null,
    }),
  );

export const BatchCreateOrdersV2RequestSchema = z.object({ orders: z.array(CreateOrderV2RequestSchema).min(1) });

export const BatchCancelOrdersV2RequestSchema = z.object({
  orders: z
    .array(
      z.object({
        order_id: z.string().min(1),
        subaccount: z.number().int().nullish(),
        exchange_index: z.number().int().nullish(),
        market_ticker: z.string().nullish(),
      }),
    )
    .min(1),
});

// ---------------------------------------------------------------------------------------------
// Wire (input) types, for code that produces Kalshi JSON (the simulator) and for test fixtures

export type KalshiMarketWire = z.input<typeof MarketSchema>;
export type KalshiOrderWire = z.input<typeof OrderSchema>;
export type KalshiFillWire = z.input<typeof FillSchema>;
export type KalshiMarketPositionWire = z.input<typeof MarketPositionSchema>;
export type KalshiEventPositionWire = z.input<typeof EventPositionSchema>;
export type KalshiBalanceWire = z.input<typeof BalanceSchema>;
export type KalshiSettlementWire = z.input<typeof SettlementSchema>;
export type KalshiCreateOrderResponseWire = z.input<typeof CreateOrderV2ResponseSchema>;
export type KalshiCancelOrderResponseWire = z.input<typeof CancelOrderV2ResponseSchema>;
export type KalshiAmendOrderResponseWire = z.input<typeof AmendOrderV2ResponseSchema>;
export type KalshiCreateOrderRequestWire = z.input<typeof CreateOrderV2RequestSchema>;
export type KalshiOrderbookWire = z.input<typeof GetOrderbookResponseSchema>;
export type KalshiExchangeStatusWire = z.input<typeof ExchangeStatusSchema>;
