/**
 * The session environment: one episode = one market of one recorded (or synthetic) session,
 * replayed from fully preloaded timelines (no database, no I/O in reset/step) through the replay
 * venue (`src/core/replay-venue.ts`: the one L2 fill model, shared with replayed scripted sessions).
 *
 * Steps are decision ticks, at times a live trader could act: every event of one exchange
 * timestamp is applied atomically before the policy sees the book, and decisions are at most one
 * per `decisionIntervalMs` (the live trader's throttle: leading edge on the first new timestamp
 * after the interval, or trailing at decision + interval with everything that arrived meanwhile).
 * An action reaches the venue `orderLatencyMs` after its decision (events up to then apply first);
 * an order that changes the public book (a fill, a new resting order) is an update like a recorded
 * one, as the live trader sees its own order's book delta.
 * A gap skips to the next snapshot. The agent observes the 52 `obs-v1` features; no ticker.
 *
 * Reward = change of portfolio value (cash + position marked at the executable best bid of its
 * leg), in dollars × `rewardScale`; fees are paid from cash, so they are in it. Nothing else.
 * When the timeline's settlement result is known, the last step pays the position out. Each step
 * reports the market time it took (`elapsed`, seconds): training discounts per second of market
 * time, not per tick.
 *
 * An episode is a whole market (the default) or a window of it: `maxEpisodeMs` of market time
 * and/or `maxEpisodeSteps` decision ticks from its start (truncated, not terminated).
 *
 * A random start restores the recorded book from a checkpoint (every CHECKPOINT_EVERY events,
 * built once per timeline) instead of replaying from the first snapshot.
 */
import { z } from 'zod';
import { FEATURE_COUNT, FeatureState, writeFeatures } from '../core/features.ts';
import type { Count, Micros, Price } from '../core/money.ts';
import { DEFAULT_FEE_SCHEDULE } from '../core/fees.ts';
import type { FeeSchedule } from '../core/fees.ts';
import { Rng } from '../core/random.ts';
import { DEFAULT_QUEUE_MODEL, ReplayVenue } from '../core/replay-venue.ts';
import type { QueueModel } from '../core/replay-venue.ts';
import { DEFAULT_ACTION_SPACE, actionCount, actionSpaceConfigSchema, decodeAction } from './actions.ts';
import type { ActionSpaceConfig, DecodedAction } from './actions.ts';
import {
  EVENT_DELTA,
  EVENT_GAP,
  EVENT_SNAPSHOT,
  EVENT_TRADE,
  SIDE_NO,
  SIDE_YES,
  compileTimeline,
  playableSteps,
} from './timeline.ts';
import type { CompiledTimeline, MarketTimeline } from './timeline.ts';
import type { Environment, StepResult } from './types.ts';

export interface MarketEnvConfig {
  actions: ActionSpaceConfig;
  /** Cash at the start of each episode (Micros; default $100). */
  startingCash: Micros;
  /** Largest |position| (Count; default 100 contracts). */
  maxPosition: Count;
  fees: FeeSchedule;
  /** How cancellations at our level move our queue position (default risk-averse). */
  queue: QueueModel;
  /** Least time between two decisions (ms; default the live throttle, 250). */
  decisionIntervalMs: number;
  /** Decision → order at the venue (ms; default the simulator's measured REST round trip). */
  orderLatencyMs: number;
  /** Multiplies the dollar reward (default 1). */
  rewardScale: number;
  /** Step limit per episode (0 = the whole timeline). */
  maxEpisodeSteps: number;
  /** Market-time limit per episode from its first decision (ms; 0 = the whole timeline). */
  maxEpisodeMs: number;
  /** Where episodes start: the first snapshot, or a random event (with 10 events of history). */
  start: 'beginning' | 'random';
  /** Which timeline the next episode plays. */
  schedule: 'random' | 'round-robin';
}

/** The live trader's default throttle (src/core/risk.ts `throttleMs`). */
export const DEFAULT_DECISION_INTERVAL_MS = 250;
/**
 * The order-entry latency: a signed order round trip (POST /portfolio/orders through the real REST
 * client, `KalshiRestClient.createOrder`) to the loopback simulator (`startSimulator`), measured
 * once on this 2-core machine: 2,000 orders after 200 warm-up, p50 1.23 ms (mean 5.3 ms, p90 13 ms,
 * with the host at load 15). The p50 round trip, a conservative stand-in for decision → venue.
 */
export const DEFAULT_ORDER_LATENCY_MS = 1.2;

const queueModelSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('risk-averse') }).strict(),
  z.object({ kind: z.literal('power'), n: z.number().positive() }).strict(),
  z.object({ kind: z.literal('log') }).strict(),
]);

export const marketEnvConfigSchema = z
  .object({
    actions: actionSpaceConfigSchema,
    startingCash: z.number().int().positive(),
    maxPosition: z.number().int().positive(),
    fees: z.object({
      feeType: z.enum(['quadratic', 'quadratic_with_maker_fees', 'quadratic_with_combo_maker_fees', 'flat']),
      multiplier: z.number().nonnegative().optional(),
    }),
    queue: queueModelSchema,
    decisionIntervalMs: z.number().finite().nonnegative(),
    orderLatencyMs: z.number().finite().nonnegative(),
    rewardScale: z.number().positive(),
    maxEpisodeSteps: z.number().int().nonnegative(),
    maxEpisodeMs: z.number().finite().nonnegative(),
    start: z.enum(['beginning', 'random']),
    schedule: z.enum(['random', 'round-robin']),
  })
  .partial()
  .strict();

export const DEFAULT_MARKET_ENV_CONFIG: MarketEnvConfig = Object.freeze({
  actions: DEFAULT_ACTION_SPACE,
  startingCash: 100_000_000,
  maxPosition: 10_000,
  fees: DEFAULT_FEE_SCHEDULE,
  queue: DEFAULT_QUEUE_MODEL,
  decisionIntervalMs: DEFAULT_DECISION_INTERVAL_MS,
  orderLatencyMs: DEFAULT_ORDER_LATENCY_MS,
  rewardScale: 1,
  maxEpisodeSteps: 0,
  maxEpisodeMs: 0,
  start: 'beginning',
  schedule: 'random',
}) as MarketEnvConfig;

export function resolveMarketEnvConfig(partial: Partial<MarketEnvConfig> = {}): MarketEnvConfig {
  const parsed = marketEnvConfigSchema.safeParse(partial);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RangeError(`market env config: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  return { ...DEFAULT_MARKET_ENV_CONFIG, ...(parsed.data as Partial<MarketEnvConfig>) };
}

export interface MarketStepInfo {
  [key: string]: unknown;
  step: number;
  /** The last recorded event applied. */
  eventIndex: number;
  /** The decision time (ms). */
  tsMs: number;
  /** Micros. */
  portfolioValue: Micros;
  cash: Micros;
  position: Count;
  /** Fills so far this episode. */
  fills: number;
  feesPaid: Micros;
  /** Count filled during this step. */
  filled: Count;
  ticker: string;
  sessionId: string | null;
}

const WARMUP_EVENTS = 10;
/** Events between two book checkpoints (random starts replay at most this many + the warm-up). */
const CHECKPOINT_EVERY = 256;

/** The recorded book (valid or not) before event `index`, every CHECKPOINT_EVERY events. */
interface BookCheckpoints {
  valid: Uint8Array;
  levels: Array<{ yes: Array<[Price, Count]>; no: Array<[Price, Count]> } | null>;
}

export class MarketEnv implements Environment {
  readonly observationSize = FEATURE_COUNT;
  readonly actionCount: number;
  readonly config: MarketEnvConfig;
  readonly timelines: CompiledTimeline[];
  readonly features = new FeatureState();
  readonly venue: ReplayVenue;

  private readonly obs = new Float32Array(FEATURE_COUNT);
  private readonly decoded: DecodedAction = { base: 0, size: 0, style: 'take' };
  private readonly baseMaskTake = new Uint8Array(5);
  private readonly baseMaskJoin = new Uint8Array(5);
  /** Per action: its base action and whether it joins (precomputed for the per-step mask). */
  private readonly actionBase: Uint8Array;
  private readonly actionIsJoin: Uint8Array;
  private readonly hasJoin: boolean;
  private readonly info: MarketStepInfo;
  private readonly result: StepResult;
  private readonly checkpoints = new WeakMap<CompiledTimeline, BookCheckpoints>();
  private rng = new Rng(0);
  private current!: CompiledTimeline;
  private nextRoundRobin = 0;
  /** The last event applied. */
  private index = -1;
  /** When the current decision is taken (ms). */
  private decisionMs = 0;
  /** The venue's time: the last event applied, or an order's arrival (ms). */
  private venueMs = 0;
  /** When our own order changed the public book this step (NaN: it did not). */
  private ownUpdateMs = Number.NaN;
  private stepsTaken = 0;
  /** The episode's first decision (ms). */
  private episodeStartMs = 0;
  private done = true;

  constructor(timelines: ReadonlyArray<MarketTimeline | CompiledTimeline>, config: Partial<MarketEnvConfig> = {}) {
    this.config = resolveMarketEnvConfig(config);
    this.actionCount = actionCount(this.config.actions);
    this.actionBase = new Uint8Array(this.actionCount);
    this.actionIsJoin = new Uint8Array(this.actionCount);
    for (let a = 0; a < this.actionCount; a++) {
      const d = decodeAction(this.config.actions, a);
      this.actionBase[a] = d.base;
      this.actionIsJoin[a] = d.style === 'join' ? 1 : 0;
    }
    this.hasJoin = this.config.actions.styles.includes('join');
    this.timelines = timelines.map((t) => ('kind' in t ? t : compileTimeline(t))).filter((t) => playableSteps(t) > 0);
    if (this.timelines.length === 0) throw new RangeError('MarketEnv needs at least one timeline with a snapshot and an event after it');
    this.venue = new ReplayVenue('episode', {
      startingCash: this.config.startingCash,
      maxPosition: this.config.maxPosition,
      fees: this.config.fees,
      queue: this.config.queue,
    });
    this.info = {
      step: 0,
      eventIndex: 0,
      tsMs: 0,
      portfolioValue: 0,
      cash: 0,
      position: 0,
      fills: 0,
      feesPaid: 0,
      filled: 0,
      ticker: '',
      sessionId: null,
    };
    this.result = { obs: this.obs, reward: 0, terminated: false, truncated: false, elapsed: 0, info: this.info };
  }

  /** The timeline of the current episode. */
  get timeline(): CompiledTimeline {
    return this.current;
  }

  /** The last recorded event applied. */
  get eventIndex(): number {
    return this.index;
  }

  /** The time of the current decision (ms). */
  get decisionTimeMs(): number {
    return this.decisionMs;
  }

  /** The venue's time (ms): of the event being applied, or of an order arriving (for fill records). */
  get venueTimeMs(): number {
    return this.venueMs;
  }

  /** Starts an episode. `timeline` picks one by index (else the schedule decides). */
  reset(seed?: number, options: { timeline?: number } = {}): Float32Array {
    if (seed !== undefined) this.rng = new Rng(seed);
    let which: number;
    if (options.timeline !== undefined) {
      if (!Number.isInteger(options.timeline) || options.timeline < 0 || options.timeline >= this.timelines.length) {
        throw new RangeError(`timeline ${options.timeline} is outside 0..${this.timelines.length - 1}`);
      }
      which = options.timeline;
    } else if (this.config.schedule === 'round-robin') {
      which = this.nextRoundRobin;
      this.nextRoundRobin = (this.nextRoundRobin + 1) % this.timelines.length;
    } else {
      which = this.timelines.length === 1 ? 0 : this.rng.int(0, this.timelines.length - 1);
    }
    const t = this.current = this.timelines[which];
    const venue = this.venue;
    venue.reset();
    this.features.reset();
    this.stepsTaken = 0;
    this.done = false;

    let start = t.firstSnapshot;
    let from = t.firstSnapshot;
    if (this.config.start === 'random') {
      start = this.rng.int(t.firstSnapshot, Math.max(t.firstSnapshot, t.length - 2));
      from = this.restoreCheckpoint(t, Math.max(t.firstSnapshot, start - WARMUP_EVENTS));
    }
    // replay up to the start's timestamp; the events just before it also feed the feature history
    this.index = from - 1;
    for (let i = from; i < start; i++) {
      this.applyEvent(i);
      this.index = i;
      if (t.tsMs[i + 1] !== t.tsMs[i]) venue.endBatch();
      if (i >= start - WARMUP_EVENTS && venue.valid) this.features.observe(venue.book, t.tsMs[i]);
    }
    this.applyThrough(t.tsMs[start]);
    this.decisionMs = t.tsMs[this.index];
    // an episode starts on a two-sided book (a recording may open on an empty snapshot, and a
    // random start may land in an invalid stretch): move on, a timestamp at a time
    if (!this.toTwoSidedBook()) {
      venue.reset();
      this.features.reset();
      this.index = t.firstSnapshot - 1;
      this.applyThrough(t.tsMs[t.firstSnapshot]);
      this.decisionMs = t.tsMs[this.index];
    }
    this.features.observe(venue.book, this.decisionMs);
    this.episodeStartMs = this.decisionMs;
    this.writeObservation();
    this.fillInfo(0);
    return this.obs;
  }

  step(action: number): StepResult {
    if (this.done) throw new Error('MarketEnv.step called after the episode ended; call reset()');
    const venue = this.venue;
    decodeAction(this.config.actions, action, this.decoded);
    const valueBefore = this.features.portfolioValue();
    const decidedMs = this.decisionMs;
    venue.filledThisStep = 0;
    this.ownUpdateMs = Number.NaN;
    if (this.decoded.base !== 0) {
      // the order reaches the venue after the order-entry latency: what happened meanwhile applies first
      const arrival = this.arrive();
      const before = venue.ownBookChanges;
      venue.act(this.decoded.base, this.decoded.size, this.decoded.style, arrival);
      // a fill or a new resting order changes the public book: live, that update is one more
      // reason to decide (at the end of the throttle window at the latest)
      if (venue.ownBookChanges !== before) this.ownUpdateMs = arrival;
    }
    return this.advance(valueBefore, decidedMs);
  }

  /**
   * One decision tick whose orders are not an action of the action space: `send` (null: nothing
   * to send) is called with the venue when the orders arrive there, after the order-entry
   * latency, as `step` does with an action's order. The rule strategies' baselines run this way,
   * on the same decision ticks and the same venue as the policy.
   */
  stepWith(send: ((venue: ReplayVenue, arrivalMs: number) => void) | null): StepResult {
    if (this.done) throw new Error('MarketEnv.stepWith called after the episode ended; call reset()');
    const venue = this.venue;
    const valueBefore = this.features.portfolioValue();
    const decidedMs = this.decisionMs;
    venue.filledThisStep = 0;
    this.ownUpdateMs = Number.NaN;
    if (send) {
      const arrival = this.arrive();
      const before = venue.ownBookChanges;
      send(venue, arrival);
      if (venue.ownBookChanges !== before) this.ownUpdateMs = arrival;
    }
    return this.advance(valueBefore, decidedMs);
  }

  /** Applies the events up to an order's arrival (decision + latency) and returns that time. */
  private arrive(): number {
    const arrival = this.decisionMs + this.config.orderLatencyMs;
    this.applyThrough(arrival);
    this.venueMs = arrival;
    return arrival;
  }

  /** After the orders: on to the next decision tick (or the end), reward and limits. */
  private advance(valueBefore: Micros, decidedMs: number): StepResult {
    const venue = this.venue;
    const t = this.current;
    let terminated = false;
    if (this.nextDecision()) {
      this.features.observe(venue.book, this.decisionMs);
    } else {
      terminated = true;
      venue.cancelAll();
      if (t.result) venue.settle(t.result);
    }
    this.stepsTaken++;
    const config = this.config;
    const truncated =
      !terminated &&
      ((config.maxEpisodeSteps > 0 && this.stepsTaken >= config.maxEpisodeSteps) ||
        (config.maxEpisodeMs > 0 && this.decisionMs - this.episodeStartMs >= config.maxEpisodeMs));
    this.done = terminated || truncated;
    this.writeObservation();
    const valueAfter = this.features.portfolioValue();
    const result = this.result;
    result.reward = ((valueAfter - valueBefore) / 1_000_000) * config.rewardScale;
    result.terminated = terminated;
    result.truncated = truncated;
    result.elapsed = (this.decisionMs - decidedMs) / 1000;
    this.fillInfo(venue.filledThisStep);
    return result;
  }

  /** 1 = the action can do something now. HOLD is always valid. */
  actionMask(out: Uint8Array = new Uint8Array(this.actionCount)): Uint8Array {
    const take = this.venue.baseMask('take', this.baseMaskTake);
    const join = this.hasJoin ? this.venue.baseMask('join', this.baseMaskJoin) : take;
    const base = this.actionBase;
    const isJoin = this.actionIsJoin;
    for (let a = 0; a < this.actionCount; a++) out[a] = (isJoin[a] ? join : take)[base[a]];
    return out;
  }

  /** Cash + position at executable prices, Micros. */
  portfolioValue(): Micros {
    return this.features.portfolioValue();
  }

  /**
   * Moves to the next decision tick: the later of decision + interval and the next update (a
   * recorded timestamp, or our own order's effect on the book), with every event up to it
   * applied; then on to a valid book. False at the end of the recording.
   */
  private nextDecision(): boolean {
    const t = this.current;
    const i = this.index + 1;
    if (i >= t.length) return false;
    const update = this.ownUpdateMs < t.tsMs[i] ? this.ownUpdateMs : t.tsMs[i];
    const at = Math.max(this.decisionMs + this.config.decisionIntervalMs, update);
    this.applyThrough(at);
    this.decisionMs = at;
    return this.venue.valid || this.nextValidDecision();
  }

  /** From an unknown book: one timestamp at a time until the book is valid; false at the end. */
  private nextValidDecision(): boolean {
    const t = this.current;
    while (!this.venue.valid) {
      const i = this.index + 1;
      if (i >= t.length) return false;
      this.applyThrough(t.tsMs[i]);
      this.decisionMs = Math.max(this.decisionMs, t.tsMs[i]);
    }
    return true;
  }

  /** From the current book: one timestamp at a time until the book is valid and two-sided; false at the end. */
  private toTwoSidedBook(): boolean {
    const t = this.current;
    const venue = this.venue;
    while (!venue.valid || venue.book.bestYesBid() === null || venue.book.bestNoBid() === null) {
      const i = this.index + 1;
      if (i >= t.length) return false;
      this.applyThrough(t.tsMs[i]);
      this.decisionMs = Math.max(this.decisionMs, t.tsMs[i]);
    }
    return true;
  }

  /** Applies every event with a timestamp ≤ `ms`, ending each exchange timestamp's batch. */
  private applyThrough(ms: number): void {
    const t = this.current;
    const ts = t.tsMs;
    const venue = this.venue;
    let i = this.index + 1;
    while (i < t.length && ts[i] <= ms) {
      this.venueMs = ts[i];
      this.applyEvent(i);
      if (i + 1 >= t.length || ts[i + 1] !== ts[i]) venue.endBatch();
      i++;
    }
    this.index = i - 1;
  }

  private applyEvent(i: number): void {
    const t = this.current;
    const venue = this.venue;
    switch (t.kind[i]) {
      case EVENT_DELTA:
        venue.applyDelta(t.side[i] === SIDE_YES ? 'yes' : 'no', t.price[i], t.amount[i]);
        break;
      case EVENT_SNAPSHOT: {
        const snap = t.snapshots[t.price[i]];
        venue.applySnapshot(snap.yes, snap.no);
        break;
      }
      case EVENT_TRADE: {
        const s = t.side[i];
        venue.applyTrade(t.price[i], t.amount[i], s === SIDE_YES ? 'yes' : s === SIDE_NO ? 'no' : null);
        break;
      }
      case EVENT_GAP:
        venue.applyGap();
        break;
    }
  }

  /**
   * Puts the recorded book as it was before event `index` back from the nearest checkpoint at or
   * before it (the venue holds no orders at an episode's start, so the recorded book is its state).
   * Returns the event to replay from.
   */
  private restoreCheckpoint(t: CompiledTimeline, index: number): number {
    const cps = this.checkpointsOf(t);
    const k = Math.min(Math.floor((index - t.firstSnapshot) / CHECKPOINT_EVERY), cps.valid.length - 1);
    if (k <= 0) return t.firstSnapshot;
    const levels = cps.levels[k];
    if (cps.valid[k] && levels) {
      this.venue.applySnapshot(levels.yes, levels.no);
      this.venue.endBatch();
    }
    return t.firstSnapshot + k * CHECKPOINT_EVERY;
  }

  private checkpointsOf(t: CompiledTimeline): BookCheckpoints {
    let cps = this.checkpoints.get(t);
    if (cps) return cps;
    const count = Math.floor((t.length - t.firstSnapshot) / CHECKPOINT_EVERY) + 1;
    cps = { valid: new Uint8Array(count), levels: new Array(count).fill(null) };
    const saved = this.current;
    this.current = t;
    const venue = this.venue;
    venue.reset();
    for (let k = 0, i = t.firstSnapshot; k < count; k++) {
      const end = t.firstSnapshot + k * CHECKPOINT_EVERY;
      for (; i < end; i++) this.applyEvent(i);
      venue.endBatch();
      if (venue.valid) {
        cps.valid[k] = 1;
        cps.levels[k] = { yes: venue.book.levels('yes'), no: venue.book.levels('no') };
      }
    }
    venue.reset();
    this.current = saved;
    this.checkpoints.set(t, cps);
    return cps;
  }

  private writeObservation(): void {
    const venue = this.venue;
    const f = this.features;
    f.cash = venue.cash;
    f.position = venue.position.position;
    f.costBasis = venue.position.costBasis;
    f.openBidPrice = venue.bid.active ? venue.bid.price : 0;
    f.openAskPrice = venue.ask.active ? venue.ask.price : 0;
    const bidMs = venue.bid.active ? venue.bid.placedMs : Number.NaN;
    const askMs = venue.ask.active ? venue.ask.placedMs : Number.NaN;
    f.lastOrderMs = Number.isNaN(bidMs) ? askMs : Number.isNaN(askMs) ? bidMs : Math.max(bidMs, askMs);
    writeFeatures(venue.valid ? venue.book : null, f, this.decisionMs, this.obs);
  }

  private fillInfo(filled: Count): void {
    const info = this.info;
    const venue = this.venue;
    info.step = this.stepsTaken;
    info.eventIndex = this.index;
    info.tsMs = this.decisionMs;
    info.portfolioValue = this.features.portfolioValue();
    info.cash = venue.cash;
    info.position = venue.position.position;
    info.fills = venue.fills;
    info.feesPaid = venue.feesPaid;
    info.filled = filled;
    info.ticker = this.current.ticker;
    info.sessionId = this.current.sessionId;
  }
}
