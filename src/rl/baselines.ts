/**
 * Baselines that run on the environment's decision ticks and the same replay venue as the policy:
 * a rule strategy of src/core/strategy (the real `spread-quoter`, `imbalance`, …) driven through
 * `MarketEnv.stepWith`, and buy-and-hold. The strategy sees what the live trader's strategy sees:
 * a `MarketView` whose book includes our own resting orders (the venue keeps them apart from the
 * recorded book, so they are added back here), our position and open orders; its decisions reach
 * the venue after the order-entry latency (cancel: the side's order goes; place: a limit order by
 * `ReplayVenue.placeLimit`).
 */
import { ONE_DOLLAR } from '../core/money.ts';
import type { Count, Price } from '../core/money.ts';
import type { Level, OutcomeSide } from '../core/orderbook.ts';
import type { ReplayVenue, RestingOrder } from '../core/replay-venue.ts';
import type { BookView, Decision, MarketView, OwnOrder, Strategy } from '../core/strategy/index.ts';
import { priceRangesFor } from '../core/ticks.ts';
import type { PriceRange } from '../core/ticks.ts';
import type { MarketEnv } from './env.ts';
import type { CompiledTimeline } from './timeline.ts';
import { EVENT_DELTA, EVENT_SNAPSHOT, EVENT_TRADE } from './timeline.ts';

/** One episode's driver: decides at each tick and returns what to send (null: nothing). */
export interface TickDriver {
  readonly name: string;
  /** Called at the start of each episode. */
  reset(env: MarketEnv): void;
  decide(env: MarketEnv): ((venue: ReplayVenue, arrivalMs: number) => void) | null | Promise<((venue: ReplayVenue, arrivalMs: number) => void) | null>;
}

/** The venue's book with our resting orders added back: what the live book shows the trader. */
class BookWithOwnOrders implements BookView {
  constructor(private readonly venue: ReplayVenue) {}

  private own(side: OutcomeSide): { price: Price; count: Count } | null {
    const o = side === 'yes' ? this.venue.bid : this.venue.ask;
    if (!o.active || o.remaining <= 0) return null;
    return { price: side === 'yes' ? o.price : ONE_DOLLAR - o.price, count: o.remaining };
  }

  depth(side: OutcomeSide, maxLevels = Number.MAX_SAFE_INTEGER): Level[] {
    const levels = this.venue.book.depth(side, maxLevels + 1);
    const own = this.own(side);
    if (own) {
      const at = levels.findIndex((l) => l.price <= own.price);
      if (at >= 0 && levels[at].price === own.price) levels[at] = { ...levels[at], size: levels[at].size + own.count };
      else levels.splice(at < 0 ? levels.length : at, 0, { price: own.price, size: own.count } as Level);
    }
    return levels.slice(0, maxLevels);
  }

  private best(side: OutcomeSide): Price | null {
    return this.depth(side, 1)[0]?.price ?? null;
  }

  bestYesBid(): Price | null {
    return this.best('yes');
  }

  bestYesAsk(): Price | null {
    const no = this.best('no');
    return no === null ? null : ONE_DOLLAR - no;
  }

  spread(): Price | null {
    const bid = this.bestYesBid();
    const ask = this.bestYesAsk();
    return bid === null || ask === null ? null : ask - bid;
  }

  mid(): Price | null {
    const bid = this.bestYesBid();
    const ask = this.bestYesAsk();
    return bid === null || ask === null ? null : Math.round((bid + ask) / 2);
  }
}

/**
 * The tick grid of a timeline: whole cents unless a recorded price is not (then Kalshi's 0.1¢
 * grid). Timelines do not carry the market's price-level structure; this is what they show.
 */
export function priceRangesOf(t: CompiledTimeline): PriceRange[] {
  for (let i = 0; i < t.length; i++) {
    if ((t.kind[i] === EVENT_DELTA || t.kind[i] === EVENT_TRADE) && t.price[i] % 100 !== 0) return priceRangesFor('deci_cent');
  }
  for (const s of t.snapshots) for (const [p] of [...s.yes, ...s.no]) if (p % 100 !== 0) return priceRangesFor('deci_cent');
  return priceRangesFor('linear_cent');
}

function orderId(side: 'bid' | 'ask', o: RestingOrder): string {
  return `${side}@${o.placedMs}:${o.price}`;
}

/** A rule strategy (src/core/strategy) on decision ticks, its orders through the replay venue. */
export function strategyDriver(strategy: Strategy): TickDriver {
  let ranges: PriceRange[] = priceRangesFor('linear_cent');
  let rangesOf: CompiledTimeline | null = null;
  return {
    name: strategy.name,
    reset(env) {
      if (rangesOf !== env.timeline) {
        rangesOf = env.timeline;
        ranges = priceRangesOf(env.timeline);
      }
    },
    async decide(env) {
      const venue = env.venue;
      const open: OwnOrder[] = [];
      for (const side of ['bid', 'ask'] as const) {
        const o = side === 'bid' ? venue.bid : venue.ask;
        if (o.active && o.remaining > 0) open.push({ clientOrderId: orderId(side, o), side, price: o.price, remaining: o.remaining });
      }
      const view: MarketView = {
        ticker: env.timeline.ticker,
        book: venue.valid ? new BookWithOwnOrders(venue) : null,
        position: venue.position.position,
        openOrders: open,
        nowMs: env.decisionTimeMs,
        priceRanges: ranges,
      };
      const decisions: Decision[] = await strategy.decide(view);
      if (decisions.length === 0) return null;
      return (v, arrivalMs) => {
        for (const d of decisions) {
          if (d.kind === 'cancel') {
            for (const side of ['bid', 'ask'] as const) {
              const o = side === 'bid' ? v.bid : v.ask;
              // an order that filled or was replaced meanwhile is gone already
              if (o.active && orderId(side, o) === d.clientOrderId) v.cancel(side);
            }
          } else {
            const intent = d.intent;
            v.placeLimit(intent.side, intent.price, intent.count, arrivalMs, {
              postOnly: intent.postOnly === true,
              immediate: intent.timeInForce !== 'good_till_canceled',
            });
          }
        }
      };
    },
  };
}

/** Buys `size` YES at the first tick it can (walking the book), then holds to the end. */
export function buyAndHoldDriver(size: Count): TickDriver {
  let bought = false;
  return {
    name: 'buy_and_hold',
    reset() {
      bought = false;
    },
    decide(env) {
      if (bought || !env.venue.valid || env.venue.book.bestNoBid() === null) return null;
      return (v, arrivalMs) => {
        if (v.placeLimit('bid', ONE_DOLLAR - 1, size, arrivalMs, { immediate: true }) > 0) bought = true;
      };
    },
  };
}
