// Reads just enough of an ONNX file, at the protobuf wire level, for the studio: the input and
// output shapes (to tell NCHW from NHWC), the metadata (scale, output range), and where each
// initializer's numbers lie in the file. Working on the wire rather than through a schema keeps
// every field we do not know byte-for-byte intact, which is what lets `blendOnnx` interpolate two
// models by rewriting only the weight bytes of a copy of the first file.
import { SrError } from '../util/errors.js';
import { ONNX_FLOAT as FLOAT } from '../inference/onnx_proto.js';

interface Field {
  no: number;
  wire: number;
  /** varint value (wire 0) */
  value?: bigint;
  /** payload bounds for wire 2 (length-delimited), 1 and 5 (fixed) */
  start: number;
  end: number;
}

class Reader {
  constructor(
    private readonly buf: Uint8Array,
    public pos: number,
    private readonly limit: number,
  ) {}

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.limit) throw new Error('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new Error('varint longer than 10 bytes');
  }

  *fields(): Generator<Field> {
    while (this.pos < this.limit) {
      const key = Number(this.varint());
      const no = key >>> 3;
      const wire = key & 7;
      if (no === 0) throw new Error('field number 0');
      switch (wire) {
        case 0: {
          const start = this.pos;
          const value = this.varint();
          yield { no, wire, value, start, end: this.pos };
          break;
        }
        case 1:
        case 5: {
          const start = this.pos;
          this.pos += wire === 1 ? 8 : 4;
          if (this.pos > this.limit) throw new Error('truncated fixed field');
          yield { no, wire, start, end: this.pos };
          break;
        }
        case 2: {
          const len = Number(this.varint());
          const start = this.pos;
          this.pos += len;
          if (len < 0 || this.pos > this.limit) throw new Error('length-delimited field runs past its message');
          yield { no, wire, start, end: this.pos };
          break;
        }
        default:
          throw new Error(`unsupported wire type ${wire}`);
      }
    }
  }
}

function fieldsOf(buf: Uint8Array, start: number, end: number): Generator<Field> {
  return new Reader(buf, start, end).fields();
}

const text = new TextDecoder('utf-8', { fatal: false });
const str = (buf: Uint8Array, f: Field) => text.decode(buf.subarray(f.start, f.end));

function packedVarints(buf: Uint8Array, f: Field): number[] {
  const out: number[] = [];
  const r = new Reader(buf, f.start, f.end);
  while (r.pos < f.end) out.push(Number(BigInt.asIntN(64, r.varint())));
  return out;
}

export interface OnnxValue {
  name: string;
  elemType: number;
  /** a number for a fixed dimension, a string for a symbolic one */
  dims: Array<number | string>;
}

export interface OnnxInitializer {
  name: string;
  dims: number[];
  dataType: number;
  /** where the float32 numbers lie in the file (raw_data or packed float_data), if they do */
  data?: { start: number; end: number };
}

export interface OnnxInfo {
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  metadata: Record<string, string>;
  initializers: OnnxInitializer[];
}

function valueInfo(buf: Uint8Array, s: number, e: number): OnnxValue {
  const v: OnnxValue = { name: '', elemType: 0, dims: [] };
  for (const f of fieldsOf(buf, s, e)) {
    if (f.no === 1 && f.wire === 2) v.name = str(buf, f);
    else if (f.no === 2 && f.wire === 2) {
      for (const t of fieldsOf(buf, f.start, f.end)) {
        if (t.no !== 1 || t.wire !== 2) continue; // tensor_type
        for (const tt of fieldsOf(buf, t.start, t.end)) {
          if (tt.no === 1 && tt.wire === 0) v.elemType = Number(tt.value);
          else if (tt.no === 2 && tt.wire === 2) {
            for (const d of fieldsOf(buf, tt.start, tt.end)) {
              if (d.no !== 1 || d.wire !== 2) continue;
              let dim: number | string = '?';
              for (const dv of fieldsOf(buf, d.start, d.end)) {
                if (dv.no === 1 && dv.wire === 0) dim = Number(dv.value);
                else if (dv.no === 2 && dv.wire === 2) dim = str(buf, dv);
              }
              v.dims.push(dim);
            }
          }
        }
      }
    }
  }
  return v;
}

function initializer(buf: Uint8Array, s: number, e: number): OnnxInitializer {
  const t: OnnxInitializer = { name: '', dims: [], dataType: 0 };
  let raw: Field | undefined;
  let packedFloat: Field | undefined;
  let looseFloats = false;
  for (const f of fieldsOf(buf, s, e)) {
    if (f.no === 1) {
      if (f.wire === 0) t.dims.push(Number(f.value));
      else if (f.wire === 2) t.dims.push(...packedVarints(buf, f));
    } else if (f.no === 2 && f.wire === 0) t.dataType = Number(f.value);
    else if (f.no === 4) {
      if (f.wire === 2) packedFloat = f;
      else looseFloats = true;
    } else if (f.no === 8 && f.wire === 2) t.name = str(buf, f);
    else if (f.no === 9 && f.wire === 2) raw = f;
  }
  const where = raw ?? (looseFloats ? undefined : packedFloat);
  if (where) t.data = { start: where.start, end: where.end };
  return t;
}

/** Parses the parts of a ModelProto the studio needs; SrError when the bytes are not ONNX. */
export function inspectOnnx(buf: Uint8Array, label = 'ONNX model'): OnnxInfo {
  const info: OnnxInfo = { inputs: [], outputs: [], metadata: {}, initializers: [] };
  try {
    let graph: Field | undefined;
    for (const f of fieldsOf(buf, 0, buf.length)) {
      if (f.no === 7 && f.wire === 2) graph = f;
      else if (f.no === 14 && f.wire === 2) {
        let k = '';
        let v = '';
        for (const kv of fieldsOf(buf, f.start, f.end)) {
          if (kv.no === 1 && kv.wire === 2) k = str(buf, kv);
          else if (kv.no === 2 && kv.wire === 2) v = str(buf, kv);
        }
        info.metadata[k] = v;
      }
    }
    if (!graph) throw new Error('no graph');
    for (const f of fieldsOf(buf, graph.start, graph.end)) {
      if (f.wire !== 2) continue;
      if (f.no === 5) info.initializers.push(initializer(buf, f.start, f.end));
      else if (f.no === 11) info.inputs.push(valueInfo(buf, f.start, f.end));
      else if (f.no === 12) info.outputs.push(valueInfo(buf, f.start, f.end));
    }
  } catch (err) {
    throw new SrError(`${label} is not a readable ONNX model (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  // Graph inputs may also list initializers (older exporters); only the true inputs matter here.
  const inits = new Set(info.initializers.map((i) => i.name));
  info.inputs = info.inputs.filter((i) => !inits.has(i.name));
  return info;
}

/**
 * Network interpolation of two ONNX files of the same graph: every float initializer becomes
 * (1 - alpha) * a + alpha * b, written over a copy of `a`'s bytes, so the result is `a`'s file
 * with other numbers in it. Refuses files whose initializers differ in name, type or shape.
 * Note: exporters that fold batch norm into the convolutions make this a blend of the folded
 * weights, which is close to, but not the same as, blending the raw parameters.
 */
export function blendOnnx(a: Uint8Array, b: Uint8Array, alpha: number, labels: [string, string] = ['first model', 'second model']): Uint8Array {
  if (!(alpha >= 0 && alpha <= 1)) throw new SrError(`alpha must be in [0, 1], got ${alpha}`);
  const ia = inspectOnnx(a, labels[0]);
  const ib = inspectOnnx(b, labels[1]);
  const byName = new Map(ib.initializers.map((t) => [t.name, t]));
  if (ia.initializers.length !== ib.initializers.length) {
    throw new SrError(`cannot blend ${labels[0]} and ${labels[1]}: ${ia.initializers.length} vs ${ib.initializers.length} weight tensors`);
  }
  const out = a.slice();
  for (const ta of ia.initializers) {
    const tb = byName.get(ta.name);
    if (!tb) throw new SrError(`cannot blend ${labels[0]} and ${labels[1]}: tensor '${ta.name}' is only in the first`);
    if (ta.dataType !== tb.dataType || ta.dims.join(',') !== tb.dims.join(',')) {
      throw new SrError(`cannot blend ${labels[0]} and ${labels[1]}: tensor '${ta.name}' differs in type or shape ([${ta.dims}] vs [${tb.dims}])`);
    }
    if (ta.dataType !== FLOAT) continue; // shapes, indices: identical graphs share them
    if (!ta.data || !tb.data || ta.data.end - ta.data.start !== tb.data.end - tb.data.start) {
      throw new SrError(`cannot blend ${labels[0]} and ${labels[1]}: tensor '${ta.name}' is not stored as inline float32 data in both`);
    }
    const n = (ta.data.end - ta.data.start) / 4;
    const va = new DataView(a.buffer, a.byteOffset + ta.data.start, n * 4);
    const vb = new DataView(b.buffer, b.byteOffset + tb.data.start, n * 4);
    const vo = new DataView(out.buffer, out.byteOffset + ta.data.start, n * 4);
    const wa = 1 - alpha;
    for (let i = 0; i < n; i++) vo.setFloat32(4 * i, wa * va.getFloat32(4 * i, true) + alpha * vb.getFloat32(4 * i, true), true);
  }
  return out;
}
