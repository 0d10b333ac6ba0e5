/**
 * The actor-critic: a tanh MLP trunk shared by a policy head (logits) and a value head (V) —
 * `architecture: 'shared'`, the default, e.g. 52→64→64 tanh → {A logits, 1 value} — or, as
 * Stable-Baselines3's default `MlpPolicy`, two separate MLPs (`'separate'`). All parameters live
 * in one flat Float32Array [trunk | policy head | value head]. Masked categorical sampling and
 * greedy actions for rollouts, evaluation and tests; JSON (de)serialization for checkpoints.
 * Pure computation; no I/O.
 */
import { z } from 'zod';
import { Rng } from '../../core/random.ts';
import { Mlp, mlpParameterCount } from './mlp.ts';

export type PolicyArchitecture = 'shared' | 'separate';

export interface PolicyShape {
  observationSize: number;
  actionCount: number;
  /** Hidden layer sizes (of the trunk, or of each network when separate). */
  hidden: number[];
  /** Default 'shared'. */
  architecture?: PolicyArchitecture;
}

export const policyShapeSchema = z.object({
  observationSize: z.number().int().positive(),
  actionCount: z.number().int().min(2),
  hidden: z.array(z.number().int().positive()).min(1),
  architecture: z.enum(['shared', 'separate']).optional(),
});

interface Layout {
  trunk: number[] | null;
  pi: number[];
  vf: number[];
}

function layoutOf(shape: PolicyShape): Layout {
  const { observationSize: d, actionCount: a, hidden } = shape;
  if ((shape.architecture ?? 'shared') === 'shared') {
    const width = hidden[hidden.length - 1];
    return { trunk: [d, ...hidden], pi: [width, a], vf: [width, 1] };
  }
  return { trunk: null, pi: [d, ...hidden, a], vf: [d, ...hidden, 1] };
}

export function policyParameterCount(shape: PolicyShape): number {
  const l = layoutOf(shape);
  return (l.trunk ? mlpParameterCount(l.trunk) : 0) + mlpParameterCount(l.pi) + mlpParameterCount(l.vf);
}

export class ActorCritic {
  readonly shape: PolicyShape;
  readonly params: Float32Array;
  /** Shared tanh trunk (null when the networks are separate). */
  readonly trunk: Mlp | null;
  /** Policy head (or the whole policy network when separate). */
  readonly pi: Mlp;
  /** Value head (or the whole value network when separate). */
  readonly vf: Mlp;
  readonly policyOffset: number;
  readonly valueOffset: number;
  private trunkGrad = new Float64Array(0);

  constructor(shape: PolicyShape, params?: Float32Array) {
    this.shape = { ...shape, hidden: [...shape.hidden], architecture: shape.architecture ?? 'shared' };
    const layout = layoutOf(this.shape);
    const total = policyParameterCount(this.shape);
    if (params && params.length !== total) throw new RangeError(`policy needs ${total} parameters, got ${params.length}`);
    this.params = params ?? new Float32Array(total);
    let offset = 0;
    if (layout.trunk) {
      const n = mlpParameterCount(layout.trunk);
      this.trunk = new Mlp(layout.trunk, this.params.subarray(0, n), { activateOutput: true });
      offset = n;
    } else {
      this.trunk = null;
    }
    this.policyOffset = offset;
    const piCount = mlpParameterCount(layout.pi);
    this.pi = new Mlp(layout.pi, this.params.subarray(offset, offset + piCount));
    this.valueOffset = offset + piCount;
    this.vf = new Mlp(layout.vf, this.params.subarray(this.valueOffset));
  }

  get parameterCount(): number {
    return this.params.length;
  }

  /** SB3's initialization: orthogonal, gain √2 hidden, 0.01 policy output, 1 value output. */
  static create(shape: PolicyShape, seed: number): ActorCritic {
    const policy = new ActorCritic(shape);
    const rng = new Rng(seed);
    policy.trunk?.initOrthogonal(rng, Math.SQRT2);
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
    this.trunk?.sync();
    this.pi.sync();
    this.vf.sync();
  }

  private features(obs: ArrayLike<number>, batch: number, offset: number): { input: ArrayLike<number>; offset: number } {
    if (!this.trunk) return { input: obs, offset };
    return { input: this.trunk.forward(obs, batch, offset), offset: 0 };
  }

  /**
   * Logits [batch × A] and values [batch] for `batch` observations (reused buffers, valid until
   * the next forward). Keeps the activations for `backward`.
   */
  forward(obs: ArrayLike<number>, batch = 1, offset = 0): { logits: Float64Array; values: Float64Array } {
    const f = this.features(obs, batch, offset);
    const logits = this.pi.forward(f.input, batch, f.offset);
    const values = this.vf.forward(f.input, batch, f.offset);
    return { logits, values };
  }

  /** Adds ∂L/∂params into `grad` for the last `forward`, given ∂L/∂logits and ∂L/∂values. */
  backward(dLogits: ArrayLike<number>, dValues: ArrayLike<number>, grad: Float64Array, batch: number): void {
    if (!this.trunk) {
      this.pi.backward(dLogits, grad, this.policyOffset);
      this.vf.backward(dValues, grad, this.valueOffset);
      return;
    }
    const width = this.trunk.outputSize;
    if (this.trunkGrad.length < batch * width) this.trunkGrad = new Float64Array(batch * width);
    const dTrunk = this.trunkGrad;
    dTrunk.fill(0, 0, batch * width);
    this.pi.backward(dLogits, grad, this.policyOffset, dTrunk);
    this.vf.backward(dValues, grad, this.valueOffset, dTrunk);
    this.trunk.backward(dTrunk, grad, 0);
  }

  /** Logits for `batch` observations (reused buffer). */
  logits(obs: ArrayLike<number>, batch = 1, offset = 0): Float64Array {
    const f = this.features(obs, batch, offset);
    return this.pi.forward(f.input, batch, f.offset);
  }

  /** Values for `batch` observations (reused buffer). */
  values(obs: ArrayLike<number>, batch = 1, offset = 0): Float64Array {
    const f = this.features(obs, batch, offset);
    return this.vf.forward(f.input, batch, f.offset);
  }

  /** The most likely valid action for one observation (greedy; evaluation and live trading). */
  greedyAction(obs: ArrayLike<number>, mask?: Uint8Array, offset = 0): number {
    const logits = this.logits(obs, 1, offset);
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
  return new ActorCritic(shape, base64ToFloat32(parsed.data.params, policyParameterCount(shape)));
}
