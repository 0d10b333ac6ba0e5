/**
 * The PPO objective for one minibatch and its exact gradient: clipped surrogate, value loss
 * (MSE to the GAE returns), entropy bonus — Stable-Baselines3's formulation
 * (loss = pg + ent_coef · (−H) + vf_coef · MSE), with per-minibatch advantage normalization and
 * action masks (invalid actions get zero probability and no gradient).
 */
import type { OrtBackend } from './ort-backend.ts';
import type { ActorCritic } from './policy.ts';

export interface PpoCoefficients {
  clipRange: number;
  entCoef: number;
  vfCoef: number;
  normalizeAdvantages: boolean;
}

/** A rollout's samples (flat, row-major) that a minibatch draws from. */
export interface SampleSet {
  observationSize: number;
  actionCount: number;
  obs: Float32Array;
  actions: Int32Array;
  logProbs: Float32Array;
  advantages: Float32Array;
  returns: Float32Array;
  /** [n × actionCount], 1 = valid; null when every action is always valid. */
  masks: Uint8Array | null;
}

export interface LossStats {
  loss: number;
  policyLoss: number;
  valueLoss: number;
  entropy: number;
  approxKl: number;
  clipFraction: number;
}

/** Reusable buffers for one policy shape. */
export class LossScratch {
  obs = new Float32Array(0);
  mask = new Uint8Array(0);
  dLogits = new Float64Array(0);
  dValues = new Float64Array(0);
  adv = new Float64Array(0);
  logp = new Float64Array(0);

  ensure(batch: number, obsSize: number, actions: number): void {
    if (this.obs.length < batch * obsSize) this.obs = new Float32Array(batch * obsSize);
    if (this.mask.length < batch * actions) this.mask = new Uint8Array(batch * actions);
    if (this.dLogits.length < batch * actions) this.dLogits = new Float64Array(batch * actions);
    if (this.dValues.length < batch) this.dValues = new Float64Array(batch);
    if (this.adv.length < batch) this.adv = new Float64Array(batch);
    if (this.logp.length < actions) this.logp = new Float64Array(actions);
  }
}

/** Gathers the minibatch's observations and masks and normalizes its advantages (into scratch). */
function prepare(samples: SampleSet, indices: ArrayLike<number>, count: number, coef: PpoCoefficients, scratch: LossScratch): void {
  const D = samples.observationSize;
  const A = samples.actionCount;
  scratch.ensure(count, D, A);
  const obs = scratch.obs;
  const hasMask = samples.masks !== null;
  for (let i = 0; i < count; i++) {
    const s = indices[i];
    obs.set(samples.obs.subarray(s * D, s * D + D), i * D);
    if (hasMask) scratch.mask.set(samples.masks!.subarray(s * A, s * A + A), i * A);
  }
  // advantages, normalized over this minibatch
  const adv = scratch.adv;
  let mean = 0;
  for (let i = 0; i < count; i++) {
    adv[i] = samples.advantages[indices[i]];
    mean += adv[i];
  }
  mean /= count;
  if (coef.normalizeAdvantages && count > 1) {
    let sq = 0;
    for (let i = 0; i < count; i++) sq += (adv[i] - mean) ** 2;
    const std = Math.sqrt(sq / (count - 1));
    for (let i = 0; i < count; i++) adv[i] = (adv[i] - mean) / (std + 1e-8);
  }
}

/**
 * The objective given the network's outputs for the prepared minibatch; when `withGradient`,
 * writes ∂loss/∂logits and ∂loss/∂values into scratch.dLogits / scratch.dValues.
 */
function objective(
  logits: ArrayLike<number>,
  values: ArrayLike<number>,
  samples: SampleSet,
  indices: ArrayLike<number>,
  count: number,
  coef: PpoCoefficients,
  withGradient: boolean,
  scratch: LossScratch,
): LossStats {
  const A = samples.actionCount;
  const mask = samples.masks !== null ? scratch.mask : undefined;
  const adv = scratch.adv;
  const dLogits = scratch.dLogits;
  const logp = scratch.logp;
  const inv = 1 / count;
  let policyLoss = 0;
  let entropySum = 0;
  let klSum = 0;
  let clipped = 0;
  const lo = 1 - coef.clipRange;
  const hi = 1 + coef.clipRange;
  for (let i = 0; i < count; i++) {
    const s = indices[i];
    const o = i * A;
    // masked log-softmax
    let max = -Infinity;
    for (let a = 0; a < A; a++) if (!mask || mask[o + a]) max = Math.max(max, logits[o + a]);
    let sum = 0;
    for (let a = 0; a < A; a++) if (!mask || mask[o + a]) sum += Math.exp(logits[o + a] - max);
    const logSum = max + Math.log(sum);
    let entropy = 0;
    for (let a = 0; a < A; a++) {
      if (mask && !mask[o + a]) {
        logp[a] = -Infinity;
        continue;
      }
      logp[a] = logits[o + a] - logSum;
      entropy -= Math.exp(logp[a]) * logp[a];
    }
    const action = samples.actions[s];
    const logRatio = logp[action] - samples.logProbs[s];
    const ratio = Math.exp(logRatio);
    const advantage = adv[i];
    const surr1 = ratio * advantage;
    const surr2 = Math.min(Math.max(ratio, lo), hi) * advantage;
    policyLoss -= Math.min(surr1, surr2);
    entropySum += entropy;
    klSum += ratio - 1 - logRatio;
    if (Math.abs(ratio - 1) > coef.clipRange) clipped++;
    if (withGradient) {
      // ∂(−min(surr1, surr2))/∂logp(a): −A·ratio while the unclipped term is the minimum
      const dLogp = surr1 <= surr2 ? -advantage * ratio : 0;
      for (let a = 0; a < A; a++) {
        if (mask && !mask[o + a]) {
          dLogits[o + a] = 0;
          continue;
        }
        const p = Math.exp(logp[a]);
        const dPg = dLogp * ((a === action ? 1 : 0) - p);
        // loss has −ent_coef·H; ∂H/∂z_a = −p_a (log p_a + H)
        const dEnt = coef.entCoef * p * (logp[a] + entropy);
        dLogits[o + a] = (dPg + dEnt) * inv;
      }
    }
  }
  const dValues = scratch.dValues;
  let valueLoss = 0;
  for (let i = 0; i < count; i++) {
    const diff = values[i] - samples.returns[indices[i]];
    valueLoss += diff * diff;
    dValues[i] = coef.vfCoef * 2 * diff * inv;
  }
  policyLoss *= inv;
  valueLoss *= inv;
  const entropy = entropySum * inv;
  return {
    loss: policyLoss - coef.entCoef * entropy + coef.vfCoef * valueLoss,
    policyLoss,
    valueLoss,
    entropy,
    approxKl: klSum * inv,
    clipFraction: clipped * inv,
  };
}

/**
 * Loss of the samples `indices[0..count)` and, when `grad` is given, adds ∂loss/∂params into it
 * (layout of `policy.params`). The loss is a mean over the minibatch.
 */
export function ppoLoss(
  policy: ActorCritic,
  samples: SampleSet,
  indices: ArrayLike<number>,
  count: number,
  coef: PpoCoefficients,
  grad: Float64Array | null,
  scratch: LossScratch = new LossScratch(),
): LossStats {
  prepare(samples, indices, count, coef, scratch);
  const { logits, values } = policy.forward(scratch.obs, count);
  const stats = objective(logits, values, samples, indices, count, coef, grad !== null, scratch);
  if (grad) policy.backward(scratch.dLogits, scratch.dValues, grad, count);
  return stats;
}

/** `ppoLoss` with the network's forward and backward passes run by onnxruntime (`OrtBackend`). */
export async function ppoLossOrt(
  backend: OrtBackend,
  samples: SampleSet,
  indices: ArrayLike<number>,
  count: number,
  coef: PpoCoefficients,
  grad: Float64Array,
  scratch: LossScratch = new LossScratch(),
): Promise<LossStats> {
  prepare(samples, indices, count, coef, scratch);
  const { logits, values } = await backend.forward(scratch.obs, count);
  const stats = objective(logits, values, samples, indices, count, coef, true, scratch);
  const A = samples.actionCount;
  const dLogits = Float32Array.from(scratch.dLogits.subarray(0, count * A));
  const dValues = Float32Array.from(scratch.dValues.subarray(0, count));
  const g = await backend.gradient(scratch.obs, count, dLogits, dValues);
  for (let i = 0; i < g.length; i++) grad[i] += g[i];
  return stats;
}
