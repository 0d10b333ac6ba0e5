/**
 * Loading and running an ONNX policy with onnxruntime-node, after checking it follows the policy
 * contract — so a model trained elsewhere (e.g. Stable-Baselines3 exported with torch.onnx) runs
 * if, and only if, it means what the trader will feed it.
 *
 * The contract:
 * - one input `obs`, float32, shape [N, 52] (N symbolic or fixed): the `obs-v1` features of
 *   `src/core/features.ts`, in that order;
 * - output `logits`, float32 [N, A]: unnormalized action scores (masking and argmax are ours);
 *   output `value` float32 [N, 1] is optional; other outputs are ignored;
 * - metadata_props `obs_version` = `obs-v1` (required: a model for another observation is refused);
 *   `sizes` (contracts, comma-separated) and `styles` (`take`/`join`) define the action space, with
 *   A = 1 + 4 × |sizes| × |styles| in the order of `src/core/features/actions.ts`; when absent,
 *   the caller's default sizes and `take` apply (SB3's 5 actions: HOLD, BUY_YES, SELL_YES, BUY_NO,
 *   SELL_NO); `actions`, when present, must name exactly those actions; `model_version` optional.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { FEATURE_COUNT, OBS_VERSION } from '../../core/features.ts';
import { actionCount, actionNames, parseSizes } from '../../core/features/actions.ts';
import type { ActionSpaceConfig, OrderStyle } from '../../core/features/actions.ts';
import type { Count } from '../../core/money.ts';
import { OnnxProtoError, TENSOR_FLOAT, decodeModelInfo } from './onnx-proto.ts';
import type { ModelInfo, ValueInfo } from './onnx-proto.ts';

export class PolicyModelError extends Error {
  override readonly name = 'PolicyModelError';
}

export interface PolicyContract {
  obsVersion: string;
  actionSpace: ActionSpaceConfig;
  actions: string[];
  hasValue: boolean;
  /** metadata `model_version`, else the first 12 hex digits of the file's SHA-256. */
  version: string;
  sha256: string;
  producer: string;
  metadata: Record<string, string>;
}

export interface PolicyLoadOptions {
  /** Sizes (Count) for models without `sizes` metadata (default one contract). */
  defaultSizes?: Count[];
  /** Refuse models whose action space differs from this one. */
  expectedActionSpace?: ActionSpaceConfig;
  /** For error messages (default "model"). */
  source?: string;
}

function describeShape(v: ValueInfo): string {
  return v.shape ? `[${v.shape.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : 'unknown shape';
}

/** Checks a decoded model against the contract; returns what it promises. Throws PolicyModelError. */
export function validatePolicyContract(info: ModelInfo, bytes: Uint8Array, options: PolicyLoadOptions = {}): PolicyContract {
  const source = options.source ?? 'model';
  const obsVersion = info.metadata.obs_version;
  if (obsVersion === undefined) {
    throw new PolicyModelError(
      `${source} has no obs_version metadata; a policy must declare the observation it was trained on ` +
        `(metadata_props obs_version=${OBS_VERSION} for the 52 features of src/core/features.ts)`,
    );
  }
  if (obsVersion !== OBS_VERSION) {
    throw new PolicyModelError(`${source} was trained on observation version "${obsVersion}", but this build computes "${OBS_VERSION}"; retrain or export it for ${OBS_VERSION}`);
  }
  const initializers = new Set(info.initializerNames);
  const inputs = info.inputs.filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1 || inputs[0].name !== 'obs') {
    throw new PolicyModelError(`${source} must have exactly one input named "obs", found: ${inputs.map((i) => JSON.stringify(i.name)).join(', ') || 'none'}`);
  }
  const obs = inputs[0];
  if (obs.elemType !== TENSOR_FLOAT) throw new PolicyModelError(`${source}: input "obs" must be float32 (ONNX type 1), found type ${obs.elemType}`);
  if (!obs.shape || obs.shape.length !== 2 || obs.shape[1] !== FEATURE_COUNT) {
    throw new PolicyModelError(`${source}: input "obs" must have shape [N, ${FEATURE_COUNT}], found ${describeShape(obs)}`);
  }
  const logits = info.outputs.find((o) => o.name === 'logits');
  if (!logits) {
    throw new PolicyModelError(`${source} has no output named "logits" (outputs: ${info.outputs.map((o) => JSON.stringify(o.name)).join(', ') || 'none'})`);
  }
  if (logits.elemType !== TENSOR_FLOAT) throw new PolicyModelError(`${source}: output "logits" must be float32, found type ${logits.elemType}`);
  const a = logits.shape && logits.shape.length === 2 ? logits.shape[1] : null;
  if (typeof a !== 'number' || a < 2) throw new PolicyModelError(`${source}: output "logits" must have shape [N, A] with a fixed A ≥ 2, found ${describeShape(logits)}`);
  const value = info.outputs.find((o) => o.name === 'value');
  if (value && (value.elemType !== TENSOR_FLOAT || !value.shape || value.shape.length !== 2 || value.shape[1] !== 1)) {
    throw new PolicyModelError(`${source}: output "value", when present, must be float32 [N, 1], found ${describeShape(value)}`);
  }

  let sizes: Count[];
  try {
    sizes = info.metadata.sizes !== undefined ? parseSizes(info.metadata.sizes) : [...(options.defaultSizes ?? [100])];
  } catch (error) {
    throw new PolicyModelError(`${source}: metadata sizes=${JSON.stringify(info.metadata.sizes)} is not a list of contract counts (${(error as Error).message})`);
  }
  if (sizes.length === 0) throw new PolicyModelError(`${source}: metadata sizes is empty`);
  const styleText = info.metadata.styles ?? 'take';
  const styles = styleText.split(',').map((s) => s.trim());
  if (styles.some((s) => s !== 'take' && s !== 'join') || new Set(styles).size !== styles.length) {
    throw new PolicyModelError(`${source}: metadata styles=${JSON.stringify(styleText)} must list take and/or join once each`);
  }
  const actionSpace: ActionSpaceConfig = { sizes, styles: styles as OrderStyle[] };
  const expectedCount = actionCount(actionSpace);
  if (a !== expectedCount) {
    throw new PolicyModelError(
      `${source}: "logits" has ${a} actions, but sizes=${info.metadata.sizes ?? '(default)'} and styles=${styleText} define ${expectedCount} (1 + 4 × sizes × styles)`,
    );
  }
  const names = actionNames(actionSpace);
  if (info.metadata.actions !== undefined) {
    const declared = info.metadata.actions.split(',').map((s) => s.trim());
    if (declared.join(',') !== names.join(',')) {
      throw new PolicyModelError(`${source}: metadata actions=${info.metadata.actions} does not match the action space (${names.join(',')})`);
    }
  }
  if (options.expectedActionSpace) {
    const want = actionNames(options.expectedActionSpace).join(',');
    if (want !== names.join(',') || options.expectedActionSpace.sizes.join(',') !== sizes.join(',')) {
      throw new PolicyModelError(`${source}: action space ${names.join(',')} (sizes ${sizes.join(',')}) differs from the expected ${want}`);
    }
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    obsVersion,
    actionSpace,
    actions: names,
    hasValue: value !== undefined,
    version: info.metadata.model_version ?? sha256.slice(0, 12),
    sha256,
    producer: info.producerName,
    metadata: { ...info.metadata },
  };
}

export interface PolicyOutput {
  /** [batch × A], fresh per call. */
  logits: Float32Array;
  /** [batch], or null when the model has no value output. */
  value: Float32Array | null;
}

/** A loaded, validated policy model. */
export class OnnxPolicy {
  readonly contract: PolicyContract;
  readonly source: string;
  private readonly session: ort.InferenceSession;
  private readonly outputNames: string[];
  private released = false;

  private constructor(session: ort.InferenceSession, contract: PolicyContract, source: string) {
    this.session = session;
    this.contract = contract;
    this.source = source;
    this.outputNames = contract.hasValue ? ['logits', 'value'] : ['logits'];
  }

  /** Validates `bytes` against the contract, creates the session and checks one inference. */
  static async fromBytes(bytes: Uint8Array, options: PolicyLoadOptions = {}): Promise<OnnxPolicy> {
    const source = options.source ?? 'model';
    let info: ModelInfo;
    try {
      info = decodeModelInfo(bytes);
    } catch (error) {
      if (error instanceof OnnxProtoError) throw new PolicyModelError(`${source} is not a readable ONNX model: ${error.message}`);
      throw error;
    }
    const contract = validatePolicyContract(info, bytes, options);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 });
    } catch (error) {
      throw new PolicyModelError(`${source}: onnxruntime refused the model: ${(error as Error).message}`);
    }
    const policy = new OnnxPolicy(session, contract, source);
    try {
      if (!session.inputNames.includes('obs') || !session.outputNames.includes('logits')) {
        throw new PolicyModelError(`${source}: onnxruntime sees inputs ${session.inputNames.join(',')} and outputs ${session.outputNames.join(',')}`);
      }
      const probe = await policy.run(new Float32Array(FEATURE_COUNT), 1);
      if (probe.logits.length !== contract.actions.length || probe.logits.some((v) => !Number.isFinite(v))) {
        throw new PolicyModelError(`${source}: a test inference returned ${probe.logits.length} logits (expected ${contract.actions.length}, all finite)`);
      }
    } catch (error) {
      await policy.release();
      if (error instanceof PolicyModelError) throw error;
      throw new PolicyModelError(`${source}: test inference failed: ${(error as Error).message}`);
    }
    return policy;
  }

  get actionCount(): number {
    return this.contract.actions.length;
  }

  /** Runs `batch` observations ([batch × 52] float32). */
  async run(obs: Float32Array, batch = 1): Promise<PolicyOutput> {
    if (this.released) throw new PolicyModelError(`${this.source}: the model was released`);
    if (obs.length !== batch * FEATURE_COUNT) throw new RangeError(`expected ${batch * FEATURE_COUNT} observation values, got ${obs.length}`);
    const feeds = { obs: new ort.Tensor('float32', obs, [batch, FEATURE_COUNT]) };
    const out = await this.session.run(feeds, this.outputNames);
    const logits = out.logits.data as Float32Array;
    const value = this.contract.hasValue ? (out.value.data as Float32Array) : null;
    return { logits: new Float32Array(logits), value: value ? new Float32Array(value) : null };
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.session.release();
  }
}

/** Reads, validates and loads a policy model file. Throws PolicyModelError with the reason. */
export async function loadOnnxPolicy(path: string, options: PolicyLoadOptions = {}): Promise<OnnxPolicy> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new PolicyModelError(`cannot read policy model ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return OnnxPolicy.fromBytes(bytes, { ...options, source: options.source ?? path });
}
