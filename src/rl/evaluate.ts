/**
 * Evaluation of a policy on recorded (or synthetic) timelines, one deterministic episode per
 * market timeline, beside two baselines — HOLD (never trades) and a simple order-book rule — and
 * the per-event feature table export. Reads only preloaded timelines (never a live stream).
 *
 * Figures: net P&L (final portfolio value − starting cash, fees included, Micros), per-session
 * Sharpe (mean / standard deviation of the per-step P&L of that session's episodes, as the
 * original's "sharpe"), maximum drawdown of the portfolio value (Micros), fills, fees, and the
 * distribution of chosen actions.
 */
import { FEATURE_INDEX, FEATURE_NAMES } from '../core/features.ts';
import { BUY_NO, BUY_YES, HOLD, SELL_NO, SELL_YES, actionNames, encodeAction } from '../core/features/actions.ts';
import type { ActionSpaceConfig } from '../core/features/actions.ts';
import type { Micros } from '../core/money.ts';
import { OnnxPolicy } from '../adapters/policy/onnx-policy.ts';
import { MarketEnv } from './env.ts';
import type { MarketEnvConfig } from './env.ts';
import { ActorCritic } from './ppo/policy.ts';
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
      act: async (obs, mask) => {
        const { logits } = await model.run(obs, 1);
        let best = HOLD;
        let bestValue = -Infinity;
        for (let a = 0; a < logits.length; a++) {
          if (mask[a] && logits[a] > bestValue) {
            bestValue = logits[a];
            best = a;
          }
        }
        return best;
      },
    };
  }
  return model;
}

export const holdActor: PolicyActor = { name: 'hold', act: () => HOLD };

/**
 * The rule baseline: when flat and the spread is at most 3¢, follow the microprice (buy YES when
 * it is above the mid, NO when below); close a position when the microprice turns against it.
 * Uses the first size and the `take` style (or the first style when there is no `take`).
 */
export function ruleActor(space: ActionSpaceConfig): PolicyActor {
  const style = Math.max(0, space.styles.indexOf('take'));
  const action = (base: number) => encodeAction(space, base, 0, style);
  const spread = FEATURE_INDEX.yes_spread_cents;
  const mid = FEATURE_INDEX.yes_mid_price_norm;
  const micro = FEATURE_INDEX.yes_microprice_norm;
  const longYes = FEATURE_INDEX.long_position_ratio;
  const longNo = FEATURE_INDEX.short_position_ratio;
  return {
    name: 'rule',
    act(obs, mask) {
      const edge = obs[micro] - obs[mid];
      let choice = HOLD;
      if (obs[longYes] > 0) choice = edge < 0 ? action(SELL_YES) : HOLD;
      else if (obs[longNo] > 0) choice = edge > 0 ? action(SELL_NO) : HOLD;
      else if (obs[spread] <= 0.03 + 1e-6) choice = edge > 0.002 ? action(BUY_YES) : edge < -0.002 ? action(BUY_NO) : HOLD;
      return mask[choice] ? choice : HOLD;
    },
  };
}

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
  /** Per-step P&L in dollars (for the session Sharpe). */
  stepPnl: number[];
  /** Every execution at the replay venue, in order (YES-leg side and price; the venue's time). */
  executions: Execution[];
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
  /** Share of steps per action name. */
  actionDistribution: Record<string, number>;
}

export interface EvaluationReport {
  policy: EvaluationSummary;
  baselines: { hold: EvaluationSummary; rule: EvaluationSummary };
}

function sharpe(values: number[]): number {
  if (values.length < 2) return 0;
  let mean = 0;
  for (const v of values) mean += v;
  mean /= values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  const std = Math.sqrt(sq / (values.length - 1));
  return std > 0 ? mean / std : 0;
}

async function runEpisodes(actor: PolicyActor, timelines: CompiledTimeline[], config: Partial<MarketEnvConfig>): Promise<EvaluationSummary> {
  const env = new MarketEnv(timelines, { ...config, start: 'beginning', maxEpisodeSteps: 0 });
  const names = actionNames(env.config.actions);
  const mask = new Uint8Array(env.actionCount);
  const episodes: EpisodeResult[] = [];
  for (let t = 0; t < env.timelines.length; t++) {
    let obs = env.reset(0, { timeline: t });
    const start = env.portfolioValue();
    let peak = start;
    let drawdown = 0;
    const stepPnl: number[] = [];
    const executions: Execution[] = [];
    env.venue.onFill = (f) => executions.push({ tsMs: env.venueTimeMs, side: f.side, price: f.price, count: f.count, fee: f.fee, taker: f.taker });
    const counts = new Array<number>(env.actionCount).fill(0);
    for (;;) {
      const action = await actor.act(obs, env.actionMask(mask));
      counts[action]++;
      const result = env.step(action);
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
  const totalCounts = new Array<number>(names.length).fill(0);
  let steps = 0;
  for (const e of episodes) {
    for (let a = 0; a < names.length; a++) totalCounts[a] += e.actionCounts[a];
    steps += e.steps;
  }
  return {
    name: actor.name,
    episodes,
    netPnl: episodes.reduce((s, e) => s + e.netPnl, 0),
    sharpeBySession: Object.fromEntries([...bySession].map(([k, v]) => [k, sharpe(v)])),
    maxDrawdown: episodes.reduce((m, e) => Math.max(m, e.maxDrawdown), 0),
    trades: episodes.reduce((s, e) => s + e.fills, 0),
    fees: episodes.reduce((s, e) => s + e.fees, 0),
    actionDistribution: Object.fromEntries(names.map((n, a) => [n, steps > 0 ? totalCounts[a] / steps : 0])),
  };
}

function compiled(timelines: ReadonlyArray<MarketTimeline | CompiledTimeline>): CompiledTimeline[] {
  return timelines.map((t) => ('kind' in t ? t : compileTimeline(t)));
}

/**
 * Runs the model greedily (masked argmax) over every timeline once, and the HOLD and rule
 * baselines over the same timelines. `config` must describe the action space the model was
 * trained with (its ONNX metadata says which).
 */
export async function evaluatePolicy(
  model: PolicyActor | ActorCritic | OnnxPolicy,
  timelines: ReadonlyArray<MarketTimeline | CompiledTimeline>,
  config: Partial<MarketEnvConfig> = {},
): Promise<EvaluationReport> {
  const list = compiled(timelines);
  let envConfig = config;
  if (model instanceof OnnxPolicy && !config.actions) envConfig = { ...config, actions: model.contract.actionSpace };
  const space = new MarketEnv(list, envConfig).config.actions;
  return {
    policy: await runEpisodes(actorOf(model), list, envConfig),
    baselines: {
      hold: await runEpisodes(holdActor, list, envConfig),
      rule: await runEpisodes(ruleActor(space), list, envConfig),
    },
  };
}

export interface FeatureTable {
  columns: string[];
  /** One row per decision tick: last event index applied, decision time (ms), then the 52 features. */
  rows: number[][];
}

/** The observation at every step of a timeline (agent holding, flat), for inspection or CSV. */
export function featuresTable(timeline: MarketTimeline | CompiledTimeline, config: Partial<MarketEnvConfig> = {}): FeatureTable {
  const env = new MarketEnv([timeline], { ...config, start: 'beginning', maxEpisodeSteps: 0 });
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
