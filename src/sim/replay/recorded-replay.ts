/**
 * The simulator's replay mode: recorded L2 books drive the exchange instead of synthetic
 * participants, so a replayed scripted session shows the trader exactly the recorded books and
 * fills its orders by the replay venue's rules (`src/core/replay-venue.ts`), the same ones the RL
 * environment uses.
 *
 * How: per market, a `ReplayVenue` is fed the recorded events and told what the trader consumed;
 * its book (recorded − consumed) is the target. The recorded liquidity sits in the exchange as
 * resting orders of a replay maker account, one order per addition, kept equal to the target
 * after every exchange timestamp (reductions cancel the newest orders first, additions join at the
 * back). The exchange's own matching then executes the trader's orders, and the venue's rules
 * follow from its price-time priority:
 * - a marketable order walks the replica levels at their prices (taker fee); what it took is
 *   reported to the venue as consumed, so it stays consumed until the recording replenishes it;
 * - a trader order joining a level rests behind the replicas there (queue ahead = displayed size);
 *   a recorded trade is executed as an immediate-or-cancel order of a replay taker account against
 *   the book as it was *before* the timestamp's deltas, so it takes the queue ahead first and fills
 *   the trader only with the excess — and the trade's own delta (Kalshi publishes it first) is
 *   absorbed by the reconciliation instead of shortening the queue a second time;
 * - unexplained reductions cancel the newest replicas first: they never help the trader
 *   (the venue's default risk-averse queue model; the probabilistic models are environment-only);
 * - a recorded addition that crosses a trader's resting order trades with it at the trader's price
 *   (maker fee for the trader), consuming that liquidity.
 * Events of one timestamp are applied together at their recorded offset from the first event, on
 * the simulator's clock. Part of src/sim (pure exchange logic; no I/O of its own).
 */
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { ONE_DOLLAR } from '../../core/money.ts';
import type { Count, Price } from '../../core/money.ts';
import type { OutcomeSide } from '../../core/orderbook.ts';
import { ReplayVenue } from '../../core/replay-venue.ts';
import type { Exchange } from '../exchange.ts';
import type { BookSide, ExchangeEvent } from '../exchange.types.ts';

export type ReplayLevels = ReadonlyArray<readonly [Price, Count]>;

/** One recorded book event (the shape of the RL timelines' events). */
export type ReplayEvent =
  | { kind: 'snapshot'; tsMs: number; yes: ReplayLevels; no: ReplayLevels }
  | { kind: 'delta'; tsMs: number; side: OutcomeSide; price: Price; delta: Count }
  | { kind: 'trade'; tsMs: number; yesPrice: Price; count: Count; takerSide: OutcomeSide | null }
  | { kind: 'gap'; tsMs: number };

export interface ReplayMarket {
  ticker: string;
  events: ReadonlyArray<ReplayEvent>;
}

/** The accounts that hold the recorded liquidity and take the recorded trades. */
export const REPLAY_MAKER = 'replay-maker';
export const REPLAY_TAKER = 'replay-taker';
/** Enough collateral for any recorded book ($1 billion). */
const REPLAY_CASH = 1_000_000_000 * 1_000_000;

interface Replica {
  orderId: string;
  remaining: Count;
}

class MarketReplay {
  readonly venue: ReplayVenue;
  /** Replica orders per venue level (side × SLOTS + book price), oldest first. */
  private readonly replicas = new Map<number, Replica[]>();
  private readonly byOrder = new Map<string, { key: number; replica: Replica }>();
  private next = 0;

  constructor(
    readonly ticker: string,
    readonly events: ReadonlyArray<ReplayEvent>,
    private readonly exchange: Exchange,
  ) {
    this.venue = new ReplayVenue(ticker);
  }

  get done(): boolean {
    return this.next >= this.events.length;
  }

  /** Timestamp of the next batch. */
  get nextTs(): number {
    return this.events[this.next]!.tsMs;
  }

  /** Applies every event of the next timestamp: trades first (on the book before it), then the book. */
  applyBatch(runner: RecordedReplay): void {
    const ts = this.nextTs;
    let end = this.next;
    while (end < this.events.length && this.events[end]!.tsMs === ts) end++;
    const touched = new Set<number>();
    let restated = false;
    for (let i = this.next; i < end; i++) {
      const e = this.events[i]!;
      if (e.kind === 'trade') this.executeTrade(e, runner);
    }
    for (let i = this.next; i < end; i++) {
      const e = this.events[i]!;
      if (e.kind === 'snapshot') {
        this.venue.applySnapshot(e.yes, e.no);
        restated = true;
      } else if (e.kind === 'delta') {
        this.venue.applyDelta(e.side, e.price, e.delta);
        touched.add(key(e.side, e.price));
      } else if (e.kind === 'gap') {
        this.venue.applyGap();
      }
    }
    this.venue.endBatch();
    this.next = end;
    if (!this.venue.valid) return; // an unknown book: the replicas stay until the next snapshot
    if (restated) {
      for (const k of this.replicas.keys()) touched.add(k);
      for (const side of ['yes', 'no'] as const) for (const [price] of this.venue.book.levels(side)) touched.add(key(side, price));
    }
    // reductions first, so additions never cross replicas of the other side
    const keys = [...touched];
    for (const k of keys) this.reconcile(k, 'reduce');
    for (const k of keys) this.reconcile(k, 'add');
  }

  /** A replica's fill: the trader took it (consumed) or a recorded trade did (the replay taker). */
  onFill(orderId: string, count: Count, byRecordedTrade: boolean): void {
    const entry = this.byOrder.get(orderId);
    if (!entry) return;
    entry.replica.remaining -= count;
    if (entry.replica.remaining <= 0) this.forget(orderId);
    if (!byRecordedTrade) {
      const { side, price } = unkey(entry.key);
      this.venue.consume(side, price, count);
    }
  }

  private executeTrade(e: Extract<ReplayEvent, { kind: 'trade' }>, runner: RecordedReplay): void {
    if (e.takerSide === null) return; // which side traded is unknown: nothing to execute against
    // a YES taker buys at the YES price (a bid); a NO taker sells YES (an ask)
    const side: BookSide = e.takerSide === 'yes' ? 'bid' : 'ask';
    runner.executingRecordedTrade = true;
    try {
      this.exchange.createOrder({
        userId: REPLAY_TAKER,
        ticker: this.ticker,
        side,
        price: e.yesPrice,
        count: e.count,
        timeInForce: 'immediate_or_cancel',
        selfTradePrevention: 'taker_at_cross',
      });
    } finally {
      runner.executingRecordedTrade = false;
    }
  }

  private reconcile(k: number, phase: 'reduce' | 'add'): void {
    const { side, price } = unkey(k);
    const target = this.venue.book.sizeAt(side, price);
    const list = this.replicas.get(k) ?? [];
    let current = 0;
    for (const r of list) current += r.remaining;
    if (phase === 'reduce' && current > target) {
      // the newest first: a cancellation never moves a trader order forward
      let excess = current - target;
      for (let i = list.length - 1; i >= 0 && excess > 0; i--) {
        const r = list[i]!;
        const cut = Math.min(excess, r.remaining);
        if (cut === r.remaining) this.exchange.cancelOrder(REPLAY_MAKER, r.orderId);
        else this.exchange.decreaseOrder(REPLAY_MAKER, r.orderId, cut);
        r.remaining -= cut;
        excess -= cut;
        if (r.remaining === 0) this.forget(r.orderId);
      }
    } else if (phase === 'add' && current < target) {
      const count = target - current;
      const result = this.exchange.createOrder({
        userId: REPLAY_MAKER,
        ticker: this.ticker,
        // a YES bid rests as a bid; a NO bid at n is a YES ask at $1 − n
        side: side === 'yes' ? 'bid' : 'ask',
        price: side === 'yes' ? price : ONE_DOLLAR - price,
        count,
        timeInForce: 'good_till_canceled',
        selfTradePrevention: 'taker_at_cross',
      });
      if (!result.ok) return;
      const order = result.value.order;
      // what traded on entry (against a crossing trader order) was consumed by the trader
      const traded = count - order.remainingCount;
      if (traded > 0) this.venue.consume(side, price, traded);
      if (order.status === 'resting' && order.remainingCount > 0) {
        const replica = { orderId: order.orderId, remaining: order.remainingCount };
        let l = this.replicas.get(k);
        if (!l) this.replicas.set(k, (l = []));
        l.push(replica);
        this.byOrder.set(order.orderId, { key: k, replica });
      }
    }
  }

  private forget(orderId: string): void {
    const entry = this.byOrder.get(orderId);
    if (!entry) return;
    this.byOrder.delete(orderId);
    const list = this.replicas.get(entry.key);
    if (!list) return;
    const i = list.indexOf(entry.replica);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.replicas.delete(entry.key);
  }

  /** Whether `orderId` is one of ours (a replica). */
  owns(orderId: string): boolean {
    return this.byOrder.has(orderId);
  }
}

const SLOTS = ONE_DOLLAR + 1;
function key(side: OutcomeSide, price: Price): number {
  return side === 'yes' ? price : SLOTS + price;
}
function unkey(k: number): { side: OutcomeSide; price: Price } {
  return k >= SLOTS ? { side: 'no', price: k - SLOTS } : { side: 'yes', price: k };
}

/** Plays recorded markets into an exchange on a clock (see the module header). */
export class RecordedReplay {
  /** True while a recorded trade executes (its replica fills are not the trader's consumption). */
  executingRecordedTrade = false;
  private readonly markets: MarketReplay[];
  private readonly byTicker = new Map<string, MarketReplay>();
  private timer: TimerHandle | null = null;
  private stopListening: (() => void) | null = null;
  private startMs = 0;
  private firstTs = 0;
  private stopped = false;

  constructor(
    private readonly exchange: Exchange,
    private readonly clock: Clock,
    markets: ReadonlyArray<ReplayMarket>,
  ) {
    this.markets = markets.filter((m) => m.events.length > 0).map((m) => new MarketReplay(m.ticker, m.events, exchange));
    for (const m of this.markets) this.byTicker.set(m.ticker, m);
    this.firstTs = Math.min(...this.markets.map((m) => m.nextTs));
    exchange.ensureAccount(REPLAY_MAKER, REPLAY_CASH);
    exchange.ensureAccount(REPLAY_TAKER, REPLAY_CASH);
  }

  /** The venue of a market (its book is the recorded book minus what the trader consumed). */
  venue(ticker: string): ReplayVenue | undefined {
    return this.byTicker.get(ticker)?.venue;
  }

  /** Recorded time that corresponds to the clock's now. */
  recordedNow(): number {
    return this.firstTs + (this.clock.now() - this.startMs);
  }

  /** Applies the first timestamp now and schedules the rest at their recorded offsets. */
  start(): void {
    if (this.stopListening || this.stopped) return;
    this.startMs = this.clock.now();
    this.stopListening = this.exchange.subscribe((event) => this.onEvent(event));
    this.runDue();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.stopListening?.();
    this.stopListening = null;
  }

  private onEvent(event: ExchangeEvent): void {
    if (event.type !== 'fill' || event.fill.userId !== REPLAY_MAKER) return;
    this.byTicker.get(event.fill.ticker)?.onFill(event.fill.orderId, event.fill.count, this.executingRecordedTrade);
  }

  private runDue(): void {
    this.timer = null;
    if (this.stopped) return;
    const now = this.recordedNow();
    let next = Infinity;
    for (;;) {
      // the earliest due batch of any market, so markets interleave in recorded order
      let due: MarketReplay | null = null;
      for (const m of this.markets) if (!m.done && m.nextTs <= now && (due === null || m.nextTs < due.nextTs)) due = m;
      if (!due) break;
      due.applyBatch(this);
    }
    for (const m of this.markets) if (!m.done) next = Math.min(next, m.nextTs);
    if (next === Infinity) return;
    this.timer = this.clock.setTimeout(() => this.runDue(), Math.max(0, next - now));
  }
}
