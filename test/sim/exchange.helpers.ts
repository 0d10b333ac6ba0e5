/** Shared set-up for the simulator exchange tests: a virtual clock, markets and order shorthands. */
import { VirtualClock } from '../../src/core/clock.ts';
import type { Count, Micros, Price } from '../../src/core/money.ts';
import { Exchange } from '../../src/sim/exchange.ts';
import type { ExchangeOptions } from '../../src/sim/exchange.ts';
import type {
  BookSide,
  CreateOrderOutcome,
  ExchangeEvent,
  SimMarketDefinition,
  SimOrderRequest,
} from '../../src/sim/exchange.types.ts';

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const TICKER = 'KXTEST-26JAN01-T50';

export function marketDef(overrides: Partial<SimMarketDefinition> = {}): SimMarketDefinition {
  return {
    ticker: TICKER,
    eventTicker: 'KXTEST-26JAN01',
    title: 'Test market',
    priceLevelStructure: 'linear_cent',
    openTimeMs: T0 - 60_000,
    closeTimeMs: T0 + 86_400_000,
    feeType: 'quadratic',
    ...overrides,
  };
}

export interface Harness {
  clock: VirtualClock;
  ex: Exchange;
  events: ExchangeEvent[];
  /** Places an order; throws with the error if the exchange refused it. */
  place(userId: string, side: BookSide, price: Price, count: Count, extra?: Partial<SimOrderRequest>): CreateOrderOutcome;
  request(userId: string, side: BookSide, price: Price, count: Count, extra?: Partial<SimOrderRequest>): SimOrderRequest;
}

export function harness(opts: Partial<ExchangeOptions> = {}, market: Partial<SimMarketDefinition> = {}): Harness {
  const clock = new VirtualClock(T0);
  const ex = new Exchange({ clock, seed: 42, ...opts });
  ex.addMarket(marketDef(market));
  const events: ExchangeEvent[] = [];
  ex.subscribe((e) => events.push(e));
  const request = (userId: string, side: BookSide, price: Price, count: Count, extra: Partial<SimOrderRequest> = {}): SimOrderRequest => ({
    userId,
    ticker: TICKER,
    side,
    price,
    count,
    timeInForce: 'good_till_canceled',
    selfTradePrevention: 'taker_at_cross',
    ...extra,
  });
  const place = (userId: string, side: BookSide, price: Price, count: Count, extra: Partial<SimOrderRequest> = {}) => {
    const r = ex.createOrder(request(userId, side, price, count, extra));
    if (!r.ok) throw new Error(`order refused: ${r.error.status} ${r.error.code} ${r.error.message}`);
    return r.value;
  };
  return { clock, ex, events, place, request };
}

/** $ amount → Micros, for readable expectations. */
export function usd(dollars: number): Micros {
  return Math.round(dollars * 1_000_000);
}
