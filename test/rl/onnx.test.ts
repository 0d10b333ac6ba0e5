import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../../src/core/random.ts';
import { ActorCritic } from '../../src/rl/ppo/policy.ts';
import { exportPolicyOnnx, policyNetwork, policyToOnnx } from '../../src/rl/export.ts';
import { encodeOnnxPolicy } from '../../src/adapters/policy/onnx-export.ts';
import { TENSOR_FLOAT, decodeModelInfo, encodeModel } from '../../src/adapters/policy/onnx-proto.ts';
import type { ModelSpec, NodeSpec, TensorSpec } from '../../src/adapters/policy/onnx-proto.ts';
import { OnnxPolicy, PolicyModelError, loadOnnxPolicy } from '../../src/adapters/policy/onnx-policy.ts';

const SPACE = { sizes: [500], styles: ['take' as const] };

function trainedLookingPolicy(seed: number, hidden = [64, 64], actions = 5, architecture: 'shared' | 'separate' = 'shared'): ActorCritic {
  const p = ActorCritic.create({ observationSize: 52, actionCount: actions, hidden, architecture }, seed);
  const rng = new Rng(seed);
  for (let i = 0; i < p.params.length; i++) p.params[i] += 0.05 * rng.normal();
  p.syncWeights();
  return p;
}

/** A model shaped like a torch.onnx export of an SB3 policy: logits only, SB3 layer names, chosen metadata. */
function externalModel(policy: ActorCritic, metadata: Record<string, string>, input = { name: 'obs', width: 52 }): Uint8Array {
  const net = policyNetwork(policy, false);
  const nodes: NodeSpec[] = [];
  const initializers: TensorSpec[] = [];
  let current = input.name;
  net.policy.forEach((layer, i) => {
    const last = i === net.policy.length - 1;
    const prefix = last ? 'action_net' : `mlp_extractor.policy_net.${2 * i}`;
    initializers.push({ name: `${prefix}.weight`, dims: [layer.outSize, layer.inSize], data: layer.weights });
    initializers.push({ name: `${prefix}.bias`, dims: [layer.outSize], data: layer.bias });
    const out = last ? 'logits' : `/${i}/Gemm_output_0`;
    nodes.push({ opType: 'Gemm', name: `/${i}/Gemm`, inputs: [current, `${prefix}.weight`, `${prefix}.bias`], outputs: [out], attributes: [{ name: 'transB', type: 'int', value: 1 }] });
    current = out;
    if (!last) {
      nodes.push({ opType: 'Tanh', name: `/${i}/Tanh`, inputs: [current], outputs: [`/${i}/Tanh_output_0`] });
      current = `/${i}/Tanh_output_0`;
    }
  });
  const spec: ModelSpec = {
    irVersion: 8,
    opsetVersion: 17,
    producerName: 'pytorch',
    producerVersion: '2.3.0',
    graphName: 'main_graph',
    nodes,
    initializers,
    inputs: [{ name: input.name, elemType: TENSOR_FLOAT, shape: ['batch_size', input.width] }],
    outputs: [{ name: 'logits', elemType: TENSOR_FLOAT, shape: ['batch_size', net.actionCount] }],
    metadata,
  };
  return encodeModel(spec);
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kalshiflow-onnx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ONNX export', () => {
  it.each(['shared', 'separate'] as const)('runs in onnxruntime with the same outputs as our forward pass (≤ 1e-5): %s networks', async (architecture) => {
    const policy = trainedLookingPolicy(1, [64, 64], 5, architecture);
    const path = join(dir, `parity-${architecture}.onnx`);
    await exportPolicyOnnx(policy, path, { actionSpace: SPACE, modelVersion: 'test-1' });
    const model = await loadOnnxPolicy(path);
    try {
      const rng = new Rng(2);
      for (const batch of [1, 16]) {
        const obs = new Float32Array(batch * 52).map(() => Math.max(-2, Math.min(2, rng.normal())));
        const out = await model.run(obs, batch);
        const logits = policy.logits(obs, batch);
        const values = policy.values(obs, batch);
        expect(out.logits).toHaveLength(batch * 5);
        for (let i = 0; i < batch * 5; i++) expect(Math.abs(out.logits[i] - logits[i])).toBeLessThanOrEqual(1e-5);
        for (let i = 0; i < batch; i++) expect(Math.abs(out.value![i] - values[i])).toBeLessThanOrEqual(1e-5);
      }
      expect(model.contract).toMatchObject({
        obsVersion: 'obs-v1',
        actions: ['HOLD', 'BUY_YES', 'SELL_YES', 'BUY_NO', 'SELL_NO'],
        actionSpace: SPACE,
        hasValue: true,
        version: 'test-1',
        producer: 'kalshiflow',
      });
    } finally {
      await model.release();
    }
  });

  it('writes the documented graph interface and metadata', () => {
    const bytes = policyToOnnx(trainedLookingPolicy(3, [8], 17), { actionSpace: { sizes: [100, 500], styles: ['take', 'join'] } });
    const info = decodeModelInfo(bytes);
    expect(info.inputs).toEqual([{ name: 'obs', elemType: 1, shape: ['N', 52] }]);
    expect(info.outputs.map((o) => [o.name, o.shape])).toEqual([
      ['logits', ['N', 17]],
      ['value', ['N', 1]],
    ]);
    expect(info.metadata).toMatchObject({ obs_version: 'obs-v1', sizes: '1,5', styles: 'take,join' });
    expect(info.metadata.actions.split(',')).toHaveLength(17);
    // shared trunk (Gemm, Tanh), then the policy and value heads
    expect(info.nodeTypes).toEqual(['Gemm', 'Tanh', 'Gemm', 'Gemm']);
    expect(info.opsets).toEqual([{ domain: '', version: 13 }]);
  });
});

describe('loadOnnxPolicy contract checks', () => {
  async function loadBytes(name: string, bytes: Uint8Array, options = {}) {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return loadOnnxPolicy(path, options);
  }

  it('refuses a model trained on another observation version, saying so', async () => {
    const policy = trainedLookingPolicy(4);
    const bytes = encodeOnnxPolicy(policyNetwork(policy), { obsVersion: 'obs-v0', actions: ['HOLD', 'BUY_YES', 'SELL_YES', 'BUY_NO', 'SELL_NO'], actionSpace: SPACE });
    await expect(loadBytes('v0.onnx', bytes)).rejects.toThrow(PolicyModelError);
    await expect(loadBytes('v0.onnx', bytes)).rejects.toThrow(/trained on observation version "obs-v0".*"obs-v1"/);
  });

  it('refuses a model without obs_version, a wrong input, or logits that do not fit the sizes', async () => {
    const policy = trainedLookingPolicy(5, [64, 64], 5, 'separate');
    await expect(loadBytes('nometa.onnx', externalModel(policy, {}))).rejects.toThrow(/no obs_version metadata/);
    await expect(loadBytes('input.onnx', externalModel(policy, { obs_version: 'obs-v1' }, { name: 'observation', width: 52 }))).rejects.toThrow(/one input named "obs"/);
    const narrow = ActorCritic.create({ observationSize: 40, actionCount: 5, hidden: [8] }, 1);
    const narrowBytes = encodeOnnxPolicy(policyNetwork(narrow), { actions: ['HOLD', 'BUY_YES', 'SELL_YES', 'BUY_NO', 'SELL_NO'], actionSpace: SPACE });
    await expect(loadBytes('narrow.onnx', narrowBytes)).rejects.toThrow(/shape \[N, 52\]/);
    await expect(loadBytes('sizes.onnx', externalModel(policy, { obs_version: 'obs-v1', sizes: '5,10' }))).rejects.toThrow(/5 actions.*define 9/);
    await expect(loadBytes('names.onnx', externalModel(policy, { obs_version: 'obs-v1', actions: 'A,B,C,D,E' }))).rejects.toThrow(/does not match/);
  });

  it('refuses garbage and missing files with a clear error', async () => {
    await expect(loadBytes('garbage.onnx', new TextEncoder().encode('this is not a model at all'))).rejects.toThrow(PolicyModelError);
    await expect(loadOnnxPolicy(join(dir, 'missing.onnx'))).rejects.toThrow(/cannot read policy model .*ENOENT/);
  });

  it('accepts an externally trained model that follows the contract (logits only, default sizes)', async () => {
    const policy = trainedLookingPolicy(6, [64, 64], 5, 'separate');
    const model = await loadBytes('sb3.onnx', externalModel(policy, { obs_version: 'obs-v1' }), { defaultSizes: [2_000] });
    try {
      expect(model.contract.hasValue).toBe(false);
      expect(model.contract.actionSpace).toEqual({ sizes: [2_000], styles: ['take'] });
      expect(model.contract.producer).toBe('pytorch');
      expect(model.contract.version).toMatch(/^[0-9a-f]{12}$/);
      const obs = new Float32Array(52).map((_, i) => Math.sin(i));
      const out = await model.run(obs);
      expect(out.value).toBeNull();
      const ours = policy.logits(obs);
      for (let a = 0; a < 5; a++) expect(Math.abs(out.logits[a] - ours[a])).toBeLessThanOrEqual(1e-5);
    } finally {
      await model.release();
    }
  });

  it('loads from bytes and refuses a different action space when one is expected', async () => {
    const bytes = policyToOnnx(trainedLookingPolicy(7), { actionSpace: SPACE });
    const model = await OnnxPolicy.fromBytes(bytes);
    await model.release();
    await expect(OnnxPolicy.fromBytes(bytes, { expectedActionSpace: { sizes: [100], styles: ['take'] } })).rejects.toThrow(/differs from the expected/);
  });
});
