/**
 * A minimal protobuf codec for the part of ONNX's `onnx.proto3` this project writes and reads:
 * ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto (tensor types
 * and shapes), OperatorSetIdProto and metadata_props. Hand-written so the policy export needs no
 * new dependency; field numbers are those of onnx/onnx.proto3 (ONNX 1.x, stable since IR v3).
 *
 * Writing: `encodeModel(ModelSpec)`. Reading: `decodeModelInfo(bytes)` returns what a loader must
 * validate (metadata, opsets, graph inputs/outputs with shapes, initializer names) and skips
 * everything else, so models exported by other tools (e.g. torch.onnx from Stable-Baselines3)
 * decode too.
 */

export class OnnxProtoError extends Error {
  override readonly name = 'OnnxProtoError';
}

// ------------------------------------------------------------------ ONNX enums we use

export const TENSOR_FLOAT = 1;
export const TENSOR_INT64 = 7;
export const ATTRIBUTE_FLOAT = 1;
export const ATTRIBUTE_INT = 2;

// ------------------------------------------------------------------ writer

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_BYTES = 2;
const WIRE_FIXED32 = 5;

const utf8 = new TextEncoder();

/** An append-only protobuf message buffer. */
class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private rawVarint(value: number | bigint): void {
    let v = BigInt.asUintN(64, BigInt(value));
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.len++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.len++] = Number(v);
  }

  private tag(field: number, wire: number): void {
    this.rawVarint((field << 3) | wire);
  }

  varint(field: number, value: number | bigint): this {
    this.tag(field, WIRE_VARINT);
    this.rawVarint(value);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, WIRE_FIXED32);
    this.reserve(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WIRE_BYTES);
    this.rawVarint(data.length);
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, utf8.encode(text));
  }

  message(field: number, inner: ProtoWriter): this {
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// ------------------------------------------------------------------ model description (write side)

export type Dimension = number | string;

export interface TensorSpec {
  name: string;
  dims: number[];
  /** Row-major values: float32, or int64 (shapes, axes, slice bounds). */
  data: Float32Array | BigInt64Array;
}

export interface AttributeSpec {
  name: string;
  type: 'float' | 'int';
  value: number;
}

export interface NodeSpec {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes?: AttributeSpec[];
}

export interface ValueInfoSpec {
  name: string;
  /** ONNX element type (TENSOR_FLOAT …). */
  elemType: number;
  shape: Dimension[];
}

export interface ModelSpec {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  graphName: string;
  nodes: NodeSpec[];
  initializers: TensorSpec[];
  inputs: ValueInfoSpec[];
  outputs: ValueInfoSpec[];
  metadata: Record<string, string>;
  docString?: string;
}

function tensorProto(t: TensorSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d);
  const data = t.data;
  w.varint(2, data instanceof BigInt64Array ? TENSOR_INT64 : TENSOR_FLOAT);
  w.string(8, t.name);
  // raw_data is little-endian; copy so a view with an odd offset never leaks neighbours
  const width = data instanceof BigInt64Array ? 8 : 4;
  const raw = new Uint8Array(data.length * width);
  const view = new DataView(raw.buffer);
  if (data instanceof BigInt64Array) for (let i = 0; i < data.length; i++) view.setBigInt64(i * 8, data[i], true);
  else for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  w.bytes(9, raw);
  return w;
}

function attributeProto(a: AttributeSpec): ProtoWriter {
  const w = new ProtoWriter();
  w.string(1, a.name);
  if (a.type === 'float') {
    w.float(2, a.value);
    w.varint(20, ATTRIBUTE_FLOAT);
  } else {
    w.varint(3, a.value);
    w.varint(20, ATTRIBUTE_INT);
  }
  return w;
}

function nodeProto(n: NodeSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, attributeProto(a));
  return w;
}

function valueInfoProto(v: ValueInfoSpec): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.varint(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().varint(1, v.elemType).message(2, shape);
  const type = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, v.name).message(2, type);
}

export function encodeModel(spec: ModelSpec): Uint8Array {
  const graph = new ProtoWriter();
  for (const n of spec.nodes) graph.message(1, nodeProto(n));
  graph.string(2, spec.graphName);
  for (const t of spec.initializers) graph.message(5, tensorProto(t));
  for (const i of spec.inputs) graph.message(11, valueInfoProto(i));
  for (const o of spec.outputs) graph.message(12, valueInfoProto(o));

  const model = new ProtoWriter();
  model.varint(1, spec.irVersion);
  model.string(2, spec.producerName);
  model.string(3, spec.producerVersion);
  if (spec.docString) model.string(6, spec.docString);
  model.message(7, graph);
  model.message(8, new ProtoWriter().string(1, '').varint(2, spec.opsetVersion));
  for (const [key, value] of Object.entries(spec.metadata)) {
    model.message(14, new ProtoWriter().string(1, key).string(2, value));
  }
  return model.finish();
}

// ------------------------------------------------------------------ reader

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

/** Iterates the fields of one protobuf message. */
class ProtoReader {
  private pos: number;
  private readonly end: number;

  constructor(
    private readonly buf: Uint8Array,
    start = 0,
    end = buf.length,
  ) {
    this.pos = start;
    this.end = end;
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new OnnxProtoError('truncated varint');
      const b = this.buf[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new OnnxProtoError('varint longer than 10 bytes');
  }

  /** Next field's number and wire type. */
  tag(): { field: number; wire: number } {
    const t = Number(this.varint());
    return { field: t >>> 3, wire: t & 7 };
  }

  /** A length-delimited field's bounds (and skips past it). */
  lengthDelimited(): [number, number] {
    const n = Number(this.varint());
    const start = this.pos;
    if (n < 0 || start + n > this.end) throw new OnnxProtoError('length-delimited field runs past the end of its message');
    this.pos += n;
    return [start, start + n];
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        break;
      case WIRE_FIXED64:
        this.pos += 8;
        break;
      case WIRE_BYTES:
        this.lengthDelimited();
        break;
      case WIRE_FIXED32:
        this.pos += 4;
        break;
      default:
        throw new OnnxProtoError(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw new OnnxProtoError('field runs past the end of its message');
  }

  sub(bounds: [number, number]): ProtoReader {
    return new ProtoReader(this.buf, bounds[0], bounds[1]);
  }

  text(bounds: [number, number]): string {
    return utf8Decoder.decode(this.buf.subarray(bounds[0], bounds[1]));
  }
}

export interface ValueInfo {
  name: string;
  /** 0 when the type is not a tensor or not given. */
  elemType: number;
  /** null when no shape is given; a dimension is a number, a symbolic name, or null (unknown). */
  shape: Array<number | string | null> | null;
}

export interface ModelInfo {
  irVersion: number;
  producerName: string;
  producerVersion: string;
  opsets: Array<{ domain: string; version: number }>;
  metadata: Record<string, string>;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializerNames: string[];
  nodeTypes: string[];
}

function readValueInfo(r: ProtoReader): ValueInfo {
  const info: ValueInfo = { name: '', elemType: 0, shape: null };
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_BYTES) info.name = r.text(r.lengthDelimited());
    else if (field === 2 && wire === WIRE_BYTES) {
      const type = r.sub(r.lengthDelimited());
      while (!type.done) {
        const t = type.tag();
        if (t.field === 1 && t.wire === WIRE_BYTES) {
          const tensor = type.sub(type.lengthDelimited());
          while (!tensor.done) {
            const f = tensor.tag();
            if (f.field === 1 && f.wire === WIRE_VARINT) info.elemType = Number(tensor.varint());
            else if (f.field === 2 && f.wire === WIRE_BYTES) {
              info.shape = [];
              const shape = tensor.sub(tensor.lengthDelimited());
              while (!shape.done) {
                const s = shape.tag();
                if (s.field === 1 && s.wire === WIRE_BYTES) {
                  const dim = shape.sub(shape.lengthDelimited());
                  let value: number | string | null = null;
                  while (!dim.done) {
                    const d = dim.tag();
                    if (d.field === 1 && d.wire === WIRE_VARINT) value = Number(BigInt.asIntN(64, dim.varint()));
                    else if (d.field === 2 && d.wire === WIRE_BYTES) value = dim.text(dim.lengthDelimited());
                    else dim.skip(d.wire);
                  }
                  info.shape.push(value);
                } else shape.skip(s.wire);
              }
            } else tensor.skip(f.wire);
          }
        } else type.skip(t.wire);
      }
    } else r.skip(wire);
  }
  return info;
}

/** Reads the model's metadata and graph interface; throws OnnxProtoError on malformed input. */
export function decodeModelInfo(bytes: Uint8Array): ModelInfo {
  const info: ModelInfo = {
    irVersion: 0,
    producerName: '',
    producerVersion: '',
    opsets: [],
    metadata: {},
    inputs: [],
    outputs: [],
    initializerNames: [],
    nodeTypes: [],
  };
  const r = new ProtoReader(bytes);
  let sawGraph = false;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) info.irVersion = Number(r.varint());
    else if (field === 2 && wire === WIRE_BYTES) info.producerName = r.text(r.lengthDelimited());
    else if (field === 3 && wire === WIRE_BYTES) info.producerVersion = r.text(r.lengthDelimited());
    else if (field === 8 && wire === WIRE_BYTES) {
      const o = r.sub(r.lengthDelimited());
      const opset = { domain: '', version: 0 };
      while (!o.done) {
        const t = o.tag();
        if (t.field === 1 && t.wire === WIRE_BYTES) opset.domain = o.text(o.lengthDelimited());
        else if (t.field === 2 && t.wire === WIRE_VARINT) opset.version = Number(o.varint());
        else o.skip(t.wire);
      }
      info.opsets.push(opset);
    } else if (field === 14 && wire === WIRE_BYTES) {
      const e = r.sub(r.lengthDelimited());
      let key = '';
      let value = '';
      while (!e.done) {
        const t = e.tag();
        if (t.field === 1 && t.wire === WIRE_BYTES) key = e.text(e.lengthDelimited());
        else if (t.field === 2 && t.wire === WIRE_BYTES) value = e.text(e.lengthDelimited());
        else e.skip(t.wire);
      }
      info.metadata[key] = value;
    } else if (field === 7 && wire === WIRE_BYTES) {
      sawGraph = true;
      const g = r.sub(r.lengthDelimited());
      while (!g.done) {
        const t = g.tag();
        if (t.field === 11 && t.wire === WIRE_BYTES) info.inputs.push(readValueInfo(g.sub(g.lengthDelimited())));
        else if (t.field === 12 && t.wire === WIRE_BYTES) info.outputs.push(readValueInfo(g.sub(g.lengthDelimited())));
        else if (t.field === 5 && t.wire === WIRE_BYTES) {
          const tensor = g.sub(g.lengthDelimited());
          while (!tensor.done) {
            const f = tensor.tag();
            if (f.field === 8 && f.wire === WIRE_BYTES) info.initializerNames.push(tensor.text(tensor.lengthDelimited()));
            else tensor.skip(f.wire);
          }
        } else if (t.field === 1 && t.wire === WIRE_BYTES) {
          const node = g.sub(g.lengthDelimited());
          while (!node.done) {
            const f = node.tag();
            if (f.field === 4 && f.wire === WIRE_BYTES) info.nodeTypes.push(node.text(node.lengthDelimited()));
            else node.skip(f.wire);
          }
        } else g.skip(t.wire);
      }
    } else r.skip(wire);
  }
  if (!sawGraph) throw new OnnxProtoError('not an ONNX model: no graph');
  return info;
}
