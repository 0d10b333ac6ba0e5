/**
 * PPO (Schulman et al. 2017) as Stable-Baselines3 implements it: rollouts of nSteps × nEnvs,
 * GAE(λ) advantages, nEpochs passes of shuffled minibatches over the clipped surrogate + value
 * loss − entropy bonus, Adam with global gradient-norm clipping, optional linear schedules.
 *
 * Parallelism: `workers` rollout shards run in worker threads, each with nEnvs / workers
 * environments. Each minibatch is split across the shards (each differentiates its own samples);
 * the trainer averages the gradients (weighted by sample count), clips, and steps Adam. With
 * `workers: 0` one in-process shard does everything (tests, small jobs). Results depend only on
 * the seed and the worker count, never on thread timing. `backend: 'onnxruntime'` runs each
 * minibatch's forward/backward passes as ONNX graphs of the same math (see ort-backend.ts).
 */
import { z } from 'zod';
import { Adam } from './adam.ts';
import type { AdamStateJson } from './adam.ts';
import type { LossStats, PpoCoefficients } from './loss.ts';
import { ActorCritic } from './policy.ts';
import type { PolicyShape } from './policy.ts';
import { LocalShardClient, WorkerShardClient } from './shard-client.ts';
import type { ShardClient } from './shard-client.ts';
import type { ShardConfig } from './rollout.ts';
import { createEnvironment } from '../environments.ts';
import type { EnvSpec } from '../environments.ts';

export const ppoConfigSchema = z
  .object({
    learningRate: z.number().positive(),
    lrSchedule: z.enum(['constant', 'linear']),
    /** Steps per environment per rollout. */
    nSteps: z.number().int().positive(),
    /** Environments in total (split across workers). */
    nEnvs: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    nEpochs: z.number().int().positive(),
    /** Discount per unit of the environment's `elapsed` (per second of market time; per step without it). */
    gamma: z.number().min(0).max(1),
    /** GAE's λ, per the same unit. */
    gaeLambda: z.number().min(0).max(1),
    clipRange: z.number().positive(),
    clipSchedule: z.enum(['constant', 'linear']),
    entCoef: z.number().min(0),
    vfCoef: z.number().min(0),
    maxGradNorm: z.number().positive(),
    normalizeAdvantages: z.boolean(),
    /** Stop an update's epochs early when the approximate KL exceeds 1.5 × this (SB3's target_kl). */
    targetKl: z.number().positive().nullable(),
    hidden: z.array(z.number().int().positive()).min(1),
    /** A tanh trunk shared by the policy and value heads, or two separate networks (SB3's MlpPolicy). */
    architecture: z.enum(['shared', 'separate']),
    /**
     * Who runs the update's forward/backward passes: our JS kernels (the reference), or the same
     * math as ONNX graphs in onnxruntime (about 10× faster per minibatch).
     */
    backend: z.enum(['js', 'onnxruntime']),
    /** Worker threads (0 = in-process). */
    workers: z.number().int().min(0).max(64),
    seed: z.number().int(),
  })
  .strict();

export type PpoConfig = z.infer<typeof ppoConfigSchema>;

export const DEFAULT_PPO_CONFIG: PpoConfig = Object.freeze({
  learningRate: 3e-4,
  lrSchedule: 'constant',
  nSteps: 512,
  nEnvs: 4,
  batchSize: 256,
  nEpochs: 10,
  gamma: 0.99,
  gaeLambda: 0.95,
  clipRange: 0.2,
  clipSchedule: 'constant',
  entCoef: 0.01,
  vfCoef: 0.5,
  maxGradNorm: 0.5,
  normalizeAdvantages: true,
  targetKl: null,
  hidden: [64, 64],
  architecture: 'shared',
  backend: 'js',
  workers: 0,
  seed: 1,
}) as PpoConfig;

export function resolvePpoConfig(partial: Partial<PpoConfig> = {}): PpoConfig {
  const merged = { ...DEFAULT_PPO_CONFIG, ...partial };
  const parsed = ppoConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RangeError(`PPO config: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  const config = parsed.data;
  const shards = Math.max(1, config.workers);
  if (config.nEnvs % shards !== 0) throw new RangeError(`PPO config: nEnvs (${config.nEnvs}) must be a multiple of workers (${shards})`);
  const batch = config.nSteps * config.nEnvs;
  if (config.batchSize > batch) throw new RangeError(`PPO config: batchSize ${config.batchSize} exceeds the rollout size ${batch}`);
  return config;
}

export interface IterationStats {
  iteration: number;
  stepsDone: number;
  /** Episodes finished during this iteration. */
  episodes: number;
  /** Mean return / length of the last ≤ 100 finished episodes. */
  meanReturn: number;
  meanLength: number;
  learningRate: number;
  clipRange: number;
  loss: LossStats;
  gradNorm: number;
  /** Epochs run (fewer than nEpochs when the KL target stopped the update). */
  epochs: number;
  collectMs: number;
  updateMs: number;
}

export interface TrainerState {
  policy?: ActorCritic;
  adam?: AdamStateJson;
  stepsDone?: number;
  iteration?: number;
}

export class PpoTrainer {
  readonly config: PpoConfig;
  readonly policy: ActorCritic;
  readonly adam: Adam;
  stepsDone: number;
  iteration: number;
  private readonly shards: ShardClient[];
  private readonly recentReturns: number[] = [];
  private readonly recentLengths: number[] = [];

  private constructor(config: PpoConfig, policy: ActorCritic, shards: ShardClient[], state: TrainerState) {
    this.config = config;
    this.policy = policy;
    this.shards = shards;
    this.adam = new Adam(policy.parameterCount);
    if (state.adam) this.adam.load(state.adam);
    this.stepsDone = state.stepsDone ?? 0;
    this.iteration = state.iteration ?? 0;
  }

  /** Builds the policy (or takes the resumed one) and starts the shards. */
  static async create(envSpec: EnvSpec, partial: Partial<PpoConfig> = {}, state: TrainerState = {}): Promise<PpoTrainer> {
    const config = resolvePpoConfig(partial);
    const probe = createEnvironment(envSpec);
    const shape: PolicyShape = {
      observationSize: probe.observationSize,
      actionCount: probe.actionCount,
      hidden: config.hidden,
      architecture: config.architecture,
    };
    let policy: ActorCritic;
    if (state.policy) {
      const s = state.policy.shape;
      if (s.observationSize !== shape.observationSize || s.actionCount !== shape.actionCount) {
        throw new RangeError(
          `resumed policy is ${s.observationSize} obs × ${s.actionCount} actions, the environment is ${shape.observationSize} × ${shape.actionCount}`,
        );
      }
      if (s.hidden.join(',') !== shape.hidden.join(',') || (s.architecture ?? 'shared') !== shape.architecture) {
        throw new RangeError(`resumed policy is ${s.architecture ?? 'shared'} [${s.hidden}], the configuration asks for ${shape.architecture} [${shape.hidden}]`);
      }
      policy = state.policy;
    } else {
      policy = ActorCritic.create(shape, config.seed);
    }
    const shardCount = Math.max(1, config.workers);
    // resumed runs draw new samples: offset the shard seeds by the iteration
    const seedBase = config.seed + 1_000_003 * (state.iteration ?? 0);
    const shardConfigs: ShardConfig[] = Array.from({ length: shardCount }, (_, k) => ({
      envSpec,
      envs: config.nEnvs / shardCount,
      nSteps: config.nSteps,
      gamma: config.gamma,
      gaeLambda: config.gaeLambda,
      seed: (seedBase + 7_777 * (k + 1)) | 0,
      shape: policy.shape,
      backend: config.backend,
    }));
    const shards: ShardClient[] = [];
    try {
      if (config.workers === 0) shards.push(new LocalShardClient(shardConfigs[0]));
      else shards.push(...(await Promise.all(shardConfigs.map((c) => WorkerShardClient.start(c)))));
    } catch (error) {
      await Promise.all(shards.map((s) => s.close()));
      throw error;
    }
    return new PpoTrainer(config, policy, shards, state);
  }

  get rolloutSize(): number {
    return this.config.nSteps * this.config.nEnvs;
  }

  /** One rollout + update. `progressRemaining` (1 → 0) drives the linear schedules. */
  async iterate(progressRemaining = 1): Promise<IterationStats> {
    const config = this.config;
    const t0 = performance.now();
    const params = new Float32Array(this.policy.params);
    const collected = await Promise.all(this.shards.map((s) => s.collect(params)));
    const t1 = performance.now();
    let episodes = 0;
    for (const c of collected) {
      this.stepsDone += c.steps;
      episodes += c.episodeReturns.length;
      for (let i = 0; i < c.episodeReturns.length; i++) {
        this.recentReturns.push(c.episodeReturns[i]);
        this.recentLengths.push(c.episodeLengths[i]);
      }
    }
    if (this.recentReturns.length > 100) this.recentReturns.splice(0, this.recentReturns.length - 100);
    if (this.recentLengths.length > 100) this.recentLengths.splice(0, this.recentLengths.length - 100);

    const remaining = Math.min(1, Math.max(0, progressRemaining));
    const learningRate = config.lrSchedule === 'linear' ? config.learningRate * remaining : config.learningRate;
    const clipRange = config.clipSchedule === 'linear' ? Math.max(1e-3, config.clipRange * remaining) : config.clipRange;
    const coef: PpoCoefficients = {
      clipRange,
      entCoef: config.entCoef,
      vfCoef: config.vfCoef,
      normalizeAdvantages: config.normalizeAdvantages,
    };
    const minibatches = Math.max(1, Math.floor(this.rolloutSize / config.batchSize));
    const totals: LossStats = { loss: 0, policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0 };
    let updates = 0;
    let gradNorm = 0;
    let epochsRun = 0;
    const combined = new Float64Array(this.policy.parameterCount);
    for (let epoch = 0; epoch < config.nEpochs; epoch++) {
      const globalEpoch = this.iteration * config.nEpochs + epoch;
      let epochKl = 0;
      let epochBatches = 0;
      for (let mb = 0; mb < minibatches; mb++) {
        const snapshot = new Float32Array(this.policy.params);
        const results = await Promise.all(this.shards.map((s) => s.gradient(snapshot, globalEpoch, mb, minibatches, coef)));
        let count = 0;
        for (const r of results) count += r.count;
        combined.fill(0);
        const stats: LossStats = { loss: 0, policyLoss: 0, valueLoss: 0, entropy: 0, approxKl: 0, clipFraction: 0 };
        for (const r of results) {
          const w = r.count / count;
          const g = r.grad;
          for (let i = 0; i < combined.length; i++) combined[i] += w * g[i];
          for (const key of Object.keys(stats) as Array<keyof LossStats>) stats[key] += w * r.stats[key];
        }
        gradNorm = this.adam.update(this.policy.params, combined, learningRate, config.maxGradNorm);
        this.policy.syncWeights();
        for (const key of Object.keys(totals) as Array<keyof LossStats>) totals[key] += stats[key];
        updates++;
        epochKl += stats.approxKl;
        epochBatches++;
      }
      epochsRun++;
      if (config.targetKl !== null && epochKl / epochBatches > 1.5 * config.targetKl) break;
    }
    for (const key of Object.keys(totals) as Array<keyof LossStats>) totals[key] /= Math.max(1, updates);
    this.iteration++;
    const t2 = performance.now();
    return {
      iteration: this.iteration,
      stepsDone: this.stepsDone,
      episodes,
      meanReturn: mean(this.recentReturns),
      meanLength: mean(this.recentLengths),
      learningRate,
      clipRange,
      loss: totals,
      gradNorm,
      epochs: epochsRun,
      collectMs: t1 - t0,
      updateMs: t2 - t1,
    };
  }

  /**
   * Iterates until `totalSteps` environment steps have been taken (counting resumed ones).
   * `onIteration` may return false to stop early.
   */
  async train(totalSteps: number, onIteration?: (stats: IterationStats) => boolean | void | Promise<boolean | void>): Promise<void> {
    while (this.stepsDone < totalSteps) {
      const stats = await this.iterate(1 - this.stepsDone / totalSteps);
      if ((await onIteration?.(stats)) === false) break;
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.shards.map((s) => s.close()));
  }
}

function mean(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}
