/**
 * A rollout shard: a few environments, the samples they produced with the current policy, and the
 * PPO gradient over minibatches of those samples. The trainer runs one shard per worker thread
 * (data-parallel: each shard collects and differentiates its own part of every minibatch, the
 * trainer averages) or one in-process shard; the code is the same.
 *
 * Samples are time-major (index = t·E + e). Episodes continue across rollouts (as SB3); a
 * truncated episode is bootstrapped with γ·V(last obs) added to its last reward.
 *
 * Discounting follows the environment's clock: a step that reports `elapsed` (the market
 * environment: seconds of market time between two decision ticks) is discounted by γ^elapsed and
 * its GAE trace by (γλ)^elapsed, so γ and λ are per second there; without it, per step.
 */
import { Rng } from '../../core/random.ts';
import { createEnvironment } from '../environments.ts';
import type { EnvSpec } from '../environments.ts';
import type { Environment } from '../types.ts';
import { ppoLoss, ppoLossOrt, LossScratch } from './loss.ts';
import { OrtBackend } from './ort-backend.ts';
import type { LossStats, PpoCoefficients, SampleSet } from './loss.ts';
import { ActorCritic, sampleMasked } from './policy.ts';
import type { PolicyShape } from './policy.ts';

export interface ShardConfig {
  envSpec: EnvSpec;
  /** Environments in this shard. */
  envs: number;
  /** Steps per environment per rollout. */
  nSteps: number;
  gamma: number;
  gaeLambda: number;
  seed: number;
  shape: PolicyShape;
  /** Who runs the update's forward/backward passes: our JS kernels, or onnxruntime (same math). */
  backend?: 'js' | 'onnxruntime';
}

export interface CollectStats {
  steps: number;
  /** Returns and lengths of the episodes that ended during this rollout. */
  episodeReturns: number[];
  episodeLengths: number[];
}

export interface GradientResult {
  grad: Float64Array;
  count: number;
  stats: LossStats;
}

/** A rollout's per-step columns (time-major, index = t·E + e) that GAE reads. */
export interface RolloutColumns {
  rewards: ArrayLike<number>;
  values: ArrayLike<number>;
  /** γ^elapsed of each step. */
  discounts: ArrayLike<number>;
  /** λ^elapsed of each step. */
  lambdas: ArrayLike<number>;
  /** 1 when the sample is the first of an episode. */
  episodeStarts: ArrayLike<number>;
}

/**
 * GAE(λ) with a discount per step: δₜ = rₜ + γₜ·V(sₜ₊₁)·(1 − doneₜ) − V(sₜ) and
 * Aₜ = δₜ + γₜλₜ·(1 − doneₜ)·Aₜ₊₁, returns = A + V. `lastValues` / `lastStarts` describe the
 * observation after the rollout's last step of each environment.
 */
export function generalizedAdvantages(
  c: RolloutColumns,
  lastValues: ArrayLike<number>,
  lastStarts: ArrayLike<number>,
  E: number,
  T: number,
  advantages: Float32Array,
  returns: Float32Array,
): void {
  for (let e = 0; e < E; e++) {
    let lastGae = 0;
    for (let t = T - 1; t >= 0; t--) {
      const i = t * E + e;
      let nextNonTerminal: number;
      let nextValue: number;
      if (t === T - 1) {
        nextNonTerminal = 1 - lastStarts[e];
        nextValue = lastValues[e];
      } else {
        nextNonTerminal = 1 - c.episodeStarts[i + E];
        nextValue = c.values[i + E];
      }
      const discount = c.discounts[i];
      const delta = c.rewards[i] + discount * nextValue * nextNonTerminal - c.values[i];
      lastGae = delta + discount * c.lambdas[i] * nextNonTerminal * lastGae;
      advantages[i] = lastGae;
      returns[i] = lastGae + c.values[i];
    }
  }
}

export class RolloutShard {
  readonly config: ShardConfig;
  readonly policy: ActorCritic;
  private readonly envs: Environment[];
  private readonly rng: Rng;
  private readonly samples: SampleSet;
  private readonly values: Float32Array;
  private readonly rewards: Float32Array;
  /** γ^elapsed and λ^elapsed of each step. */
  private readonly discounts: Float32Array;
  private readonly lambdas: Float32Array;
  /** 1 when the sample is the first of an episode. */
  private readonly episodeStarts: Uint8Array;
  private readonly lastObs: Float32Array;
  private readonly lastStarts: Uint8Array;
  private readonly batchObs: Float32Array;
  private readonly batchMask: Uint8Array | null;
  private readonly logProbScratch: Float64Array;
  private readonly runningReturn: Float64Array;
  private readonly runningLength: Int32Array;
  private readonly order: Int32Array;
  private readonly scratch = new LossScratch();
  private grad: Float64Array;
  private ort: OrtBackend | null = null;

  constructor(config: ShardConfig) {
    this.config = config;
    const E = config.envs;
    const T = config.nSteps;
    this.envs = Array.from({ length: E }, () => createEnvironment(config.envSpec));
    const D = this.envs[0].observationSize;
    const A = this.envs[0].actionCount;
    if (D !== config.shape.observationSize || A !== config.shape.actionCount) {
      throw new RangeError(`environment is ${D} obs × ${A} actions, policy is ${config.shape.observationSize} × ${config.shape.actionCount}`);
    }
    this.policy = new ActorCritic(config.shape);
    this.rng = new Rng(config.seed);
    const n = T * E;
    const masked = typeof this.envs[0].actionMask === 'function';
    this.samples = {
      observationSize: D,
      actionCount: A,
      obs: new Float32Array(n * D),
      actions: new Int32Array(n),
      logProbs: new Float32Array(n),
      advantages: new Float32Array(n),
      returns: new Float32Array(n),
      masks: masked ? new Uint8Array(n * A) : null,
    };
    this.values = new Float32Array(n);
    this.rewards = new Float32Array(n);
    this.discounts = new Float32Array(n);
    this.lambdas = new Float32Array(n);
    this.episodeStarts = new Uint8Array(n);
    this.lastObs = new Float32Array(E * D);
    this.lastStarts = new Uint8Array(E).fill(1);
    this.batchObs = new Float32Array(E * D);
    this.batchMask = masked ? new Uint8Array(E * A) : null;
    this.logProbScratch = new Float64Array(A);
    this.runningReturn = new Float64Array(E);
    this.runningLength = new Int32Array(E);
    this.order = new Int32Array(n);
    for (let i = 0; i < n; i++) this.order[i] = i;
    this.grad = new Float64Array(this.policy.parameterCount);
    for (let e = 0; e < E; e++) {
      const obs = this.envs[e].reset((config.seed * 7919 + e * 104_729) | 0);
      this.lastObs.set(obs, e * D);
    }
  }

  get sampleCount(): number {
    return this.config.nSteps * this.config.envs;
  }

  /** Runs nSteps in every environment with `params`, then computes advantages and returns (GAE). */
  collect(params: Float32Array): CollectStats {
    const policy = this.policy;
    policy.setParams(params);
    const { envs: E, nSteps: T, gamma, gaeLambda } = this.config;
    const D = this.samples.observationSize;
    const A = this.samples.actionCount;
    const s = this.samples;
    const stats: CollectStats = { steps: T * E, episodeReturns: [], episodeLengths: [] };
    const obsBuf = this.batchObs;
    const maskBuf = this.batchMask;
    for (let t = 0; t < T; t++) {
      obsBuf.set(this.lastObs);
      if (maskBuf) for (let e = 0; e < E; e++) this.envs[e].actionMask!(maskBuf.subarray(e * A, e * A + A));
      const { logits, values } = policy.forward(obsBuf, E);
      for (let e = 0; e < E; e++) {
        const i = t * E + e;
        const action = sampleMasked(logits, e * A, A, maskBuf ?? undefined, e * A, this.rng, this.logProbScratch);
        s.obs.set(obsBuf.subarray(e * D, e * D + D), i * D);
        if (s.masks && maskBuf) s.masks.set(maskBuf.subarray(e * A, e * A + A), i * A);
        s.actions[i] = action;
        s.logProbs[i] = this.logProbScratch[action];
        this.values[i] = values[e];
        this.episodeStarts[i] = this.lastStarts[e];
      }
      for (let e = 0; e < E; e++) {
        const i = t * E + e;
        const env = this.envs[e];
        const result = env.step(s.actions[i]);
        let reward = result.reward;
        this.runningReturn[e] += result.reward;
        this.runningLength[e]++;
        const elapsed = result.elapsed ?? 1;
        const discount = elapsed === 1 ? gamma : Math.pow(gamma, elapsed);
        this.discounts[i] = discount;
        this.lambdas[i] = elapsed === 1 ? gaeLambda : Math.pow(gaeLambda, elapsed);
        if (result.truncated && !result.terminated) {
          // time limit, not a real end: bootstrap with the value of where it stopped
          reward += discount * policy.values(result.obs, 1)[0];
        }
        this.rewards[i] = reward;
        if (result.terminated || result.truncated) {
          stats.episodeReturns.push(this.runningReturn[e]);
          stats.episodeLengths.push(this.runningLength[e]);
          this.runningReturn[e] = 0;
          this.runningLength[e] = 0;
          this.lastObs.set(env.reset(), e * D);
          this.lastStarts[e] = 1;
        } else {
          this.lastObs.set(result.obs, e * D);
          this.lastStarts[e] = 0;
        }
      }
    }
    this.computeAdvantages();
    return stats;
  }

  private computeAdvantages(): void {
    const { envs: E, nSteps: T } = this.config;
    generalizedAdvantages(
      { rewards: this.rewards, values: this.values, discounts: this.discounts, lambdas: this.lambdas, episodeStarts: this.episodeStarts },
      this.policy.values(this.lastObs, E),
      this.lastStarts,
      E,
      T,
      this.samples.advantages,
      this.samples.returns,
    );
  }

  /**
   * Gradient of the PPO loss over this shard's part of minibatch `minibatch` (of `minibatches`)
   * in `epoch`; the samples are reshuffled at the start of each epoch. The returned buffer is
   * fresh (transferable).
   */
  async gradient(params: Float32Array, epoch: number, minibatch: number, minibatches: number, coef: PpoCoefficients): Promise<GradientResult> {
    this.policy.setParams(params);
    const n = this.sampleCount;
    if (minibatch === 0) this.shuffle(epoch);
    const from = Math.floor((minibatch * n) / minibatches);
    const to = Math.floor(((minibatch + 1) * n) / minibatches);
    const grad = this.grad;
    grad.fill(0);
    const indices = this.order.subarray(from, to);
    let stats: LossStats;
    if (this.config.backend === 'onnxruntime') {
      this.ort ??= await OrtBackend.create(this.policy);
      stats = await ppoLossOrt(this.ort, this.samples, indices, to - from, coef, grad, this.scratch);
    } else {
      stats = ppoLoss(this.policy, this.samples, indices, to - from, coef, grad, this.scratch);
    }
    // hand the buffer over and start a new one next time (it may be transferred to another thread)
    this.grad = new Float64Array(this.policy.parameterCount);
    return { grad, count: to - from, stats };
  }

  async close(): Promise<void> {
    await this.ort?.release();
    this.ort = null;
  }

  private shuffle(epoch: number): void {
    const order = this.order;
    const rng = new Rng((this.config.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) | 0);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(0, i);
      const tmp = order[i];
      order[i] = order[j];
      order[j] = tmp;
    }
  }
}
