/**
 * `trainPolicy`: PPO on market timelines, end to end — optional curriculum, periodic checkpoints
 * (JSON: policy weights + Adam state + progress) and resume, ONNX export of the result. Training
 * reads only the preloaded timelines it is given (never a live stream, never the database in a
 * step); the CLI loads recorded sessions and passes them in.
 *
 * Validation (`validation`): every `validateEvery` steps the current policy runs greedily over the
 * validation timelines (whole markets, as `eval` runs them) and the one with the best mean net
 * P&L per episode is kept: the exported model is that best checkpoint, not the last iterate.
 *
 * Curricula (`curriculum`):
 * - `none`: every timeline from the start, a random one per episode;
 * - `easy-first`: timelines ordered by difficulty (mean spread, then event-to-event mid
 *   volatility); three phases train on the easiest third, two thirds, then all;
 * - `per-market`: the original's: one market at a time, longest first, steps shared in proportion
 *   to each market's length.
 */
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { OBS_VERSION } from '../core/features.ts';
import { actionNames } from '../core/features/actions.ts';
import { ONE_DOLLAR } from '../core/money.ts';
import { OrderBook } from '../core/orderbook.ts';
import { adamStateSchema } from './ppo/adam.ts';
import { ActorCritic, policyFromJson, policyJsonSchema, policyToJson } from './ppo/policy.ts';
import { PpoTrainer, resolvePpoConfig } from './ppo/trainer.ts';
import type { IterationStats, PpoConfig } from './ppo/trainer.ts';
import { resolveMarketEnvConfig } from './env.ts';
import type { MarketEnvConfig } from './env.ts';
import { exportPolicyOnnx } from './export.ts';
import { evaluateActor } from './evaluate.ts';
import { dominantShare } from './statistics.ts';
import { EVENT_DELTA, EVENT_GAP, EVENT_SNAPSHOT, SIDE_YES, compileTimeline, playableSteps } from './timeline.ts';
import type { CompiledTimeline, MarketTimeline } from './timeline.ts';

export type Curriculum = 'none' | 'easy-first' | 'per-market';

export interface TrainProgress {
  phase: number;
  phases: number;
  iteration: number;
  stepsDone: number;
  totalSteps: number;
  meanReturn: number;
  meanLength: number;
  entropy: number;
  approxKl: number;
  /** Environment steps per second over the last iteration (collection + update). */
  stepsPerSecond: number;
  /** Set when this iteration wrote a checkpoint. */
  checkpoint?: string;
  /** Set when this iteration was validated: mean net P&L per validation episode (dollars). */
  validation?: ValidationPoint;
  /** The best validation so far. */
  bestValidation?: ValidationPoint;
}

export interface ValidationPoint {
  iteration: number;
  stepsDone: number;
  /** Mean net P&L per validation episode, dollars, after fees. */
  meanPnl: number;
  /** Share of steps of the most frequent action (≥ 0.99: collapsed). */
  dominantShare: number;
}

export interface TrainPolicyOptions {
  /** Market timelines (one episode = one timeline). */
  timelines?: ReadonlyArray<MarketTimeline | CompiledTimeline>;
  /** Or whole sessions, each a list of market timelines. */
  sessions?: ReadonlyArray<ReadonlyArray<MarketTimeline | CompiledTimeline>>;
  curriculum?: Curriculum;
  /** Total environment steps (resumed steps count). */
  steps: number;
  /** Where the ONNX model is written at the end. */
  out: string;
  checkpointDir?: string;
  /** Steps between checkpoints (default: about 10 per run, at least one rollout apart). */
  checkpointEvery?: number;
  /** Checkpoints kept (default 3). */
  keepCheckpoints?: number;
  /** A checkpoint file, or a folder (its newest checkpoint). */
  resumeFrom?: string;
  /** Timelines with fewer playable steps are skipped (default 10, as the original). */
  minEpisodeSteps?: number;
  env?: Partial<MarketEnvConfig>;
  ppo?: Partial<PpoConfig>;
  /** Held-out timelines for best-checkpoint selection (whole markets, greedy). */
  validation?: ReadonlyArray<MarketTimeline | CompiledTimeline>;
  /** Steps between validations (default: about 20 per run, at least one rollout apart). */
  validateEvery?: number;
  /** Stop after this much wall-clock time (ms), whatever `steps` says; the result is exported as at the end. */
  timeLimitMs?: number;
  modelVersion?: string;
  onProgress?: (progress: TrainProgress) => void | Promise<void>;
}

export interface TrainPolicyResult {
  policy: ActorCritic;
  stepsDone: number;
  iterations: number;
  out: string;
  checkpoints: string[];
  /** The last iteration's statistics (null when nothing was left to train). */
  last: IterationStats | null;
  /** Every validation, in order (empty without validation timelines). */
  validations: ValidationPoint[];
  /** The validation whose policy was exported (null without validation: the last iterate was). */
  best: ValidationPoint | null;
  /** True when `timeLimitMs` ended training before `steps`. */
  timedOut: boolean;
}

export class TrainingError extends Error {
  override readonly name = 'TrainingError';
}

const checkpointSchema = z.object({
  format: z.literal('kalshiflow-checkpoint'),
  version: z.literal(1),
  obsVersion: z.string(),
  createdAt: z.string(),
  stepsDone: z.number().int().nonnegative(),
  iteration: z.number().int().nonnegative(),
  totalSteps: z.number().int().positive(),
  curriculum: z.enum(['none', 'easy-first', 'per-market']),
  actions: z.array(z.string()),
  ppo: z.record(z.string(), z.unknown()),
  env: z.record(z.string(), z.unknown()),
  policy: policyJsonSchema,
  adam: adamStateSchema,
});

export type Checkpoint = z.infer<typeof checkpointSchema>;

/** Mean spread (Price) and mean |Δ mid| (Price) over a timeline: its difficulty for `easy-first`. */
export function timelineDifficulty(t: CompiledTimeline): { spread: number; volatility: number } {
  const book = new OrderBook(t.ticker);
  let valid = false;
  let spreadSum = 0;
  let spreadN = 0;
  let moveSum = 0;
  let lastMid: number | null = null;
  for (let i = 0; i < t.length; i++) {
    try {
      if (t.kind[i] === EVENT_SNAPSHOT) {
        const s = t.snapshots[t.price[i]];
        book.applySnapshot(s.yes, s.no);
        valid = true;
      } else if (t.kind[i] === EVENT_DELTA && valid) {
        book.applyDelta(t.side[i] === SIDE_YES ? 'yes' : 'no', t.price[i], t.amount[i]);
      } else if (t.kind[i] === EVENT_GAP) {
        valid = false;
      }
    } catch {
      valid = false;
    }
    if (!valid) continue;
    const spread = book.spread();
    const mid = book.mid();
    if (spread !== null) {
      spreadSum += spread;
      spreadN++;
    }
    if (mid !== null) {
      if (lastMid !== null) moveSum += Math.abs(mid - lastMid);
      lastMid = mid;
    }
  }
  return { spread: spreadN ? spreadSum / spreadN : ONE_DOLLAR, volatility: spreadN ? moveSum / spreadN : 0 };
}

interface Phase {
  timelines: CompiledTimeline[];
  /** Cumulative step count at which this phase ends. */
  untilSteps: number;
}

function planPhases(timelines: CompiledTimeline[], curriculum: Curriculum, totalSteps: number): Phase[] {
  if (curriculum === 'none' || timelines.length === 1) return [{ timelines, untilSteps: totalSteps }];
  if (curriculum === 'easy-first') {
    const scored = timelines.map((t) => ({ t, d: timelineDifficulty(t) }));
    scored.sort((a, b) => a.d.spread - b.d.spread || a.d.volatility - b.d.volatility);
    const ordered = scored.map((s) => s.t);
    const n = ordered.length;
    const cuts = [Math.max(1, Math.ceil(n / 3)), Math.max(1, Math.ceil((2 * n) / 3)), n];
    return cuts.map((c, i) => ({ timelines: ordered.slice(0, c), untilSteps: Math.round((totalSteps * (i + 1)) / 3) }));
  }
  const ordered = [...timelines].sort((a, b) => playableSteps(b) - playableSteps(a));
  const weights = ordered.map((t) => playableSteps(t));
  const total = weights.reduce((s, w) => s + w, 0);
  let cumulative = 0;
  return ordered.map((t, i) => {
    cumulative += weights[i];
    return { timelines: [t], untilSteps: i === ordered.length - 1 ? totalSteps : Math.round((totalSteps * cumulative) / total) };
  });
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(value));
  await rename(tmp, path);
}

/** Reads a checkpoint file, or the newest `checkpoint-*.json` of a folder. Throws TrainingError. */
export async function readCheckpoint(path: string): Promise<{ path: string; checkpoint: Checkpoint }> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) {
      const names = (await readdir(path)).filter((n) => /^checkpoint-\d+\.json$/.test(n)).sort();
      if (names.length === 0) throw new TrainingError(`no checkpoint-*.json in ${path}`);
      file = join(path, names[names.length - 1]);
    }
  } catch (error) {
    if (error instanceof TrainingError) throw error;
    throw new TrainingError(`cannot read checkpoint ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new TrainingError(`checkpoint ${file} is not readable JSON: ${(error as Error).message}`);
  }
  const parsed = checkpointSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrainingError(`checkpoint ${file} is invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  if (parsed.data.obsVersion !== OBS_VERSION) {
    throw new TrainingError(`checkpoint ${file} was trained on ${parsed.data.obsVersion}, this build computes ${OBS_VERSION}`);
  }
  return { path: file, checkpoint: parsed.data };
}

export async function trainPolicy(options: TrainPolicyOptions): Promise<TrainPolicyResult> {
  if (!Number.isInteger(options.steps) || options.steps <= 0) throw new TrainingError(`steps must be a positive integer, got ${options.steps}`);
  const minSteps = options.minEpisodeSteps ?? 10;
  const all = [...(options.timelines ?? []), ...(options.sessions ?? []).flat()].map((t) => ('kind' in t ? t : compileTimeline(t)));
  const timelines = all.filter((t) => playableSteps(t) >= minSteps);
  if (timelines.length === 0) {
    throw new TrainingError(`no timeline has at least ${minSteps} playable steps (given ${all.length})`);
  }
  const curriculum = options.curriculum ?? 'none';
  const envConfig = resolveMarketEnvConfig(options.env ?? {});
  const ppoConfig = resolvePpoConfig(options.ppo ?? {});
  const names = actionNames(envConfig.actions);

  let policy: ActorCritic | undefined;
  let adam: z.infer<typeof adamStateSchema> | undefined;
  let stepsDone = 0;
  let iteration = 0;
  if (options.resumeFrom) {
    const { path, checkpoint } = await readCheckpoint(options.resumeFrom);
    if (checkpoint.actions.join(',') !== names.join(',')) {
      throw new TrainingError(`checkpoint ${path} has actions ${checkpoint.actions.join(',')}, this run ${names.join(',')}`);
    }
    policy = policyFromJson(checkpoint.policy);
    if (policy.shape.hidden.join(',') !== ppoConfig.hidden.join(',') || policy.shape.architecture !== ppoConfig.architecture) {
      throw new TrainingError(
        `checkpoint ${path} has a ${policy.shape.architecture} network [${policy.shape.hidden}], this run ${ppoConfig.architecture} [${ppoConfig.hidden}]`,
      );
    }
    adam = checkpoint.adam;
    stepsDone = checkpoint.stepsDone;
    iteration = checkpoint.iteration;
  }

  const phases = planPhases(timelines, curriculum, options.steps);
  const rollout = ppoConfig.nSteps * ppoConfig.nEnvs;
  const every = Math.max(rollout, options.checkpointEvery ?? Math.ceil(options.steps / 10));
  const keep = Math.max(1, options.keepCheckpoints ?? 3);
  const written: string[] = [];
  if (options.checkpointDir) await mkdir(options.checkpointDir, { recursive: true });
  let lastCheckpointAt = stepsDone;
  let last: IterationStats | null = null;

  const validation = (options.validation ?? []).map((t) => ('kind' in t ? t : compileTimeline(t))).filter((t) => playableSteps(t) > 0);
  const validateEvery = Math.max(rollout, options.validateEvery ?? Math.ceil(options.steps / 20));
  const validations: ValidationPoint[] = [];
  let best: ValidationPoint | null = null;
  let bestParams: Float32Array | null = null;
  let lastValidatedAt = stepsDone;
  const validateNow = async (trainer: PpoTrainer): Promise<ValidationPoint> => {
    const summary = await evaluateActor(trainer.policy, validation, { ...envConfig, start: 'beginning', maxEpisodeSteps: 0, maxEpisodeMs: 0 });
    const counts = new Array<number>(trainer.policy.shape.actionCount).fill(0);
    for (const e of summary.episodes) for (let a = 0; a < counts.length; a++) counts[a] += e.actionCounts[a] ?? 0;
    const point: ValidationPoint = {
      iteration: trainer.iteration,
      stepsDone: trainer.stepsDone,
      meanPnl: summary.netPnl / 1_000_000 / Math.max(1, summary.episodes.length),
      dominantShare: dominantShare(counts),
    };
    validations.push(point);
    if (best === null || point.meanPnl > best.meanPnl) {
      best = point;
      bestParams = new Float32Array(trainer.policy.params);
    }
    return point;
  };

  const saveCheckpoint = async (trainer: PpoTrainer): Promise<string | undefined> => {
    if (!options.checkpointDir) return undefined;
    const checkpoint: Checkpoint = {
      format: 'kalshiflow-checkpoint',
      version: 1,
      obsVersion: OBS_VERSION,
      createdAt: new Date().toISOString(),
      stepsDone: trainer.stepsDone,
      iteration: trainer.iteration,
      totalSteps: options.steps,
      curriculum,
      actions: names,
      ppo: { ...ppoConfig },
      env: { ...envConfig },
      policy: policyToJson(trainer.policy),
      adam: trainer.adam.toJson(),
    };
    const file = join(options.checkpointDir, `checkpoint-${String(trainer.stepsDone).padStart(12, '0')}.json`);
    await writeJsonAtomic(file, checkpoint);
    written.push(file);
    while (written.length > keep) await rm(written.shift()!, { force: true });
    return file;
  };

  const deadline = options.timeLimitMs !== undefined ? performance.now() + options.timeLimitMs : Infinity;
  let timedOut = false;
  for (let p = 0; p < phases.length && !timedOut; p++) {
    const phase = phases[p];
    if (stepsDone >= phase.untilSteps) continue;
    const trainer = await PpoTrainer.create(
      { kind: 'market', timelines: phase.timelines, config: envConfig },
      ppoConfig,
      { policy, adam, stepsDone, iteration },
    );
    try {
      while (trainer.stepsDone < phase.untilSteps) {
        const started = performance.now();
        const before = trainer.stepsDone;
        last = await trainer.iterate(1 - trainer.stepsDone / options.steps);
        let checkpoint: string | undefined;
        if (trainer.stepsDone - lastCheckpointAt >= every || trainer.stepsDone >= options.steps) {
          checkpoint = await saveCheckpoint(trainer);
          lastCheckpointAt = trainer.stepsDone;
        }
        let validated: ValidationPoint | undefined;
        if (validation.length > 0 && (trainer.stepsDone - lastValidatedAt >= validateEvery || trainer.stepsDone >= options.steps)) {
          validated = await validateNow(trainer);
          lastValidatedAt = trainer.stepsDone;
        }
        await options.onProgress?.({
          phase: p + 1,
          phases: phases.length,
          iteration: trainer.iteration,
          stepsDone: trainer.stepsDone,
          totalSteps: options.steps,
          meanReturn: last.meanReturn,
          meanLength: last.meanLength,
          entropy: last.loss.entropy,
          approxKl: last.loss.approxKl,
          stepsPerSecond: ((trainer.stepsDone - before) * 1000) / Math.max(1e-3, performance.now() - started),
          checkpoint,
          ...(validated ? { validation: validated } : {}),
          ...(best ? { bestValidation: best } : {}),
        });
        if (performance.now() >= deadline && trainer.stepsDone < phase.untilSteps) {
          timedOut = true;
          // the last iterate counts for selection too
          if (validation.length > 0 && lastValidatedAt !== trainer.stepsDone) await validateNow(trainer);
          break;
        }
      }
      policy = trainer.policy;
      adam = trainer.adam.toJson();
      stepsDone = trainer.stepsDone;
      iteration = trainer.iteration;
    } finally {
      await trainer.close();
    }
  }
  // resumed at or past the target: the checkpoint's policy is the result
  if (!policy) throw new TrainingError('no policy was trained');
  // with validation, the best-validated policy is the model
  const chosen: ValidationPoint | null = best;
  if (bestParams) {
    policy = new ActorCritic(policy.shape);
    policy.setParams(bestParams);
  }
  await exportPolicyOnnx(policy, options.out, {
    actionSpace: envConfig.actions,
    modelVersion: options.modelVersion,
    extra: {
      trained_steps: String(stepsDone),
      curriculum,
      ...(chosen ? { selected_at_steps: String((chosen as ValidationPoint).stepsDone), validation_mean_pnl: String((chosen as ValidationPoint).meanPnl) } : {}),
    },
  });
  return { policy, stepsDone, iterations: iteration, out: options.out, checkpoints: written, last, validations, best: chosen, timedOut };
}
