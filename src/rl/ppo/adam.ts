/**
 * Adam (Kingma & Ba) with global gradient-norm clipping, over one flat Float32Array of
 * parameters — the PPO optimizer. Its state (moments, step count) is plain data so checkpoints
 * can save and resume it exactly.
 */
import { z } from 'zod';
import { base64ToFloat32, float32ToBase64 } from './policy.ts';

export interface AdamOptions {
  beta1: number;
  beta2: number;
  /** 1e-5, as Stable-Baselines3's PPO (PyTorch's default is 1e-8). */
  epsilon: number;
}

export const DEFAULT_ADAM: AdamOptions = Object.freeze({ beta1: 0.9, beta2: 0.999, epsilon: 1e-5 });

export const adamStateSchema = z.object({
  step: z.number().int().nonnegative(),
  m: z.string(),
  v: z.string(),
});

export type AdamStateJson = z.infer<typeof adamStateSchema>;

export class Adam {
  readonly m: Float32Array;
  readonly v: Float32Array;
  step = 0;
  readonly options: AdamOptions;

  constructor(size: number, options: Partial<AdamOptions> = {}) {
    this.m = new Float32Array(size);
    this.v = new Float32Array(size);
    this.options = { ...DEFAULT_ADAM, ...options };
  }

  /** One update of `params` by `grad` (which it may scale in place when clipping). Returns the pre-clip norm. */
  update(params: Float32Array, grad: Float64Array, learningRate: number, maxGradNorm = Infinity): number {
    const norm = clipGradNorm(grad, maxGradNorm);
    const { beta1, beta2, epsilon } = this.options;
    this.step++;
    const c1 = 1 - beta1 ** this.step;
    const c2 = 1 - beta2 ** this.step;
    const stepSize = learningRate / c1;
    const sqrtC2 = Math.sqrt(c2);
    const m = this.m;
    const v = this.v;
    for (let i = 0; i < params.length; i++) {
      const g = grad[i];
      const mi = beta1 * m[i] + (1 - beta1) * g;
      const vi = beta2 * v[i] + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      params[i] -= (stepSize * mi) / (Math.sqrt(vi) / sqrtC2 + epsilon);
    }
    return norm;
  }

  toJson(): AdamStateJson {
    return { step: this.step, m: float32ToBase64(this.m), v: float32ToBase64(this.v) };
  }

  load(state: AdamStateJson): void {
    const parsed = adamStateSchema.parse(state);
    this.m.set(base64ToFloat32(parsed.m, this.m.length));
    this.v.set(base64ToFloat32(parsed.v, this.v.length));
    this.step = parsed.step;
  }
}

/** Scales `grad` so its L2 norm is at most `maxNorm`; returns the norm before scaling. */
export function clipGradNorm(grad: Float64Array, maxNorm: number): number {
  let sq = 0;
  for (let i = 0; i < grad.length; i++) sq += grad[i] * grad[i];
  const norm = Math.sqrt(sq);
  if (norm > maxNorm && norm > 0) {
    const scale = maxNorm / (norm + 1e-6);
    for (let i = 0; i < grad.length; i++) grad[i] *= scale;
  }
  return norm;
}
