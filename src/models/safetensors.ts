// The on-disk weight format: safetensors (https://huggingface.co/docs/safetensors), chosen because
// it is documented, trivial to parse, safe (no code execution) and readable from Python
// (`safetensors.numpy.load_file`), so models trained here can be inspected or ported elsewhere.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON header
//   { "<name>": { "dtype": "F32"|"F16", "shape": [...], "data_offsets": [begin, end] }, ...,
//     "__metadata__": { "<key>": "<string>" } }
// then the raw little-endian tensor bytes. We store float32 or float16.
import { readFileSync } from 'node:fs';
import { SrError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { float16ToFloat32, float32ToFloat16 } from '../util/float16.js';

export type StoredDtype = 'float32' | 'float16';

export interface NamedArray {
  name: string;
  shape: number[];
  data: Float32Array;
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export function encodeSafetensors(tensors: NamedArray[], metadata: Record<string, string>, dtype: StoredDtype): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const bytesPer = dtype === 'float16' ? 2 : 4;
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`tensor ${t.name}: shape ${t.shape} does not hold ${t.data.length} values`);
    header[t.name] = { dtype: dtype === 'float16' ? 'F16' : 'F32', shape: t.shape, data_offsets: [offset, offset + n * bytesPer] };
    offset += n * bytesPer;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so tensor data starts 8-byte aligned, as the reference writer does.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const t of tensors) {
    const raw = dtype === 'float16' ? float32ToFloat16(t.data) : t.data;
    const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array, file: string): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new SrError(`${file}: not a weights file (only ${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n <= 0 || 8 + n > bytes.length) throw new SrError(`${file}: not a safetensors weights file, or truncated (header of ${n} bytes in a ${bytes.length}-byte file)`);
  let header: Record<string, HeaderEntry | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8'));
  } catch {
    throw new SrError(`${file}: the safetensors header is not valid JSON (corrupt file?)`);
  }
  const dataStart = 8 + n;
  const tensors = new Map<string, NamedArray>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const e = entry as HeaderEntry;
    const [begin, end] = e.data_offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (dataStart + end > bytes.length) throw new SrError(`${file}: truncated: tensor '${name}' ends at byte ${dataStart + end} but the file has ${bytes.length}`);
    // Uint8Array's slice copies (Buffer's does not): the copy is aligned and owns its memory.
    const slice = Uint8Array.prototype.slice.call(bytes, dataStart + begin, dataStart + end);
    let data: Float32Array;
    if (e.dtype === 'F32' && slice.length === count * 4) data = new Float32Array(slice.buffer);
    else if (e.dtype === 'F16' && slice.length === count * 2) data = float16ToFloat32(new Uint16Array(slice.buffer));
    else throw new SrError(`${file}: tensor '${name}' has dtype ${e.dtype} with ${slice.length} bytes for shape [${e.shape}]; expected F32 or F16`);
    tensors.set(name, { name, shape: e.shape, data });
  }
  return { tensors, metadata: (header['__metadata__'] as Record<string, string>) ?? {} };
}

export async function writeSafetensors(path: string, tensors: NamedArray[], metadata: Record<string, string>, dtype: StoredDtype): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata, dtype));
}

export function readSafetensors(path: string): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SrError(code === 'ENOENT' ? `weights file not found: ${path}` : `cannot read weights file ${path}: ${(err as Error).message}`);
  }
  return decodeSafetensors(bytes, path);
}
