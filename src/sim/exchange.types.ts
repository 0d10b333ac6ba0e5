/**
 * The contract between the simulator's in-process exchange (matching engine, accounts,
 * settlement — `exchange.ts`) and everything that drives it: the Kalshi-compatible REST/WS server
 * (`server/`), the synthetic market participants (`activity/`), fault injection and the RL
 * environment. Internal units are the fixed-point integers of `src/core/money.ts`; the server
 * converts them to Kalshi's wire strings.
 */
import type { Count, Micros, Price } from '../core/money.ts';
import type { HistoryRetention } from './matching/history.ts';
import type { OrderSide } from '../core/order-state.ts';

/** The YES-leg book side (bid = buy YES, ask = sell YES): core's OrderSide, one declaration. */
export type BookSide = OrderSide;
export type OutcomeSide = 'yes' | 'no';
export type TimeInForce = 'good_till_canceled' | 'immediate_or_cancel' | 'fill_or_kill';
export type SelfTradePrevention = 'taker_at_cross' | 'maker';
export type OrderStatus = 'resting' | 'canceled' | 'executed';
export type MarketStatus = 'initialized' | 'active' | 'closed' | 'determined' | 'finalized';
export type PriceLevelStructure = 'linear_cent' | 'tapered_deci_cent' | 'deci_cent';
export type MarketResult = 'yes' | 'no' | '';

export interface SimMarketDefinition {
  ticker: string;
  eventTicker: string;
  title: string;
  priceLevelStructure: PriceLevelStructure;
  openTimeMs: number;
  closeTimeMs: number;
  /** 'quadratic' = taker fees only; 'quadratic_with_maker_fees' also charges makers. */
  feeType: 'quadratic' | 'quadratic_with_maker_fees';
}

export interface SimMarket extends SimMarketDefinition {
  status: MarketStatus;
  result: MarketResult;
  lastPrice: Price | null;
  volume: Count;
  openInterest: Count;
  settledTimeMs: number | null;
  /** Last status change or trade (GET /markets min/max_updated_ts, `updated_time`). */
  updatedTimeMs: number;
}

export interface SimOrderRequest {
  userId: string;
  ticker: string;
  clientOrderId?: string;
  side: BookSide;
  price: Price;
  count: Count;
  timeInForce: TimeInForce;
  /** Unix seconds; only with good_till_canceled. */
  expirationTime?: number;
  postOnly?: boolean;
  selfTradePrevention: SelfTradePrevention;
  reduceOnly?: boolean;
  cancelOrderOnPause?: boolean;
  orderGroupId?: string;
}

export interface SimOrder {
  orderId: string;
  userId: string;
  clientOrderId: string;
  ticker: string;
  side: BookSide;
  /** YES-leg price. */
  price: Price;
  status: OrderStatus;
  initialCount: Count;
  fillCount: Count;
  remainingCount: Count;
  takerFillCost: Micros;
  makerFillCost: Micros;
  takerFees: Micros;
  makerFees: Micros;
  timeInForce: TimeInForce;
  postOnly: boolean;
  selfTradePrevention: SelfTradePrevention;
  expirationTime: number | null;
  createdTimeMs: number;
  lastUpdateTimeMs: number;
  /** Why it last changed, e.g. 'PostOnlyCrossCancel', 'Expired', 'SelfTradePrevention', 'Canceled'. */
  lastUpdateReason: string | null;
  orderGroupId: string | null;
}

/** What an amend changes (Kalshi V2 amend: price and the new total count; expiry since spec 3.31). */
export interface SimAmendRequest {
  price: Price;
  /** New total = already filled + desired resting. */
  count: Count;
  /** undefined: unchanged; null (0 on the wire): removed; else Unix seconds. */
  expirationTime?: number | null;
  updatedClientOrderId?: string;
}

export interface SimOrderGroup {
  orderGroupId: string;
  contractsLimit: Count | null;
  /** Contracts matched in the current window. */
  matched: Count;
  /** True once the limit was reached (orders cancelled, new ones refused) until reset. */
  triggered: boolean;
  orderIds: string[];
}

export type OrderGroupEventType = 'created' | 'triggered' | 'reset' | 'deleted' | 'limit_updated';

export interface SimFill {
  fillId: string;
  tradeId: string;
  orderId: string;
  userId: string;
  clientOrderId: string;
  ticker: string;
  side: BookSide;
  /** YES-leg execution price (the maker's price). */
  price: Price;
  count: Count;
  isTaker: boolean;
  fee: Micros;
  /** Signed position after this fill (+YES / −NO). */
  postPosition: Count;
  tsMs: number;
}

export interface SimTrade {
  tradeId: string;
  ticker: string;
  price: Price;
  count: Count;
  takerSide: BookSide;
  tsMs: number;
}

export interface SimPosition {
  ticker: string;
  position: Count;
  /** Cost of the aggregate open position (Kalshi's market_exposure). */
  exposure: Micros;
  realizedPnl: Micros;
  feesPaid: Micros;
  totalTraded: Micros;
  lastUpdatedMs: number;
}

export interface SimSettlement {
  ticker: string;
  eventTicker: string;
  result: 'yes' | 'no';
  yesCount: Count;
  noCount: Count;
  yesTotalCost: Micros;
  noTotalCost: Micros;
  revenue: Micros;
  fee: Micros;
  settledTimeMs: number;
}

export interface SimError {
  status: 400 | 401 | 403 | 404 | 409 | 429 | 500 | 503;
  code: string;
  message: string;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: SimError };

export interface CreateOrderOutcome {
  order: SimOrder;
  fills: SimFill[];
}

/** Everything the exchange announces; the WS server turns these into Kalshi channel frames. */
export type ExchangeEvent =
  | { type: 'book_delta'; ticker: string; side: OutcomeSide; price: Price; delta: Count; clientOrderId?: string; userId?: string; tsMs: number }
  | { type: 'trade'; trade: SimTrade }
  | { type: 'fill'; fill: SimFill }
  | { type: 'order_update'; order: SimOrder }
  | { type: 'position'; userId: string; position: SimPosition }
  | {
      type: 'market_lifecycle';
      ticker: string;
      event: 'created' | 'activated' | 'deactivated' | 'closed' | 'determined' | 'settled';
      result?: 'yes' | 'no';
      /** On 'created'. */
      openTimeMs?: number;
      closeTimeMs?: number;
      tsMs: number;
    }
  /** The first market of an event was added (market_lifecycle_v2's event_lifecycle message). */
  | { type: 'event_created'; eventTicker: string; title: string; tsMs: number }
  | { type: 'ticker'; ticker: string; tsMs: number }
  | { type: 'order_group'; userId: string; event: OrderGroupEventType; orderGroupId: string; contractsLimit: Count | null; tsMs: number };

export type ExchangeListener = (event: ExchangeEvent) => void;

/** The in-process exchange. One instance serves every user of a simulator. */
export interface ExchangeApi {
  addMarket(def: SimMarketDefinition): SimMarket;
  listMarkets(): SimMarket[];
  getMarket(ticker: string): SimMarket | undefined;
  /** L2 book on Kalshi's bids-only model: YES bids and NO bids (NO price = $1 − YES ask), ascending by price. */
  bookLevels(ticker: string): { yes: Array<[Price, Count]>; no: Array<[Price, Count]> } | undefined;

  /** Opens an account; `history` bounds its kept finished orders, fills and settlements (matching/history.ts). */
  ensureAccount(userId: string, initialCash?: Micros, history?: Partial<HistoryRetention>): void;
  balance(userId: string): Micros;
  createOrder(req: SimOrderRequest): Result<CreateOrderOutcome>;
  cancelOrder(userId: string, orderId: string): Result<{ order: SimOrder; reducedBy: Count }>;
  decreaseOrder(userId: string, orderId: string, reduceBy: Count): Result<SimOrder>;
  /** Kalshi's V2 amend: a price change or a larger total loses queue priority; an expiry-only or smaller amend keeps it. */
  amendOrder(userId: string, orderId: string, amend: SimAmendRequest): Result<CreateOrderOutcome>;
  /** Contracts ahead of a resting order by price-time priority (null: unknown or not resting). */
  queuePosition(userId: string, orderId: string): Count | null;

  /** Order groups (kalshi-api.md §3.12): a contracts limit over a rolling 15 s of matched contracts. */
  createOrderGroup(userId: string, contractsLimit: Count | null): Result<SimOrderGroup>;
  getOrderGroup(userId: string, orderGroupId: string): SimOrderGroup | undefined;
  listOrderGroups(userId: string): SimOrderGroup[];
  deleteOrderGroup(userId: string, orderGroupId: string): Result<SimOrderGroup>;
  resetOrderGroup(userId: string, orderGroupId: string): Result<SimOrderGroup>;
  triggerOrderGroup(userId: string, orderGroupId: string): Result<SimOrderGroup>;
  updateOrderGroupLimit(userId: string, orderGroupId: string, contractsLimit: Count): Result<SimOrderGroup>;
  getOrder(userId: string, orderId: string): SimOrder | undefined;
  listOrders(userId: string, filter?: { ticker?: string; status?: OrderStatus }): SimOrder[];
  listFills(userId: string, filter?: { ticker?: string; orderId?: string; minTsMs?: number; maxTsMs?: number }): SimFill[];
  listPositions(userId: string): SimPosition[];
  listSettlements(userId: string): SimSettlement[];
  listTrades(filter?: { ticker?: string }): SimTrade[];

  /** Cancels resting orders whose expiration time has passed (driven by the clock). */
  expireOrders(nowMs: number): void;
  closeMarket(ticker: string): Result<SimMarket>;
  settleMarket(ticker: string, result: 'yes' | 'no'): Result<SimMarket>;

  subscribe(listener: ExchangeListener): () => void;
}
