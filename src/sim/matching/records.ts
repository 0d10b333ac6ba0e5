/**
 * The exchange's internal records: accounts, a user's holding in one market (position plus the
 * aggregates that set its collateral), orders as kept on the book, and per-market state. Part of
 * the simulator's matching engine; only `src/sim/exchange.ts` creates and mutates them, and callers
 * outside see copies (SimOrder, SimPosition, SimMarket).
 */
import { FeeRounding, takerFee } from '../../core/fees.ts';
import type { FeeSchedule } from '../../core/fees.ts';
import { ONE_DOLLAR } from '../../core/money.ts';
import type { Count, Micros, Price } from '../../core/money.ts';
import { OrderBook } from '../../core/orderbook.ts';
import { emptyPosition } from '../../core/positions.ts';
import type { Position } from '../../core/positions.ts';
import { priceRangesFor } from '../../core/ticks.ts';
import type { PriceRange } from '../../core/ticks.ts';
import type {
  BookSide,
  OrderStatus,
  SelfTradePrevention,
  SimFill,
  SimMarket,
  SimOrder,
  SimPosition,
  SimSettlement,
  SimTrade,
  TimeInForce,
} from '../exchange.types.ts';
import { OrderLevelBook } from './book.ts';
import type { BookEntry } from './book.ts';
import type { HistoryRetention } from './history.ts';

const HALF_DOLLAR: Price = ONE_DOLLAR / 2;

/** Why an order last changed (`SimOrder.lastUpdateReason`). */
export const UPDATE_REASON = {
  created: 'Created',
  filled: 'Filled',
  canceled: 'Canceled',
  decreased: 'Decreased',
  expired: 'Expired',
  postOnlyCross: 'PostOnlyCrossCancel',
  immediateOrCancel: 'ImmediateOrCancel',
  fillOrKill: 'FillOrKillCancel',
  selfTrade: 'SelfTradePrevention',
  marketClosed: 'MarketClosed',
  amended: 'Amended',
  orderGroupTriggered: 'OrderGroupTriggered',
  orderGroupDeleted: 'OrderGroupDeleted',
} as const;

/** One user's stake in one market: the netted position and the aggregates that set collateral. */
export class Holding {
  position: Position;
  lastUpdatedMs: number;
  /** Σ price × remaining over this user's live bids (taker in progress included). */
  bidNotional: Micros = 0;
  bidCount: Count = 0;
  /** Σ ($1 − price) × remaining over live asks: the NO cost. */
  askNotional: Micros = 0;
  askCount: Count = 0;
  /** Fee allowances of live bids / asks (see OrderRecord.feeBudget). */
  bidFeeReserve: Micros = 0;
  askFeeReserve: Micros = 0;
  /** What this holding currently contributes to the account's reserved cash. */
  reserved: Micros = 0;
  /** Has had a fill or settlement (so it is reported by listPositions). */
  active = false;

  constructor(
    readonly account: Account,
    readonly market: MarketState,
    nowMs: number,
  ) {
    this.position = emptyPosition(market.market.ticker);
    this.lastUpdatedMs = nowMs;
  }

  /** Cash the live orders could still consume (see the module header). */
  requirement(): Micros {
    const pos = this.position.position;
    const shortNo = pos < 0 ? -pos : 0;
    const longYes = pos > 0 ? pos : 0;
    // A side's fees are only paid if that side fills, so its closing proceeds may cover them; the
    // two sides are separate scenarios (either may fill without the other) and are not netted.
    const bids = this.bidNotional - ONE_DOLLAR * Math.min(shortNo, this.bidCount) + this.bidFeeReserve;
    const asks = this.askNotional - ONE_DOLLAR * Math.min(longYes, this.askCount) + this.askFeeReserve;
    return (bids > 0 ? bids : 0) + (asks > 0 ? asks : 0);
  }

  /** Re-derives the reservation after any change and moves the difference on the account. */
  refreshReserve(): void {
    const next = this.requirement();
    this.account.reserved += next - this.reserved;
    this.reserved = next;
  }

  addFeeReserve(side: BookSide, delta: Micros): void {
    if (side === 'bid') this.bidFeeReserve += delta;
    else this.askFeeReserve += delta;
  }

  /** Adds (sign +1) or removes (−1) `count` of an order's remaining size from the aggregates. */
  adjustOrder(order: OrderRecord, count: Count, sign: 1 | -1): void {
    if (order.side === 'bid') {
      this.bidNotional += sign * order.price * count;
      this.bidCount += sign * count;
    } else {
      this.askNotional += sign * (ONE_DOLLAR - order.price) * count;
      this.askCount += sign * count;
    }
  }
}

export class Account {
  cash: Micros;
  reserved: Micros = 0;
  readonly holdings = new Map<string, Holding>();
  /** Every kept order; a Map iterates in insertion order, so this is also the oldest-first list. */
  readonly ordersById = new Map<string, OrderRecord>();
  readonly ordersByTicker = new Map<string, OrderRecord[]>();
  readonly resting = new Set<OrderRecord>();
  readonly clientOrderIds = new Set<string>();
  readonly orderGroups = new Map<string, OrderGroupRecord>();
  /** Every kept fill, oldest first; each ticker's list below is the same fills, in the same order. */
  readonly fills: SimFill[] = [];
  readonly fillsByTicker = new Map<string, SimFill[]>();
  /** False once a fill arrived with an earlier timestamp than the previous one (wall clock stepped back). */
  fillsInTimeOrder = true;
  readonly settlements: SimSettlement[] = [];
  /** Orders in ordersById that are no longer resting. */
  finishedCount = 0;
  /** Exchange time of the last trim of finished orders by age. */
  lastOrderTrimMs = -Infinity;
  /** Latest time of a finished order or fill dropped from this account's history (−∞: none). */
  droppedThroughMs = -Infinity;

  constructor(
    readonly userId: string,
    cash: Micros,
    /** How much of this account's finished history is kept (history.ts). */
    readonly history: HistoryRetention,
  ) {
    this.cash = cash;
  }
}

/** An order as the exchange keeps it: the SimOrder fields plus links for the hot path. */
export class OrderRecord implements BookEntry {
  status: OrderStatus = 'resting';
  fillCount: Count = 0;
  takerFillCost: Micros = 0;
  makerFillCost: Micros = 0;
  takerFees: Micros = 0;
  makerFees: Micros = 0;
  lastUpdateTimeMs: number;
  lastUpdateReason: string | null = UPDATE_REASON.created;
  /** Fee allowance for the whole order; what is still reserved = budget − fees already charged. */
  feeBudget: Micros;
  /** The order group it was placed in, if any. */
  group: OrderGroupRecord | null = null;
  /** This order's current share of the holding's fee reserve. */
  feeReserve: Micros = 0;
  /** Created at the first fill: most orders never fill, and a long run keeps every order. */
  rounding: FeeRounding | null = null;
  /** This order's fills, oldest first (null until the first). */
  fills: SimFill[] | null = null;

  constructor(
    readonly orderId: string,
    readonly userId: string,
    /** An amend may replace it (`updated_client_order_id`). */
    public clientOrderId: string,
    readonly ticker: string,
    readonly side: BookSide,
    /** An amend may change the price (the order then goes to the back of its new level). */
    public price: Price,
    /** Kalshi's amend sets a new total (filled + resting), so this is the current total. */
    public initialCount: Count,
    public remainingCount: Count,
    readonly timeInForce: TimeInForce,
    readonly postOnly: boolean,
    readonly selfTradePrevention: SelfTradePrevention,
    public expirationTime: number | null,
    readonly createdTimeMs: number,
    readonly holding: Holding,
    precision: Micros,
  ) {
    this.lastUpdateTimeMs = createdTimeMs;
    this.feeBudget = this.feeBudgetFor(price, remainingCount, precision);
  }

  /** Fees peak at $0.50; a bid only trades at or below its price, an ask at or above. */
  feeBudgetFor(price: Price, count: Count, precision: Micros): Micros {
    const worst = this.side === 'bid' ? Math.min(price, HALF_DOLLAR) : Math.max(price, HALF_DOLLAR);
    return takerFee(worst, count, this.holding.market.feeSchedule) + precision;
  }

  snapshot(): SimOrder {
    return {
      orderId: this.orderId,
      userId: this.userId,
      clientOrderId: this.clientOrderId,
      ticker: this.ticker,
      side: this.side,
      price: this.price,
      status: this.status,
      initialCount: this.initialCount,
      fillCount: this.fillCount,
      remainingCount: this.remainingCount,
      takerFillCost: this.takerFillCost,
      makerFillCost: this.makerFillCost,
      takerFees: this.takerFees,
      makerFees: this.makerFees,
      timeInForce: this.timeInForce,
      postOnly: this.postOnly,
      selfTradePrevention: this.selfTradePrevention,
      expirationTime: this.expirationTime,
      createdTimeMs: this.createdTimeMs,
      lastUpdateTimeMs: this.lastUpdateTimeMs,
      lastUpdateReason: this.lastUpdateReason,
      orderGroupId: this.group?.id ?? null,
    };
  }
}

/**
 * An order group (kalshi-api.md §3.12): a contracts limit over a rolling 15-second window of the
 * group's matched contracts. Reaching it triggers the group: its resting orders are cancelled and
 * new orders in it are refused until a reset.
 */
export class OrderGroupRecord {
  /** Live orders of the group (removed when they finish). */
  readonly orders = new Set<OrderRecord>();
  /** Matched contracts inside the window, oldest first. */
  readonly matched: Array<{ tsMs: number; count: Count }> = [];
  triggered = false;

  constructor(
    readonly id: string,
    readonly userId: string,
    /** null = no limit (the group only groups). */
    public contractsLimit: Count | null,
    readonly createdTimeMs: number,
  ) {}

  /** Contracts matched in the window ending at `nowMs` (drops older entries). */
  matchedWithin(nowMs: number, windowMs: number): Count {
    while (this.matched.length > 0 && this.matched[0]!.tsMs <= nowMs - windowMs) this.matched.shift();
    let sum = 0;
    for (const m of this.matched) sum += m.count;
    return sum;
  }
}

export class MarketState {
  readonly ranges: PriceRange[];
  readonly feeSchedule: FeeSchedule;
  readonly book = new OrderLevelBook<OrderRecord>();
  readonly l2: OrderBook;
  /** Kept trades, oldest first. */
  readonly trades: SimTrade[] = [];
  readonly holdings = new Map<string, Holding>();

  constructor(readonly market: SimMarket) {
    this.ranges = priceRangesFor(market.priceLevelStructure);
    this.feeSchedule = { feeType: market.feeType };
    this.l2 = new OrderBook(market.ticker);
  }
}

export function positionSnapshot(h: Holding): SimPosition {
  const p = h.position;
  return {
    ticker: p.ticker,
    position: p.position,
    exposure: p.costBasis,
    realizedPnl: p.realizedPnl,
    feesPaid: p.feesPaid,
    totalTraded: p.totalTraded,
    lastUpdatedMs: h.lastUpdatedMs,
  };
}
