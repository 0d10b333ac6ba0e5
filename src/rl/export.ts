/**
 * From a trained actor-critic to the ONNX policy contract: the network as plain dense layers and
 * the file write (`src/adapters/policy/onnx-export.ts` does the encoding).
 */
import { OBS_VERSION } from '../core/features.ts';
import { actionNames } from '../core/features/actions.ts';
import type { ActionSpaceConfig } from '../core/features/actions.ts';
import { encodeOnnxPolicy, writeOnnxPolicy } from '../adapters/policy/onnx-export.ts';
import type { DenseLayer, PolicyNetwork } from '../adapters/policy/onnx-export.ts';
import type { Mlp } from './ppo/mlp.ts';
import type { ActorCritic } from './ppo/policy.ts';

function denseLayers(mlp: Mlp): DenseLayer[] {
  return mlp.layers.map((layer, i): DenseLayer => ({
    inSize: layer.inSize,
    outSize: layer.outSize,
    weights: mlp.params.slice(layer.wOffset, layer.wOffset + layer.inSize * layer.outSize),
    bias: mlp.params.slice(layer.bOffset, layer.bOffset + layer.outSize),
    activation: i < mlp.layers.length - 1 || mlp.activateOutput ? 'tanh' : 'none',
  }));
}

export function policyNetwork(policy: ActorCritic, includeValue = true): PolicyNetwork {
  const net: PolicyNetwork = {
    observationSize: policy.shape.observationSize,
    actionCount: policy.shape.actionCount,
    policy: denseLayers(policy.pi),
  };
  if (policy.trunk) net.trunk = denseLayers(policy.trunk);
  if (includeValue) net.value = denseLayers(policy.vf);
  return net;
}

export interface ExportOptions {
  actionSpace: ActionSpaceConfig;
  modelVersion?: string;
  includeValue?: boolean;
  extra?: Record<string, string>;
}

function metadata(options: ExportOptions) {
  return {
    obsVersion: OBS_VERSION,
    actions: actionNames(options.actionSpace),
    actionSpace: options.actionSpace,
    modelVersion: options.modelVersion,
    extra: options.extra,
  };
}

export function policyToOnnx(policy: ActorCritic, options: ExportOptions): Uint8Array {
  return encodeOnnxPolicy(policyNetwork(policy, options.includeValue ?? true), metadata(options));
}

/** Writes the policy as an ONNX file (atomically). */
export async function exportPolicyOnnx(policy: ActorCritic, path: string, options: ExportOptions): Promise<Uint8Array> {
  return writeOnnxPolicy(path, policyNetwork(policy, options.includeValue ?? true), metadata(options));
}
