/**
 * Positions and P&L with Kalshi's sign convention (+YES / −NO) and netting: one signed position
 * per market, so buying NO while long YES closes YES (kalshi-api.md §6.2, §6.4). Pure core; the
 * simulator's accounts, the trader's local book-keeping and the RL environment all use it.
 *
 * All amounts are integer Micros. Average cost is kept as a total (`costBasis`), and closing k of
 * n contracts releases floor(costBasis × k / n) — exact integer math — so closing everything
 * releases exactly what was paid and nothing drifts.
 *
 * `realizedPnl` is gross of fees (Kalshi reports `fees_paid` beside `realized_pnl`); the net
 * figure is `netRealizedPnl()`. `cashChange` from `applyFill` always includes the fee.
 */
import { ONE_DOLLAR } from './money.ts';
import type { Count, Micros, Price } from './money.ts';
import type { OrderSide } from './order-state.ts';

export interface Position {
  ticker: string;
  /** Signed contracts: > 0 long YES, < 0 long NO. */
  position: Count;
  /** Cost of the open position (Kalshi's market_exposure), ≥ 0. */
  costBasis: Micros;
  /** Realized P&L of closed contracts, fees excluded. */
  realizedPnl: Micros;
  feesPaid: Micros;
  /** Sum of notional traded, each contract at the price of the leg it was bought or sold in. */
  totalTraded: Micros;
}

/** A fill on the YES-leg book: a bid buys YES (or sells NO), an ask sells YES (or buys NO). */
export interface PositionFill {
  side: OrderSide;
  /** YES-leg price. */
  price: Price;
  count: Count;
  fee: Micros;
}

export class PositionError extends Error {
  override readonly name = 'PositionError';
}

export function emptyPosition(ticker: string): Position {
  return { ticker, position: 0, costBasis: 0, realizedPnl: 0, feesPaid: 0, totalTraded: 0 };
}

/** floor(a × b / c) for non-negative safe integers, exactly. */
export function mulDivFloor(a: number, b: number, c: number): number {
  const product = a * b;
  if (product <= Number.MAX_SAFE_INTEGER) {
    return (product - (product % c)) / c;
  }
  return Number((BigInt(a) * BigInt(b)) / BigInt(c));
}

function checkFill(fill: PositionFill): void {
  if (fill.side !== 'bid' && fill.side !== 'ask') throw new PositionError(`fill side must be bid or ask, got ${JSON.stringify(fill.side)}`);
  if (!Number.isInteger(fill.price) || fill.price <= 0 || fill.price >= ONE_DOLLAR) {
    throw new PositionError(`fill price must be an integer in 1..${ONE_DOLLAR - 1}, got ${fill.price}`);
  }
  if (!Number.isSafeInteger(fill.count) || fill.count <= 0) throw new PositionError(`fill count must be a positive integer, got ${fill.count}`);
  // A fill's net fee (trade fee + rounding − rebate, Kalshi's per-order fee rounding) can be
  // negative on the fill that carries a whole-cent rebate; only integrality is a hard rule.
  if (!Number.isSafeInteger(fill.fee)) throw new PositionError(`fill fee must be an integer, got ${fill.fee}`);
}

/**
 * Applies a fill with Kalshi netting: a bid buys YES (or closes NO: selling NO at $1−p); an ask
 * buys NO at $1−p (or closes YES at p). Realized P&L on the closed part uses average cost.
 * Returns the new position and the cash change (negative = paid), fee included. Pure.
 */
export function applyFill(pos: Position, fill: PositionFill): { position: Position; cashChange: Micros } {
  checkFill(fill);
  const { side, price, count, fee } = fill;
  // The leg this fill opens and the leg it closes: a bid opens YES at p and closes NO at $1−p.
  const openPrice = side === 'bid' ? price : ONE_DOLLAR - price;
  const closePrice = ONE_DOLLAR - openPrice;
  const direction = side === 'bid' ? 1 : -1;
  // Contracts held on the leg this fill closes.
  const held = side === 'bid' ? Math.max(0, -pos.position) : Math.max(0, pos.position);

  let costBasis = pos.costBasis;
  let realized = pos.realizedPnl;
  let cash = 0;
  let traded = 0;

  const closing = Math.min(count, held);
  if (closing > 0) {
    const released = closing === held ? costBasis : mulDivFloor(costBasis, closing, held);
    const proceeds = closePrice * closing;
    realized += proceeds - released;
    costBasis -= released;
    cash += proceeds;
    traded += proceeds;
  }
  const opening = count - closing;
  if (opening > 0) {
    const cost = openPrice * opening;
    costBasis += cost;
    cash -= cost;
    traded += cost;
  }
  cash -= fee;

  return {
    position: {
      ticker: pos.ticker,
      position: pos.position + direction * count,
      costBasis,
      realizedPnl: realized,
      feesPaid: pos.feesPaid + fee,
      totalTraded: pos.totalTraded + traded,
    },
    cashChange: cash,
  };
}

/** Settlement at $1 for the winning side; returns payout (revenue) and the closed position. */
export function settlePosition(pos: Position, result: 'yes' | 'no'): { position: Position; revenue: Micros } {
  if (result !== 'yes' && result !== 'no') throw new PositionError(`settlement result must be yes or no, got ${JSON.stringify(result)}`);
  const wins = (result === 'yes' && pos.position > 0) || (result === 'no' && pos.position < 0);
  const revenue = wins ? ONE_DOLLAR * Math.abs(pos.position) : 0;
  return {
    position: {
      ...pos,
      position: 0,
      costBasis: 0,
      realizedPnl: pos.realizedPnl + revenue - pos.costBasis,
    },
    revenue,
  };
}

/**
 * Value of the position at executable prices: long YES at the best YES bid, long NO at the best
 * NO bid; null prices value at 0.
 */
export function markToMarket(pos: Position, bestYesBid: Price | null, bestNoBid: Price | null): Micros {
  if (pos.position > 0) return (bestYesBid ?? 0) * pos.position;
  if (pos.position < 0) return (bestNoBid ?? 0) * -pos.position;
  return 0;
}

export function unrealizedPnl(pos: Position, bestYesBid: Price | null, bestNoBid: Price | null): Micros {
  return markToMarket(pos, bestYesBid, bestNoBid) - pos.costBasis;
}

/** Realized P&L after fees. */
export function netRealizedPnl(pos: Position): Micros {
  return pos.realizedPnl - pos.feesPaid;
}

/** Cash plus positions per market: the accounting view of one account. */
export class Portfolio {
  cash: Micros;
  positions = new Map<string, Position>();

  constructor(cash: Micros) {
    if (!Number.isSafeInteger(cash)) throw new PositionError(`cash must be an integer amount of micros, got ${cash}`);
    this.cash = cash;
  }

  /** The position in `ticker` (an empty one when never traded). */
  position(ticker: string): Position {
    return this.positions.get(ticker) ?? emptyPosition(ticker);
  }

  applyFill(ticker: string, fill: PositionFill): Position {
    const { position, cashChange } = applyFill(this.position(ticker), fill);
    this.positions.set(ticker, position);
    this.cash += cashChange;
    return position;
  }

  /** Settles `ticker` and credits the payout; returns the payout. */
  settle(ticker: string, result: 'yes' | 'no'): Micros {
    const current = this.positions.get(ticker);
    if (!current) return 0;
    const { position, revenue } = settlePosition(current, result);
    this.positions.set(ticker, position);
    this.cash += revenue;
    return revenue;
  }

  /** Cash plus every position marked to market at executable prices. */
  value(marks: (ticker: string) => { bestYesBid: Price | null; bestNoBid: Price | null }): Micros {
    let total = this.cash;
    for (const [ticker, pos] of this.positions) {
      if (pos.position === 0) continue;
      const m = marks(ticker);
      total += markToMarket(pos, m.bestYesBid, m.bestNoBid);
    }
    return total;
  }
}

/** The prices a position is valued at, and whether they are the book's now or the last seen. */
export interface Mark {
  bestYesBid: Price | null;
  bestNoBid: Price | null;
  /** When these prices were the book's (null: never seen a book). */
  atMs: number | null;
  /** Not the current book: the market has no usable book now (degraded feed, resync). */
  stale: boolean;
}

/**
 * Marks per market for valuation. With a usable book the position is valued at its executable
 * prices now (an empty side is worth nothing: that is the honest executable value); without one
 * — an outage, a resync — at the last prices a book showed, marked stale with their age, never at
 * zero; before any book at all, at its cost (unrealized 0), stale.
 */
export class LastMarks {
  private readonly last = new Map<string, { bestYesBid: Price | null; bestNoBid: Price | null; atMs: number }>();

  /** `book` is the market's usable book now, or null when there is none. */
  mark(ticker: string, book: { bestYesBid: Price | null; bestNoBid: Price | null } | null, nowMs: number): Mark {
    if (book) {
      this.last.set(ticker, { bestYesBid: book.bestYesBid, bestNoBid: book.bestNoBid, atMs: nowMs });
      return { ...book, atMs: nowMs, stale: false };
    }
    const seen = this.last.get(ticker);
    return seen ? { ...seen, stale: true } : { bestYesBid: null, bestNoBid: null, atMs: null, stale: true };
  }
}

/** Value of a position at a mark: at the mark's prices, or at cost when no price was ever seen. */
export function valueAtMark(pos: Position, mark: Mark): Micros {
  if (mark.atMs === null) return pos.costBasis;
  return markToMarket(pos, mark.bestYesBid, mark.bestNoBid);
}
