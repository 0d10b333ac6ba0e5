/**
 * Kalshi WebSocket v2 wire formats: zod schemas for every server frame we consume (validated and
 * converted to the integer units of `src/core/money.ts`), the client commands with typed builders,
 * and `parseServerFrame`, the hot-path entry point used by `ws.ts`.
 *
 * Sits in the adapter layer (imports only `core`); the simulator imports the schemas and
 * `parseClientCommand` to speak the same protocol. Protocol facts: shared/kalshi-api.md §5.
 *
 * Speed: orderbook_delta, ticker and trade frames are most of the traffic, so they are checked by
 * hand-written validators that must accept and produce exactly what their zod schemas do (a
 * property test holds them to it); every other frame goes through zod.
 */
import { z } from 'zod';
import { ONE_DOLLAR, complement, parseCount, parseDollars, parsePrice } from '../../core/money.ts';
import type { Count, Micros, Price } from '../../core/money.ts';
import { marketTickerSchema } from '../../core/tickers.ts';
import type { OrderSide } from '../../core/order-state.ts';

// ─── Internal (parsed) shapes ──────────────────────────────────────────────────────────────────

export type OutcomeSide = 'yes' | 'no';
/** The YES-leg book side (bid = buy YES, ask = sell YES): core's OrderSide, one declaration. */
export type BookSide = OrderSide;
/** One book level: [price, resting size]. */
export type BookLevel = [price: Price, count: Count];

export interface OrderbookSnapshotMsg {
  ticker: string;
  marketId: string | undefined;
  /** YES bids. */
  yes: BookLevel[];
  /** NO bids, on the NO-leg scale unless the subscription asked for `use_yes_price`. */
  no: BookLevel[];
}

export interface OrderbookDeltaMsg {
  ticker: string;
  marketId: string | undefined;
  side: OutcomeSide;
  price: Price;
  /** Signed change of the resting size at `price`. */
  delta: Count;
  /** Present only when this connection's user caused the change. */
  clientOrderId: string | undefined;
  subaccount: number | undefined;
  tsMs: number | undefined;
}

export interface TickerMsg {
  ticker: string;
  marketId: string | undefined;
  /** Last trade price; undefined before the first trade (Kalshi then sends ""). */
  price: Price | undefined;
  yesBid: Price | undefined;
  yesAsk: Price | undefined;
  yesBidSize: Count | undefined;
  yesAskSize: Count | undefined;
  lastTradeSize: Count | undefined;
  volume: Count | undefined;
  openInterest: Count | undefined;
  tsMs: number | undefined;
}

export interface TradeMsg {
  tradeId: string;
  ticker: string;
  yesPrice: Price;
  noPrice: Price;
  count: Count;
  takerOutcomeSide: OutcomeSide | undefined;
  takerBookSide: BookSide | undefined;
  /** Deprecated by Kalshi in favour of takerOutcomeSide/takerBookSide. */
  takerSide: OutcomeSide | undefined;
  tsMs: number | undefined;
}

export interface FillMsg {
  tradeId: string;
  orderId: string;
  ticker: string;
  isTaker: boolean;
  yesPrice: Price;
  count: Count;
  outcomeSide: OutcomeSide | undefined;
  bookSide: BookSide | undefined;
  /** Deprecated direction fields, kept while Kalshi still sends them. */
  side: OutcomeSide | undefined;
  action: 'buy' | 'sell' | undefined;
  purchasedSide: OutcomeSide | undefined;
  /** Signed position after the fill (+YES / −NO). */
  postPosition: Count | undefined;
  fee: Micros | undefined;
  clientOrderId: string | undefined;
  subaccount: number | undefined;
  /** The exchange shard (required on fills since spec 3.31; only 0 exists). */
  exchangeIndex: number | undefined;
  tsMs: number | undefined;
}

export interface MarketPositionMsg {
  userId: string | undefined;
  ticker: string;
  /** Signed: > 0 YES contracts, < 0 NO contracts. */
  position: Count;
  positionCost: Micros | undefined;
  realizedPnl: Micros | undefined;
  feesPaid: Micros | undefined;
  positionFeeCost: Micros | undefined;
  volume: Count | undefined;
  subaccount: number | undefined;
}

export interface UserOrderMsg {
  orderId: string;
  userId: string | undefined;
  ticker: string;
  status: 'resting' | 'canceled' | 'executed';
  yesPrice: Price;
  outcomeSide: OutcomeSide | undefined;
  bookSide: BookSide | undefined;
  side: OutcomeSide | undefined;
  isYes: boolean | undefined;
  fillCount: Count | undefined;
  remainingCount: Count | undefined;
  initialCount: Count | undefined;
  takerFillCost: Micros | undefined;
  makerFillCost: Micros | undefined;
  takerFees: Micros | undefined;
  makerFees: Micros | undefined;
  clientOrderId: string | undefined;
  orderGroupId: string | undefined;
  createdTsMs: number | undefined;
  lastUpdatedTsMs: number | undefined;
  expirationTsMs: number | undefined;
  subaccount: number | undefined;
}

export interface MarketLifecycleMsg {
  /** created | activated | deactivated | close_date_updated | determined | settled | … (open set). */
  eventType: string;
  ticker: string;
  openTs: number | undefined;
  closeTs: number | undefined;
  result: string | undefined;
  determinationTs: number | undefined;
  /** Per-contract settlement value. */
  settlementValue: Price | undefined;
  settledTs: number | undefined;
  isDeactivated: boolean | undefined;
  priceLevelStructure: string | undefined;
}

export interface EventLifecycleMsg {
  eventTicker: string;
  seriesTicker: string | undefined;
  title: string | undefined;
  subtitle: string | undefined;
  collateralReturnType: string | undefined;
  strikeDate: number | undefined;
}

/** order_group_updates: what happened to one of the account's order groups. */
export interface OrderGroupUpdateMsg {
  eventType: 'created' | 'triggered' | 'reset' | 'deleted' | 'limit_updated' | (string & {});
  orderGroupId: string;
  contractsLimit: Count | undefined;
}

export interface SubscriptionInfo {
  channel: string;
  sid: number;
}

export type ParsedFrame =
  | { type: 'subscribed'; id: number | undefined; channel: string; sid: number }
  | { type: 'unsubscribed'; id: number | undefined; sid: number; seq: number | undefined }
  | {
      type: 'ok';
      id: number | undefined;
      sid: number | undefined;
      seq: number | undefined;
      /** Reply to update_subscription: the subscription's tickers. */
      marketTickers: string[] | undefined;
      /** Reply to list_subscriptions. */
      subscriptions: SubscriptionInfo[] | undefined;
    }
  | { type: 'error'; id: number | undefined; code: number; message: string; marketTicker: string | undefined }
  | { type: 'orderbook_snapshot'; sid: number; seq: number; msg: OrderbookSnapshotMsg }
  | { type: 'orderbook_delta'; sid: number; seq: number; msg: OrderbookDeltaMsg }
  | { type: 'ticker'; sid: number; seq: number | undefined; msg: TickerMsg }
  | { type: 'trade'; sid: number; seq: number | undefined; msg: TradeMsg }
  | { type: 'fill'; sid: number; seq: number | undefined; msg: FillMsg }
  | { type: 'market_position'; sid: number; seq: number | undefined; msg: MarketPositionMsg }
  | { type: 'user_order'; sid: number; seq: number | undefined; msg: UserOrderMsg }
  | { type: 'market_lifecycle_v2'; sid: number; seq: number | undefined; msg: MarketLifecycleMsg }
  | { type: 'event_lifecycle'; sid: number; seq: number | undefined; msg: EventLifecycleMsg }
  | { type: 'order_group_updates'; sid: number; seq: number | undefined; msg: OrderGroupUpdateMsg }
  /** A well-formed frame of a type we do not consume (communications, multivariate, …). */
  | { type: 'unknown'; frameType: string; sid: number | undefined; seq: number | undefined };

/** Why a frame could not be used: bad JSON or a schema violation. */
export interface FrameError {
  type: 'frame_error';
  reason: string;
  /** The frame's `type`, when it had one. */
  frameType: string | undefined;
}

export function isFrameError(x: ParsedFrame | FrameError): x is FrameError {
  return x.type === 'frame_error';
}

/** Kalshi WS error codes (asyncapi x-error-codes, plus 25 from the 2026-05 changelog). */
export const WS_ERROR_CODES: Readonly<Record<number, string>> = {
  1: 'Unable to process message',
  2: 'Params required',
  3: 'Channels required',
  4: 'Subscription IDs required',
  5: 'Unknown command',
  6: 'Already subscribed',
  7: 'Unknown subscription ID',
  8: 'Unknown channel name',
  9: 'Authentication required',
  10: 'Channel error',
  11: 'Invalid parameter',
  12: 'Exactly one subscription ID is required',
  13: 'Unsupported action',
  14: 'Market Ticker required',
  15: 'Action required',
  16: 'Market not found',
  17: 'Internal error',
  18: 'Command timeout',
  19: 'shard_factor must be > 0',
  20: 'shard_factor is required when shard_key is set',
  21: 'shard_key must be >= 0 and < shard_factor',
  22: 'shard_factor must be <= 100',
  25: 'Subscription buffer overflow',
};

// ─── zod building blocks (wire string → integer unit) ──────────────────────────────────────────

function moneyField<T>(parse: (s: string) => T, check?: (v: T) => string | undefined) {
  return z.string().transform((s, ctx) => {
    try {
      const value = parse(s);
      const problem = check?.(value);
      if (problem === undefined) return value;
      ctx.addIssue({ code: 'custom', message: problem });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
    return z.NEVER;
  });
}

const priceRange = (p: Price) => (p < 0 || p > ONE_DOLLAR ? `price ${p} outside [0, ${ONE_DOLLAR}]` : undefined);
const nonNegative = (c: Count) => (c < 0 ? `negative count ${c}` : undefined);

/** A price in [$0, $1]. */
const zPrice = moneyField(parsePrice, priceRange);
/** A price in [$0, $1], or "" for "none yet" (ticker fields) → undefined. */
const zPriceOrEmpty = z
  .string()
  .nullish()
  .transform((s, ctx) => {
    if (s == null || s === '') return undefined;
    try {
      const p = parsePrice(s);
      const problem = priceRange(p);
      if (problem === undefined) return p;
      ctx.addIssue({ code: 'custom', message: problem });
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: (e as Error).message });
    }
    return z.NEVER;
  });
const zSignedCount = moneyField(parseCount);
const zCount = moneyField(parseCount, nonNegative);
const zDollars = moneyField(parseDollars);

const zSid = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const zSeq = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const zInt = z.number().int().min(Number.MIN_SAFE_INTEGER).max(Number.MAX_SAFE_INTEGER);
const zTicker = z.string().min(1);
const zOutcome = z.enum(['yes', 'no']);
const zBook = z.enum(['bid', 'ask']);

/** Optional on the wire: absent and null both mean "not given". */
function opt<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v) => (v == null ? undefined : v) as Exclude<z.output<T>, null> | undefined);
}

const zLevel = z.tuple([zPrice, zCount]);
const zLevels = opt(z.array(zLevel)).transform((v) => (v ?? []) as BookLevel[]);

// ─── Server frame schemas ──────────────────────────────────────────────────────────────────────

export const subscribedFrameSchema = z
  .object({
    type: z.literal('subscribed'),
    id: opt(zInt),
    msg: z.object({ channel: z.string().min(1), sid: zSid }),
  })
  .transform((f) => ({ type: 'subscribed' as const, id: f.id, channel: f.msg.channel, sid: f.msg.sid }));

export const unsubscribedFrameSchema = z
  .object({ type: z.literal('unsubscribed'), id: opt(zInt), sid: zSid, seq: opt(zSeq) })
  .transform((f) => ({ type: 'unsubscribed' as const, id: f.id, sid: f.sid, seq: f.seq }));

export const okFrameSchema = z
  .object({
    type: z.literal('ok'),
    id: opt(zInt),
    sid: opt(zSid),
    seq: opt(zSeq),
    msg: opt(
      z.union([
        z.array(z.object({ channel: z.string(), sid: zSid })),
        z.object({ market_tickers: opt(z.array(z.string())) }),
      ]),
    ),
  })
  .transform((f) => ({
    type: 'ok' as const,
    id: f.id,
    sid: f.sid,
    seq: f.seq,
    marketTickers: f.msg && !Array.isArray(f.msg) ? f.msg.market_tickers : undefined,
    subscriptions: Array.isArray(f.msg) ? f.msg.map((s) => ({ channel: s.channel, sid: s.sid })) : undefined,
  }));

export const errorFrameSchema = z
  .object({
    type: z.literal('error'),
    id: opt(zInt),
    msg: z.object({ code: zInt, msg: z.string(), market_ticker: opt(z.string()) }),
  })
  .transform((f) => ({
    type: 'error' as const,
    id: f.id,
    code: f.msg.code,
    message: f.msg.msg,
    marketTicker: f.msg.market_ticker,
  }));

export const orderbookSnapshotFrameSchema = z
  .object({
    type: z.literal('orderbook_snapshot'),
    sid: zSid,
    seq: zSeq,
    msg: z.object({
      market_ticker: zTicker,
      market_id: opt(z.string()),
      /** Omitted when that side of the book is empty. */
      yes_dollars_fp: zLevels,
      no_dollars_fp: zLevels,
    }),
  })
  .transform((f) => ({
    type: 'orderbook_snapshot' as const,
    sid: f.sid,
    seq: f.seq,
    msg: { ticker: f.msg.market_ticker, marketId: f.msg.market_id, yes: f.msg.yes_dollars_fp, no: f.msg.no_dollars_fp },
  }));

export const orderbookDeltaFrameSchema = z
  .object({
    type: z.literal('orderbook_delta'),
    sid: zSid,
    seq: zSeq,
    msg: z.object({
      market_ticker: zTicker,
      market_id: opt(z.string()),
      price_dollars: zPrice,
      delta_fp: zSignedCount,
      side: zOutcome,
      client_order_id: opt(z.string()),
      subaccount: opt(zInt),
      ts_ms: opt(zInt),
    }),
  })
  .transform((f) => ({
    type: 'orderbook_delta' as const,
    sid: f.sid,
    seq: f.seq,
    msg: {
      ticker: f.msg.market_ticker,
      marketId: f.msg.market_id,
      side: f.msg.side,
      price: f.msg.price_dollars,
      delta: f.msg.delta_fp,
      clientOrderId: f.msg.client_order_id,
      subaccount: f.msg.subaccount,
      tsMs: f.msg.ts_ms,
    },
  }));

export const tickerFrameSchema = z
  .object({
    type: z.literal('ticker'),
    sid: zSid,
    seq: opt(zSeq),
    msg: z.object({
      market_ticker: zTicker,
      market_id: opt(z.string()),
      price_dollars: zPriceOrEmpty,
      yes_bid_dollars: zPriceOrEmpty,
      yes_ask_dollars: zPriceOrEmpty,
      yes_bid_size_fp: opt(zCount),
      yes_ask_size_fp: opt(zCount),
      last_trade_size_fp: opt(zCount),
      volume_fp: opt(zCount),
      open_interest_fp: opt(zCount),
      ts_ms: opt(zInt),
    }),
  })
  .transform((f) => ({
    type: 'ticker' as const,
    sid: f.sid,
    seq: f.seq,
    msg: {
      ticker: f.msg.market_ticker,
      marketId: f.msg.market_id,
      price: f.msg.price_dollars,
      yesBid: f.msg.yes_bid_dollars,
      yesAsk: f.msg.yes_ask_dollars,
      yesBidSize: f.msg.yes_bid_size_fp,
      yesAskSize: f.msg.yes_ask_size_fp,
      lastTradeSize: f.msg.last_trade_size_fp,
      volume: f.msg.volume_fp,
      openInterest: f.msg.open_interest_fp,
      tsMs: f.msg.ts_ms,
    },
  }));

export const tradeFrameSchema = z
  .object({
    type: z.literal('trade'),
    sid: zSid,
    seq: opt(zSeq),
    msg: z.object({
      trade_id: z.string().min(1),
      market_ticker: zTicker,
      yes_price_dollars: zPrice,
      no_price_dollars: opt(zPrice),
      count_fp: zCount,
      taker_outcome_side: opt(zOutcome),
      taker_book_side: opt(zBook),
      taker_side: opt(zOutcome),
      ts_ms: opt(zInt),
    }),
  })
  .transform((f) => ({
    type: 'trade' as const,
    sid: f.sid,
    seq: f.seq,
    msg: {
      tradeId: f.msg.trade_id,
      ticker: f.msg.market_ticker,
      yesPrice: f.msg.yes_price_dollars,
      noPrice: f.msg.no_price_dollars ?? complement(f.msg.yes_price_dollars),
      count: f.msg.count_fp,
      takerOutcomeSide: f.msg.taker_outcome_side,
      takerBookSide: f.msg.taker_book_side,
      takerSide: f.msg.taker_side,
      tsMs: f.msg.ts_ms,
    },
  }));

export const fillFrameSchema = z
  .object({
    type: z.literal('fill'),
    sid: zSid,
    seq: opt(zSeq),
    msg: z.object({
      trade_id: z.string().min(1),
      order_id: z.string().min(1),
      market_ticker: zTicker,
      is_taker: z.boolean(),
      yes_price_dollars: zPrice,
      count_fp: zCount,
      outcome_side: opt(zOutcome),
      book_side: opt(zBook),
      side: opt(zOutcome),
      action: opt(z.enum(['buy', 'sell'])),
      purchased_side: opt(zOutcome),
      post_position_fp: opt(zSignedCount),
      fee_cost: opt(zDollars),
      client_order_id: opt(z.string()),
      subaccount: opt(zInt),
      exchange_index: opt(zInt),
      ts_ms: opt(zInt),
    }),
  })
  .transform((f) => ({
    type: 'fill' as const,
    sid: f.sid,
    seq: f.seq,
    msg: {
      tradeId: f.msg.trade_id,
      orderId: f.msg.order_id,
      ticker: f.msg.market_ticker,
      isTaker: f.msg.is_taker,
      yesPrice: f.msg.yes_price_dollars,
      count: f.msg.count_fp,
      outcomeSide: f.msg.outcome_side,
      bookSide: f.msg.book_side,
      side: f.msg.side,
      action: f.msg.action,
      purchasedSide: f.msg.purchased_side,
      postPosition: f.msg.post_position_fp,
      fee: f.msg.fee_cost,
      clientOrderId: f.msg.client_order_id,
      subaccount: f.msg.subaccount,
      exchangeIndex: f.msg.exchange_index,
      tsMs: f.msg.ts_ms,
    } satisfies FillMsg,
  }));

export const marketPositionFrameSchema = z
  .object({
    type: z.literal('market_position'),
    sid: zSid,
    seq: opt(zSeq),
    msg: z.object({
      user_id: opt(z.string()),
      market_ticker: zTicker,
      position_fp: zSignedCount,
      position_cost_dollars: opt(zDollars),
      realized_pnl_dollars: opt(zDollars),
      fees_paid_dollars: opt(zDollars),
      position_fee_cost_dollars: opt(zDollars),
      volume_fp: opt(zCount),
      subaccount: opt(zInt),
    }),
  })
  .transform((f) => ({
    type: 'market_position' as const,
    sid: f.sid,
    seq: f.seq,
    msg: {
      userId: f.msg.user_id,
      ticker: f.msg.market_ticker,
      position: f.msg.position_fp,
      positionCost: f.msg.position_cost_dollars,
      realizedPnl: f.msg.realized_pnl_dollars,
      feesPaid: f.msg.fees_paid_dollars,
      positionFeeCost: f.msg.position_fee_cost_dollars,
      volume: f.msg.volume_fp,
      subaccount: f.msg.subaccount,
    } satisfies MarketPositionMsg,
  }));

export const userOrderFrameSchema = z
  .object({
    type: z.literal('user_order'),
    sid: zSid,
    seq: opt(zSeq),
    msg: z
      .object({
        order_id: z.string().min(1),
        user_id: opt(z.string()),
        // The spec names it `ticker`; accept `market_ticker` too, as every other channel uses it.
        ticker: opt(zTicker),
        market_ticker: opt(zTicker),
        status: z.enum(['resting', 'canceled', 'executed']),
        yes_price_dollars: zPrice,
        outcome_side: opt(zOutcome),
        book_side: opt(zBook),
        side: opt(zOutcome),
        is_yes: opt(z.boolean()),
        fill_count_fp: opt(zCount),
        remaining_count_fp: opt(zCount),
        initial_count_fp: opt(zCount),
        taker_fill_cost_dollars: opt(zDollars),
        maker_fill_cost_dollars: opt(zDollars),
        taker_fees_dollars: opt(zDollars),
        maker_fees_dollars: opt(zDollars),
        client_order_id: opt(z.string()),
        order_group_id: opt(z.string()),
        created_ts_ms: opt(zInt),
        last_updated_ts_ms: opt(zInt),
        expiration_ts_ms: opt(zInt),
        subaccount_number: opt(zInt),
      })
      .refine((m) => m.ticker !== undefined || m.market_ticker !== undefined, {
        message: 'ticker is required',
        path: ['ticker'],
      }),
  })
  .transform((f) => ({
    type: 'user_order' as const,
    sid: f.sid,
    seq: f.seq,
    msg: {
      orderId: f.msg.order_id,
      userId: f.msg.user_id,
      ticker: (f.msg.ticker ?? f.msg.market_ticker) as string,
      status: f.msg.status,
      yesPrice: f.msg.yes_price_dollars,
      outcomeSide: f.msg.outcome_side,
      bookSide: f.msg.book_side,
      side: f.msg.side,
      isYes: f.msg.is_yes,
      fillCount: f.msg.fill_count_fp,
      remainingCount: f.msg.remaining_count_fp,
      initialCount: f.msg.initial_count_fp,
      takerFillCost: f.msg.taker_fill_cost_dollars,
      makerFillCost: f.msg.maker_fill_cost_dollars,
      takerFees: f.msg.taker_fees_dollars,
      makerFees: f.msg.maker_fees_dollars,
      clientOrderId: f.msg.client_order_id,
      orderGroupId: f.msg.order_group_id,
      createdTsMs: f.msg.created_ts_ms,
      lastUpdatedTsMs: f.msg.last_updated_ts_ms,
      expirationTsMs: f.msg.expiration_ts_ms,
      subaccount: f.msg.subaccount_number,
    } satisfies UserOrderMsg,
  }));

export const marketLifecycleFrameSchema = z
  .object({
    type: z.literal('market_lifecycle_v2'),
    sid: zSid,
    seq: opt(zSeq),
    msg: z.object({
      event_type: z.string().min(1),
      market_ticker: zTicker,
      open_ts: opt(zInt),
      close_ts: opt(zInt),
      result: opt(z.string()),
      determination_ts: opt(zInt),
      settlement_value: opt(zPrice),
      settled_ts: opt(zInt),
      is_deactivated: opt(z.boolean()),
      price_level_structure: opt(z.string()),
    }),
  })
  .transform((f) => ({
    type: 'market_lifecycle_v2' as const,
    sid: f.sid,
    seq: f.seq,
    msg: {
      eventType: f.msg.event_type,
      ticker: f.msg.market_ticker,
      openTs: f.msg.open_ts,
      closeTs: f.msg.close_ts,
      result: f.msg.result,
      determinationTs: f.msg.determination_ts,
      settlementValue: f.msg.settlement_value,
      settledTs: f.msg.settled_ts,
      isDeactivated: f.msg.is_deactivated,
      priceLevelStructure: f.msg.price_level_structure,
    } satisfies MarketLifecycleMsg,
  }));

export const eventLifecycleFrameSchema = z
  .object({
    type: z.literal('event_lifecycle'),
    sid: zSid,
    seq: opt(zSeq),
    msg: z.object({
      event_ticker: zTicker,
      series_ticker: opt(z.string()),
      title: opt(z.string()),
      subtitle: opt(z.string()),
      collateral_return_type: opt(z.string()),
      strike_date: opt(zInt),
    }),
  })
  .transform((f) => ({
    type: 'event_lifecycle' as const,
    sid: f.sid,
    seq: f.seq,
    msg: {
      eventTicker: f.msg.event_ticker,
      seriesTicker: f.msg.series_ticker,
      title: f.msg.title,
      subtitle: f.msg.subtitle,
      collateralReturnType: f.msg.collateral_return_type,
      strikeDate: f.msg.strike_date,
    } satisfies EventLifecycleMsg,
  }));

export const orderGroupUpdatesFrameSchema = z
  .object({
    type: z.literal('order_group_updates'),
    sid: zSid,
    seq: opt(zSeq),
    msg: z.object({ event_type: z.string().min(1), order_group_id: z.string().min(1), contracts_limit_fp: opt(zCount) }),
  })
  .transform((f) => ({
    type: 'order_group_updates' as const,
    sid: f.sid,
    seq: f.seq,
    msg: { eventType: f.msg.event_type, orderGroupId: f.msg.order_group_id, contractsLimit: f.msg.contracts_limit_fp } satisfies OrderGroupUpdateMsg,
  }));

/** Every server frame type we consume, by its wire `type`. */
export const serverFrameSchemas = {
  subscribed: subscribedFrameSchema,
  unsubscribed: unsubscribedFrameSchema,
  ok: okFrameSchema,
  error: errorFrameSchema,
  orderbook_snapshot: orderbookSnapshotFrameSchema,
  orderbook_delta: orderbookDeltaFrameSchema,
  ticker: tickerFrameSchema,
  trade: tradeFrameSchema,
  fill: fillFrameSchema,
  market_position: marketPositionFrameSchema,
  user_order: userOrderFrameSchema,
  market_lifecycle_v2: marketLifecycleFrameSchema,
  event_lifecycle: eventLifecycleFrameSchema,
  order_group_updates: orderGroupUpdatesFrameSchema,
} as const;

export type ServerFrameType = keyof typeof serverFrameSchemas;
/** The wire (JSON) shape of each server frame — what a server (e.g. the simulator) must send. */
export type ServerFrameWire<T extends ServerFrameType> = z.input<(typeof serverFrameSchemas)[T]>;

const schemaByType = new Map<string, z.ZodType<ParsedFrame>>(
  Object.entries(serverFrameSchemas) as [string, z.ZodType<ParsedFrame>][],
);

// ─── Parsing ───────────────────────────────────────────────────────────────────────────────────

function frameError(reason: string, frameType?: string): FrameError {
  return { type: 'frame_error', reason, frameType };
}

function zodReason(type: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `${type}: ${where}${issue?.message ?? 'invalid'}`;
}

/** Validates one frame through its zod schema only — the reference the fast path must match. */
export function parseServerFrameWithZod(frame: unknown): ParsedFrame | FrameError {
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return frameError('frame is not a JSON object');
  const type = (frame as { type?: unknown }).type;
  if (typeof type !== 'string') return frameError('frame has no string `type`');
  const schema = schemaByType.get(type);
  if (!schema) return unknownFrame(frame as Record<string, unknown>, type);
  const result = schema.safeParse(frame);
  return result.success ? result.data : frameError(zodReason(type, result.error), type);
}

/**
 * Parses and validates one text frame. Never throws: bad JSON or a schema violation comes back as
 * a `FrameError`. Frames of types we do not consume come back as `{ type: 'unknown' }`.
 */
export function parseServerFrame(text: string): ParsedFrame | FrameError {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch (e) {
    return frameError(`invalid JSON: ${(e as Error).message}`);
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) return frameError('frame is not a JSON object');
  const f = frame as Record<string, unknown>;
  switch (f.type) {
    case 'orderbook_delta':
      return fastDelta(f);
    case 'ticker':
      return fastTicker(f);
    case 'trade':
      return fastTrade(f);
    default:
      return parseServerFrameWithZod(f);
  }
}

function unknownFrame(f: Record<string, unknown>, type: string): ParsedFrame | FrameError {
  // Even a frame we skip must not carry a nonsense sid/seq, since callers may track them.
  const sid = f.sid;
  const seq = f.seq;
  if (sid != null && !isSid(sid)) return frameError(`${type}: sid: must be a non-negative integer`, type);
  if (seq != null && !isSeq(seq)) return frameError(`${type}: seq: must be a positive integer`, type);
  return { type: 'unknown', frameType: type, sid: sid == null ? undefined : (sid as number), seq: seq == null ? undefined : (seq as number) };
}

// ─── Hand-written validators for the hot frame types ───────────────────────────────────────────
// Each mirrors its zod schema above, field for field; failures throw a private Invalid that the
// entry point turns into a FrameError (one try per frame is cheaper than checks on every return).

class Invalid {
  constructor(readonly reason: string) {}
}

function isSid(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

function readSid(f: Record<string, unknown>): number {
  const v = f.sid;
  if (!isSid(v)) throw new Invalid('sid: must be a non-negative integer');
  return v;
}
function readSeq(f: Record<string, unknown>): number {
  const v = f.seq;
  if (!isSeq(v)) throw new Invalid('seq: must be a positive integer');
  return v;
}
function readOptSeq(f: Record<string, unknown>): number | undefined {
  const v = f.seq;
  if (v == null) return undefined;
  if (!isSeq(v)) throw new Invalid('seq: must be a positive integer');
  return v;
}
function readMsg(f: Record<string, unknown>): Record<string, unknown> {
  const m = f.msg;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new Invalid('msg: must be an object');
  return m as Record<string, unknown>;
}
function readTicker(m: Record<string, unknown>, key: string): string {
  const v = m[key];
  if (typeof v !== 'string' || v.length === 0) throw new Invalid(`msg.${key}: must be a non-empty string`);
  return v;
}
function readOptString(m: Record<string, unknown>, key: string): string | undefined {
  const v = m[key];
  if (v == null) return undefined;
  if (typeof v !== 'string') throw new Invalid(`msg.${key}: must be a string`);
  return v;
}
function readOptInt(m: Record<string, unknown>, key: string): number | undefined {
  const v = m[key];
  if (v == null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Invalid(`msg.${key}: must be an integer`);
  return v;
}
function toPrice(v: unknown, key: string): Price {
  if (typeof v !== 'string') throw new Invalid(`msg.${key}: must be a string`);
  let p: Price;
  try {
    p = parsePrice(v);
  } catch (e) {
    throw new Invalid(`msg.${key}: ${(e as Error).message}`);
  }
  const problem = priceRange(p);
  if (problem !== undefined) throw new Invalid(`msg.${key}: ${problem}`);
  return p;
}
function readOptPriceOrEmpty(m: Record<string, unknown>, key: string): Price | undefined {
  const v = m[key];
  if (v == null || v === '') return undefined;
  return toPrice(v, key);
}
function toCount(v: unknown, key: string, signed: boolean): Count {
  if (typeof v !== 'string') throw new Invalid(`msg.${key}: must be a string`);
  let c: Count;
  try {
    c = parseCount(v);
  } catch (e) {
    throw new Invalid(`msg.${key}: ${(e as Error).message}`);
  }
  if (!signed && c < 0) throw new Invalid(`msg.${key}: negative count ${c}`);
  return c;
}
function readOptCount(m: Record<string, unknown>, key: string): Count | undefined {
  const v = m[key];
  return v == null ? undefined : toCount(v, key, false);
}
function readOutcome(m: Record<string, unknown>, key: string, required: boolean): OutcomeSide | undefined {
  const v = m[key];
  if (v == null && !required) return undefined;
  if (v !== 'yes' && v !== 'no') throw new Invalid(`msg.${key}: must be "yes" or "no"`);
  return v;
}

function guarded(type: string, parse: () => ParsedFrame): ParsedFrame | FrameError {
  try {
    return parse();
  } catch (e) {
    if (e instanceof Invalid) return frameError(`${type}: ${e.reason}`, type);
    throw e;
  }
}

function fastDelta(f: Record<string, unknown>): ParsedFrame | FrameError {
  return guarded('orderbook_delta', () => {
    const sid = readSid(f);
    const seq = readSeq(f);
    const m = readMsg(f);
    return {
      type: 'orderbook_delta',
      sid,
      seq,
      msg: {
        ticker: readTicker(m, 'market_ticker'),
        marketId: readOptString(m, 'market_id'),
        side: readOutcome(m, 'side', true) as OutcomeSide,
        price: toPrice(m.price_dollars, 'price_dollars'),
        delta: toCount(m.delta_fp, 'delta_fp', true),
        clientOrderId: readOptString(m, 'client_order_id'),
        subaccount: readOptInt(m, 'subaccount'),
        tsMs: readOptInt(m, 'ts_ms'),
      },
    };
  });
}

function fastTicker(f: Record<string, unknown>): ParsedFrame | FrameError {
  return guarded('ticker', () => {
    const sid = readSid(f);
    const seq = readOptSeq(f);
    const m = readMsg(f);
    return {
      type: 'ticker',
      sid,
      seq,
      msg: {
        ticker: readTicker(m, 'market_ticker'),
        marketId: readOptString(m, 'market_id'),
        price: readOptPriceOrEmpty(m, 'price_dollars'),
        yesBid: readOptPriceOrEmpty(m, 'yes_bid_dollars'),
        yesAsk: readOptPriceOrEmpty(m, 'yes_ask_dollars'),
        yesBidSize: readOptCount(m, 'yes_bid_size_fp'),
        yesAskSize: readOptCount(m, 'yes_ask_size_fp'),
        lastTradeSize: readOptCount(m, 'last_trade_size_fp'),
        volume: readOptCount(m, 'volume_fp'),
        openInterest: readOptCount(m, 'open_interest_fp'),
        tsMs: readOptInt(m, 'ts_ms'),
      },
    };
  });
}

function fastTrade(f: Record<string, unknown>): ParsedFrame | FrameError {
  return guarded('trade', () => {
    const sid = readSid(f);
    const seq = readOptSeq(f);
    const m = readMsg(f);
    const tradeId = readTicker(m, 'trade_id');
    const ticker = readTicker(m, 'market_ticker');
    const yesPrice = toPrice(m.yes_price_dollars, 'yes_price_dollars');
    const noPrice = m.no_price_dollars == null ? complement(yesPrice) : toPrice(m.no_price_dollars, 'no_price_dollars');
    const count = toCount(m.count_fp, 'count_fp', false);
    const takerOutcomeSide = readOutcome(m, 'taker_outcome_side', false);
    const tbs = m.taker_book_side;
    if (tbs != null && tbs !== 'bid' && tbs !== 'ask') throw new Invalid('msg.taker_book_side: must be "bid" or "ask"');
    return {
      type: 'trade',
      sid,
      seq,
      msg: {
        tradeId,
        ticker,
        yesPrice,
        noPrice,
        count,
        takerOutcomeSide,
        takerBookSide: tbs == null ? undefined : (tbs as BookSide),
        takerSide: readOutcome(m, 'taker_side', false),
        tsMs: readOptInt(m, 'ts_ms'),
      },
    };
  });
}

// ─── Client commands ───────────────────────────────────────────────────────────────────────────

export const WS_CHANNELS = [
  'orderbook_delta',
  'ticker',
  'trade',
  'fill',
  'market_positions',
  'market_lifecycle_v2',
  'multivariate_market_lifecycle',
  'multivariate',
  'communications',
  'order_group_updates',
  'user_orders',
] as const;
export type WsChannel = (typeof WS_CHANNELS)[number];

export type UpdateAction = 'add_markets' | 'delete_markets' | 'get_snapshot';

export interface SubscribeParams {
  channels: string[];
  market_ticker?: string;
  market_tickers?: string[];
  send_initial_snapshot?: boolean;
  skip_ticker_ack?: boolean;
  /** Orderbook: report NO-side levels on the YES price scale (kalshi-api.md §5.6). */
  use_yes_price?: boolean;
}

export type WsCommand =
  | { id: number; cmd: 'subscribe'; params: SubscribeParams }
  | { id: number; cmd: 'unsubscribe'; params: { sids: number[] } }
  | { id: number; cmd: 'update_subscription'; params: { sids: [number]; market_tickers: string[]; action: UpdateAction } }
  | { id: number; cmd: 'list_subscriptions' };

export interface SubscribeOptions {
  marketTickers?: string[];
  useYesPrice?: boolean;
  sendInitialSnapshot?: boolean;
  skipTickerAck?: boolean;
}

export function subscribeCommand(id: number, channels: string[], opts: SubscribeOptions = {}): WsCommand {
  const params: SubscribeParams = { channels: [...channels] };
  if (opts.marketTickers && opts.marketTickers.length > 0) params.market_tickers = [...opts.marketTickers];
  if (opts.sendInitialSnapshot !== undefined) params.send_initial_snapshot = opts.sendInitialSnapshot;
  if (opts.skipTickerAck !== undefined) params.skip_ticker_ack = opts.skipTickerAck;
  if (opts.useYesPrice !== undefined) params.use_yes_price = opts.useYesPrice;
  return { id, cmd: 'subscribe', params };
}

export function unsubscribeCommand(id: number, sids: number[]): WsCommand {
  return { id, cmd: 'unsubscribe', params: { sids: [...sids] } };
}

export function updateSubscriptionCommand(id: number, sid: number, action: UpdateAction, marketTickers: string[]): WsCommand {
  return { id, cmd: 'update_subscription', params: { sids: [sid], market_tickers: [...marketTickers], action } };
}

export function listSubscriptionsCommand(id: number): WsCommand {
  return { id, cmd: 'list_subscriptions' };
}

// Server side of the commands (used by the simulator): accepts every form Kalshi documents —
// `market_ticker` or `market_tickers`, `sid` or one-element `sids` — and normalises them.

const zMarketTicker = marketTickerSchema;

export interface ParsedSubscribe {
  id: number | undefined;
  cmd: 'subscribe';
  channels: string[];
  marketTickers: string[] | undefined;
  sendInitialSnapshot: boolean;
  skipTickerAck: boolean;
  useYesPrice: boolean | undefined;
}
export type ParsedClientCommand =
  | ParsedSubscribe
  | { id: number | undefined; cmd: 'unsubscribe'; sids: number[] }
  | { id: number | undefined; cmd: 'update_subscription'; sid: number; marketTickers: string[]; action: UpdateAction }
  | { id: number | undefined; cmd: 'list_subscriptions' };

export interface CommandRejection {
  id: number | undefined;
  /** A Kalshi WS error code (WS_ERROR_CODES). */
  code: number;
  message: string;
}

const subscribeParamsSchema = z.object({
  channels: z.array(z.string()),
  market_ticker: opt(zMarketTicker),
  market_tickers: opt(z.array(zMarketTicker)),
  send_initial_snapshot: opt(z.boolean()),
  skip_ticker_ack: opt(z.boolean()),
  use_yes_price: opt(z.boolean()),
});
const unsubscribeParamsSchema = z.object({ sids: opt(z.array(zSid)) });
const updateParamsSchema = z.object({
  sid: opt(zSid),
  sids: opt(z.array(zSid)),
  market_ticker: opt(zMarketTicker),
  market_tickers: opt(z.array(zMarketTicker)),
  action: opt(z.string()),
});

function reject(id: number | undefined, code: number, detail?: string): { ok: false; rejection: CommandRejection } {
  const base = WS_ERROR_CODES[code] ?? 'Error';
  return { ok: false, rejection: { id, code, message: detail ? `${base}: ${detail}` : base } };
}

/** Parses a client command as Kalshi's server would, answering with Kalshi's error codes. */
export function parseClientCommand(
  text: string,
): { ok: true; command: ParsedClientCommand } | { ok: false; rejection: CommandRejection } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return reject(undefined, 1, 'invalid JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return reject(undefined, 1, 'not an object');
  const r = raw as Record<string, unknown>;
  const id = typeof r.id === 'number' && Number.isSafeInteger(r.id) && r.id !== 0 ? r.id : undefined;
  const params = r.params;
  switch (r.cmd) {
    case 'list_subscriptions':
      return { ok: true, command: { id, cmd: 'list_subscriptions' } };
    case 'subscribe': {
      if (params == null) return reject(id, 2);
      const p = subscribeParamsSchema.safeParse(params);
      if (!p.success) return reject(id, 11, zodReason('params', p.error));
      if (p.data.channels.length === 0) return reject(id, 3);
      const unknown = p.data.channels.find((c) => !(WS_CHANNELS as readonly string[]).includes(c));
      if (unknown !== undefined) return reject(id, 8, unknown);
      if (p.data.market_ticker !== undefined && p.data.market_tickers !== undefined) {
        return reject(id, 11, 'market_ticker and market_tickers are exclusive');
      }
      const tickers = p.data.market_tickers ?? (p.data.market_ticker !== undefined ? [p.data.market_ticker] : undefined);
      if (p.data.channels.includes('orderbook_delta') && (tickers === undefined || tickers.length === 0)) return reject(id, 14);
      return {
        ok: true,
        command: {
          id,
          cmd: 'subscribe',
          channels: p.data.channels,
          marketTickers: tickers,
          sendInitialSnapshot: p.data.send_initial_snapshot ?? false,
          skipTickerAck: p.data.skip_ticker_ack ?? false,
          useYesPrice: p.data.use_yes_price,
        },
      };
    }
    case 'unsubscribe': {
      if (params == null) return reject(id, 2);
      const p = unsubscribeParamsSchema.safeParse(params);
      if (!p.success) return reject(id, 11, zodReason('params', p.error));
      if (!p.data.sids || p.data.sids.length === 0) return reject(id, 4);
      return { ok: true, command: { id, cmd: 'unsubscribe', sids: p.data.sids } };
    }
    case 'update_subscription': {
      if (params == null) return reject(id, 2);
      const p = updateParamsSchema.safeParse(params);
      if (!p.success) return reject(id, 11, zodReason('params', p.error));
      const sids = p.data.sids ?? (p.data.sid !== undefined ? [p.data.sid] : []);
      if (sids.length !== 1 || (p.data.sid !== undefined && p.data.sids !== undefined)) return reject(id, 12);
      if (p.data.action === undefined) return reject(id, 15);
      const action = p.data.action;
      if (action !== 'add_markets' && action !== 'delete_markets' && action !== 'get_snapshot') return reject(id, 13, action);
      const tickers = p.data.market_tickers ?? (p.data.market_ticker !== undefined ? [p.data.market_ticker] : []);
      if (tickers.length === 0) return reject(id, 14);
      return { ok: true, command: { id, cmd: 'update_subscription', sid: sids[0], marketTickers: tickers, action } };
    }
    default:
      return reject(id, 5, typeof r.cmd === 'string' ? r.cmd : undefined);
  }
}
