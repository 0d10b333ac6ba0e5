import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/random.ts';
import { Adam, clipGradNorm } from '../../src/rl/ppo/adam.ts';
import { ppoLoss, ppoLossOrt } from '../../src/rl/ppo/loss.ts';
import { OrtBackend } from '../../src/rl/ppo/ort-backend.ts';
import type { PpoCoefficients, SampleSet } from '../../src/rl/ppo/loss.ts';
import { Mlp, fastTanh, gemmNT, orthogonal } from '../../src/rl/ppo/mlp.ts';
import { ActorCritic, logSoftmaxMasked, maskedArgmax, policyFromJson, policyToJson, sampleMasked } from '../../src/rl/ppo/policy.ts';
import { RolloutShard } from '../../src/rl/ppo/rollout.ts';
import { resolvePpoConfig } from '../../src/rl/ppo/trainer.ts';

/** Central finite difference of `loss` with respect to each parameter vs the analytic gradient. */
function maxGradientError(params: Float32Array, sync: () => void, loss: () => number, analytic: Float64Array, eps = 1e-3): number {
  let worst = 0;
  for (let i = 0; i < params.length; i++) {
    const orig = params[i];
    params[i] = orig + eps;
    sync();
    const plus = loss();
    params[i] = orig - eps;
    sync();
    const minus = loss();
    params[i] = orig;
    sync();
    const fd = (plus - minus) / (2 * eps);
    const err = Math.abs(fd - analytic[i]) / Math.max(1e-2, Math.abs(fd) + Math.abs(analytic[i]));
    worst = Math.max(worst, err);
  }
  return worst;
}

describe('MLP kernels', () => {
  it('fastTanh matches Math.tanh to float32 resolution and keeps its sign and limits', () => {
    for (let x = -20; x <= 20; x += 0.0137) expect(Math.abs(fastTanh(x) - Math.tanh(x))).toBeLessThan(1e-8);
    expect(fastTanh(0)).toBe(0);
    expect(Math.abs(fastTanh(1e-12) - 1e-12)).toBeLessThan(1e-16);
    expect(fastTanh(-50)).toBeCloseTo(-1, 12);
  });

  it('gemmNT computes C = A·Bᵀ (+ bias) for every block shape', () => {
    const rng = new Rng(1);
    for (const [rows, cols, inner] of [
      [1, 1, 1],
      [3, 5, 7],
      [4, 2, 3],
      [9, 7, 13],
    ]) {
      const A = new Float64Array(rows * inner).map(() => rng.normal());
      const B = new Float64Array(cols * inner).map(() => rng.normal());
      const bias = new Float64Array(cols).map(() => rng.normal());
      const C = new Float64Array(rows * cols);
      gemmNT(A, 0, rows, B, 0, cols, inner, C, 0, bias, 0, false);
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          let s = bias[j];
          for (let k = 0; k < inner; k++) s += A[i * inner + k] * B[j * inner + k];
          expect(C[i * cols + j]).toBeCloseTo(s, 10);
        }
      }
      const before = Float64Array.from(C);
      gemmNT(A, 0, rows, B, 0, cols, inner, C, 0, null, 0, true);
      for (let i = 0; i < C.length; i++) expect(C[i]).toBeCloseTo(2 * before[i] - bias[i % cols], 10);
    }
  });

  it('orthogonal initialization gives orthonormal rows or columns', () => {
    const rng = new Rng(2);
    for (const [r, c] of [
      [4, 9],
      [9, 4],
    ]) {
      const m = orthogonal(r, c, rng);
      const short = Math.min(r, c);
      for (let a = 0; a < short; a++) {
        for (let b = 0; b < short; b++) {
          let dot = 0;
          for (let t = 0; t < Math.max(r, c); t++) dot += r <= c ? m[a * c + t] * m[b * c + t] : m[t * c + a] * m[t * c + b];
          expect(dot).toBeCloseTo(a === b ? 1 : 0, 9);
        }
      }
    }
  });

  it('backward matches finite differences', () => {
    const rng = new Rng(3);
    const mlp = new Mlp([5, 7, 6, 3]);
    mlp.initOrthogonal(rng, 1);
    for (let i = 0; i < mlp.params.length; i++) mlp.params[i] += 0.1 * rng.normal();
    mlp.sync();
    const batch = 6;
    const x = new Float32Array(batch * 5).map(() => rng.normal());
    const target = new Float64Array(batch * 3).map(() => rng.normal());
    // L = Σ (y − t)² / 2  →  dL/dy = y − t
    const loss = () => {
      const y = mlp.forward(x, batch);
      let s = 0;
      for (let i = 0; i < batch * 3; i++) s += 0.5 * (y[i] - target[i]) ** 2;
      return s;
    };
    const y = mlp.forward(x, batch);
    const dy = new Float64Array(batch * 3).map((_, i) => y[i] - target[i]);
    const grad = new Float64Array(mlp.parameterCount);
    mlp.backward(dy, grad);
    expect(maxGradientError(mlp.params, () => mlp.sync(), loss, grad)).toBeLessThan(1e-3);
  });
});

describe('masked categorical', () => {
  it('never picks or gives probability to masked actions', () => {
    const logits = [5, 1, 9, 2];
    const mask = Uint8Array.from([1, 1, 0, 1]);
    const lp = new Float64Array(4);
    logSoftmaxMasked(logits, 0, 4, mask, 0, lp);
    expect(lp[2]).toBe(-Infinity);
    expect(Math.exp(lp[0]) + Math.exp(lp[1]) + Math.exp(lp[3])).toBeCloseTo(1, 12);
    expect(maskedArgmax(logits, 0, 4, mask, 0)).toBe(0);
    const rng = new Rng(4);
    for (let i = 0; i < 500; i++) expect(sampleMasked(logits, 0, 4, mask, 0, rng, lp)).not.toBe(2);
    // nothing valid behaves as HOLD
    expect(maskedArgmax(logits, 0, 4, new Uint8Array(4), 0)).toBe(0);
  });
});

describe('PPO loss', () => {
  function fixture(seed: number, architecture: 'shared' | 'separate' = 'shared') {
    const rng = new Rng(seed);
    const policy = ActorCritic.create({ observationSize: 6, actionCount: 4, hidden: [8, 7], architecture }, seed);
    for (let i = 0; i < policy.params.length; i++) policy.params[i] += 0.2 * rng.normal();
    policy.syncWeights();
    const n = 12;
    const samples: SampleSet = {
      observationSize: 6,
      actionCount: 4,
      obs: new Float32Array(n * 6).map(() => rng.normal()),
      actions: Int32Array.from({ length: n }, () => rng.int(0, 3)),
      logProbs: new Float32Array(n),
      advantages: new Float32Array(n).map(() => rng.normal()),
      returns: new Float32Array(n).map(() => rng.normal()),
      masks: Uint8Array.from({ length: n * 4 }, (_, i) => (i % 4 === 0 || rng.chance(0.7) ? 1 : 0)),
    };
    // old log-probs near the current ones, some far enough to be clipped
    const lp = new Float64Array(4);
    const logits = policy.logits(samples.obs, n);
    for (let i = 0; i < n; i++) {
      samples.masks![i * 4 + samples.actions[i]] = 1;
      logSoftmaxMasked(logits, i * 4, 4, samples.masks!, i * 4, lp);
      samples.logProbs[i] = lp[samples.actions[i]] + (i % 3 === 0 ? 0.5 : 0.05 * rng.normal());
    }
    return { policy, samples, indices: Int32Array.from({ length: n }, (_, i) => i), n };
  }

  it.each(['shared', 'separate'] as const)('has the analytic gradient (clipped surrogate, value loss, entropy, masks): %s networks', (architecture) => {
    const coef: PpoCoefficients = { clipRange: 0.2, entCoef: 0.05, vfCoef: 0.5, normalizeAdvantages: true };
    for (const seed of [1, 2, 3]) {
      const { policy, samples, indices, n } = fixture(seed, architecture);
      const grad = new Float64Array(policy.parameterCount);
      ppoLoss(policy, samples, indices, n, coef, grad);
      const err = maxGradientError(policy.params, () => policy.syncWeights(), () => ppoLoss(policy, samples, indices, n, coef, null).loss, grad);
      expect(err).toBeLessThan(2e-3);
    }
  });

  it.each(['shared', 'separate'] as const)('runs the same math in onnxruntime (float32 tolerance): %s networks', async (architecture) => {
    const coef: PpoCoefficients = { clipRange: 0.2, entCoef: 0.05, vfCoef: 0.5, normalizeAdvantages: true };
    const { policy, samples, indices, n } = fixture(5, architecture);
    const reference = new Float64Array(policy.parameterCount);
    const expected = ppoLoss(policy, samples, indices, n, coef, reference);
    const backend = await OrtBackend.create(policy);
    try {
      const grad = new Float64Array(policy.parameterCount);
      const stats = await ppoLossOrt(backend, samples, indices, n, coef, grad);
      expect(stats.loss).toBeCloseTo(expected.loss, 5);
      expect(stats.entropy).toBeCloseTo(expected.entropy, 5);
      let scale = 0;
      for (const g of reference) scale = Math.max(scale, Math.abs(g));
      for (let i = 0; i < grad.length; i++) expect(Math.abs(grad[i] - reference[i])).toBeLessThan(1e-5 * Math.max(1, scale));
      const { logits, values } = await backend.forward(Float32Array.from(samples.obs), n);
      const ours = policy.forward(samples.obs, n);
      for (let i = 0; i < n * 4; i++) expect(logits[i]).toBeCloseTo(ours.logits[i], 5);
      for (let i = 0; i < n; i++) expect(values[i]).toBeCloseTo(ours.values[i], 5);
    } finally {
      await backend.release();
    }
  });

  it('reports the clip fraction and a zero KL when nothing changed', () => {
    const { policy, samples, indices, n } = fixture(4);
    const coef: PpoCoefficients = { clipRange: 0.2, entCoef: 0, vfCoef: 0.5, normalizeAdvantages: false };
    const stats = ppoLoss(policy, samples, indices, n, coef, null);
    expect(stats.clipFraction).toBeGreaterThan(0); // the 0.5-shifted samples
    for (let i = 0; i < n; i++) {
      const lp = new Float64Array(4);
      logSoftmaxMasked(policy.logits(samples.obs, 1, i * 6), 0, 4, samples.masks!, i * 4, lp);
      samples.logProbs[i] = lp[samples.actions[i]];
    }
    const same = ppoLoss(policy, samples, indices, n, coef, null);
    expect(same.approxKl).toBeCloseTo(0, 6);
    expect(same.clipFraction).toBe(0);
  });
});

describe('Adam', () => {
  it('takes the bias-corrected first step of size lr·sign(g)', () => {
    const params = Float32Array.from([1, -1, 0.5]);
    const adam = new Adam(3);
    adam.update(params, Float64Array.from([0.3, -2, 0]), 0.1);
    expect(params[0]).toBeCloseTo(0.9, 4);
    expect(params[1]).toBeCloseTo(-0.9, 4);
    expect(params[2]).toBe(0.5);
    const restored = new Adam(3);
    restored.load(adam.toJson());
    expect(restored.step).toBe(1);
    expect([...restored.m]).toEqual([...adam.m]);
  });

  it('clips the global gradient norm', () => {
    const g = Float64Array.from([3, 4]);
    expect(clipGradNorm(g, 1)).toBe(5);
    expect(Math.hypot(g[0], g[1])).toBeCloseTo(1, 5);
    const small = Float64Array.from([0.3, 0.4]);
    clipGradNorm(small, 1);
    expect([...small]).toEqual([0.3, 0.4]);
  });
});

describe('rollouts and GAE', () => {
  it('computes returns = advantages + values and respects episode boundaries', () => {
    const shape = { observationSize: 4, actionCount: 2, hidden: [8] };
    const shard = new RolloutShard({ envSpec: { kind: 'cartpole', maxSteps: 5 }, envs: 2, nSteps: 12, gamma: 0.9, gaeLambda: 1, seed: 1, shape });
    const policy = ActorCritic.create(shape, 1);
    // a zero value network makes GAE(λ=1) the discounted return to the episode end (or bootstrap)
    policy.params.fill(0, policy.valueOffset);
    policy.syncWeights();
    const stats = shard.collect(policy.params);
    expect(stats.steps).toBe(24);
    expect(stats.episodeLengths.every((l) => l <= 5)).toBe(true);
    const internals = shard as unknown as { samples: SampleSet; episodeStarts: Uint8Array };
    const { advantages, returns } = internals.samples;
    const starts = internals.episodeStarts;
    for (let e = 0; e < 2; e++) {
      for (let t = 0; t < 11; t++) {
        const i = t * 2 + e;
        const next = i + 2;
        // with V ≡ 0: A_t = r_t + γ·A_{t+1} within an episode
        const expected = starts[next] ? 1 : 1 + 0.9 * advantages[next];
        expect(advantages[i]).toBeCloseTo(expected, 5);
        expect(returns[i]).toBeCloseTo(advantages[i], 6);
      }
    }
  });

  it('serializes a policy to JSON and back exactly', () => {
    const p = ActorCritic.create({ observationSize: 52, actionCount: 5, hidden: [16, 16] }, 9);
    const back = policyFromJson(JSON.parse(JSON.stringify(policyToJson(p))));
    expect([...back.params]).toEqual([...p.params]);
    const obs = new Float32Array(52).map((_, i) => Math.cos(i));
    expect([...back.logits(obs)]).toEqual([...p.logits(obs)]);
    expect(() => policyFromJson({ format: 'other' })).toThrow(/invalid policy JSON/);
  });

  it('validates the PPO configuration', () => {
    expect(() => resolvePpoConfig({ nEnvs: 3, workers: 2 })).toThrow(/multiple of workers/);
    expect(() => resolvePpoConfig({ batchSize: 10_000, nSteps: 8, nEnvs: 1 })).toThrow(/batchSize/);
    expect(() => resolvePpoConfig({ learningRate: -1 })).toThrow(/learningRate/);
  });
});
