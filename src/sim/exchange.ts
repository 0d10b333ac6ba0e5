/**
 * The simulator's in-process exchange: matching engine, accounts, collateral and settlement,
 * implementing `ExchangeApi` (exchange.types.ts). The Kalshi-compatible REST/WS server, the
 * synthetic market participants and the RL environment all drive one instance of this class.
 *
 * Behaviour follows kalshi-api.md §7: one YES-leg order book per market with price-time priority,
 * executions at the maker's price, GTC/GTT/IOC/FOK, post-only, both self-trade-prevention modes,
 * netting positions, Kalshi's fees with per-order balance rounding, and $1 settlement.
 * The arithmetic is core's (ticks, fees, positions, the L2 OrderBook); this file only decides
 * who trades with whom, when, and what that does to accounts.
 *
 * Deterministic: time comes from the injected Clock and ids from seeded counters, so the same
 * inputs replay to the same state. Listeners are called synchronously, in order; a throwing
 * listener cannot corrupt the exchange (its error is rethrown on a microtask).
 *
 * Collateral. Per user and market the exchange reserves what the resting orders could cost if all
 * of them filled: for bids Σ price × remaining minus $1 for every contract that would close a NO
 * position (buying YES against held NO returns $1 − p, so the closing part costs nothing and its
 * proceeds cover the rest); symmetrically for asks (buying NO at $1 − p) against a YES position;
 * plus a fee allowance per order. Balance = cash − reserved. Fills only ever lower the other
 * side's requirement, so a fill never pushes the balance below zero beyond fee rounding.
 */
import { CENT_PRECISION, FeeRounding, tradeFee } from '../core/fees.ts';
import { ONE_DOLLAR, dollarsToMicros } from '../core/money.ts';
import type { Count, Micros, Price } from '../core/money.ts';
import type { Clock, TimerHandle } from '../core/clock.ts';
import { applyFill, settlePosition } from '../core/positions.ts';
import { isValidPrice } from '../core/ticks.ts';
import type {
  BookSide,
  CreateOrderOutcome,
  ExchangeApi,
  ExchangeEvent,
  ExchangeListener,
  MarketStatus,
  OrderStatus,
  Result,
  SimError,
  SimFill,
  SimMarket,
  OrderGroupEventType,
  SimAmendRequest,
  SimMarketDefinition,
  SimOrderGroup,
  SimOrder,
  SimOrderRequest,
  SimPosition,
  SimSettlement,
  SimTrade,
} from './exchange.types.ts';
import { ExchangeIds } from './ids.ts';
import { ExpiryQueue } from './matching/expiry-queue.ts';
import { KEEP_ALL_HISTORY, ageSlack, countSlack, resolveRetention, trimFront } from './matching/history.ts';
import type { HistoryRetention } from './matching/history.ts';
import { Account, Holding, MarketState, OrderGroupRecord, OrderRecord, UPDATE_REASON, positionSnapshot } from './matching/records.ts';

export { UPDATE_REASON };
export type { HistoryRetention };

export interface ExchangeOptions {
  clock: Clock;
  /** Seeds the id streams (default 1). */
  seed?: number;
  /** Cash of an account created on first use (default $10,000). */
  defaultCash?: Micros;
  /**
   * Balance precision for Kalshi's per-fill rounding (core FeeRounding): $0.01 (10,000 micros,
   * the default: a normal Kalshi account) or $0.0001 (100, a direct member). Must divide $0.01.
   */
  accountPrecision?: Micros;
  /** Schedule a clock timer that expires GTT orders on time (default true). */
  autoExpire?: boolean;
  /**
   * Finished history kept for queries, so a long-running simulator has bounded memory (default:
   * all): per account the newest `maxCount` finished orders, fills and settlements, per market
   * (and overall) the newest `maxCount` trades, none older than `maxAgeMs` on the clock; older
   * ones are dropped in batches (matching/history.ts). Resting orders are always kept. A dropped
   * order's client_order_id may be used again. `ensureAccount` may set an account's own bound.
   */
  history?: Partial<HistoryRetention>;
}

/** Largest order accepted: 100M contracts, so price × count stays far inside safe integers. */
export const MAX_ORDER_COUNT: Count = 100_000_000 * 100;

const BOOK_SIDES: ReadonlySet<string> = new Set(['bid', 'ask']);
const TIME_IN_FORCE: ReadonlySet<string> = new Set(['good_till_canceled', 'immediate_or_cancel', 'fill_or_kill']);
const STP_MODES: ReadonlySet<string> = new Set(['taker_at_cross', 'maker']);
const MAX_TIMER_DELAY_MS = 2_147_483_647;
/** Order groups count matched contracts over a rolling 15 s (kalshi-typescript 3.30 OrderGroupsApi docs). */
export const ORDER_GROUP_WINDOW_MS = 15_000;

function fail(status: SimError['status'], code: string, message: string): { ok: false; error: SimError } {
  return { ok: false, error: { status, code, message } };
}

/** Index of the first element with tsMs ≥ t in an array sorted by tsMs. */
function lowerBound(fills: SimFill[], t: number): number {
  let lo = 0;
  let hi = fills.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (fills[mid]!.tsMs < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const tradeTime = (t: SimTrade) => t.tsMs;
const fillTime = (f: SimFill) => f.tsMs;

/** Newest first, as Kalshi lists orders, fills, trades and settlements. */
function newestFirst<T>(xs: readonly T[]): T[] {
  const out = new Array<T>(xs.length);
  for (let i = 0, j = xs.length - 1; j >= 0; i++, j--) out[i] = xs[j]!;
  return out;
}

export class Exchange implements ExchangeApi {
  private readonly clock: Clock;
  private readonly ids: ExchangeIds;
  private readonly defaultCash: Micros;
  private readonly precision: Micros;
  private readonly autoExpire: boolean;
  /** Default retention of accounts, and the retention of trade lists. */
  private readonly history: HistoryRetention;
  private readonly markets = new Map<string, MarketState>();
  private readonly accounts = new Map<string, Account>();
  /** Every kept trade of every market, oldest first. */
  private readonly allTrades: SimTrade[] = [];
  private listeners: ExchangeListener[] = [];
  private readonly expiries = new ExpiryQueue<OrderRecord>();
  private expiryTimer: TimerHandle | null = null;
  private expiryTimerAt = Infinity;
  /** The order matching as a taker right now (not on the book while it sweeps). */
  private matchingTaker: OrderRecord | null = null;

  constructor(opts: ExchangeOptions) {
    this.clock = opts.clock;
    this.ids = new ExchangeIds(opts.seed ?? 1);
    this.defaultCash = opts.defaultCash ?? dollarsToMicros(10_000);
    this.precision = opts.accountPrecision ?? CENT_PRECISION;
    this.autoExpire = opts.autoExpire ?? true;
    this.history = resolveRetention(opts.history, KEEP_ALL_HISTORY);
    if (!Number.isSafeInteger(this.defaultCash) || this.defaultCash < 0) {
      throw new RangeError(`defaultCash must be a non-negative integer amount of micros, got ${this.defaultCash}`);
    }
    // FeeRounding validates the precision; fail at construction rather than on the first order.
    new FeeRounding(this.precision);
  }

  // ---------------------------------------------------------------- markets

  addMarket(def: SimMarketDefinition): SimMarket {
    if (this.markets.has(def.ticker)) throw new Error(`market ${def.ticker} already exists`);
    const now = this.clock.now();
    const status: MarketStatus = now < def.openTimeMs ? 'initialized' : 'active';
    const market: SimMarket = {
      ticker: def.ticker,
      eventTicker: def.eventTicker,
      title: def.title,
      priceLevelStructure: def.priceLevelStructure,
      openTimeMs: def.openTimeMs,
      closeTimeMs: def.closeTimeMs,
      feeType: def.feeType,
      status,
      result: '',
      lastPrice: null,
      volume: 0,
      openInterest: 0,
      settledTimeMs: null,
      updatedTimeMs: now,
    };
    const newEvent = ![...this.markets.values()].some((m) => m.market.eventTicker === def.eventTicker);
    this.markets.set(def.ticker, new MarketState(market));
    if (newEvent) this.emit({ type: 'event_created', eventTicker: def.eventTicker, title: def.title, tsMs: now });
    this.emit({ type: 'market_lifecycle', ticker: def.ticker, event: 'created', openTimeMs: def.openTimeMs, closeTimeMs: def.closeTimeMs, tsMs: now });
    if (status === 'active') this.emit({ type: 'market_lifecycle', ticker: def.ticker, event: 'activated', tsMs: now });
    return { ...market };
  }

  listMarkets(): SimMarket[] {
    const out: SimMarket[] = [];
    for (const ms of this.markets.values()) {
      this.activateIfOpen(ms);
      out.push({ ...ms.market });
    }
    return out;
  }

  getMarket(ticker: string): SimMarket | undefined {
    const ms = this.markets.get(ticker);
    if (!ms) return undefined;
    this.activateIfOpen(ms);
    return { ...ms.market };
  }

  /** Opens an 'initialized' market for trading now, whatever its open time. */
  activateMarket(ticker: string): Result<SimMarket> {
    const ms = this.markets.get(ticker);
    if (!ms) return fail(404, 'market_not_found', `market ${ticker} not found`);
    if (ms.market.status === 'initialized') this.setActive(ms, this.clock.now());
    else if (ms.market.status !== 'active') return fail(400, 'market_closed', `market ${ticker} is ${ms.market.status}`);
    return { ok: true, value: { ...ms.market } };
  }

  bookLevels(ticker: string): { yes: Array<[Price, Count]>; no: Array<[Price, Count]> } | undefined {
    const ms = this.markets.get(ticker);
    if (!ms) return undefined;
    return { yes: ms.l2.levels('yes'), no: ms.l2.levels('no') };
  }

  // ---------------------------------------------------------------- accounts

  /** Opens an account (no-op if it exists); `history` overrides the exchange's retention for it. */
  ensureAccount(userId: string, initialCash?: Micros, history?: Partial<HistoryRetention>): void {
    if (this.accounts.has(userId)) return;
    const cash = initialCash ?? this.defaultCash;
    if (!Number.isSafeInteger(cash) || cash < 0) throw new RangeError(`initial cash must be a non-negative integer amount of micros, got ${cash}`);
    this.accounts.set(userId, new Account(userId, cash, resolveRetention(history, this.history)));
  }

  /** Cash not reserved for resting orders. An unknown user gets an account with the default cash. */
  balance(userId: string): Micros {
    const a = this.account(userId);
    return a.cash - a.reserved;
  }

  /** Cash including what is reserved, and the reserved part. */
  cashSummary(userId: string): { cash: Micros; reserved: Micros; balance: Micros } {
    const a = this.account(userId);
    return { cash: a.cash, reserved: a.reserved, balance: a.cash - a.reserved };
  }

  /** Ids of every user with an account. */
  listUsers(): string[] {
    return [...this.accounts.keys()];
  }

  private account(userId: string): Account {
    let a = this.accounts.get(userId);
    if (!a) {
      a = new Account(userId, this.defaultCash, this.history);
      this.accounts.set(userId, a);
    }
    return a;
  }

  private holding(account: Account, ms: MarketState, nowMs: number): Holding {
    let h = account.holdings.get(ms.market.ticker);
    if (!h) {
      h = new Holding(account, ms, nowMs);
      account.holdings.set(ms.market.ticker, h);
      ms.holdings.set(account.userId, h);
    }
    return h;
  }

  // ---------------------------------------------------------------- orders

  createOrder(req: SimOrderRequest): Result<CreateOrderOutcome> {
    if (typeof req.userId !== 'string' || req.userId === '') return fail(400, 'invalid_order', 'user id is required');
    if (!BOOK_SIDES.has(req.side)) return fail(400, 'invalid_order', `side must be bid or ask, got ${String(req.side)}`);
    if (!TIME_IN_FORCE.has(req.timeInForce)) return fail(400, 'invalid_order', `invalid time_in_force ${String(req.timeInForce)}`);
    if (!STP_MODES.has(req.selfTradePrevention)) {
      return fail(400, 'invalid_order', `invalid self_trade_prevention_type ${String(req.selfTradePrevention)}`);
    }
    const ms = this.markets.get(req.ticker);
    if (!ms) return fail(404, 'market_not_found', `market ${req.ticker} not found`);
    this.activateIfOpen(ms);
    if (ms.market.status !== 'active') return fail(400, 'market_closed', `market ${req.ticker} is ${ms.market.status}`);
    if (!isValidPrice(req.price, ms.ranges)) {
      return fail(400, 'invalid_price', `price ${req.price} is not on the ${ms.market.priceLevelStructure} grid`);
    }
    let count = req.count;
    if (!Number.isSafeInteger(count) || count <= 0 || count > MAX_ORDER_COUNT) {
      return fail(400, 'invalid_order', `count must be a positive whole number of 0.01 contracts, got ${count}`);
    }
    const expirationTime = req.expirationTime ?? null;
    if (expirationTime !== null) {
      if (req.timeInForce !== 'good_till_canceled') {
        return fail(400, 'invalid_order', 'expiration_time is only allowed with good_till_canceled');
      }
      if (!Number.isSafeInteger(expirationTime) || expirationTime < 0) {
        return fail(400, 'invalid_order', `expiration_time must be Unix seconds, got ${expirationTime}`);
      }
    }
    const clientOrderId = req.clientOrderId ?? '';
    if (typeof clientOrderId !== 'string') return fail(400, 'invalid_order', 'client_order_id must be a string');

    const account = this.account(req.userId);
    if (clientOrderId !== '' && account.clientOrderIds.has(clientOrderId)) {
      return fail(409, 'order_already_exists', 'order already exists');
    }
    let group: OrderGroupRecord | null = null;
    if (req.orderGroupId !== undefined) {
      group = account.orderGroups.get(req.orderGroupId) ?? null;
      if (group === null) return fail(404, 'order_group_not_found', `order group ${req.orderGroupId} not found`);
      // "no new orders can be placed until reset" (OrderGroupsApi docs); the error code is ours
      if (group.triggered) return fail(400, 'order_group_limit_reached', `order group ${group.id} reached its contracts limit; reset it first`);
    }
    const now = this.clock.now();
    const holding = this.holding(account, ms, now);

    if (req.reduceOnly) {
      // spec 3.31: "reduce_only orders are rejected unless time_in_force is immediate_or_cancel"
      if (req.timeInForce !== 'immediate_or_cancel') return fail(400, 'invalid_order', 'reduce_only orders must be immediate_or_cancel');
      const pos = holding.position.position;
      const reducible = req.side === 'bid' ? Math.max(0, -pos) : Math.max(0, pos);
      if (reducible === 0) return fail(400, 'invalid_order', 'reduce_only order would not reduce the position');
      if (count > reducible) count = reducible;
    }

    const order = new OrderRecord(
      this.ids.order.next(),
      req.userId,
      clientOrderId,
      req.ticker,
      req.side,
      req.price,
      count,
      count,
      req.timeInForce,
      req.postOnly === true,
      req.selfTradePrevention,
      expirationTime,
      now,
      holding,
      this.precision,
    );

    // Collateral: admit the whole order into the aggregates, then check what that costs.
    const balanceBefore = account.cash - account.reserved;
    holding.adjustOrder(order, count, 1);
    order.feeReserve = order.feeBudget;
    holding.addFeeReserve(order.side, order.feeReserve);
    const increase = holding.requirement() - holding.reserved;
    // an order that lowers the requirement (it only closes) is fine even on a rounding-negative balance
    if (increase > 0 && increase > balanceBefore) {
      holding.adjustOrder(order, count, -1);
      holding.addFeeReserve(order.side, -order.feeReserve);
      return fail(400, 'insufficient_balance', 'insufficient balance');
    }
    holding.refreshReserve();

    if (group !== null) {
      order.group = group;
      group.orders.add(order);
    }
    account.ordersById.set(order.orderId, order);
    let byTicker = account.ordersByTicker.get(req.ticker);
    if (!byTicker) account.ordersByTicker.set(req.ticker, (byTicker = []));
    byTicker.push(order);
    if (clientOrderId !== '') account.clientOrderIds.add(clientOrderId);

    const book = ms.book;
    const topBefore = this.listeners.length > 0 ? this.topOfBook(ms) : '';
    const fills: SimFill[] = [];
    const isBid = req.side === 'bid';
    const crosses = isBid ? (book.bestAsk() ?? Infinity) <= req.price : (book.bestBid() ?? -Infinity) >= req.price;

    if (crosses && order.postOnly) {
      this.finishUnrested(order, UPDATE_REASON.postOnlyCross, now);
    } else if (crosses && order.timeInForce === 'fill_or_kill' && this.fillableFor(ms, order) < count) {
      this.finishUnrested(order, UPDATE_REASON.fillOrKill, now);
    } else {
      if (crosses) this.match(ms, order, now, fills);
      if (order.status === 'resting') {
        const expired = expirationTime !== null && expirationTime * 1000 <= now;
        if (order.timeInForce === 'immediate_or_cancel') this.finishUnrested(order, UPDATE_REASON.immediateOrCancel, now);
        else if (order.timeInForce === 'fill_or_kill') this.finishUnrested(order, UPDATE_REASON.fillOrKill, now);
        else if (expired) this.finishUnrested(order, UPDATE_REASON.expired, now);
        else this.rest(ms, order, now);
      }
    }

    if (this.listeners.length > 0) {
      this.emit({ type: 'order_update', order: order.snapshot() });
      if (fills.length > 0 || this.topOfBook(ms) !== topBefore) this.emit({ type: 'ticker', ticker: req.ticker, tsMs: now });
    }
    return { ok: true, value: { order: order.snapshot(), fills } };
  }

  cancelOrder(userId: string, orderId: string): Result<{ order: SimOrder; reducedBy: Count }> {
    const order = this.accounts.get(userId)?.ordersById.get(orderId);
    if (!order) return fail(404, 'order_not_found', `order ${orderId} not found`);
    if (order.status !== 'resting') return fail(409, 'order_not_resting', `order ${orderId} is ${order.status}`);
    const ms = order.holding.market;
    const topBefore = this.listeners.length > 0 ? this.topOfBook(ms) : '';
    const reducedBy = order.remainingCount;
    const now = this.clock.now();
    this.cancelResting(order, UPDATE_REASON.canceled, now, order);
    this.emitTickerIfMoved(ms, topBefore, now);
    return { ok: true, value: { order: order.snapshot(), reducedBy } };
  }

  decreaseOrder(userId: string, orderId: string, reduceBy: Count): Result<SimOrder> {
    const order = this.accounts.get(userId)?.ordersById.get(orderId);
    if (!order) return fail(404, 'order_not_found', `order ${orderId} not found`);
    if (!Number.isSafeInteger(reduceBy) || reduceBy <= 0) {
      return fail(400, 'invalid_order', `reduce_by must be a positive whole number of 0.01 contracts, got ${reduceBy}`);
    }
    if (order.status !== 'resting') return fail(409, 'order_not_resting', `order ${orderId} is ${order.status}`);
    const ms = order.holding.market;
    const topBefore = this.listeners.length > 0 ? this.topOfBook(ms) : '';
    const now = this.clock.now();
    if (reduceBy >= order.remainingCount) {
      this.cancelResting(order, UPDATE_REASON.canceled, now, order);
    } else {
      // Decreasing keeps the order's place in the queue (kalshi-api.md §7.9).
      const h = order.holding;
      order.remainingCount -= reduceBy;
      ms.book.reduce(order, reduceBy);
      h.adjustOrder(order, reduceBy, -1);
      h.refreshReserve();
      order.lastUpdateTimeMs = now;
      order.lastUpdateReason = UPDATE_REASON.decreased;
      this.publishLevelChange(ms, order, -reduceBy, order, now);
      if (this.listeners.length > 0) this.emit({ type: 'order_update', order: order.snapshot() });
    }
    this.emitTickerIfMoved(ms, topBefore, now);
    return { ok: true, value: order.snapshot() };
  }

  /**
   * Kalshi's V2 amend (`POST /portfolio/events/orders/{id}/amend`): a new price and/or a new total
   * count (already filled + desired resting), optionally a new expiry and client order id.
   * Priority: an amend that keeps the price and does not grow the order keeps its place (an
   * expiry-only amend too, spec 3.31 changelog); a price change or a larger size goes to the back
   * of the (new) level, and may cross and trade at once as a taker (kalshi-api.md §3.6: "increasing
   * size or changing price forfeit queue position", stated for margin orders and followed here).
   * A post-only order amended to a crossing price is refused and left as it was: Kalshi documents
   * no outcome for it; refusing keeps the maker-only promise without losing the order.
   */
  amendOrder(userId: string, orderId: string, amend: SimAmendRequest): Result<CreateOrderOutcome> {
    const account = this.accounts.get(userId);
    const order = account?.ordersById.get(orderId);
    if (!account || !order) return fail(404, 'order_not_found', `order ${orderId} not found`);
    if (order.status !== 'resting') return fail(409, 'order_not_resting', `order ${orderId} is ${order.status}`);
    const ms = order.holding.market;
    this.activateIfOpen(ms);
    if (ms.market.status !== 'active') return fail(400, 'market_closed', `market ${order.ticker} is ${ms.market.status}`);
    if (!isValidPrice(amend.price, ms.ranges)) {
      return fail(400, 'invalid_price', `price ${amend.price} is not on the ${ms.market.priceLevelStructure} grid`);
    }
    if (!Number.isSafeInteger(amend.count) || amend.count <= order.fillCount || amend.count > MAX_ORDER_COUNT) {
      return fail(400, 'invalid_order', `count is the new total (filled + resting) and must exceed the ${order.fillCount} already filled, got ${amend.count}`);
    }
    const expiry = amend.expirationTime;
    if (expiry !== undefined && expiry !== null && (!Number.isSafeInteger(expiry) || expiry < 0)) {
      return fail(400, 'invalid_order', `expiration_time must be Unix seconds, got ${expiry}`);
    }
    const newClientId = amend.updatedClientOrderId;
    if (newClientId !== undefined && newClientId !== order.clientOrderId && account.clientOrderIds.has(newClientId)) {
      return fail(409, 'order_already_exists', 'order already exists');
    }
    const newRemaining = amend.count - order.fillCount;
    const oldPrice = order.price;
    const oldRemaining = order.remainingCount;
    const losesPlace = amend.price !== oldPrice || newRemaining > oldRemaining;
    const book = ms.book;
    const isBid = order.side === 'bid';
    const crosses = amend.price !== oldPrice && (isBid ? (book.bestAsk() ?? Infinity) <= amend.price : (book.bestBid() ?? -Infinity) >= amend.price);
    if (crosses && order.postOnly) return fail(400, 'post_only_cross', 'a post-only order cannot be amended to a crossing price');

    // Collateral: swap the order's contribution in its holding's aggregates, then check the cost.
    const h = order.holding;
    const balanceBefore = account.cash - account.reserved;
    const oldFeeReserve = order.feeReserve;
    const newFeeReserve = order.feeBudgetFor(amend.price, newRemaining, this.precision);
    const swap = (fromPrice: Price, fromCount: Count, fromFee: Micros, toPrice: Price, toCount: Count, toFee: Micros) => {
      h.adjustOrder(order, fromCount, -1);
      h.addFeeReserve(order.side, toFee - fromFee);
      order.price = toPrice;
      h.adjustOrder(order, toCount, 1);
      order.price = fromPrice;
    };
    swap(oldPrice, oldRemaining, oldFeeReserve, amend.price, newRemaining, newFeeReserve);
    const increase = h.requirement() - h.reserved;
    if (increase > 0 && increase > balanceBefore) {
      order.price = amend.price;
      swap(amend.price, newRemaining, newFeeReserve, oldPrice, oldRemaining, oldFeeReserve);
      order.price = oldPrice;
      return fail(400, 'insufficient_balance', 'insufficient balance');
    }

    const now = this.clock.now();
    const topBefore = this.listeners.length > 0 ? this.topOfBook(ms) : '';
    if (losesPlace) {
      book.remove(order);
      this.publishLevelChange(ms, order, -oldRemaining, order, now);
      order.price = amend.price;
      order.remainingCount = newRemaining;
    } else if (newRemaining < oldRemaining) {
      order.remainingCount = newRemaining;
      book.reduce(order, oldRemaining - newRemaining);
      this.publishLevelChange(ms, order, newRemaining - oldRemaining, order, now);
    }
    order.initialCount = amend.count;
    order.feeBudget = order.takerFees + order.makerFees + newFeeReserve;
    order.feeReserve = newFeeReserve;
    if (newClientId !== undefined && newClientId !== order.clientOrderId) {
      if (order.clientOrderId !== '') account.clientOrderIds.delete(order.clientOrderId);
      order.clientOrderId = newClientId;
      if (newClientId !== '') account.clientOrderIds.add(newClientId);
    }
    const expiryChanged = expiry !== undefined && (expiry === 0 ? null : expiry) !== order.expirationTime;
    if (expiry !== undefined) order.expirationTime = expiry === 0 ? null : expiry;
    order.lastUpdateTimeMs = now;
    order.lastUpdateReason = UPDATE_REASON.amended;
    h.refreshReserve();

    const fills: SimFill[] = [];
    if (losesPlace) {
      if (crosses) this.match(ms, order, now, fills);
      if (order.status === 'resting') this.rest(ms, order, now, false);
    }
    if (order.status === 'resting' && order.expirationTime !== null) {
      if (order.expirationTime * 1000 <= now) this.cancelResting(order, UPDATE_REASON.expired, now, order);
      else if (expiryChanged) {
        this.expiries.push(order.expirationTime * 1000, order);
        this.scheduleExpiryTimer();
      }
    }
    if (this.listeners.length > 0) {
      this.emit({ type: 'order_update', order: order.snapshot() });
      this.emitTickerIfMoved(ms, topBefore, now);
    }
    return { ok: true, value: { order: order.snapshot(), fills } };
  }

  // ---------------------------------------------------------------- order groups

  /** A new group; `contractsLimit` null = no limit. */
  createOrderGroup(userId: string, contractsLimit: Count | null): Result<SimOrderGroup> {
    if (contractsLimit !== null && (!Number.isSafeInteger(contractsLimit) || contractsLimit <= 0)) {
      return fail(400, 'invalid_parameters', `contracts_limit must be a positive number of contracts, got ${contractsLimit}`);
    }
    const account = this.account(userId);
    const now = this.clock.now();
    const group = new OrderGroupRecord(this.ids.orderGroup.next(), userId, contractsLimit, now);
    account.orderGroups.set(group.id, group);
    this.emitGroup(group, 'created', now);
    return { ok: true, value: this.groupSnapshot(group, now) };
  }

  getOrderGroup(userId: string, orderGroupId: string): SimOrderGroup | undefined {
    const group = this.accounts.get(userId)?.orderGroups.get(orderGroupId);
    return group ? this.groupSnapshot(group, this.clock.now()) : undefined;
  }

  /** Oldest first. */
  listOrderGroups(userId: string): SimOrderGroup[] {
    const now = this.clock.now();
    return [...(this.accounts.get(userId)?.orderGroups.values() ?? [])].map((g) => this.groupSnapshot(g, now));
  }

  /** Cancels the group's resting orders and removes it. */
  deleteOrderGroup(userId: string, orderGroupId: string): Result<SimOrderGroup> {
    const account = this.accounts.get(userId);
    const group = account?.orderGroups.get(orderGroupId);
    if (!account || !group) return fail(404, 'order_group_not_found', `order group ${orderGroupId} not found`);
    const now = this.clock.now();
    this.cancelGroupOrders(group, UPDATE_REASON.orderGroupDeleted, now);
    account.orderGroups.delete(orderGroupId);
    const snapshot = this.groupSnapshot(group, now);
    this.emitGroup(group, 'deleted', now);
    return { ok: true, value: snapshot };
  }

  /** Zeroes the matched-contracts counter; the group takes orders again. */
  resetOrderGroup(userId: string, orderGroupId: string): Result<SimOrderGroup> {
    const group = this.accounts.get(userId)?.orderGroups.get(orderGroupId);
    if (!group) return fail(404, 'order_group_not_found', `order group ${orderGroupId} not found`);
    const now = this.clock.now();
    group.matched.length = 0;
    group.triggered = false;
    this.emitGroup(group, 'reset', now);
    return { ok: true, value: this.groupSnapshot(group, now) };
  }

  /** Does what reaching the limit does, on demand: cancels the group's orders and refuses new ones until reset. */
  triggerOrderGroup(userId: string, orderGroupId: string): Result<SimOrderGroup> {
    const group = this.accounts.get(userId)?.orderGroups.get(orderGroupId);
    if (!group) return fail(404, 'order_group_not_found', `order group ${orderGroupId} not found`);
    const now = this.clock.now();
    if (!group.triggered) this.triggerGroup(group, now);
    return { ok: true, value: this.groupSnapshot(group, now) };
  }

  /** A new limit; one at or below what the window already matched triggers the group at once (OrderGroupsApi docs). */
  updateOrderGroupLimit(userId: string, orderGroupId: string, contractsLimit: Count): Result<SimOrderGroup> {
    const group = this.accounts.get(userId)?.orderGroups.get(orderGroupId);
    if (!group) return fail(404, 'order_group_not_found', `order group ${orderGroupId} not found`);
    if (!Number.isSafeInteger(contractsLimit) || contractsLimit <= 0) {
      return fail(400, 'invalid_parameters', `contracts_limit must be a positive number of contracts, got ${contractsLimit}`);
    }
    const now = this.clock.now();
    group.contractsLimit = contractsLimit;
    this.emitGroup(group, 'limit_updated', now);
    if (!group.triggered && group.matchedWithin(now, ORDER_GROUP_WINDOW_MS) >= contractsLimit) this.triggerGroup(group, now);
    return { ok: true, value: this.groupSnapshot(group, now) };
  }

  private triggerGroup(group: OrderGroupRecord, now: number): void {
    group.triggered = true;
    this.cancelGroupOrders(group, UPDATE_REASON.orderGroupTriggered, now);
    this.emitGroup(group, 'triggered', now);
  }

  /** Cancels the group's resting orders (a taker mid-sweep stops itself: see sweep). */
  private cancelGroupOrders(group: OrderGroupRecord, reason: string, now: number): void {
    for (const order of [...group.orders]) {
      if (order.status !== 'resting' || order === this.matchingTaker) continue;
      const ms = order.holding.market;
      const topBefore = this.listeners.length > 0 ? this.topOfBook(ms) : '';
      this.cancelResting(order, reason, now, order);
      this.emitTickerIfMoved(ms, topBefore, now);
    }
  }

  private groupSnapshot(group: OrderGroupRecord, now: number): SimOrderGroup {
    return {
      orderGroupId: group.id,
      contractsLimit: group.contractsLimit,
      matched: group.matchedWithin(now, ORDER_GROUP_WINDOW_MS),
      triggered: group.triggered,
      orderIds: [...group.orders].map((o) => o.orderId),
    };
  }

  private emitGroup(group: OrderGroupRecord, event: OrderGroupEventType, now: number): void {
    if (this.listeners.length === 0) return;
    this.emit({ type: 'order_group', userId: group.userId, event, orderGroupId: group.id, contractsLimit: group.contractsLimit, tsMs: now });
  }

  queuePosition(userId: string, orderId: string): Count | null {
    const order = this.accounts.get(userId)?.ordersById.get(orderId);
    if (!order || order.status !== 'resting') return null;
    return order.holding.market.book.contractsAhead(order);
  }

  getOrder(userId: string, orderId: string): SimOrder | undefined {
    return this.accounts.get(userId)?.ordersById.get(orderId)?.snapshot();
  }

  /** Newest first. */
  listOrders(userId: string, filter?: { ticker?: string; status?: OrderStatus }): SimOrder[] {
    const a = this.accounts.get(userId);
    if (!a) return [];
    const ticker = filter?.ticker;
    const status = filter?.status;
    let source: Iterable<OrderRecord>;
    if (status === 'resting' && (ticker === undefined || a.resting.size < (a.ordersByTicker.get(ticker)?.length ?? 0))) {
      source = a.resting; // insertion order = creation order
    } else if (ticker !== undefined) {
      source = a.ordersByTicker.get(ticker) ?? [];
    } else {
      source = a.ordersById.values();
    }
    const out: SimOrder[] = [];
    for (const o of source) {
      if ((ticker === undefined || o.ticker === ticker) && (status === undefined || o.status === status)) out.push(o.snapshot());
    }
    return out.reverse();
  }

  /** Newest first. */
  listFills(userId: string, filter?: { ticker?: string; orderId?: string; minTsMs?: number; maxTsMs?: number }): SimFill[] {
    const a = this.accounts.get(userId);
    if (!a) return [];
    let source: SimFill[];
    if (filter?.orderId !== undefined) source = a.ordersById.get(filter.orderId)?.fills ?? [];
    else if (filter?.ticker !== undefined) source = a.fillsByTicker.get(filter.ticker) ?? [];
    else source = a.fills;
    const minTs = filter?.minTsMs ?? -Infinity;
    const maxTs = filter?.maxTsMs ?? Infinity;
    let from = 0;
    let to = source.length;
    if (a.fillsInTimeOrder) {
      if (minTs !== -Infinity) from = lowerBound(source, minTs);
      if (maxTs !== Infinity) to = lowerBound(source, maxTs + 1);
    }
    const out: SimFill[] = [];
    for (let i = to - 1; i >= from; i--) {
      const f = source[i]!;
      if (f.tsMs < minTs || f.tsMs > maxTs) continue;
      if (filter?.ticker !== undefined && f.ticker !== filter.ticker) continue;
      if (filter?.orderId !== undefined && f.orderId !== filter.orderId) continue;
      out.push(f);
    }
    return out;
  }

  /**
   * The latest exchange time of a finished order or fill dropped from the user's history (the
   * retention window), or −∞ when nothing was dropped: what the lists show after it is complete.
   */
  historyDroppedThroughMs(userId: string): number {
    return this.accounts.get(userId)?.droppedThroughMs ?? -Infinity;
  }

  /** Markets where the user has traded or holds a position. */
  listPositions(userId: string): SimPosition[] {
    const a = this.accounts.get(userId);
    if (!a) return [];
    const out: SimPosition[] = [];
    for (const h of a.holdings.values()) if (h.active) out.push(positionSnapshot(h));
    return out;
  }

  /** Newest first. */
  listSettlements(userId: string): SimSettlement[] {
    const a = this.accounts.get(userId);
    return a ? newestFirst(a.settlements) : [];
  }

  /** Newest first. */
  listTrades(filter?: { ticker?: string }): SimTrade[] {
    if (filter?.ticker !== undefined) {
      const ms = this.markets.get(filter.ticker);
      return ms ? newestFirst(ms.trades) : [];
    }
    return newestFirst(this.allTrades);
  }

  // ---------------------------------------------------------------- time, lifecycle

  expireOrders(nowMs: number): void {
    for (const order of this.expiries.popDue(nowMs)) {
      // an amend may have moved or removed the expiry this entry was queued for
      if (order.status !== 'resting' || order.expirationTime === null || order.expirationTime * 1000 > nowMs) continue;
      const ms = order.holding.market;
      const topBefore = this.listeners.length > 0 ? this.topOfBook(ms) : '';
      this.cancelResting(order, UPDATE_REASON.expired, nowMs, order);
      this.emitTickerIfMoved(ms, topBefore, nowMs);
    }
    this.scheduleExpiryTimer();
  }

  closeMarket(ticker: string): Result<SimMarket> {
    const ms = this.markets.get(ticker);
    if (!ms) return fail(404, 'market_not_found', `market ${ticker} not found`);
    if (ms.market.status === 'initialized' || ms.market.status === 'active') {
      const now = this.clock.now();
      // Cancel in a fixed order (as stored in the book, bids then asks) so replays match.
      const resting = [...ms.book.allEntries()];
      for (const order of resting) this.cancelResting(order, UPDATE_REASON.marketClosed, now, null);
      ms.market.status = 'closed';
      ms.market.updatedTimeMs = now;
      this.emit({ type: 'market_lifecycle', ticker, event: 'closed', tsMs: now });
    }
    return { ok: true, value: { ...ms.market } };
  }

  settleMarket(ticker: string, result: 'yes' | 'no'): Result<SimMarket> {
    const ms = this.markets.get(ticker);
    if (!ms) return fail(404, 'market_not_found', `market ${ticker} not found`);
    if (result !== 'yes' && result !== 'no') return fail(400, 'invalid_result', `result must be yes or no, got ${String(result)}`);
    if (ms.market.status === 'determined' || ms.market.status === 'finalized') {
      return fail(409, 'market_already_settled', `market ${ticker} is already ${ms.market.status}`);
    }
    this.closeMarket(ticker);
    const now = this.clock.now();
    const m = ms.market;
    m.status = 'determined';
    m.updatedTimeMs = now;
    m.result = result;
    this.emit({ type: 'market_lifecycle', ticker, event: 'determined', result, tsMs: now });

    for (const h of ms.holdings.values()) {
      const before = h.position;
      if (before.position === 0) continue;
      const { position, revenue } = settlePosition(before, result);
      h.position = position;
      h.lastUpdatedMs = now;
      h.active = true;
      h.account.cash += revenue;
      h.refreshReserve();
      const yes = before.position > 0;
      const settlement: SimSettlement = {
        ticker,
        eventTicker: m.eventTicker,
        result,
        yesCount: yes ? before.position : 0,
        noCount: yes ? 0 : -before.position,
        yesTotalCost: yes ? before.costBasis : 0,
        noTotalCost: yes ? 0 : before.costBasis,
        revenue,
        fee: 0,
        settledTimeMs: now,
      };
      h.account.settlements.push(settlement);
      trimFront(h.account.settlements, h.account.history, now, (s) => s.settledTimeMs);
      if (this.listeners.length > 0) this.emit({ type: 'position', userId: h.account.userId, position: positionSnapshot(h) });
    }
    m.openInterest = 0;
    m.status = 'finalized';
    m.settledTimeMs = now;
    this.emit({ type: 'market_lifecycle', ticker, event: 'settled', result, tsMs: now });
    return { ok: true, value: { ...m } };
  }

  subscribe(listener: ExchangeListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Stops the expiry timer (call when the exchange is thrown away on a real clock). */
  dispose(): void {
    if (this.expiryTimer !== null) this.clock.clearTimeout(this.expiryTimer);
    this.expiryTimer = null;
    this.expiryTimerAt = Infinity;
  }

  // ---------------------------------------------------------------- matching internals

  /** Trades `taker` against the opposite side while it crosses; stops on STP (taker mode). */
  private match(ms: MarketState, taker: OrderRecord, now: number, fills: SimFill[]): void {
    const book = ms.book;
    const isBid = taker.side === 'bid';
    const makerSide: BookSide = isBid ? 'ask' : 'bid';
    const limit = taker.price;
    this.matchingTaker = taker;
    try {
      this.sweep(ms, taker, now, fills, makerSide, isBid, limit, book);
    } finally {
      this.matchingTaker = null;
    }
  }

  private sweep(ms: MarketState, taker: OrderRecord, now: number, fills: SimFill[], makerSide: BookSide, isBid: boolean, limit: Price, book: MarketState['book']): void {
    while (taker.remainingCount > 0) {
      const best = isBid ? book.bestAsk() : book.bestBid();
      if (best === null || (isBid ? best > limit : best < limit)) break;
      const maker = book.level(makerSide, best)!.front()!;
      if (maker.userId === taker.userId) {
        if (taker.selfTradePrevention === 'taker_at_cross') {
          this.finishUnrested(taker, UPDATE_REASON.selfTrade, now);
          return;
        }
        this.cancelResting(maker, UPDATE_REASON.selfTrade, now, taker);
        continue;
      }
      const qty = taker.remainingCount < maker.remainingCount ? taker.remainingCount : maker.remainingCount;
      this.execute(ms, taker, maker, qty, now, fills);
      // its order group reached its limit with this fill: the rest of the taker is cancelled too
      if (taker.group !== null && taker.group.triggered && taker.status === 'resting') {
        this.finishUnrested(taker, UPDATE_REASON.orderGroupTriggered, now);
        return;
      }
    }
  }

  /** Contracts `taker` could fill right now without trading with itself (for fill-or-kill). */
  private fillableFor(ms: MarketState, taker: OrderRecord): Count {
    let available = 0;
    for (const level of ms.book.crossingLevels(taker.side, taker.price)) {
      for (const maker of level.entries()) {
        if (maker.userId === taker.userId) {
          // taker_at_cross would stop here; maker mode cancels the own order and goes on
          if (taker.selfTradePrevention === 'taker_at_cross') return available;
          continue;
        }
        available += maker.remainingCount;
        if (available >= taker.remainingCount) return available;
      }
    }
    return available;
  }

  private execute(ms: MarketState, taker: OrderRecord, maker: OrderRecord, qty: Count, now: number, fills: SimFill[]): void {
    const price = maker.price;
    maker.remainingCount -= qty;
    taker.remainingCount -= qty;
    ms.book.reduce(maker, qty);
    this.publishLevelChange(ms, maker, -qty, taker, now);

    const m = ms.market;
    const trade: SimTrade = { tradeId: this.ids.trade.next(), ticker: m.ticker, price, count: qty, takerSide: taker.side, tsMs: now };
    ms.trades.push(trade);
    this.allTrades.push(trade);
    trimFront(ms.trades, this.history, now, tradeTime);
    trimFront(this.allTrades, this.history, now, tradeTime);
    m.lastPrice = price;
    m.updatedTimeMs = now;
    m.volume += qty;
    if (this.listeners.length > 0) this.emit({ type: 'trade', trade });

    this.applyOrderFill(ms, maker, price, qty, false, trade.tradeId, now);
    fills.push(this.applyOrderFill(ms, taker, price, qty, true, trade.tradeId, now));
  }

  /** Books one side of a trade: fees, cash, position, collateral, order state, fill record. */
  private applyOrderFill(
    ms: MarketState,
    order: OrderRecord,
    price: Price,
    qty: Count,
    isTaker: boolean,
    tradeId: string,
    now: number,
  ): SimFill {
    const h = order.holding;
    const account = h.account;
    const m = ms.market;
    order.fillCount += qty; // remainingCount was lowered by the caller

    const fee = tradeFee(price, qty, isTaker, ms.feeSchedule);
    const before = h.position;
    const applied = applyFill(before, { side: order.side, price, count: qty, fee });
    // Kalshi floors each balance change to the account precision and rebates the residue per order.
    const revenue = applied.cashChange + fee;
    if (order.rounding === null) order.rounding = new FeeRounding(this.precision);
    const rounded = order.rounding.settleFill(revenue, fee);
    const netFee = revenue - rounded.balanceChange;
    const position = applied.position;
    if (netFee !== fee) position.feesPaid += netFee - fee;
    account.cash += rounded.balanceChange;
    h.position = position;
    h.lastUpdatedMs = now;
    h.active = true;
    m.openInterest += Math.max(0, position.position) - Math.max(0, before.position);

    const legCost = (order.side === 'bid' ? price : ONE_DOLLAR - price) * qty;
    if (isTaker) {
      order.takerFillCost += legCost;
      order.takerFees += netFee;
    } else {
      order.makerFillCost += legCost;
      order.makerFees += netFee;
    }
    h.adjustOrder(order, qty, -1);
    this.updateFeeReserve(order);
    order.lastUpdateTimeMs = now;
    order.lastUpdateReason = UPDATE_REASON.filled;
    if (order.remainingCount === 0) {
      order.status = 'executed';
      this.finished(order, now);
    }
    h.refreshReserve();

    const fill: SimFill = {
      fillId: this.ids.fill.next(),
      tradeId,
      orderId: order.orderId,
      userId: order.userId,
      clientOrderId: order.clientOrderId,
      ticker: order.ticker,
      side: order.side,
      price,
      count: qty,
      isTaker,
      fee: netFee,
      postPosition: position.position,
      tsMs: now,
    };
    this.recordFill(account, order, fill, now);
    if (this.listeners.length > 0) {
      this.emit({ type: 'fill', fill });
      if (!isTaker) this.emit({ type: 'order_update', order: order.snapshot() });
      this.emit({ type: 'position', userId: order.userId, position: positionSnapshot(h) });
    }
    const group = order.group;
    if (group !== null && group.contractsLimit !== null && !group.triggered) {
      group.matched.push({ tsMs: now, count: qty });
      if (group.matchedWithin(now, ORDER_GROUP_WINDOW_MS) >= group.contractsLimit) this.triggerGroup(group, now);
    }
    return fill;
  }

  /** Book-keeping for an order that left the resting state for good. */
  private finished(order: OrderRecord, now: number): void {
    const a = order.holding.account;
    a.resting.delete(order);
    order.group?.orders.delete(order);
    a.finishedCount++;
    const r = a.history;
    if (a.finishedCount > r.maxCount + countSlack(r) || (r.maxAgeMs !== Infinity && now - a.lastOrderTrimMs >= ageSlack(r))) {
      this.trimOrders(a, now, order);
    }
  }

  /**
   * Drops the oldest finished orders beyond the account's maxCount, and those finished before
   * its age cutoff (resting ones stay). Orders are kept in creation order, and an order cannot
   * have finished before it was created, so the scan for old ones stops at the first order
   * created after the cutoff. `keep` (the order finishing now) stays whatever its age.
   */
  private trimOrders(a: Account, now: number, keep: OrderRecord): void {
    const cutoff = now - a.history.maxAgeMs;
    a.lastOrderTrimMs = now;
    let excess = a.finishedCount - a.history.maxCount;
    let dropped = 0;
    for (const o of a.ordersById.values()) {
      if (excess <= 0 && o.createdTimeMs >= cutoff) break;
      if (o.status === 'resting' || o === keep || (excess <= 0 && o.lastUpdateTimeMs >= cutoff)) continue;
      a.ordersById.delete(o.orderId);
      if (o.clientOrderId !== '') a.clientOrderIds.delete(o.clientOrderId);
      if (o.lastUpdateTimeMs > a.droppedThroughMs) a.droppedThroughMs = o.lastUpdateTimeMs;
      a.finishedCount--;
      excess--;
      dropped++;
    }
    if (dropped === 0) return;
    for (const [ticker, list] of a.ordersByTicker) {
      const kept = list.filter((o) => a.ordersById.get(o.orderId) === o);
      if (kept.length > 0) a.ordersByTicker.set(ticker, kept);
      else a.ordersByTicker.delete(ticker);
    }
  }

  private recordFill(account: Account, order: OrderRecord, fill: SimFill, now: number): void {
    const last = account.fills[account.fills.length - 1];
    if (last !== undefined && last.tsMs > fill.tsMs) account.fillsInTimeOrder = false;
    account.fills.push(fill);
    let byTicker = account.fillsByTicker.get(fill.ticker);
    if (!byTicker) account.fillsByTicker.set(fill.ticker, (byTicker = []));
    byTicker.push(fill);
    if (order.fills === null) order.fills = [fill];
    else order.fills.push(fill);
    // The account's list is trimmed; a ticker's list holds the same fills in the same order, so
    // the dropped (oldest) fills are at the front of their tickers' lists.
    const dropped = trimFront(account.fills, account.history, now, fillTime);
    if (dropped.length === 0) return;
    const perTicker = new Map<string, number>();
    for (const f of dropped) {
      perTicker.set(f.ticker, (perTicker.get(f.ticker) ?? 0) + 1);
      if (f.tsMs > account.droppedThroughMs) account.droppedThroughMs = f.tsMs;
    }
    for (const [ticker, n] of perTicker) {
      const list = account.fillsByTicker.get(ticker)!;
      if (n >= list.length) account.fillsByTicker.delete(ticker);
      else list.splice(0, n);
    }
  }

  /** Keeps an order's fee allowance = budget − fees charged while it is live, 0 after. */
  private updateFeeReserve(order: OrderRecord): void {
    const charged = order.takerFees + order.makerFees;
    const next = order.remainingCount > 0 ? Math.max(0, order.feeBudget - charged) : 0;
    order.holding.addFeeReserve(order.side, next - order.feeReserve);
    order.feeReserve = next;
  }

  /** Puts the rest of an order on the book (at the back of its level). */
  private rest(ms: MarketState, order: OrderRecord, now: number, scheduleExpiry = true): void {
    ms.book.add(order);
    order.holding.account.resting.add(order);
    this.publishLevelChange(ms, order, order.remainingCount, order, now);
    if (scheduleExpiry && order.expirationTime !== null) {
      this.expiries.push(order.expirationTime * 1000, order);
      this.scheduleExpiryTimer();
    }
  }

  /** Ends a new order that never reached the book: its unfilled rest is canceled. */
  private finishUnrested(order: OrderRecord, reason: string, now: number): void {
    const h = order.holding;
    if (order.remainingCount > 0) {
      h.adjustOrder(order, order.remainingCount, -1);
      order.remainingCount = 0;
    }
    order.status = 'canceled';
    order.lastUpdateTimeMs = now;
    order.lastUpdateReason = reason;
    this.updateFeeReserve(order);
    h.refreshReserve();
    this.finished(order, now);
  }

  /** Cancels a resting order (user cancel, expiry, STP, market close). */
  private cancelResting(order: OrderRecord, reason: string, now: number, causer: OrderRecord | null): void {
    const ms = order.holding.market;
    const h = order.holding;
    const removed = order.remainingCount;
    order.remainingCount = 0;
    ms.book.reduce(order, removed);
    h.adjustOrder(order, removed, -1);
    order.status = 'canceled';
    order.lastUpdateTimeMs = now;
    order.lastUpdateReason = reason;
    this.finished(order, now);
    this.updateFeeReserve(order);
    h.refreshReserve();
    this.publishLevelChange(ms, order, -removed, causer, now);
    if (this.listeners.length > 0) this.emit({ type: 'order_update', order: order.snapshot() });
  }

  /** Applies a resting-size change to the public L2 book and announces it. */
  private publishLevelChange(ms: MarketState, order: OrderRecord, delta: Count, causer: OrderRecord | null, now: number): void {
    // Kalshi publishes bids only: a resting ask at YES price p is a NO bid at $1 − p.
    const side = order.side === 'bid' ? 'yes' : 'no';
    const price = order.side === 'bid' ? order.price : ONE_DOLLAR - order.price;
    ms.l2.applyDelta(side, price, delta);
    if (this.listeners.length === 0) return;
    const event: ExchangeEvent = { type: 'book_delta', ticker: ms.market.ticker, side, price, delta, tsMs: now };
    if (causer !== null) {
      event.userId = causer.userId;
      if (causer.clientOrderId !== '') event.clientOrderId = causer.clientOrderId;
    }
    this.emit(event);
  }

  private topOfBook(ms: MarketState): string {
    return `${ms.book.bestBid()}/${ms.book.bestAsk()}`;
  }

  private emitTickerIfMoved(ms: MarketState, topBefore: string, now: number): void {
    if (this.listeners.length > 0 && this.topOfBook(ms) !== topBefore) {
      this.emit({ type: 'ticker', ticker: ms.market.ticker, tsMs: now });
    }
  }

  private activateIfOpen(ms: MarketState): void {
    if (ms.market.status === 'initialized') {
      const now = this.clock.now();
      if (now >= ms.market.openTimeMs) this.setActive(ms, now);
    }
  }

  private setActive(ms: MarketState, now: number): void {
    ms.market.status = 'active';
    ms.market.updatedTimeMs = now;
    this.emit({ type: 'market_lifecycle', ticker: ms.market.ticker, event: 'activated', tsMs: now });
  }

  private scheduleExpiryTimer(): void {
    if (!this.autoExpire) return;
    const next = this.expiries.peekTime();
    if (next === undefined || next >= this.expiryTimerAt) return;
    if (this.expiryTimer !== null) this.clock.clearTimeout(this.expiryTimer);
    const now = this.clock.now();
    // Node fires longer timeouts at once; a far deadline is approached in steps of ~24.8 days.
    const delay = Math.min(MAX_TIMER_DELAY_MS, Math.max(0, next - now));
    this.expiryTimerAt = now + delay;
    const timer = this.clock.setTimeout(() => {
      this.expiryTimer = null;
      this.expiryTimerAt = Infinity;
      this.expireOrders(this.clock.now());
    }, delay);
    // On the wall clock an exchange must not keep the process alive just to expire orders.
    (timer as { unref?: () => void } | null)?.unref?.();
    this.expiryTimer = timer;
  }

  private emit(event: ExchangeEvent): void {
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) {
      try {
        listeners[i]!(event);
      } catch (err) {
        // Rethrow outside the matching step so a faulty subscriber cannot leave a half-done trade.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
