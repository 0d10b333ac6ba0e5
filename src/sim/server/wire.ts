/**
 * Mapping from the exchange's integer model (src/sim/exchange.types.ts) to Kalshi's wire JSON
 * (spec 3.30, kalshi-api.md §3 and §5.4): fixed-point `*_dollars` / `*_fp` strings via
 * src/core/money.ts, RFC3339 timestamps, legacy direction fields next to the new ones.
 * Pure functions; the REST app and the WebSocket server both render through here so a field is
 * spelled the same way on both.
 */
import { createHash } from 'node:crypto';
import {
  complement,
  formatCount,
  formatDollars,
  formatPrice,
  microsToCents,
  ONE_DOLLAR,
  type Count,
  type Micros,
  type Price,
} from '../../core/money.ts';
import { priceRangesFor, priceRangesToWire } from '../../core/ticks.ts';
import type {
  BookSide,
  ExchangeEvent,
  MarketStatus,
  OrderGroupEventType,
  SimOrderGroup,
  OutcomeSide,
  SimFill,
  SimMarket,
  SimOrder,
  SimPosition,
  SimSettlement,
  SimTrade,
} from '../exchange.types.ts';

export type WireLevel = [string, string];
export type BookLevels = { yes: Array<[Price, Count]>; no: Array<[Price, Count]> };

/** RFC3339 without milliseconds, as Kalshi prints object timestamps. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function unixSeconds(ms: number): number {
  return Math.floor(ms / 1000);
}

const marketIds = new Map<string, string>();

/** A stable UUID-shaped id per ticker (Kalshi's `market_id`), derived from the ticker itself. */
export function marketIdFor(ticker: string): string {
  let id = marketIds.get(ticker);
  if (!id) {
    const h = createHash('sha1').update(`kalshiflow-sim:${ticker}`).digest('hex');
    id = `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
    marketIds.set(ticker, id);
  }
  return id;
}

/** bid = buy YES → outcome yes; ask = sell YES ≡ buy NO → outcome no (kalshi-api.md §6.1). */
export function outcomeSideOf(side: BookSide): OutcomeSide {
  return side === 'bid' ? 'yes' : 'no';
}

/** Legacy (side, action) for a V2 order: a bid buys YES, an ask buys NO at $1 − p. */
function legacyDirection(side: BookSide): { side: OutcomeSide; action: 'buy' } {
  return { side: outcomeSideOf(side), action: 'buy' };
}

export interface TopOfBook {
  yesBid: Price | null;
  yesBidSize: Count;
  yesAsk: Price | null;
  yesAskSize: Count;
}

/** Best prices from bids-only levels (ascending): YES ask = $1 − best NO bid. */
export function topOfBook(book: BookLevels | undefined): TopOfBook {
  const bestYes = book?.yes.at(-1);
  const bestNo = book?.no.at(-1);
  return {
    yesBid: bestYes ? bestYes[0] : null,
    yesBidSize: bestYes ? bestYes[1] : 0,
    yesAsk: bestNo ? complement(bestNo[0]) : null,
    yesAskSize: bestNo ? bestNo[1] : 0,
  };
}

/** Market statuses the `status` query filter of GET /markets selects (different vocabulary). */
export const MARKET_FILTER_STATUSES: Record<'unopened' | 'open' | 'paused' | 'closed' | 'settled', MarketStatus[]> = {
  unopened: ['initialized'],
  open: ['active'],
  paused: [],
  closed: ['closed', 'determined'],
  settled: ['finalized'],
};

export interface MarketActivityFigures {
  volume24h: Count;
}

export function marketToWire(market: SimMarket, book: BookLevels | undefined, nowMs: number, figures: MarketActivityFigures) {
  const top = topOfBook(book);
  const settled = market.result === 'yes' || market.result === 'no';
  return {
    ticker: market.ticker,
    event_ticker: market.eventTicker,
    market_type: 'binary' as const,
    title: market.title,
    subtitle: '',
    yes_sub_title: market.title,
    no_sub_title: market.title,
    created_time: rfc3339(market.openTimeMs),
    updated_time: rfc3339(market.updatedTimeMs),
    open_time: rfc3339(market.openTimeMs),
    close_time: rfc3339(market.closeTimeMs),
    expected_expiration_time: rfc3339(market.closeTimeMs),
    expiration_time: rfc3339(market.closeTimeMs),
    latest_expiration_time: rfc3339(market.closeTimeMs),
    settlement_timer_seconds: 0,
    status: market.status,
    yes_bid_dollars: formatPrice(top.yesBid ?? 0),
    yes_bid_size_fp: formatCount(top.yesBidSize),
    yes_ask_dollars: formatPrice(top.yesAsk ?? ONE_DOLLAR),
    yes_ask_size_fp: formatCount(top.yesAskSize),
    no_bid_dollars: formatPrice(top.yesAsk === null ? 0 : complement(top.yesAsk)),
    no_ask_dollars: formatPrice(top.yesBid === null ? ONE_DOLLAR : complement(top.yesBid)),
    last_price_dollars: formatPrice(market.lastPrice ?? 0),
    volume_fp: formatCount(market.volume),
    volume_24h_fp: formatCount(figures.volume24h),
    result: market.result,
    can_close_early: true,
    open_interest_fp: formatCount(market.openInterest),
    notional_value_dollars: formatPrice(ONE_DOLLAR),
    previous_yes_bid_dollars: '0.0000',
    previous_yes_ask_dollars: '0.0000',
    previous_price_dollars: '0.0000',
    liquidity_dollars: '0.0000',
    ...(settled ? { settlement_value_dollars: formatPrice(market.result === 'yes' ? ONE_DOLLAR : 0) } : {}),
    settlement_ts: market.settledTimeMs === null ? null : rfc3339(market.settledTimeMs),
    expiration_value: settled ? market.result : '',
    rules_primary: `Resolves YES if ${market.title}. Simulated market.`,
    rules_secondary: '',
    price_level_structure: market.priceLevelStructure,
    price_ranges: priceRangesToWire(priceRangesFor(market.priceLevelStructure)),
    // spec 3.31: binary markets settle at $0/$1, no floor
    settlement_bounds_type: 'default' as const,
    settlement_floor_dollars: '0.0000',
    exchange_index: 0,
  };
}

function toWireLevels(levels: Array<[Price, Count]>): WireLevel[] {
  return levels.map(([price, size]) => [formatPrice(price), formatCount(size)]);
}

/** REST orderbook: ascending levels, best bid last; depth ≤ 0 means every level. */
export function orderbookToWire(book: BookLevels, depth: number) {
  const cut = (levels: Array<[Price, Count]>) => (depth > 0 && levels.length > depth ? levels.slice(levels.length - depth) : levels);
  return { orderbook_fp: { yes_dollars: toWireLevels(cut(book.yes)), no_dollars: toWireLevels(cut(book.no)) } };
}

/** Average per contract of a Micros total over a Count, rounded half up to a micro-dollar. */
function perContract(total: Micros, count: Count): string {
  return formatDollars(Math.round((total * 100) / count));
}

export function orderToWire(order: SimOrder) {
  const legacy = legacyDirection(order.side);
  return {
    order_id: order.orderId,
    user_id: order.userId,
    client_order_id: order.clientOrderId,
    ticker: order.ticker,
    side: legacy.side,
    action: legacy.action,
    outcome_side: outcomeSideOf(order.side),
    book_side: order.side,
    type: 'limit' as const,
    status: order.status,
    yes_price_dollars: formatPrice(order.price),
    no_price_dollars: formatPrice(complement(order.price)),
    fill_count_fp: formatCount(order.fillCount),
    remaining_count_fp: formatCount(order.remainingCount),
    initial_count_fp: formatCount(order.initialCount),
    taker_fill_cost_dollars: formatDollars(order.takerFillCost),
    maker_fill_cost_dollars: formatDollars(order.makerFillCost),
    taker_fees_dollars: formatDollars(order.takerFees),
    maker_fees_dollars: formatDollars(order.makerFees),
    expiration_time: order.expirationTime === null ? null : rfc3339(order.expirationTime * 1000),
    created_time: rfc3339(order.createdTimeMs),
    last_update_time: rfc3339(order.lastUpdateTimeMs),
    self_trade_prevention_type: order.selfTradePrevention,
    order_group_id: order.orderGroupId,
    subaccount_number: 0,
    exchange_index: 0,
  };
}

/** V2 create response (kalshi-api.md §3.4): averages only when something filled. */
export function createOrderResponse(order: SimOrder, fills: SimFill[], nowMs: number) {
  let filled = 0;
  let notional = 0;
  let fees = 0;
  for (const fill of fills) {
    filled += fill.count;
    notional += fill.price * fill.count;
    fees += fill.fee;
  }
  return {
    order_id: order.orderId,
    client_order_id: order.clientOrderId,
    fill_count: formatCount(order.fillCount),
    remaining_count: formatCount(order.remainingCount),
    ...(filled > 0 ? { average_fill_price: perContract(notional, filled), average_fee_paid: perContract(fees, filled) } : {}),
    ts_ms: nowMs,
  };
}

/** V2 amend response (kalshi-typescript 3.30 AmendOrderV2Response): counts always, averages when the amend traded. */
export function amendOrderResponse(order: SimOrder, fills: SimFill[], nowMs: number) {
  const created = createOrderResponse(order, fills, nowMs);
  return { ...created, fill_count: formatCount(order.fillCount), remaining_count: formatCount(order.remainingCount) };
}

/**
 * An order group's shared fields. `is_auto_cancel_enabled` ("whether auto-cancel is enabled",
 * OrderGroupsApi docs) is read as: the group is armed — false once its limit triggered it, until
 * a reset (Kalshi does not say more).
 */
export function orderGroupToWire(group: SimOrderGroup) {
  return {
    ...(group.contractsLimit !== null ? { contracts_limit_fp: formatCount(group.contractsLimit) } : {}),
    is_auto_cancel_enabled: !group.triggered,
    exchange_index: 0,
  };
}

/** order_group_updates payload (AsyncAPI: event_type, order_group_id, contracts_limit_fp). */
export function orderGroupUpdateMsg(event: OrderGroupEventType, orderGroupId: string, contractsLimit: Count | null) {
  return {
    event_type: event,
    order_group_id: orderGroupId,
    ...(contractsLimit !== null && (event === 'created' || event === 'limit_updated') ? { contracts_limit_fp: formatCount(contractsLimit) } : {}),
  };
}

export function fillToWire(fill: SimFill) {
  const legacy = legacyDirection(fill.side);
  return {
    fill_id: fill.fillId,
    trade_id: fill.tradeId,
    order_id: fill.orderId,
    ticker: fill.ticker,
    market_ticker: fill.ticker,
    exchange_index: 0,
    side: legacy.side,
    action: legacy.action,
    outcome_side: outcomeSideOf(fill.side),
    book_side: fill.side,
    count_fp: formatCount(fill.count),
    yes_price_dollars: formatPrice(fill.price),
    no_price_dollars: formatPrice(complement(fill.price)),
    is_taker: fill.isTaker,
    created_time: rfc3339(fill.tsMs),
    fee_cost: formatDollars(fill.fee),
    subaccount_number: 0,
    ts: unixSeconds(fill.tsMs),
  };
}

export function tradeToWire(trade: SimTrade) {
  const taker = outcomeSideOf(trade.takerSide);
  return {
    trade_id: trade.tradeId,
    ticker: trade.ticker,
    count_fp: formatCount(trade.count),
    yes_price_dollars: formatPrice(trade.price),
    no_price_dollars: formatPrice(complement(trade.price)),
    taker_side: taker,
    taker_outcome_side: taker,
    taker_book_side: trade.takerSide,
    created_time: rfc3339(trade.tsMs),
    is_block_trade: false,
  };
}

export function positionToWire(position: SimPosition) {
  return {
    ticker: position.ticker,
    exchange_index: 0,
    total_traded_dollars: formatDollars(position.totalTraded),
    position_fp: formatCount(position.position),
    market_exposure_dollars: formatDollars(position.exposure),
    realized_pnl_dollars: formatDollars(position.realizedPnl),
    fees_paid_dollars: formatDollars(position.feesPaid),
    last_updated_ts: rfc3339(position.lastUpdatedMs),
  };
}

/** Aggregates market positions per event (Kalshi's `event_positions`). */
export function eventPositionsToWire(positions: SimPosition[], eventOf: (ticker: string) => string) {
  const byEvent = new Map<string, { cost: Micros; shares: Count; pnl: Micros; fees: Micros }>();
  for (const p of positions) {
    const event = eventOf(p.ticker);
    const acc = byEvent.get(event) ?? { cost: 0, shares: 0, pnl: 0, fees: 0 };
    acc.cost += p.exposure;
    acc.shares += Math.abs(p.position);
    acc.pnl += p.realizedPnl;
    acc.fees += p.feesPaid;
    byEvent.set(event, acc);
  }
  return [...byEvent].map(([event, acc]) => ({
    event_ticker: event,
    total_cost_dollars: formatDollars(acc.cost),
    total_cost_shares_fp: formatCount(acc.shares),
    event_exposure_dollars: formatDollars(acc.cost),
    realized_pnl_dollars: formatDollars(acc.pnl),
    fees_paid_dollars: formatDollars(acc.fees),
  }));
}

export function settlementToWire(s: SimSettlement) {
  return {
    ticker: s.ticker,
    exchange_index: 0,
    event_ticker: s.eventTicker,
    market_result: s.result,
    yes_count_fp: formatCount(s.yesCount),
    yes_total_cost_dollars: formatDollars(s.yesTotalCost),
    no_count_fp: formatCount(s.noCount),
    no_total_cost_dollars: formatDollars(s.noTotalCost),
    revenue: microsToCents(s.revenue),
    settled_time: rfc3339(s.settledTimeMs),
    fee_cost: formatDollars(s.fee),
    value: s.result === 'yes' ? 100 : 0,
  };
}

// ---- WebSocket payloads (kalshi-api.md §5.4) ----

/** NO-side prices on the YES scale when the subscriber asked for `use_yes_price` (§5.6). */
function noSidePrice(price: Price, useYesPrice: boolean): Price {
  return useYesPrice ? complement(price) : price;
}

export function snapshotMsg(ticker: string, book: BookLevels, useYesPrice: boolean) {
  const msg: { market_ticker: string; market_id: string; yes_dollars_fp?: WireLevel[]; no_dollars_fp?: WireLevel[] } = {
    market_ticker: ticker,
    market_id: marketIdFor(ticker),
  };
  // Kalshi omits an empty side rather than sending []
  if (book.yes.length) msg.yes_dollars_fp = toWireLevels(book.yes);
  if (book.no.length) {
    const no = useYesPrice ? book.no.map(([p, c]): [Price, Count] => [complement(p), c]).reverse() : book.no;
    msg.no_dollars_fp = toWireLevels(no);
  }
  return msg;
}

export function deltaMsg(
  ticker: string,
  side: OutcomeSide,
  price: Price,
  delta: Count,
  tsMs: number,
  useYesPrice: boolean,
  clientOrderId: string | undefined,
) {
  return {
    market_ticker: ticker,
    market_id: marketIdFor(ticker),
    price_dollars: formatPrice(side === 'no' ? noSidePrice(price, useYesPrice) : price),
    delta_fp: formatCount(delta),
    side,
    ...(clientOrderId !== undefined ? { client_order_id: clientOrderId, subaccount: 0 } : {}),
    ts: rfc3339(tsMs),
    ts_ms: tsMs,
  };
}

export interface TickerFigures {
  lastTradeSize: Count;
  notionalTraded: Micros;
}

export function tickerMsg(market: SimMarket, book: BookLevels | undefined, tsMs: number, figures: TickerFigures) {
  const top = topOfBook(book);
  const last = market.lastPrice;
  return {
    market_ticker: market.ticker,
    market_id: marketIdFor(market.ticker),
    price_dollars: last === null ? '' : formatPrice(last),
    yes_bid_dollars: formatPrice(top.yesBid ?? 0),
    yes_ask_dollars: formatPrice(top.yesAsk ?? ONE_DOLLAR),
    volume_fp: formatCount(market.volume),
    open_interest_fp: formatCount(market.openInterest),
    dollar_volume: Math.floor(figures.notionalTraded / 1_000_000),
    dollar_open_interest: Math.floor(((last ?? 0) * market.openInterest) / 1_000_000),
    yes_bid_size_fp: formatCount(top.yesBidSize),
    yes_ask_size_fp: formatCount(top.yesAskSize),
    last_trade_size_fp: formatCount(figures.lastTradeSize),
    ts: unixSeconds(tsMs),
    ts_ms: tsMs,
    time: rfc3339(tsMs),
  };
}

export function tradeMsg(trade: SimTrade) {
  const taker = outcomeSideOf(trade.takerSide);
  return {
    trade_id: trade.tradeId,
    market_ticker: trade.ticker,
    yes_price_dollars: formatPrice(trade.price),
    no_price_dollars: formatPrice(complement(trade.price)),
    count_fp: formatCount(trade.count),
    taker_side: taker,
    taker_outcome_side: taker,
    taker_book_side: trade.takerSide,
    ts: unixSeconds(trade.tsMs),
    ts_ms: trade.tsMs,
  };
}

export function fillMsg(fill: SimFill) {
  const legacy = legacyDirection(fill.side);
  return {
    trade_id: fill.tradeId,
    order_id: fill.orderId,
    market_ticker: fill.ticker,
    is_taker: fill.isTaker,
    side: legacy.side,
    action: legacy.action,
    outcome_side: outcomeSideOf(fill.side),
    book_side: fill.side,
    purchased_side: outcomeSideOf(fill.side),
    yes_price_dollars: formatPrice(fill.price),
    no_price_dollars: formatPrice(complement(fill.price)),
    count_fp: formatCount(fill.count),
    fee_cost: formatDollars(fill.fee),
    post_position_fp: formatCount(fill.postPosition),
    client_order_id: fill.clientOrderId,
    exchange_index: 0,
    ts: unixSeconds(fill.tsMs),
    ts_ms: fill.tsMs,
  };
}

export function userOrderMsg(order: SimOrder) {
  return {
    order_id: order.orderId,
    user_id: order.userId,
    ticker: order.ticker,
    status: order.status,
    side: outcomeSideOf(order.side),
    is_yes: order.side === 'bid',
    outcome_side: outcomeSideOf(order.side),
    book_side: order.side,
    yes_price_dollars: formatPrice(order.price),
    fill_count_fp: formatCount(order.fillCount),
    remaining_count_fp: formatCount(order.remainingCount),
    initial_count_fp: formatCount(order.initialCount),
    taker_fill_cost_dollars: formatDollars(order.takerFillCost),
    maker_fill_cost_dollars: formatDollars(order.makerFillCost),
    taker_fees_dollars: formatDollars(order.takerFees),
    maker_fees_dollars: formatDollars(order.makerFees),
    client_order_id: order.clientOrderId,
    ...(order.orderGroupId !== null ? { order_group_id: order.orderGroupId } : {}),
    self_trade_prevention_type: order.selfTradePrevention,
    created_time: rfc3339(order.createdTimeMs),
    created_ts_ms: order.createdTimeMs,
    last_update_time: rfc3339(order.lastUpdateTimeMs),
    last_updated_ts_ms: order.lastUpdateTimeMs,
    ...(order.expirationTime !== null
      ? { expiration_time: rfc3339(order.expirationTime * 1000), expiration_ts_ms: order.expirationTime * 1000 }
      : {}),
    ...(order.lastUpdateReason ? { last_update_reason: order.lastUpdateReason } : {}),
    subaccount_number: 0,
  };
}

export function marketPositionMsg(userId: string, position: SimPosition, volume: Count) {
  return {
    user_id: userId,
    market_ticker: position.ticker,
    position_fp: formatCount(position.position),
    position_cost_dollars: formatDollars(position.exposure),
    realized_pnl_dollars: formatDollars(position.realizedPnl),
    fees_paid_dollars: formatDollars(position.feesPaid),
    position_fee_cost_dollars: formatDollars(position.feesPaid),
    volume_fp: formatCount(volume),
    subaccount: 0,
  };
}

type LifecycleEvent = Extract<ExchangeEvent, { type: 'market_lifecycle' }>;

/**
 * Kalshi has no `closed` lifecycle event type: a market closing outside its schedule is announced
 * as a close-date change to now.
 */
export function lifecycleMsg(e: LifecycleEvent) {
  const { ticker, tsMs, result } = e;
  const base = { market_ticker: ticker };
  switch (e.event) {
    case 'created':
      return { ...base, event_type: 'created', open_ts: unixSeconds(e.openTimeMs ?? tsMs), close_ts: unixSeconds(e.closeTimeMs ?? tsMs) };
    case 'activated':
      return { ...base, event_type: 'activated', is_deactivated: false };
    case 'deactivated':
      return { ...base, event_type: 'deactivated', is_deactivated: true };
    case 'closed':
      return { ...base, event_type: 'close_date_updated', close_ts: unixSeconds(tsMs) };
    case 'determined':
      return {
        ...base,
        event_type: 'determined',
        result: result ?? '',
        determination_ts: unixSeconds(tsMs),
        settlement_value: formatPrice(result === 'yes' ? ONE_DOLLAR : 0),
      };
    case 'settled':
      return { ...base, event_type: 'settled', result: result ?? '', settled_ts: unixSeconds(tsMs) };
  }
}

/** event_lifecycle (AsyncAPI eventLifecyclePayload): a new event, its series by Kalshi's ticker convention. */
export function eventLifecycleMsg(eventTicker: string, title: string) {
  const cut = eventTicker.indexOf('-');
  return {
    event_ticker: eventTicker,
    title,
    subtitle: '',
    collateral_return_type: '',
    series_ticker: cut > 0 ? eventTicker.slice(0, cut) : eventTicker,
  };
}
