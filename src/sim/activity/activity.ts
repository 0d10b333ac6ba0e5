/**
 * Drives synthetic trading on the simulator's markets: every market steps at random intervals
 * of clock time (100–500 ms by default); a step moves the fair value (drift, volatility, jumps),
 * lets the taker (and the informed taker, on markets that have one) trade, then has the makers
 * cancel and requote where needed, and settles the
 * market when its spec says so. One clock timer serves all markets (a min-heap of next steps), and
 * every market draws from its own seeded stream, so a run is identical for the same seed on a
 * VirtualClock. Part of src/sim/activity; started by src/sim/simulator.ts.
 */
import type { Clock, TimerHandle } from '../../core/clock.ts';
import { dollarsToMicros, type Micros, type Price } from '../../core/money.ts';
import { priceRangesFor } from '../../core/ticks.ts';
import type { ExchangeApi } from '../exchange.types.ts';
import { Rng } from '../../core/random.ts';
import { FairValue } from './fair-value.ts';
import { defaultSpread, type MarketSpec } from './markets.ts';
import { fairPrice, InformedTaker, MarketMaker, Taker, type SpreadRange } from './participants.ts';

export interface ActivityOptions {
  exchange: ExchangeApi;
  clock: Clock;
  seed: number;
  markets: MarketSpec[];
  /** Range of the random interval between two steps of one market, in clock ms. */
  stepMs?: { min: number; max: number };
  /** Cash each synthetic participant starts with. */
  participantCash?: Micros;
}

export interface MarketActivityStats {
  ticker: string;
  fair: number;
  steps: number;
  requotes: number;
  takerOrders: number;
  /** Orders of the informed taker (markets with `informed` flow). */
  informedOrders: number;
  /** Narrowest and widest two-sided quote the makers placed. */
  minQuotedSpread: Price | null;
  maxQuotedSpread: Price | null;
  settled: boolean;
}

/** Requote at least this often even if nothing happened, so books do not go stale. */
const MAX_QUOTE_AGE_MS = 5_000;
/** Chance per step that makers refresh anyway (random cancel/requote traffic). */
const REFRESH_CHANCE = 0.05;

function hashTicker(ticker: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < ticker.length; i++) h = Math.imul(h ^ ticker.charCodeAt(i), 0x01000193);
  return h | 0;
}

class MarketDriver {
  readonly rng: Rng;
  readonly fair: FairValue;
  readonly makers: MarketMaker[];
  readonly taker: Taker;
  readonly informed: InformedTaker | null;
  readonly spread: SpreadRange;
  lastStepMs: number;
  lastQuoteMs = -Infinity;
  quotedCenter: Price | null = null;
  nextJump = 0;
  done = false;
  readonly stats: MarketActivityStats;
  private readonly jumps: Array<{ atMs: number; to: number }>;

  constructor(
    readonly spec: MarketSpec,
    seed: number,
    readonly startMs: number,
  ) {
    this.rng = new Rng((seed ^ hashTicker(spec.ticker)) | 0);
    this.fair = new FairValue(spec.fair, spec.volatility, spec.drift ?? 0);
    const structure = spec.priceLevelStructure ?? 'linear_cent';
    const ranges = priceRangesFor(structure);
    this.spread = spec.spread ?? defaultSpread(structure);
    const makerCount = spec.makers ?? 2;
    this.makers = Array.from(
      { length: makerCount },
      (_, i) => new MarketMaker(`sim-maker-${i + 1}-${spec.ticker}`, spec.ticker, ranges, this.spread, 50),
    );
    this.taker = new Taker(`sim-taker-${spec.ticker}`, spec.ticker, ranges, 25);
    this.informed = spec.informed ? new InformedTaker(`sim-informed-${spec.ticker}`, spec.ticker, 10) : null;
    this.lastStepMs = startMs;
    this.stats = { ticker: spec.ticker, fair: spec.fair, steps: 0, requotes: 0, takerOrders: 0, informedOrders: 0, minQuotedSpread: null, maxQuotedSpread: null, settled: false };
    this.jumps = [...(spec.jumps ?? [])].sort((a, b) => a.atMs - b.atMs);
  }

  step(exchange: ExchangeApi, now: number): void {
    this.stats.steps++;
    const dtMs = Math.max(0, now - this.lastStepMs);
    this.fair.advance(dtMs, this.rng);
    this.lastStepMs = now;
    while (this.nextJump < this.jumps.length && this.startMs + this.jumps[this.nextJump].atMs <= now) {
      this.fair.jumpTo(this.jumps[this.nextJump++].to);
    }
    this.stats.fair = this.fair.probability;

    const settle = this.spec.settle;
    if (settle && this.startMs + settle.atMs <= now) {
      const result = settle.result ?? (this.rng.next() < this.fair.probability ? 'yes' : 'no');
      exchange.settleMarket(this.spec.ticker, result);
      this.stats.settled = true;
      this.done = true;
      return;
    }
    const market = exchange.getMarket(this.spec.ticker);
    if (!market) {
      this.done = true;
      return;
    }
    if (market.status !== 'active') {
      // initialized markets wait for their open time; closed or settled ones are finished
      if (market.status !== 'initialized') this.done = true;
      return;
    }

    const center = fairPrice(this.fair.probability);
    // Poisson arrivals at `takerRate` per second: P(at least one in dt) = 1 − e^(−rate·dt)
    const takerChance = 1 - Math.exp(-(this.spec.takerRate ?? 0.5) * (dtMs / 1000));
    if (this.rng.chance(takerChance) && this.taker.act(exchange, center, this.rng)) {
      this.stats.takerOrders++;
    }
    const informed = this.spec.informed;
    // only markets with informed flow draw for it: every other market's stream stays as it was
    if (this.informed && informed && this.rng.chance(1 - Math.exp(-informed.rate * (dtMs / 1000)))) {
      if (this.informed.act(exchange, fairPrice(this.foreseen(now, informed.leadMs)), this.rng)) this.stats.informedOrders++;
    }

    const moved = this.quotedCenter === null || Math.abs(center - this.quotedCenter) >= Math.max(50, this.spread.min / 2);
    const stale = now - this.lastQuoteMs >= MAX_QUOTE_AGE_MS;
    if (moved || stale || this.rng.chance(REFRESH_CHANCE) || this.makers.some((m) => m.needsRequote(exchange))) {
      for (const maker of this.makers) maker.cancelAll(exchange);
      for (const maker of this.makers) this.recordQuote(maker.quote(exchange, center, this.rng));
      this.quotedCenter = center;
      this.lastQuoteMs = now;
      this.stats.requotes++;
      // a maker whose new quote crossed another's leftover order requotes again (bounded)
      for (let pass = 0; pass < 2; pass++) {
        const hit = this.makers.filter((m) => m.needsRequote(exchange));
        if (hit.length === 0) break;
        for (const maker of hit) {
          maker.cancelAll(exchange);
          this.recordQuote(maker.quote(exchange, center, this.rng));
        }
      }
    }
  }

  /** The fair value the informed taker expects `leadMs` ahead: the next jump within it, else the drift's. */
  private foreseen(now: number, leadMs: number): number {
    const next = this.jumps[this.nextJump];
    if (next && this.startMs + next.atMs <= now + leadMs) return next.to;
    return this.fair.drifted(leadMs);
  }

  private recordQuote(spread: Price | null): void {
    if (spread === null) return;
    const s = this.stats;
    s.minQuotedSpread = s.minQuotedSpread === null ? spread : Math.min(s.minQuotedSpread, spread);
    s.maxQuotedSpread = s.maxQuotedSpread === null ? spread : Math.max(s.maxQuotedSpread, spread);
  }
}

/** Binary min-heap of (time, market index); ties go to the lower index, for determinism. */
class StepQueue {
  private readonly items: Array<{ at: number; index: number }> = [];

  get size(): number {
    return this.items.length;
  }

  peek(): { at: number; index: number } | undefined {
    return this.items[0];
  }

  push(item: { at: number; index: number }): void {
    const xs = this.items;
    xs.push(item);
    let i = xs.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(xs[i], xs[parent])) break;
      [xs[i], xs[parent]] = [xs[parent], xs[i]];
      i = parent;
    }
  }

  pop(): { at: number; index: number } | undefined {
    const xs = this.items;
    const top = xs[0];
    const last = xs.pop();
    if (xs.length > 0 && last) {
      xs[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < xs.length && this.less(xs[l], xs[m])) m = l;
        if (r < xs.length && this.less(xs[r], xs[m])) m = r;
        if (m === i) break;
        [xs[i], xs[m]] = [xs[m], xs[i]];
        i = m;
      }
    }
    return top;
  }

  clear(): void {
    this.items.length = 0;
  }

  private less(a: { at: number; index: number }, b: { at: number; index: number }): boolean {
    return a.at < b.at || (a.at === b.at && a.index < b.index);
  }
}

/**
 * The participants' own history is read by nobody (they track their resting quotes by id, and
 * resting orders are always kept), so their accounts keep only a little of it: at 50 markets
 * they finish ~25,000 orders per simulated minute, which the exchange's default window would
 * hold by the hundred thousand.
 */
const PARTICIPANT_HISTORY = { maxCount: 100 } as const;

export class SyntheticActivity {
  private readonly drivers: MarketDriver[] = [];
  private readonly queue = new StepQueue();
  private timer: TimerHandle | null = null;
  private timerAt = Infinity;
  private running = false;
  private readonly stepMin: number;
  private readonly stepMax: number;

  constructor(private readonly opts: ActivityOptions) {
    this.stepMin = Math.max(1, Math.trunc(opts.stepMs?.min ?? 100));
    this.stepMax = Math.max(this.stepMin, Math.trunc(opts.stepMs?.max ?? 500));
    const cash = opts.participantCash ?? dollarsToMicros(10_000_000);
    const start = opts.clock.now();
    for (const spec of opts.markets) {
      const driver = new MarketDriver(spec, opts.seed, start);
      for (const maker of driver.makers) opts.exchange.ensureAccount(maker.userId, cash, PARTICIPANT_HISTORY);
      opts.exchange.ensureAccount(driver.taker.userId, cash, PARTICIPANT_HISTORY);
      if (driver.informed) opts.exchange.ensureAccount(driver.informed.userId, cash, PARTICIPANT_HISTORY);
      this.drivers.push(driver);
    }
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** User ids of every synthetic participant. */
  participants(): string[] {
    return this.drivers.flatMap((d) => [...d.makers.map((m) => m.userId), d.taker.userId, ...(d.informed ? [d.informed.userId] : [])]);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.opts.clock.now();
    this.queue.clear();
    this.drivers.forEach((d, index) => {
      if (d.done) return;
      d.lastStepMs = now;
      this.queue.push({ at: now + this.delay(d), index });
    });
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  stats(): MarketActivityStats[] {
    return this.drivers.map((d) => ({ ...d.stats }));
  }

  private delay(driver: MarketDriver): number {
    return driver.rng.int(this.stepMin, this.stepMax);
  }

  private arm(): void {
    const next = this.queue.peek();
    if (!this.running || !next) return;
    if (this.timer !== null && this.timerAt <= next.at) return;
    if (this.timer !== null) this.opts.clock.clearTimeout(this.timer);
    this.timerAt = next.at;
    const handle = this.opts.clock.setTimeout(() => this.runDue(), Math.max(0, next.at - this.opts.clock.now()));
    // on the wall clock, synthetic activity alone must not keep the process alive
    (handle as { unref?: () => void } | null)?.unref?.();
    this.timer = handle;
  }

  private runDue(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.opts.clock.now();
    while (this.running) {
      const next = this.queue.peek();
      if (!next || next.at > now) break;
      this.queue.pop();
      const driver = this.drivers[next.index];
      driver.step(this.opts.exchange, next.at);
      if (!driver.done) this.queue.push({ at: next.at + this.delay(driver), index: next.index });
    }
    this.arm();
  }
}
