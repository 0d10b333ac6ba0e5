/**
 * The actor-critic: separate policy (obs → logits) and value (obs → V) MLPs, as Stable-Baselines3's
 * default `MlpPolicy`, sharing one flat parameter vector [policy | value]. Masked categorical
 * sampling and greedy actions for rollouts, evaluation and the live strategy; JSON (de)serialization
 * for checkpoints. Pure computation; no I/O.
 */
import { z } from 'zod';
import { Rng } from '../../sim/random.ts';
import { Mlp, mlpParameterCount } from './mlp.ts';

export interface PolicyShape {
  observationSize: number;
  actionCount: number;
  /** Hidden layer sizes of both networks (default [64, 64]). */
  hidden: number[];
}

export const policyShapeSchema = z.object({
  observationSize: z.number().int().positive(),
  actionCount: z.number().int().min(2),
  hidden: z.array(z.number().int().positive()).min(1),
});

export class ActorCritic {
  readonly shape: PolicyShape;
  readonly params: Float32Array;
  readonly pi: Mlp;
  readonly vf: Mlp;
  private readonly logitScratch: Float64Array;

  constructor(shape: PolicyShape, params?: Float32Array) {
    this.shape = { ...shape, hidden: [...shape.hidden] };
    const piSizes = [shape.observationSize, ...shape.hidden, shape.actionCount];
    const vfSizes = [shape.observationSize, ...shape.hidden, 1];
    const piCount = mlpParameterCount(piSizes);
    const total = piCount + mlpParameterCount(vfSizes);
    if (params && params.length !== total) throw new RangeError(`policy needs ${total} parameters, got ${params.length}`);
    this.params = params ?? new Float32Array(total);
    this.pi = new Mlp(piSizes, this.params.subarray(0, piCount));
    this.vf = new Mlp(vfSizes, this.params.subarray(piCount));
    this.logitScratch = new Float64Array(shape.actionCount);
  }

  get parameterCount(): number {
    return this.params.length;
  }

  /** Offset of the value network's parameters in `params` (and in gradients). */
  get valueOffset(): number {
    return this.pi.parameterCount;
  }

  /** SB3's initialization: orthogonal, gain √2 hidden, 0.01 policy output, 1 value output. */
  static create(shape: PolicyShape, seed: number): ActorCritic {
    const policy = new ActorCritic(shape);
    const rng = new Rng(seed);
    policy.pi.initOrthogonal(rng, 0.01);
    policy.vf.initOrthogonal(rng, 1);
    return policy;
  }

  clone(): ActorCritic {
    return new ActorCritic(this.shape, new Float32Array(this.params));
  }

  setParams(params: Float32Array): void {
    if (params.length !== this.params.length) throw new RangeError(`expected ${this.params.length} parameters, got ${params.length}`);
    this.params.set(params);
    this.syncWeights();
  }

  /** Must follow any direct write to `params` (e.g. an optimizer step). */
  syncWeights(): void {
    this.pi.sync();
    this.vf.sync();
  }

  /** Logits for `batch` observations (reused buffer). */
  logits(obs: ArrayLike<number>, batch = 1, offset = 0): Float64Array {
    return this.pi.forward(obs, batch, offset);
  }

  /** Values for `batch` observations (reused buffer). */
  values(obs: ArrayLike<number>, batch = 1, offset = 0): Float64Array {
    return this.vf.forward(obs, batch, offset);
  }

  /** The most likely valid action for one observation (greedy; evaluation and live trading). */
  greedyAction(obs: ArrayLike<number>, mask?: Uint8Array, offset = 0): number {
    const logits = this.pi.forward(obs, 1, offset);
    return maskedArgmax(logits, 0, this.shape.actionCount, mask, 0);
  }
}

/** Index of the largest logit among valid actions (0 = HOLD when nothing is valid). */
export function maskedArgmax(logits: ArrayLike<number>, offset: number, count: number, mask: Uint8Array | undefined, maskOffset: number): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let a = 0; a < count; a++) {
    if (mask && mask[maskOffset + a] === 0) continue;
    const v = logits[offset + a];
    if (v > bestValue) {
      bestValue = v;
      best = a;
    }
  }
  return best < 0 ? 0 : best;
}

/**
 * Samples from the masked softmax of `logits[offset..offset+count)`; writes log-probabilities of
 * valid actions into `logProbs` (−Infinity for invalid ones) and returns the action.
 */
export function sampleMasked(
  logits: ArrayLike<number>,
  offset: number,
  count: number,
  mask: Uint8Array | undefined,
  maskOffset: number,
  rng: Rng,
  logProbs: Float64Array,
): number {
  logSoftmaxMasked(logits, offset, count, mask, maskOffset, logProbs);
  const u = rng.next();
  let cumulative = 0;
  let last = 0;
  for (let a = 0; a < count; a++) {
    const lp = logProbs[a];
    if (lp === -Infinity) continue;
    cumulative += Math.exp(lp);
    last = a;
    if (u < cumulative) return a;
  }
  return last;
}

/** log softmax over valid actions into `out[0..count)` (−Infinity for masked ones). */
export function logSoftmaxMasked(
  logits: ArrayLike<number>,
  offset: number,
  count: number,
  mask: Uint8Array | undefined,
  maskOffset: number,
  out: Float64Array,
): void {
  let max = -Infinity;
  for (let a = 0; a < count; a++) {
    if (mask && mask[maskOffset + a] === 0) continue;
    const v = logits[offset + a];
    if (v > max) max = v;
  }
  if (max === -Infinity) {
    // nothing valid: behave as if only action 0 were (HOLD)
    for (let a = 0; a < count; a++) out[a] = a === 0 ? 0 : -Infinity;
    return;
  }
  let sum = 0;
  for (let a = 0; a < count; a++) {
    if (mask && mask[maskOffset + a] === 0) continue;
    sum += Math.exp(logits[offset + a] - max);
  }
  const logSum = max + Math.log(sum);
  for (let a = 0; a < count; a++) {
    out[a] = mask && mask[maskOffset + a] === 0 ? -Infinity : logits[offset + a] - logSum;
  }
}

// ------------------------------------------------------------------ serialization

export const policyJsonSchema = z.object({
  format: z.literal('kalshiflow-policy'),
  version: z.literal(1),
  shape: policyShapeSchema,
  /** Float32 little-endian, base64. */
  params: z.string(),
});

export type PolicyJson = z.infer<typeof policyJsonSchema>;

export function float32ToBase64(values: Float32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

export function base64ToFloat32(text: string, expected?: number): Float32Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength % 4 !== 0) throw new RangeError('float32 data length is not a multiple of 4');
  const out = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(out.buffer).set(bytes);
  if (expected !== undefined && out.length !== expected) throw new RangeError(`expected ${expected} floats, got ${out.length}`);
  return out;
}

export function policyToJson(policy: ActorCritic): PolicyJson {
  return { format: 'kalshiflow-policy', version: 1, shape: policy.shape, params: float32ToBase64(policy.params) };
}

export function policyFromJson(input: unknown): ActorCritic {
  const parsed = policyJsonSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new RangeError(`invalid policy JSON at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'malformed'}`);
  }
  const shape = parsed.data.shape;
  const count = mlpParameterCount([shape.observationSize, ...shape.hidden, shape.actionCount]) + mlpParameterCount([shape.observationSize, ...shape.hidden, 1]);
  return new ActorCritic(shape, base64ToFloat32(parsed.data.params, count));
}
