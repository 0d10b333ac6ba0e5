/**
 * Policy inference latency: onnxruntime-node on one observation (the live trader's case) and our
 * own forward pass, for the default network (52 → 64 → 64 tanh trunk, 5 logits + value), plus
 * our batched forward throughput. Goal: onnxruntime p99 ≤ 100 µs for a single observation.
 */
import { FEATURE_COUNT } from '../src/core/features.ts';
import { OnnxPolicy } from '../src/adapters/policy/onnx-policy.ts';
import { policyToOnnx } from '../src/rl/export.ts';
import { ActorCritic } from '../src/rl/ppo/policy.ts';
import { opsPerSecond, percentile, report } from './harness.ts';

const policy = ActorCritic.create({ observationSize: FEATURE_COUNT, actionCount: 5, hidden: [64, 64] }, 1);
const onnx = await OnnxPolicy.fromBytes(policyToOnnx(policy, { actionSpace: { sizes: [500], styles: ['take'] } }));
const obs = new Float32Array(FEATURE_COUNT).map((_, i) => Math.sin(i));

async function latencies(run: () => unknown | Promise<unknown>, n: number): Promise<number[]> {
  for (let i = 0; i < 2_000; i++) await run();
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await run();
    out[i] = Number(process.hrtime.bigint() - t) / 1_000;
  }
  return out.sort((a, b) => a - b);
}

const ort = await latencies(() => onnx.run(obs, 1), 20_000);
report({ bench: 'rl-inference', metric: 'onnxruntime_single_obs_p50', value: +percentile(ort, 50).toFixed(1), unit: 'µs' });
report({ bench: 'rl-inference', metric: 'onnxruntime_single_obs_p99', value: +percentile(ort, 99).toFixed(1), unit: 'µs', goal: '<= 100' });

const ours = await latencies(() => policy.greedyAction(obs), 50_000);
report({ bench: 'rl-inference', metric: 'own_forward_single_obs_p50', value: +percentile(ours, 50).toFixed(2), unit: 'µs' });
report({ bench: 'rl-inference', metric: 'own_forward_single_obs_p99', value: +percentile(ours, 99).toFixed(2), unit: 'µs' });

const batch = 256;
const many = new Float32Array(batch * FEATURE_COUNT).map((_, i) => Math.cos(i));
const rate = opsPerSecond(() => {
  policy.forward(many, batch);
  return batch;
}, 1_500);
report({ bench: 'rl-inference', metric: 'own_forward_batch256_obs_per_s', value: Math.round(rate), unit: 'obs/s' });
const ortBatch = await latencies(() => onnx.run(many, batch), 2_000);
report({ bench: 'rl-inference', metric: 'onnxruntime_batch256_obs_per_s', value: Math.round((batch * 1e6) / percentile(ortBatch, 50)), unit: 'obs/s' });
await onnx.release();
