/**
 * A small fully connected network (tanh hidden layers; linear or tanh output) with hand-written
 * batched forward and backward passes — the shared trunk and the policy and value heads of PPO,
 * and exactly the graph the ONNX exporter writes (Gemm with transB=1, Tanh).
 *
 * Layout: layer l has W_l [out × in] row-major (PyTorch's and ONNX Gemm transB=1's layout) then
 * b_l [out]; all layers live in one flat Float32Array (`params`, a view into the owner's buffer),
 * so optimizer, checkpoints, worker messages and ONNX export handle a single float32 vector.
 * The kernels work on a float64 mirror of it (`sync()` refreshes the mirror; float64 typed arrays
 * are measurably faster to stream through V8's JIT than float32 ones) with 4×2 register blocking;
 * gradients are float64.
 */
import type { Rng } from '../../core/random.ts';

export interface LayerView {
  inSize: number;
  outSize: number;
  /** Offset of W in the flat parameter vector; b follows at wOffset + in·out. */
  wOffset: number;
  bOffset: number;
}

export function mlpParameterCount(sizes: readonly number[]): number {
  let n = 0;
  for (let l = 1; l < sizes.length; l++) n += sizes[l - 1] * sizes[l] + sizes[l];
  return n;
}

// ---------------------------------------------------------------- kernels

const POW2_NEG = new Float64Array(64).map((_, i) => 2 ** -i);
const TWO_LOG2E = 2 * Math.LOG2E;

/**
 * tanh without a library call: e^(−2|x|) by range reduction to 2^−i · e^t, |t| ≤ ln2/2, with a
 * degree-7 Taylor polynomial (absolute error < 4e-9, far below float32 resolution).
 */
export function fastTanh(x: number): number {
  const ax = Math.min(Math.abs(x), 15);
  const y = ax * TWO_LOG2E;
  const i = (y + 0.5) | 0;
  const t = (i - y) * Math.LN2;
  const p = 1 + t * (1 + t * (0.5 + t * (1 / 6 + t * (1 / 24 + t * (1 / 120 + t * (1 / 720 + t * (1 / 5040)))))));
  const e = POW2_NEG[i] * p;
  return Math.sign(x) * ((1 - e) / (1 + e));
}

/**
 * C[i, j] = (accumulate ? C[i, j] : bias[j] or 0) + Σ_k A[i, k] · B[j, k], all row-major with
 * row lengths `inner` (A, B) and `cols` (C). Blocks of 4 rows × 2 columns keep 8 sums in registers.
 */
export function gemmNT(
  A: Float64Array,
  aOff: number,
  rows: number,
  B: Float64Array,
  bOff: number,
  cols: number,
  inner: number,
  C: Float64Array,
  cOff: number,
  bias: Float64Array | null,
  biasOff: number,
  accumulate: boolean,
): void {
  let i = 0;
  for (; i + 3 < rows; i += 4) {
    const a0 = aOff + i * inner;
    const a1 = a0 + inner;
    const a2 = a1 + inner;
    const a3 = a2 + inner;
    const c0 = cOff + i * cols;
    const c1 = c0 + cols;
    const c2 = c1 + cols;
    const c3 = c2 + cols;
    let j = 0;
    for (; j + 1 < cols; j += 2) {
      const b0 = bOff + j * inner;
      const b1 = b0 + inner;
      let s00 = 0, s10 = 0, s20 = 0, s30 = 0, s01 = 0, s11 = 0, s21 = 0, s31 = 0;
      for (let k = 0; k < inner; k++) {
        const w0 = B[b0 + k];
        const w1 = B[b1 + k];
        const x0 = A[a0 + k];
        const x1 = A[a1 + k];
        const x2 = A[a2 + k];
        const x3 = A[a3 + k];
        s00 += x0 * w0;
        s10 += x1 * w0;
        s20 += x2 * w0;
        s30 += x3 * w0;
        s01 += x0 * w1;
        s11 += x1 * w1;
        s21 += x2 * w1;
        s31 += x3 * w1;
      }
      if (accumulate) {
        C[c0 + j] += s00;
        C[c1 + j] += s10;
        C[c2 + j] += s20;
        C[c3 + j] += s30;
        C[c0 + j + 1] += s01;
        C[c1 + j + 1] += s11;
        C[c2 + j + 1] += s21;
        C[c3 + j + 1] += s31;
      } else {
        const bj0 = bias ? bias[biasOff + j] : 0;
        const bj1 = bias ? bias[biasOff + j + 1] : 0;
        C[c0 + j] = s00 + bj0;
        C[c1 + j] = s10 + bj0;
        C[c2 + j] = s20 + bj0;
        C[c3 + j] = s30 + bj0;
        C[c0 + j + 1] = s01 + bj1;
        C[c1 + j + 1] = s11 + bj1;
        C[c2 + j + 1] = s21 + bj1;
        C[c3 + j + 1] = s31 + bj1;
      }
    }
    for (; j < cols; j++) {
      const b0 = bOff + j * inner;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < inner; k++) {
        const w = B[b0 + k];
        s0 += A[a0 + k] * w;
        s1 += A[a1 + k] * w;
        s2 += A[a2 + k] * w;
        s3 += A[a3 + k] * w;
      }
      if (accumulate) {
        C[c0 + j] += s0;
        C[c1 + j] += s1;
        C[c2 + j] += s2;
        C[c3 + j] += s3;
      } else {
        const bj = bias ? bias[biasOff + j] : 0;
        C[c0 + j] = s0 + bj;
        C[c1 + j] = s1 + bj;
        C[c2 + j] = s2 + bj;
        C[c3 + j] = s3 + bj;
      }
    }
  }
  // leftover rows (and single observations): 4 columns at a time share each load of A
  for (; i < rows; i++) {
    const a0 = aOff + i * inner;
    const c0 = cOff + i * cols;
    let j = 0;
    for (; j + 3 < cols; j += 4) {
      const b0 = bOff + j * inner;
      const b1 = b0 + inner;
      const b2 = b1 + inner;
      const b3 = b2 + inner;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < inner; k++) {
        const x = A[a0 + k];
        s0 += x * B[b0 + k];
        s1 += x * B[b1 + k];
        s2 += x * B[b2 + k];
        s3 += x * B[b3 + k];
      }
      if (accumulate) {
        C[c0 + j] += s0;
        C[c0 + j + 1] += s1;
        C[c0 + j + 2] += s2;
        C[c0 + j + 3] += s3;
      } else {
        C[c0 + j] = s0 + (bias ? bias[biasOff + j] : 0);
        C[c0 + j + 1] = s1 + (bias ? bias[biasOff + j + 1] : 0);
        C[c0 + j + 2] = s2 + (bias ? bias[biasOff + j + 2] : 0);
        C[c0 + j + 3] = s3 + (bias ? bias[biasOff + j + 3] : 0);
      }
    }
    for (; j < cols; j++) {
      const b0 = bOff + j * inner;
      let s = 0;
      for (let k = 0; k < inner; k++) s += A[a0 + k] * B[b0 + k];
      if (accumulate) C[c0 + j] += s;
      else C[c0 + j] = s + (bias ? bias[biasOff + j] : 0);
    }
  }
}

/** out[c, r] = input[r, c] for an input of rows × cols. */
function transpose(input: Float64Array, rows: number, cols: number, out: Float64Array): void {
  for (let r = 0; r < rows; r++) {
    const ro = r * cols;
    for (let c = 0; c < cols; c++) out[c * rows + r] = input[ro + c];
  }
}

// ---------------------------------------------------------------- network

export class Mlp {
  readonly sizes: readonly number[];
  readonly layers: LayerView[];
  readonly parameterCount: number;
  /** Parameters (float32, a view; may share one buffer with another network). */
  readonly params: Float32Array;
  /** float64 mirror of `params`, and of each layer's W transposed (for input gradients). */
  private readonly w: Float64Array;
  private readonly wt: Float64Array[];
  /** Activations per layer of the last forward batch: acts[0] = input, acts[L] = output. */
  private acts: Float64Array[] = [];
  private deltas: Float64Array[] = [];
  private scratchA = new Float64Array(0);
  private scratchB = new Float64Array(0);
  private capacity = 0;
  private batch = 0;
  /** tanh on the output layer too (a trunk feeding heads), not only on hidden layers. */
  readonly activateOutput: boolean;

  constructor(sizes: readonly number[], params?: Float32Array, options: { activateOutput?: boolean } = {}) {
    this.activateOutput = options.activateOutput ?? false;
    if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new RangeError(`MLP sizes must be ≥ 2 positive integers, got ${JSON.stringify(sizes)}`);
    }
    this.sizes = [...sizes];
    this.layers = [];
    let offset = 0;
    for (let l = 1; l < sizes.length; l++) {
      const inSize = sizes[l - 1];
      const outSize = sizes[l];
      this.layers.push({ inSize, outSize, wOffset: offset, bOffset: offset + inSize * outSize });
      offset += inSize * outSize + outSize;
    }
    this.parameterCount = offset;
    if (params && params.length !== offset) throw new RangeError(`MLP needs ${offset} parameters, got ${params.length}`);
    this.params = params ?? new Float32Array(offset);
    this.w = new Float64Array(offset);
    this.wt = this.layers.map((l) => new Float64Array(l.inSize * l.outSize));
    this.sync();
  }

  get inputSize(): number {
    return this.sizes[0];
  }

  get outputSize(): number {
    return this.sizes[this.sizes.length - 1];
  }

  /** Refreshes the float64 working copy after `params` changed. */
  sync(): void {
    const w = this.w;
    const p = this.params;
    for (let i = 0; i < w.length; i++) w[i] = p[i];
    for (let l = 0; l < this.layers.length; l++) {
      const { inSize, outSize, wOffset } = this.layers[l];
      transpose(w.subarray(wOffset, wOffset + inSize * outSize), outSize, inSize, this.wt[l]);
    }
  }

  /** Orthogonal initialization (as SB3): hidden layers with gain √2, the output layer with `outputGain`; biases 0. */
  initOrthogonal(rng: Rng, outputGain: number): void {
    for (let l = 0; l < this.layers.length; l++) {
      const layer = this.layers[l];
      const gain = l === this.layers.length - 1 ? outputGain : Math.SQRT2;
      const w = orthogonal(layer.outSize, layer.inSize, rng);
      const p = this.params;
      for (let i = 0; i < w.length; i++) p[layer.wOffset + i] = w[i] * gain;
      p.fill(0, layer.bOffset, layer.bOffset + layer.outSize);
    }
    this.sync();
  }

  private ensureCapacity(batch: number): void {
    if (batch <= this.capacity) return;
    const cap = Math.max(batch, this.capacity * 2, 8);
    this.acts = this.sizes.map((s) => new Float64Array(cap * s));
    this.deltas = this.sizes.map((s) => new Float64Array(cap * s));
    const widest = Math.max(...this.sizes);
    this.scratchA = new Float64Array(cap * widest);
    this.scratchB = new Float64Array(cap * widest);
    this.capacity = cap;
  }

  /**
   * Forward pass for `batch` rows of `input` (row-major [batch × in], from `inputOffset`).
   * Returns the output [batch × out] (a reused buffer, valid until the next forward).
   */
  forward(input: ArrayLike<number>, batch: number, inputOffset = 0): Float64Array {
    this.ensureCapacity(batch);
    this.batch = batch;
    const x0 = this.acts[0];
    const n0 = this.sizes[0] * batch;
    for (let i = 0; i < n0; i++) x0[i] = input[inputOffset + i];
    const last = this.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const { inSize, outSize, wOffset, bOffset } = this.layers[l];
      const y = this.acts[l + 1];
      gemmNT(this.acts[l], 0, batch, this.w, wOffset, outSize, inSize, y, 0, this.w, bOffset, false);
      if (l < last || this.activateOutput) {
        const n = batch * outSize;
        for (let i = 0; i < n; i++) y[i] = fastTanh(y[i]);
      }
    }
    return this.acts[last + 1];
  }

  /**
   * Backward pass for the last forward batch: `dOutput` [batch × out] = ∂L/∂output; adds
   * ∂L/∂params into `grad` (same layout as params, from `gradOffset`) and, when `dInput` is given,
   * ∂L/∂input into it ([batch × in], accumulated).
   */
  backward(dOutput: ArrayLike<number>, grad: Float64Array, gradOffset = 0, dInput?: Float64Array): void {
    const batch = this.batch;
    const last = this.layers.length - 1;
    const dOut = this.deltas[last + 1];
    const nOut = batch * this.outputSize;
    if (this.activateOutput) {
      const y = this.acts[last + 1];
      for (let i = 0; i < nOut; i++) dOut[i] = dOutput[i] * (1 - y[i] * y[i]);
    } else {
      for (let i = 0; i < nOut; i++) dOut[i] = dOutput[i];
    }
    for (let l = last; l >= 0; l--) {
      const { inSize: n, outSize: m, wOffset, bOffset } = this.layers[l];
      const dz = this.deltas[l + 1];
      const x = this.acts[l];
      // dW[j, k] += Σ_b dz[b, j] · x[b, k]: rows of dzᵀ against rows of xᵀ
      const dzT = this.scratchA;
      const xT = this.scratchB;
      transpose(dz, batch, m, dzT);
      transpose(x, batch, n, xT);
      gemmNT(dzT, 0, m, xT, 0, n, batch, grad, gradOffset + wOffset, null, 0, true);
      const gb = gradOffset + bOffset;
      for (let j = 0; j < m; j++) {
        let s = 0;
        const row = j * batch;
        for (let b = 0; b < batch; b++) s += dzT[row + b];
        grad[gb + j] += s;
      }
      if (l > 0) {
        // dx = dz · W, then through tanh: dz_prev = dx ⊙ (1 − a²)
        const dx = this.deltas[l];
        gemmNT(dz, 0, batch, this.wt[l], 0, n, m, dx, 0, null, 0, false);
        const count = batch * n;
        for (let i = 0; i < count; i++) {
          const a = x[i];
          dx[i] *= 1 - a * a;
        }
      } else if (dInput) {
        gemmNT(dz, 0, batch, this.wt[0], 0, n, m, dInput, 0, null, 0, true);
      }
    }
  }
}

/** A [rows × cols] matrix with orthonormal rows (rows ≤ cols) or columns, from Gaussian noise. */
export function orthogonal(rows: number, cols: number, rng: Rng): Float64Array {
  const transposed = rows > cols;
  const r = transposed ? cols : rows;
  const c = transposed ? rows : cols;
  const q = new Float64Array(r * c);
  for (let i = 0; i < q.length; i++) q[i] = rng.normal();
  // modified Gram–Schmidt over the r vectors of length c (r ≤ c)
  for (let i = 0; i < r; i++) {
    for (let k = 0; k < i; k++) {
      let dot = 0;
      for (let t = 0; t < c; t++) dot += q[i * c + t] * q[k * c + t];
      for (let t = 0; t < c; t++) q[i * c + t] -= dot * q[k * c + t];
    }
    let norm = 0;
    for (let t = 0; t < c; t++) norm += q[i * c + t] * q[i * c + t];
    norm = Math.sqrt(norm) || 1;
    for (let t = 0; t < c; t++) q[i * c + t] /= norm;
  }
  if (!transposed) return q;
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < r; i++) for (let t = 0; t < c; t++) out[t * cols + i] = q[i * c + t];
  return out;
}
