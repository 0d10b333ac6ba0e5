/**
 * zod schemas for everything a client sends the simulator's REST API: V2 order bodies, batch
 * bodies, decrease bodies and the query strings of the list endpoints (kalshi-api.md §3).
 * Fixed-point strings are parsed to integers here with src/core/money.ts, so a bad value is a 400
 * at the boundary, never a throw deeper in. Part of src/sim/server.
 */
import { z } from 'zod';
import { parseCount, parsePrice, type Count, type Price } from '../../core/money.ts';
import { readBoundedText, type BoundedText } from '../../adapters/http/body.ts';

const COUNT_TEXT = /^\d{1,12}(\.\d{0,2})?$/;
const PRICE_TEXT = /^\d{1,6}(\.\d{0,6})?$/;

/** `count` fp string: "10", "10.0", "10.00"; at most 2 decimals. */
export const countString = z
  .string()
  .regex(COUNT_TEXT, 'must be a decimal contract count with at most 2 decimals')
  .transform((s): Count => parseCount(s));

/** `price` dollar string ("0.5600"); more than 4 significant decimals is invalid. */
export const priceString = z
  .string()
  .regex(PRICE_TEXT, 'must be a decimal dollar price')
  .transform((s, ctx): Price => {
    try {
      return parsePrice(s);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must have at most 4 decimal places' });
      return z.NEVER;
    }
  });

const subaccount = z.number().int().min(0).max(63);

export const createOrderV2Body = z.object({
  ticker: z.string().min(1).max(128),
  client_order_id: z.string().min(1).max(64).optional(),
  side: z.enum(['bid', 'ask']),
  count: countString,
  price: priceString,
  time_in_force: z.enum(['fill_or_kill', 'good_till_canceled', 'immediate_or_cancel']),
  expiration_time: z.number().int().positive().max(32503680000).optional(),
  post_only: z.boolean().optional(),
  self_trade_prevention_type: z.enum(['taker_at_cross', 'maker']),
  cancel_order_on_pause: z.boolean().optional(),
  reduce_only: z.boolean().optional(),
  subaccount: subaccount.optional(),
  order_group_id: z.string().optional(),
  exchange_index: z.number().int().min(-1).max(0).optional(),
});
export type CreateOrderV2Body = z.infer<typeof createOrderV2Body>;

/** Whole contracts only for the integer form (OrderGroupsApi docs); if both forms are given they must match. */
const contractsLimitFields = z
  .object({
    contracts_limit: z.number().int().positive().max(1_000_000_000).optional(),
    contracts_limit_fp: countString.optional(),
    subaccount: subaccount.optional(),
    exchange_index: z.number().int().min(-1).max(0).optional(),
  })
  .refine((b) => b.contracts_limit === undefined || b.contracts_limit_fp === undefined || b.contracts_limit * 100 === b.contracts_limit_fp, {
    message: 'contracts_limit and contracts_limit_fp must match',
  })
  .transform((b) => ({ ...b, limit: b.contracts_limit_fp ?? (b.contracts_limit === undefined ? undefined : b.contracts_limit * 100) }));

export const createOrderGroupBody = contractsLimitFields;
export const updateOrderGroupLimitBody = contractsLimitFields.refine((b) => b.limit !== undefined && b.limit > 0, {
  message: 'contracts_limit or contracts_limit_fp is required',
});

/** Batch items are validated one by one so one bad item does not sink the batch. */
export const batchCreateBody = z.object({ orders: z.array(z.unknown()).min(1).max(1000) });

export const batchCancelBody = z.union([
  z.object({
    orders: z
      .array(
        z.object({
          order_id: z.string().min(1).max(128),
          subaccount: subaccount.optional(),
          exchange_index: z.number().int().optional(),
          market_ticker: z.string().optional(),
        }),
      )
      .min(1)
      .max(1000),
  }),
  // deprecated form still documented by Kalshi
  z.object({ ids: z.array(z.string().min(1).max(128)).min(1).max(1000) }),
]);

/**
 * V2 amend body (kalshi-typescript 3.30 AmendOrderV2Request) plus `expiration_time` (spec 3.31:
 * Unix seconds, 0 removes the expiry). `count` is the new total: filled + desired resting.
 */
export const amendOrderV2Body = z.object({
  ticker: z.string().min(1).max(128),
  side: z.enum(['bid', 'ask']),
  price: priceString,
  count: countString,
  client_order_id: z.string().min(1).max(64).optional(),
  updated_client_order_id: z.string().min(1).max(64).optional(),
  expiration_time: z.number().int().min(0).max(32503680000).optional(),
  exchange_index: z.number().int().min(-1).max(0).optional(),
});

export const decreaseOrderBody = z
  .object({
    reduce_by: countString.optional(),
    reduce_to: countString.optional(),
    exchange_index: z.number().int().optional(),
    market_ticker: z.string().optional(),
  })
  .refine((b) => (b.reduce_by === undefined) !== (b.reduce_to === undefined), {
    message: 'exactly one of reduce_by and reduce_to is required',
  });

// ---- query strings ----

const intText = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d{1,15}$/, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const limit = (max: number) => intText(1, max).optional();
const cursor = z.string().max(512).optional();
const unixTs = intText(0, 32503680000).optional();
const subaccountQuery = intText(0, 63).optional();

export const marketsQuery = z.object({
  limit: limit(1000),
  cursor,
  event_ticker: z.string().max(256).optional(),
  series_ticker: z.string().max(256).optional(),
  status: z.enum(['unopened', 'open', 'paused', 'closed', 'settled']).optional(),
  tickers: z.string().max(100_000).optional(),
  min_close_ts: unixTs,
  max_close_ts: unixTs,
  min_created_ts: unixTs,
  max_created_ts: unixTs,
  min_settled_ts: unixTs,
  max_settled_ts: unixTs,
  min_updated_ts: unixTs,
  max_updated_ts: unixTs,
  mve_filter: z.enum(['only', 'exclude']).optional(),
});

export const orderbookQuery = z.object({ depth: intText(-1_000_000, 1_000_000).optional() });

export const tradesQuery = z.object({
  limit: limit(1000),
  cursor,
  ticker: z.string().max(128).optional(),
  min_ts: unixTs,
  max_ts: unixTs,
  is_block_trade: z.enum(['true', 'false']).optional(),
});

export const ordersQuery = z.object({
  limit: limit(1000),
  cursor,
  ticker: z.string().max(128).optional(),
  event_ticker: z.string().max(2560).optional(),
  min_ts: unixTs,
  max_ts: unixTs,
  status: z.enum(['resting', 'canceled', 'executed']).optional(),
  subaccount: subaccountQuery,
  exchange_index: intText(-1, 0).optional(),
});

export const fillsQuery = z.object({
  limit: limit(1000),
  cursor,
  ticker: z.string().max(128).optional(),
  order_id: z.string().max(128).optional(),
  min_ts: unixTs,
  max_ts: unixTs,
  subaccount: subaccountQuery,
  exchange_index: intText(-1, 0).optional(),
});

export const positionsQuery = z.object({
  limit: limit(1000),
  cursor,
  count_filter: z
    .string()
    .regex(/^(position|total_traded)(,(position|total_traded))*$/, 'must be a comma list of position, total_traded')
    .optional(),
  ticker: z.string().max(128).optional(),
  event_ticker: z.string().max(256).optional(),
  settlement_status: z.enum(['unsettled', 'settled', 'all']).optional(),
  subaccount: subaccountQuery,
  exchange_index: intText(-1, 0).optional(),
});

export const settlementsQuery = z.object({
  limit: limit(1000),
  cursor,
  ticker: z.string().max(128).optional(),
  event_ticker: z.string().max(256).optional(),
  min_ts: unixTs,
  max_ts: unixTs,
  subaccount: subaccountQuery,
});

export const balanceQuery = z.object({ subaccount: subaccountQuery, exchange_index: intText(-1, 0).optional() });

export const cancelQuery = z.object({
  subaccount: subaccountQuery,
  exchange_index: intText(-1, 0).optional(),
  market_ticker: z.string().max(128).optional(),
});

export const amendQuery = z.object({ subaccount: subaccountQuery });

export const orderGroupQuery = z.object({ subaccount: subaccountQuery, exchange_index: intText(-1, 0).optional() });

export const queuePositionsQuery = z.object({
  market_tickers: z.string().max(100_000).optional(),
  event_ticker: z.string().max(256).optional(),
  subaccount: subaccountQuery,
});

const boolText = z.enum(['true', 'false']).transform((b) => b === 'true');

export const eventsQuery = z.object({
  limit: limit(200),
  cursor,
  with_nested_markets: boolText.optional(),
  with_milestones: boolText.optional(),
  status: z.enum(['unopened', 'open', 'closed', 'settled']).optional(),
  series_ticker: z.string().max(256).optional(),
  tickers: z.string().max(100_000).optional(),
  min_close_ts: unixTs,
  min_updated_ts: unixTs,
});

export const eventQuery = z.object({ with_nested_markets: boolText.optional() });

export const seriesListQuery = z.object({
  category: z.string().max(256).optional(),
  tags: z.string().max(1024).optional(),
  include_product_metadata: boolText.optional(),
  include_volume: boolText.optional(),
  min_updated_ts: unixTs,
});

/** Candlestick periods in minutes: 1, 60, 1440. */
export const candlesticksQuery = z.object({
  start_ts: intText(0, 32503680000),
  end_ts: intText(0, 32503680000),
  period_interval: z.enum(['1', '60', '1440']).transform(Number),
  include_latest_before_start: boolText.optional(),
});

export const batchCandlesticksQuery = candlesticksQuery.extend({ market_tickers: z.string().min(1).max(100_000) });

// ---- bodies ----

export const MAX_BODY_BYTES = 1024 * 1024;

/** Reads a request body as UTF-8 text, giving up past `maxBytes` (adapters/http/body.ts). */
export function readBodyText(req: Request, maxBytes = MAX_BODY_BYTES): Promise<BoundedText> {
  return readBoundedText(req, maxBytes);
}
