/**
 * Writes a policy network (dense layers with tanh activations: an optional shared trunk, then a
 * policy chain and an optional value chain) as an ONNX model that follows the policy contract
 * (see `onnx-policy.ts`): input `obs` float32 [N, 52]; outputs `logits` float32 [N, A] and, when
 * a value chain is given, `value` float32 [N, 1]; metadata_props `obs_version`, `actions`,
 * `sizes`, `styles`. Each layer is a Gemm (transB = 1, weights stored [out × in] as PyTorch does),
 * followed by Tanh where the layer has it. Files are written atomically.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OBS_VERSION } from '../../core/features.ts';
import { formatSizes } from '../../core/features/actions.ts';
import type { ActionSpaceConfig } from '../../core/features/actions.ts';
import { TENSOR_FLOAT, encodeModel } from './onnx-proto.ts';
import type { NodeSpec, TensorSpec, ValueInfoSpec } from './onnx-proto.ts';

export interface DenseLayer {
  inSize: number;
  outSize: number;
  /** Row-major [outSize × inSize]. */
  weights: Float32Array;
  bias: Float32Array;
  activation: 'tanh' | 'none';
}

export interface PolicyNetwork {
  observationSize: number;
  actionCount: number;
  /** Layers shared by both chains (applied to `obs` first), if any. */
  trunk?: DenseLayer[];
  policy: DenseLayer[];
  value?: DenseLayer[];
}

export interface PolicyModelMetadata {
  obsVersion?: string;
  /** Action names, one per logit. */
  actions: string[];
  actionSpace: ActionSpaceConfig;
  /** Free-form version of this model (default: none). */
  modelVersion?: string;
  /** Extra metadata_props. */
  extra?: Record<string, string>;
}

export const ONNX_IR_VERSION = 8;
export const ONNX_OPSET = 13;
export const PRODUCER_NAME = 'kalshiflow';

export class PolicyExportError extends Error {
  override readonly name = 'PolicyExportError';
}

function checkLayers(name: string, layers: DenseLayer[], inSize: number, outSize: number): void {
  if (layers.length === 0) throw new PolicyExportError(`${name} network has no layers`);
  let expected = inSize;
  layers.forEach((l, i) => {
    if (l.inSize !== expected) throw new PolicyExportError(`${name} layer ${i}: input size ${l.inSize}, expected ${expected}`);
    if (l.weights.length !== l.inSize * l.outSize) throw new PolicyExportError(`${name} layer ${i}: weights have ${l.weights.length} values, expected ${l.inSize * l.outSize}`);
    if (l.bias.length !== l.outSize) throw new PolicyExportError(`${name} layer ${i}: bias has ${l.bias.length} values, expected ${l.outSize}`);
    expected = l.outSize;
  });
  if (expected !== outSize) throw new PolicyExportError(`${name} network outputs ${expected} values, expected ${outSize}`);
}

/** The ONNX bytes of `network` with `metadata`. */
export function encodeOnnxPolicy(network: PolicyNetwork, metadata: PolicyModelMetadata): Uint8Array {
  const trunk = network.trunk ?? [];
  if (trunk.length > 0) checkLayers('trunk', trunk, network.observationSize, trunk[trunk.length - 1].outSize);
  const headInput = trunk.length > 0 ? trunk[trunk.length - 1].outSize : network.observationSize;
  checkLayers('policy', network.policy, headInput, network.actionCount);
  if (network.value) checkLayers('value', network.value, headInput, 1);
  if (metadata.actions.length !== network.actionCount) {
    throw new PolicyExportError(`${metadata.actions.length} action names for ${network.actionCount} logits`);
  }
  const nodes: NodeSpec[] = [];
  const initializers: TensorSpec[] = [];
  const chain = (prefix: string, layers: DenseLayer[], input: string, output: string): void => {
    let current = input;
    layers.forEach((layer, i) => {
      const w = `${prefix}.${i}.weight`;
      const b = `${prefix}.${i}.bias`;
      initializers.push({ name: w, dims: [layer.outSize, layer.inSize], data: layer.weights });
      initializers.push({ name: b, dims: [layer.outSize], data: layer.bias });
      const last = i === layers.length - 1;
      const gemmOut = last && layer.activation === 'none' ? output : `${prefix}.${i}.linear`;
      nodes.push({
        opType: 'Gemm',
        name: `${prefix}.${i}.gemm`,
        inputs: [current, w, b],
        outputs: [gemmOut],
        attributes: [
          { name: 'alpha', type: 'float', value: 1 },
          { name: 'beta', type: 'float', value: 1 },
          { name: 'transB', type: 'int', value: 1 },
        ],
      });
      current = gemmOut;
      if (layer.activation === 'tanh') {
        const tanhOut = last ? output : `${prefix}.${i}.tanh`;
        nodes.push({ opType: 'Tanh', name: `${prefix}.${i}.act`, inputs: [current], outputs: [tanhOut] });
        current = tanhOut;
      }
    });
  };
  const trunkOut = trunk.length > 0 ? 'trunk.out' : 'obs';
  if (trunk.length > 0) chain('trunk', trunk, 'obs', trunkOut);
  chain('policy', network.policy, trunkOut, 'logits');
  const outputs: ValueInfoSpec[] = [{ name: 'logits', elemType: TENSOR_FLOAT, shape: ['N', network.actionCount] }];
  if (network.value) {
    chain('value', network.value, trunkOut, 'value');
    outputs.push({ name: 'value', elemType: TENSOR_FLOAT, shape: ['N', 1] });
  }
  const space = metadata.actionSpace;
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opsetVersion: ONNX_OPSET,
    producerName: PRODUCER_NAME,
    producerVersion: '1',
    graphName: 'policy',
    nodes,
    initializers,
    inputs: [{ name: 'obs', elemType: TENSOR_FLOAT, shape: ['N', network.observationSize] }],
    outputs,
    metadata: {
      obs_version: metadata.obsVersion ?? OBS_VERSION,
      actions: metadata.actions.join(','),
      sizes: formatSizes(space.sizes),
      styles: space.styles.join(','),
      ...(metadata.modelVersion ? { model_version: metadata.modelVersion } : {}),
      ...(metadata.extra ?? {}),
    },
    docString: 'kalshiflow policy: obs [N,52] (obs-v1) → logits [N,A] (+ value [N,1])',
  });
}

/** Writes the model to `path` atomically (temporary file + rename), creating the folder. */
export async function writeOnnxPolicy(path: string, network: PolicyNetwork, metadata: PolicyModelMetadata): Promise<Uint8Array> {
  const bytes = encodeOnnxPolicy(network, metadata);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
  return bytes;
}
