/**
 * Pre-trade risk checks: the trader actor runs every order intent through `checkOrder` before
 * an order actor is created, and a denial becomes the order's `denied` state with the reason.
 * Pure core; no clock of its own (the caller passes `nowMs`).
 */
import { ONE_DOLLAR, dollarsToMicros, formatCount, formatDollars, formatPrice } from './money.ts';
import type { Count, Micros, Price } from './money.ts';
import { takerFee } from './fees.ts';
import type { OrderSide } from './order-state.ts';

export interface RiskLimits {
  /** Max |position| per market, counting resting orders as if filled. */
  maxPositionPerMarket: Count;
  maxOrderSize: Count;
  /** Max cash an order may commit (price × count of the contracts it opens). */
  maxNotional: Micros;
  /** Cash that must remain after paying for an order (worst-case taker fee included). */
  cashReserve: Micros;
  /** Across all markets. */
  maxOpenOrders: number;
  /** Minimum time between two orders in one market. */
  throttleMs: number;
}

export const DEFAULT_RISK_LIMITS: RiskLimits = Object.freeze({
  maxPositionPerMarket: 10_000, // 100 contracts
  maxOrderSize: 1_000, // 10 contracts
  maxNotional: dollarsToMicros(100),
  cashReserve: 0,
  maxOpenOrders: 20,
  throttleMs: 250,
});

export interface OrderIntent {
  ticker: string;
  side: OrderSide;
  /** YES-leg price. */
  price: Price;
  count: Count;
}

export interface RiskContext {
  /** Current signed position in this market (+YES / −NO). */
  position: Count;
  /** Resting orders in all markets. */
  openOrders: number;
  /** Signed resting count in this market (bids +, asks −). */
  pendingExposure: Count;
  cash: Micros;
  /** When the last order in this market was sent, if ever. */
  lastOrderAtMs: number | null;
  nowMs: number;
}

export type RiskRule = 'max_position' | 'max_order' | 'max_notional' | 'cash_reserve' | 'max_open_orders' | 'throttle' | 'invalid';

export type RiskVerdict = { ok: true } | { ok: false; reason: string; rule: RiskRule };

const OK: RiskVerdict = Object.freeze({ ok: true });

function deny(rule: RiskRule, reason: string): RiskVerdict {
  return { ok: false, rule, reason };
}

/**
 * Cash an intent commits: bid → price × count (buying YES), ask → ($1 − price) × count (buying
 * NO); the part that only reduces an existing opposite position costs nothing.
 */
export function intentCost(intent: OrderIntent, position: Count): Micros {
  if (intent.side === 'bid') {
    const reducing = Math.min(intent.count, Math.max(0, -position));
    return intent.price * (intent.count - reducing);
  }
  const reducing = Math.min(intent.count, Math.max(0, position));
  return (ONE_DOLLAR - intent.price) * (intent.count - reducing);
}

/** The price of the contract the intent opens: YES price for a bid, NO price for an ask. */
function openLegPrice(intent: OrderIntent): Price {
  return intent.side === 'bid' ? intent.price : ONE_DOLLAR - intent.price;
}

export function checkOrder(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits): RiskVerdict {
  if (typeof intent.ticker !== 'string' || intent.ticker.length === 0) return deny('invalid', 'order has no market ticker');
  if (intent.side !== 'bid' && intent.side !== 'ask') return deny('invalid', `unknown order side ${JSON.stringify(intent.side)}`);
  if (!Number.isInteger(intent.price) || intent.price <= 0 || intent.price >= ONE_DOLLAR) {
    return deny('invalid', `price ${intent.price} is not strictly between $0 and $1`);
  }
  if (!Number.isSafeInteger(intent.count) || intent.count <= 0) return deny('invalid', `count ${intent.count} is not a positive amount`);

  if (intent.count > limits.maxOrderSize) {
    return deny('max_order', `order size ${formatCount(intent.count)} exceeds the limit of ${formatCount(limits.maxOrderSize)} contracts`);
  }
  if (ctx.openOrders >= limits.maxOpenOrders) {
    return deny('max_open_orders', `${ctx.openOrders} orders already open (limit ${limits.maxOpenOrders})`);
  }
  if (ctx.lastOrderAtMs !== null) {
    const since = ctx.nowMs - ctx.lastOrderAtMs;
    if (since < limits.throttleMs) {
      return deny('throttle', `last order in ${intent.ticker} was ${since} ms ago (minimum ${limits.throttleMs} ms)`);
    }
  }

  // Worst case: every resting order in this market fills too. An order that moves the worst case
  // towards zero is always allowed, so a position over the limit can still be reduced.
  const signed = intent.side === 'bid' ? intent.count : -intent.count;
  const before = ctx.position + ctx.pendingExposure;
  const after = before + signed;
  if (Math.abs(after) > limits.maxPositionPerMarket && Math.abs(after) > Math.abs(before)) {
    return deny(
      'max_position',
      `position in ${intent.ticker} would reach ${formatCount(after)} with resting orders ` +
        `(limit ${formatCount(limits.maxPositionPerMarket)} contracts)`,
    );
  }

  const cost = intentCost(intent, ctx.position);
  if (cost > limits.maxNotional) {
    return deny('max_notional', `order costs $${formatDollars(cost)}, above the limit of $${formatDollars(limits.maxNotional)}`);
  }
  if (cost > 0) {
    const fee = takerFee(openLegPrice(intent), intent.count);
    const left = ctx.cash - cost - fee;
    if (left < limits.cashReserve) {
      return deny(
        'cash_reserve',
        `buying ${formatCount(intent.count)} at $${formatPrice(openLegPrice(intent))} needs $${formatDollars(cost + fee)} ` +
          `(fee included) and would leave $${formatDollars(left)}, below the reserve of $${formatDollars(limits.cashReserve)}`,
      );
    }
  }
  return OK;
}
