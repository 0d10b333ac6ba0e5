/**
 * The session environment: one episode = one market of one recorded (or synthetic) session,
 * replayed event by event from fully preloaded timelines (no database, no I/O in reset/step).
 * Each step: the agent's action executes against the current book (`MarketSim`'s fill rules and
 * Kalshi fees), then the next recorded event is applied (a gap skips to the next snapshot), and
 * the agent observes the 52 `obs-v1` features. No ticker is in the observation.
 *
 * Reward = change of portfolio value (cash + position marked at the executable best bid of its
 * leg), in dollars × `rewardScale`; fees are paid from cash, so they are in it. Nothing else.
 * When the timeline's settlement result is known, the last step pays the position out.
 */
import { z } from 'zod';
import { FEATURE_COUNT, FeatureState, writeFeatures } from '../core/features.ts';
import type { Count, Micros } from '../core/money.ts';
import { DEFAULT_FEE_SCHEDULE } from '../core/fees.ts';
import type { FeeSchedule } from '../core/fees.ts';
import { Rng } from '../core/random.ts';
import { DEFAULT_ACTION_SPACE, actionCount, actionSpaceConfigSchema, decodeAction } from './actions.ts';
import type { ActionSpaceConfig, DecodedAction } from './actions.ts';
import { MarketSim } from './market-sim.ts';
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
  /** Multiplies the dollar reward (default 1). */
  rewardScale: number;
  /** Step limit per episode (0 = the whole timeline). */
  maxEpisodeSteps: number;
  /** Where episodes start: the first snapshot, or a random event (with 10 events of history). */
  start: 'beginning' | 'random';
  /** Which timeline the next episode plays. */
  schedule: 'random' | 'round-robin';
}

export const marketEnvConfigSchema = z
  .object({
    actions: actionSpaceConfigSchema,
    startingCash: z.number().int().positive(),
    maxPosition: z.number().int().positive(),
    fees: z.object({
      feeType: z.enum(['quadratic', 'quadratic_with_maker_fees', 'quadratic_with_combo_maker_fees', 'flat']),
      multiplier: z.number().nonnegative().optional(),
    }),
    rewardScale: z.number().positive(),
    maxEpisodeSteps: z.number().int().nonnegative(),
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
  rewardScale: 1,
  maxEpisodeSteps: 0,
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
  eventIndex: number;
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

export class MarketEnv implements Environment {
  readonly observationSize = FEATURE_COUNT;
  readonly actionCount: number;
  readonly config: MarketEnvConfig;
  readonly timelines: CompiledTimeline[];
  readonly features = new FeatureState();
  readonly sim: MarketSim;

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
  private rng = new Rng(0);
  private current!: CompiledTimeline;
  private nextRoundRobin = 0;
  private index = -1;
  private stepsTaken = 0;
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
    this.sim = new MarketSim('episode', {
      startingCash: this.config.startingCash,
      maxPosition: this.config.maxPosition,
      fees: this.config.fees,
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
    this.result = { obs: this.obs, reward: 0, terminated: false, truncated: false, info: this.info };
  }

  /** The timeline of the current episode. */
  get timeline(): CompiledTimeline {
    return this.current;
  }

  get eventIndex(): number {
    return this.index;
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
    const t = this.timelines[which];
    this.current = t;
    this.sim.reset();
    this.features.reset();
    this.stepsTaken = 0;
    this.done = false;

    let start = t.firstSnapshot;
    if (this.config.start === 'random') {
      const last = t.length - 2;
      const candidate = this.rng.int(t.firstSnapshot, Math.max(t.firstSnapshot, last));
      start = candidate;
    }
    // replay up to the start; the events just before it also feed the feature history
    for (let i = t.firstSnapshot; i <= start; i++) {
      this.applyEvent(i);
      if (i < start && i >= start - WARMUP_EVENTS && this.sim.valid) this.features.observe(this.sim.book, t.tsMs[i]);
    }
    this.index = start;
    // a random start may land in an invalid stretch: move on to the next valid book
    if (!this.sim.valid && !this.advance()) {
      this.index = t.firstSnapshot;
      this.sim.reset();
      this.features.reset();
      this.applyEvent(this.index);
    }
    this.features.observe(this.sim.book, t.tsMs[this.index]);
    this.writeObservation();
    this.fillInfo(0);
    return this.obs;
  }

  step(action: number): StepResult {
    if (this.done) throw new Error('MarketEnv.step called after the episode ended; call reset()');
    const sim = this.sim;
    const t = this.current;
    decodeAction(this.config.actions, action, this.decoded);
    const valueBefore = this.features.portfolioValue();
    sim.filledThisStep = 0;
    sim.act(this.decoded.base, this.decoded.size, this.decoded.style, t.tsMs[this.index]);

    let terminated = false;
    if (this.advance()) {
      this.features.observe(sim.book, t.tsMs[this.index]);
    } else {
      terminated = true;
      sim.cancelAll();
      if (t.result) sim.settle(t.result);
    }
    this.stepsTaken++;
    const truncated = !terminated && this.config.maxEpisodeSteps > 0 && this.stepsTaken >= this.config.maxEpisodeSteps;
    this.done = terminated || truncated;
    this.writeObservation();
    const valueAfter = this.features.portfolioValue();
    const result = this.result;
    result.reward = ((valueAfter - valueBefore) / 1_000_000) * this.config.rewardScale;
    result.terminated = terminated;
    result.truncated = truncated;
    this.fillInfo(sim.filledThisStep);
    return result;
  }

  /** 1 = the action can do something now. HOLD is always valid. */
  actionMask(out: Uint8Array = new Uint8Array(this.actionCount)): Uint8Array {
    const take = this.sim.baseMask('take', this.baseMaskTake);
    const join = this.hasJoin ? this.sim.baseMask('join', this.baseMaskJoin) : take;
    const base = this.actionBase;
    const isJoin = this.actionIsJoin;
    for (let a = 0; a < this.actionCount; a++) out[a] = (isJoin[a] ? join : take)[base[a]];
    return out;
  }

  /** Cash + position at executable prices, Micros. */
  portfolioValue(): Micros {
    return this.features.portfolioValue();
  }

  /** Applies timeline events until the book is valid again; false at the end of the timeline. */
  private advance(): boolean {
    const t = this.current;
    for (;;) {
      const i = this.index + 1;
      if (i >= t.length) return false;
      this.index = i;
      this.applyEvent(i);
      if (this.sim.valid) return true;
    }
  }

  private applyEvent(i: number): void {
    const t = this.current;
    const sim = this.sim;
    switch (t.kind[i]) {
      case EVENT_DELTA:
        sim.applyDelta(t.side[i] === SIDE_YES ? 'yes' : 'no', t.price[i], t.amount[i], t.tsMs[i]);
        break;
      case EVENT_SNAPSHOT: {
        const snap = t.snapshots[t.price[i]];
        sim.applySnapshot(snap.yes, snap.no, t.tsMs[i]);
        break;
      }
      case EVENT_TRADE: {
        const s = t.side[i];
        sim.applyTrade(t.price[i], t.amount[i], s === SIDE_YES ? 'yes' : s === SIDE_NO ? 'no' : null);
        break;
      }
      case EVENT_GAP:
        sim.applyGap();
        break;
    }
  }

  private writeObservation(): void {
    const sim = this.sim;
    const f = this.features;
    f.cash = sim.cash;
    f.position = sim.position.position;
    f.costBasis = sim.position.costBasis;
    f.openBidPrice = sim.bid.active ? sim.bid.price : 0;
    f.openAskPrice = sim.ask.active ? sim.ask.price : 0;
    const bidMs = sim.bid.active ? sim.bid.placedMs : Number.NaN;
    const askMs = sim.ask.active ? sim.ask.placedMs : Number.NaN;
    f.lastOrderMs = Number.isNaN(bidMs) ? askMs : Number.isNaN(askMs) ? bidMs : Math.max(bidMs, askMs);
    writeFeatures(sim.valid ? sim.book : null, f, this.current.tsMs[this.index], this.obs);
  }

  private fillInfo(filled: Count): void {
    const info = this.info;
    const sim = this.sim;
    info.step = this.stepsTaken;
    info.eventIndex = this.index;
    info.tsMs = this.current.tsMs[this.index];
    info.portfolioValue = this.features.portfolioValue();
    info.cash = sim.cash;
    info.position = sim.position.position;
    info.fills = sim.fills;
    info.feesPaid = sim.feesPaid;
    info.filled = filled;
    info.ticker = this.current.ticker;
    info.sessionId = this.current.sessionId;
  }
}
