/**
 * Evaluation of a policy on recorded (or synthetic) timelines, one deterministic episode per
 * market timeline, beside baselines on the same decision ticks and the same replay venue: HOLD
 * (never trades), buy-and-hold (buys YES at the first tick, holds to the end), and the rule
 * strategies `spread-quoter` and `imbalance` from src/core/strategy, run as the live trader runs
 * them (src/rl/baselines.ts). Optionally again under stress (risk-averse queue, doubled order
 * latency). Also the per-tick feature table export. Reads only preloaded timelines.
 *
 * Figures per episode: net P&L (final portfolio value − starting cash, fees included, Micros),
 * maximum drawdown of the portfolio value, fills, fees, the end position, the executions and (for
 * the policy and HOLD) the actions chosen; per strategy their totals and a Sharpe per session
 * (mean / standard deviation of the per-step P&L). The per-regime, per-split figures (Sharpe per
 * episode with its bootstrap interval) are built from the episodes by eval-report.ts.
 */
import { FEATURE_NAMES } from '../core/features.ts';
import { HOLD, actionNames, greedyAction } from '../core/features/actions.ts';
import type { Count, Micros } from '../core/money.ts';
import { createImbalanceStrategy, createSpreadQuoter } from '../core/strategy/index.ts';
import { OnnxPolicy } from '../adapters/policy/onnx-policy.ts';
import { buyAndHoldDriver, strategyDriver } from './baselines.ts';
import type { TickDriver } from './baselines.ts';
import { MarketEnv } from './env.ts';
import type { MarketEnvConfig } from './env.ts';
import { ActorCritic } from './ppo/policy.ts';
import { sharpe } from './statistics.ts';
import { compileTimeline } from './timeline.ts';
import type { CompiledTimeline, MarketTimeline } from './timeline.ts';
import type { OrderSide } from '../core/order-state.ts';

/** Anything that picks an action for an observation and a validity mask. */
export interface PolicyActor {
  readonly name: string;
  act(obs: Float32Array, mask: Uint8Array): number | Promise<number>;
}

export function actorOf(model: PolicyActor | ActorCritic | OnnxPolicy): PolicyActor {
  if (model instanceof ActorCritic) {
    return { name: 'policy', act: (obs, mask) => model.greedyAction(obs, mask) };
  }
  if (model instanceof OnnxPolicy) {
    return {
      name: 'policy',
      act: async (obs, mask) => greedyAction((await model.run(obs, 1)).logits, mask),
    };
  }
  return model;
}

export const holdActor: PolicyActor = { name: 'hold', act: () => HOLD };

export interface Execution {
  tsMs: number;
  side: OrderSide;
  price: number;
  count: number;
  fee: Micros;
  taker: boolean;
}

export interface EpisodeResult {
  ticker: string;
  sessionId: string | null;
  steps: number;
  netPnl: Micros;
  maxDrawdown: Micros;
  fills: number;
  fees: Micros;
  /** Signed position left at the end (+YES / −NO; Count). */
  endPosition: Count;
  /** Per-step P&L in dollars (for the session Sharpe and the curve). */
  stepPnl: number[];
  /** Every execution at the replay venue, in order (YES-leg side and price; the venue's time). */
  executions: Execution[];
  /** Steps per action (empty for rule strategies, which do not act in the action space). */
  actionCounts: number[];
}

export interface EvaluationSummary {
  name: string;
  episodes: EpisodeResult[];
  netPnl: Micros;
  /** Sharpe per session (key: session id, or the ticker for timelines without one). */
  sharpeBySession: Record<string, number>;
  maxDrawdown: Micros;
  trades: number;
  fees: Micros;
  /** Share of steps per action name (empty for rule strategies). */
  actionDistribution: Record<string, number>;
}

/** The baselines' names, in report order. */
export const BASELINE_NAMES = ['hold', 'buy_and_hold', 'spread-quoter', 'imbalance'] as const;
export type BaselineName = (typeof BASELINE_NAMES)[number];

export interface EvaluationRun {
  /** The environment configuration every strategy ran with. */
  config: MarketEnvConfig;
  /** The policy first, then the baselines in BASELINE_NAMES order. */
  policies: EvaluationSummary[];
}

export interface EvaluationReport extends EvaluationRun {
  policy: EvaluationSummary;
  baselines: Record<BaselineName, EvaluationSummary>;
  /** The same under stress (risk-averse queue, doubled order latency); null when not asked. */
  stress: EvaluationRun | null;
}

export interface EvaluateOptions {
  /** Order size of the rule baselines and buy-and-hold (Count; default the action space's first size). */
  baselineSize?: Count;
  /** Also run everything under stress (default true). */
  stress?: boolean;
}

type Runner = { kind: 'actor'; actor: PolicyActor } | { kind: 'driver'; driver: TickDriver };

async function runEpisodes(runner: Runner, timelines: CompiledTimeline[], config: Partial<MarketEnvConfig>): Promise<EvaluationSummary> {
  const env = new MarketEnv(timelines, { ...config, start: 'beginning', maxEpisodeSteps: 0, maxEpisodeMs: 0 });
  const names = actionNames(env.config.actions);
  const mask = new Uint8Array(env.actionCount);
  const episodes: EpisodeResult[] = [];
  const name = runner.kind === 'actor' ? runner.actor.name : runner.driver.name;
  for (let t = 0; t < env.timelines.length; t++) {
    let obs = env.reset(0, { timeline: t });
    if (runner.kind === 'driver') runner.driver.reset(env);
    const start = env.portfolioValue();
    let peak = start;
    let drawdown = 0;
    const stepPnl: number[] = [];
    const executions: Execution[] = [];
    env.venue.onFill = (f) => executions.push({ tsMs: env.venueTimeMs, side: f.side, price: f.price, count: f.count, fee: f.fee, taker: f.taker });
    const counts = runner.kind === 'actor' ? new Array<number>(env.actionCount).fill(0) : [];
    for (;;) {
      let result;
      if (runner.kind === 'actor') {
        const action = await runner.actor.act(obs, env.actionMask(mask));
        counts[action]++;
        result = env.step(action);
      } else {
        result = env.stepWith(await runner.driver.decide(env));
      }
      stepPnl.push(result.reward / env.config.rewardScale);
      const value = env.portfolioValue();
      if (value > peak) peak = value;
      if (peak - value > drawdown) drawdown = peak - value;
      obs = result.obs;
      if (result.terminated || result.truncated) break;
    }
    const tl = env.timeline;
    episodes.push({
      ticker: tl.ticker,
      sessionId: tl.sessionId,
      steps: stepPnl.length,
      netPnl: env.portfolioValue() - start,
      maxDrawdown: drawdown,
      fills: env.venue.fills,
      fees: env.venue.feesPaid,
      endPosition: env.venue.position.position,
      stepPnl,
      executions,
      actionCounts: counts,
    });
  }
  env.venue.onFill = null;
  const bySession = new Map<string, number[]>();
  for (const e of episodes) {
    const key = e.sessionId ?? e.ticker;
    const list = bySession.get(key) ?? [];
    for (const v of e.stepPnl) list.push(v);
    bySession.set(key, list);
  }
  let distribution: Record<string, number> = {};
  if (runner.kind === 'actor') {
    const totalCounts = new Array<number>(names.length).fill(0);
    let steps = 0;
    for (const e of episodes) {
      for (let a = 0; a < names.length; a++) totalCounts[a] += e.actionCounts[a];
      steps += e.steps;
    }
    distribution = Object.fromEntries(names.map((n, a) => [n, steps > 0 ? totalCounts[a] / steps : 0]));
  }
  return {
    name,
    episodes,
    netPnl: episodes.reduce((s, e) => s + e.netPnl, 0),
    sharpeBySession: Object.fromEntries([...bySession].map(([k, v]) => [k, sharpe(v)])),
    maxDrawdown: episodes.reduce((m, e) => Math.max(m, e.maxDrawdown), 0),
    trades: episodes.reduce((s, e) => s + e.fills, 0),
    fees: episodes.reduce((s, e) => s + e.fees, 0),
    actionDistribution: distribution,
  };
}

/** One actor's deterministic episodes over every timeline (training's validation uses it). */
export async function evaluateActor(
  model: PolicyActor | ActorCritic,
  timelines: ReadonlyArray<MarketTimeline | CompiledTimeline>,
  config: Partial<MarketEnvConfig> = {},
): Promise<EvaluationSummary> {
  return runEpisodes({ kind: 'actor', actor: actorOf(model) }, compiled(timelines), config);
}

function compiled(timelines: ReadonlyArray<MarketTimeline | CompiledTimeline>): CompiledTimeline[] {
  return timelines.map((t) => ('kind' in t ? t : compileTimeline(t)));
}

async function runAll(actor: PolicyActor, list: CompiledTimeline[], envConfig: Partial<MarketEnvConfig>, size: Count): Promise<EvaluationRun> {
  const config = new MarketEnv(list, envConfig).config;
  const runners: Runner[] = [
    { kind: 'actor', actor },
    { kind: 'actor', actor: holdActor },
    { kind: 'driver', driver: buyAndHoldDriver(size) },
    { kind: 'driver', driver: strategyDriver(createSpreadQuoter({ size })) },
    { kind: 'driver', driver: strategyDriver(createImbalanceStrategy({ size })) },
  ];
  const policies: EvaluationSummary[] = [];
  for (const r of runners) policies.push(await runEpisodes(r, list, envConfig));
  return { config, policies };
}

/** The stress variant of a configuration: risk-averse queue, twice the order-entry latency. */
export function stressConfig(config: MarketEnvConfig): MarketEnvConfig {
  return { ...config, queue: { kind: 'risk-averse' }, orderLatencyMs: config.orderLatencyMs * 2 };
}

/**
 * Runs the model greedily (masked argmax) over every timeline once, and the baselines over the
 * same timelines, then (unless `stress: false`) all of it again under stress. `config` must
 * describe the action space the model was trained with (its ONNX metadata says which).
 */
export async function evaluatePolicy(
  model: PolicyActor | ActorCritic | OnnxPolicy,
  timelines: ReadonlyArray<MarketTimeline | CompiledTimeline>,
  config: Partial<MarketEnvConfig> = {},
  options: EvaluateOptions = {},
): Promise<EvaluationReport> {
  const list = compiled(timelines);
  let envConfig = config;
  if (model instanceof OnnxPolicy && !config.actions) envConfig = { ...config, actions: model.contract.actionSpace };
  const resolved = new MarketEnv(list, envConfig).config;
  const size = options.baselineSize ?? resolved.actions.sizes[0];
  const actor = actorOf(model);
  const main = await runAll(actor, list, resolved, size);
  const stress = options.stress === false ? null : await runAll(actor, list, stressConfig(resolved), size);
  const [policy, hold, buyAndHold, quoter, imbalance] = main.policies;
  return {
    ...main,
    policy,
    baselines: { hold, buy_and_hold: buyAndHold, 'spread-quoter': quoter, imbalance },
    stress,
  };
}

export interface FeatureTable {
  columns: string[];
  /** One row per decision tick: last event index applied, decision time (ms), then the 52 features. */
  rows: number[][];
}

/** The observation at every step of a timeline (agent holding, flat), for inspection or CSV. */
export function featuresTable(timeline: MarketTimeline | CompiledTimeline, config: Partial<MarketEnvConfig> = {}): FeatureTable {
  const env = new MarketEnv([timeline], { ...config, start: 'beginning', maxEpisodeSteps: 0, maxEpisodeMs: 0 });
  const rows: number[][] = [];
  let obs = env.reset(0, { timeline: 0 });
  for (;;) {
    rows.push([env.eventIndex, env.decisionTimeMs, ...obs]);
    const result = env.step(HOLD);
    if (result.terminated || result.truncated) break;
    obs = result.obs;
  }
  return { columns: ['event_index', 'ts_ms', ...FEATURE_NAMES], rows };
}

/** CSV text of a feature table (header line, then one line per row). */
export function featuresCsv(table: FeatureTable): string {
  const lines = [table.columns.join(',')];
  for (const row of table.rows) lines.push(row.map((v) => (Number.isInteger(v) ? String(v) : v.toPrecision(7))).join(','));
  return `${lines.join('\n')}\n`;
}
