/**
 * Optional accelerated backend for the PPO update: our hand-derived forward and backward passes
 * of the actor-critic (the same math as `Mlp.forward`/`Mlp.backward`: Gemm, tanh, tanh' = 1 − a²,
 * bias gradients as column sums) written out as two ONNX graphs and executed by
 * onnxruntime-node's SIMD kernels. The PPO loss and its gradient w.r.t. logits and values stay in
 * `loss.ts`; only the matrix work moves. The JS kernels remain the reference: tests hold this
 * backend's outputs and gradients equal to theirs (float32 tolerance).
 *
 * Graphs take the flat parameter vector as one input (sliced inside), so each minibatch costs two
 * runs: forward(obs, params) → logits, values; gradient(obs, params, dLogits, dValues) → the flat
 * gradient in the parameters' layout.
 */
import * as ort from 'onnxruntime-node';
import { TENSOR_FLOAT, encodeModel } from '../../adapters/policy/onnx-proto.ts';
import type { NodeSpec, TensorSpec } from '../../adapters/policy/onnx-proto.ts';
import type { ActorCritic } from './policy.ts';
import type { Mlp } from './mlp.ts';

interface LayerRef {
  w: string;
  b: string;
  inSize: number;
  outSize: number;
  tanh: boolean;
}

class GraphBuilder {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: TensorSpec[] = [];
  private n = 0;

  name(prefix: string): string {
    return `${prefix}_${this.n++}`;
  }

  op(opType: string, inputs: string[], attributes: NodeSpec['attributes'] = []): string {
    const out = this.name(opType.toLowerCase());
    this.nodes.push({ opType, name: `${out}_node`, inputs, outputs: [out], attributes });
    return out;
  }

  int64(values: number[]): string {
    const name = this.name('i64');
    this.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    return name;
  }

  gemm(a: string, b: string, c: string | null, transA: number, transB: number): string {
    return this.op('Gemm', c ? [a, b, c] : [a, b], [
      { name: 'transA', type: 'int', value: transA },
      { name: 'transB', type: 'int', value: transB },
    ]);
  }

  /** W [out × in] and b [out] of a layer, sliced from the flat `params` input. */
  layer(mlp: Mlp, base: number, index: number, tanh: boolean): LayerRef {
    const l = mlp.layers[index];
    const slice = (from: number, count: number, dims: number[]) => {
      const flat = this.op('Slice', ['params', this.int64([from]), this.int64([from + count]), this.int64([0])]);
      return this.op('Reshape', [flat, this.int64(dims)]);
    };
    return {
      w: slice(base + l.wOffset, l.inSize * l.outSize, [l.outSize, l.inSize]),
      b: slice(base + l.bOffset, l.outSize, [l.outSize]),
      inSize: l.inSize,
      outSize: l.outSize,
      tanh,
    };
  }
}

interface Chain {
  layers: LayerRef[];
  /** Gradient output names per layer (W, b), filled by backward. */
  grads: Array<{ w: string; b: string }>;
}

function chainOf(g: GraphBuilder, mlp: Mlp, base: number, tanhOutput: boolean): Chain {
  const layers = mlp.layers.map((_, i) => g.layer(mlp, base, i, i < mlp.layers.length - 1 || tanhOutput));
  return { layers, grads: [] };
}

/** Forward through a chain; returns the activations [input, a_0, …, a_last]. */
function forwardChain(g: GraphBuilder, chain: Chain, input: string): string[] {
  const acts = [input];
  let x = input;
  for (const layer of chain.layers) {
    const z = g.gemm(x, layer.w, layer.b, 0, 1);
    x = layer.tanh ? g.op('Tanh', [z]) : z;
    acts.push(x);
  }
  return acts;
}

/** Backward through a chain given ∂L/∂output; fills `chain.grads`, returns ∂L/∂input when asked. */
function backwardChain(g: GraphBuilder, chain: Chain, acts: string[], dOut: string, one: string, axes0: string, needInput: boolean): string | null {
  const last = chain.layers.length - 1;
  const tanhGrad = (d: string, a: string) => g.op('Mul', [d, g.op('Sub', [one, g.op('Mul', [a, a])])]);
  let dz = chain.layers[last].tanh ? tanhGrad(dOut, acts[last + 1]) : dOut;
  const grads: Array<{ w: string; b: string }> = new Array(chain.layers.length);
  let dInput: string | null = null;
  for (let l = last; l >= 0; l--) {
    const layer = chain.layers[l];
    grads[l] = {
      w: g.gemm(dz, acts[l], null, 1, 0),
      b: g.op('ReduceSum', [dz, axes0], [{ name: 'keepdims', type: 'int', value: 0 }]),
    };
    if (l > 0 || needInput) {
      const dx = g.op('MatMul', [dz, layer.w]);
      if (l > 0) dz = tanhGrad(dx, acts[l]);
      else dInput = dx;
    }
  }
  chain.grads = grads;
  return dInput;
}

function floatInput(name: string, shape: Array<number | string>) {
  return { name, elemType: TENSOR_FLOAT, shape };
}

function buildGraphs(policy: ActorCritic): { forward: Uint8Array; gradient: Uint8Array } {
  const { observationSize: D, actionCount: A } = policy.shape;
  const P = policy.parameterCount;
  const build = (withGradient: boolean): Uint8Array => {
    const g = new GraphBuilder();
    const one = g.name('one');
    if (withGradient) g.initializers.push({ name: one, dims: [], data: Float32Array.of(1) });
    const axes0 = withGradient ? g.int64([0]) : '';
    const trunk = policy.trunk ? chainOf(g, policy.trunk, 0, true) : null;
    const pi = chainOf(g, policy.pi, policy.policyOffset, false);
    const vf = chainOf(g, policy.vf, policy.valueOffset, false);
    const trunkActs = trunk ? forwardChain(g, trunk, 'obs') : ['obs'];
    const features = trunkActs[trunkActs.length - 1];
    const piActs = forwardChain(g, pi, features);
    const vfActs = forwardChain(g, vf, features);
    const outputs = [];
    if (!withGradient) {
      g.nodes.push({ opType: 'Identity', name: 'logits_node', inputs: [piActs[piActs.length - 1]], outputs: ['logits'] });
      g.nodes.push({ opType: 'Identity', name: 'values_node', inputs: [vfActs[vfActs.length - 1]], outputs: ['values'] });
      outputs.push(floatInput('logits', ['N', A]), floatInput('values', ['N', 1]));
    } else {
      const dPi = backwardChain(g, pi, piActs, 'dLogits', one, axes0, trunk !== null);
      const dVf = backwardChain(g, vf, vfActs, 'dValues', one, axes0, trunk !== null);
      if (trunk) backwardChain(g, trunk, trunkActs, g.op('Add', [dPi!, dVf!]), one, axes0, false);
      // the flat gradient in the parameters' layout: [trunk | policy | value], each layer W then b
      const pieces: string[] = [];
      for (const chain of [trunk, pi, vf]) {
        if (!chain) continue;
        for (const grad of chain.grads) pieces.push(g.op('Reshape', [grad.w, g.int64([-1])]), grad.b);
      }
      g.nodes.push({ opType: 'Concat', name: 'grad_node', inputs: pieces, outputs: ['grad'], attributes: [{ name: 'axis', type: 'int', value: 0 }] });
      outputs.push(floatInput('grad', [P]));
    }
    const inputs = [floatInput('obs', ['N', D]), floatInput('params', [P])];
    if (withGradient) inputs.push(floatInput('dLogits', ['N', A]), floatInput('dValues', ['N', 1]));
    return encodeModel({
      irVersion: 8,
      opsetVersion: 13,
      producerName: 'kalshiflow-ppo',
      producerVersion: '1',
      graphName: withGradient ? 'actor_critic_gradient' : 'actor_critic_forward',
      nodes: g.nodes,
      initializers: g.initializers,
      inputs,
      outputs,
      metadata: {},
    });
  };
  return { forward: build(false), gradient: build(true) };
}

export class OrtBackend {
  private constructor(
    private readonly policy: ActorCritic,
    private readonly forwardSession: ort.InferenceSession,
    private readonly gradientSession: ort.InferenceSession,
  ) {}

  static async create(policy: ActorCritic): Promise<OrtBackend> {
    const graphs = buildGraphs(policy);
    // one thread each: the trainer already runs one backend per worker thread
    const options: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      logSeverityLevel: 3,
    };
    const forward = await ort.InferenceSession.create(graphs.forward, options);
    const gradient = await ort.InferenceSession.create(graphs.gradient, options);
    return new OrtBackend(policy, forward, gradient);
  }

  private params(): ort.Tensor {
    return new ort.Tensor('float32', this.policy.params, [this.policy.parameterCount]);
  }

  /** Logits [batch × A] and values [batch] of the policy's current parameters. */
  async forward(obs: Float32Array, batch: number): Promise<{ logits: Float32Array; values: Float32Array }> {
    const D = this.policy.shape.observationSize;
    const out = await this.forwardSession.run({
      obs: new ort.Tensor('float32', obs.subarray(0, batch * D), [batch, D]),
      params: this.params(),
    });
    return { logits: out.logits.data as Float32Array, values: out.values.data as Float32Array };
  }

  /** ∂L/∂params (flat) for ∂L/∂logits and ∂L/∂values of `batch` observations. */
  async gradient(obs: Float32Array, batch: number, dLogits: Float32Array, dValues: Float32Array): Promise<Float32Array> {
    const D = this.policy.shape.observationSize;
    const A = this.policy.shape.actionCount;
    const out = await this.gradientSession.run({
      obs: new ort.Tensor('float32', obs.subarray(0, batch * D), [batch, D]),
      params: this.params(),
      dLogits: new ort.Tensor('float32', dLogits.subarray(0, batch * A), [batch, A]),
      dValues: new ort.Tensor('float32', dValues.subarray(0, batch), [batch, 1]),
    });
    return out.grad.data as Float32Array;
  }

  async release(): Promise<void> {
    await this.forwardSession.release();
    await this.gradientSession.release();
  }
}
