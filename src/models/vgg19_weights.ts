// Loads pretrained VGG19 weights from the local file system, never from the network: the user
// names the file, we check it (format, size, layers, shapes, and the checksum when known) and say
// exactly what is wrong with it.
//
// Two formats:
//  - Keras HDF5 weights (`model.save_weights` / `vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`):
//    root attribute `layer_names`; a group per layer whose attribute `weight_names` lists its
//    datasets (kernel, then bias) by path relative to the group. Names changed between Keras
//    versions (`block1_conv1_W_1:0` in 2017, `block1_conv1/kernel:0` later), so we follow the
//    attribute rather than assume one spelling. A whole-model save keeps the same layout under
//    `model_weights`. Keras 3's `.weights.h5` layout is different and is refused with a message.
//  - A TF.js layers-model folder (model.json + binary shards), e.g. tensorflowjs_converter's output
//    for Keras VGG19: weights named `<layer>/kernel` and `<layer>/bias`.
//
// Weights are matched to the model by layer name only. TF.js makes variable names unique per
// process (`block1_conv1/kernel_1` for a second model), so neither the names in a file nor those
// of the live variables are compared beyond their layer part.
//
// HDF5 reader: h5wasm (the HDF5 C library compiled to WebAssembly, maintained by NIST; no native
// build, nothing fetched at install or run time). It reads every HDF5 feature the Keras files use
// (old superblocks, fixed-length string attributes, nested groups) because it *is* libhdf5, and it
// can write, which the tests need to make Keras-layout files. jsfive is pure JS but read-only and
// reimplements the format. h5wasm is imported lazily: its 15 MB module loads only for .h5 files.
import { createReadStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import tf = require('@tensorflow/tfjs-core');
import type * as tfl from '@tensorflow/tfjs-layers';
import { SrError } from '../util/errors.js';
import { VGG19_CONV_LAYERS, buildVgg19Features } from './vgg19.js';

/** File name and MD5 of Keras' published VGG19 ImageNet weights without the dense layers. */
export const KERAS_VGG19_NOTOP_FILE = 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5';
export const KERAS_VGG19_NOTOP_MD5 = '253f8cb515780f3b799900260a226db6';

export type Vgg19WeightFormat = 'keras-h5' | 'tfjs-layers';

export interface RawWeight {
  /** The weight's name in the file (dataset path or manifest name), for messages. */
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface ConvWeights {
  kernel: RawWeight;
  bias: RawWeight;
}

export interface Vgg19LoadOptions {
  /** Skip detection (by folder / .json / HDF5 signature). */
  format?: Vgg19WeightFormat;
  /**
   * Expected MD5 of an .h5 file. Default: Keras' published hash when the file has Keras' file name,
   * otherwise no check. `null` turns the check off.
   */
  md5?: string | null;
}

const CONV_NAMES = new Set(VGG19_CONV_LAYERS.map((l) => l.name));
const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

const fmtShape = (s: readonly (number | null)[]) => `[${s.join(',')}]`;
const sameShape = (a: readonly number[], b: readonly (number | null)[]) => a.length === b.length && a.every((v, i) => v === b[i]);

async function statOrNull(file: string) {
  try {
    return await stat(file);
  } catch {
    return null;
  }
}

/** Decides the format of `file`; a missing path, a URL or an unknown format is an SrError. */
export async function detectVgg19WeightFormat(file: string): Promise<Vgg19WeightFormat> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(file)) {
    throw new SrError(`VGG19 weights must be a local file, got '${file}': download it yourself (e.g. Keras' ${KERAS_VGG19_NOTOP_FILE}) and pass its path`);
  }
  const st = await statOrNull(file);
  if (!st) throw new SrError(`VGG19 weights file not found: ${resolve(file)}`);
  if (st.isDirectory() || file.toLowerCase().endsWith('.json')) return 'tfjs-layers';
  const head = Buffer.alloc(8);
  const fh = await open(file, 'r');
  try {
    await fh.read(head, 0, 8, 0);
  } finally {
    await fh.close();
  }
  if (head.equals(HDF5_SIGNATURE) || /\.(h5|hdf5)$/i.test(file)) return 'keras-h5';
  throw new SrError(`${file}: not a VGG19 weights file this loader knows (neither HDF5 nor a TF.js model.json / folder)`);
}

// ---------------------------------------------------------------------------------------------
// Keras HDF5

/**
 * libhdf5 reports a truncated file only on stderr, so the check is made here first, from the
 * superblock's end-of-file address, to give a message that names the sizes.
 */
async function checkHdf5Header(file: string): Promise<void> {
  const size = (await stat(file)).size;
  const fh = await open(file, 'r');
  try {
    // The superblock sits at 0, or after a user block of 512, 1024, 2048, ... bytes.
    let at = -1;
    const sig = Buffer.alloc(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      await fh.read(sig, 0, 8, off);
      if (sig.equals(HDF5_SIGNATURE)) {
        at = off;
        break;
      }
    }
    if (at < 0) {
      throw new SrError(size === 0 ? `${file}: the file is empty (an interrupted download or copy?)` : `${file}: not an HDF5 file (no HDF5 signature); expected Keras weights such as ${KERAS_VGG19_NOTOP_FILE}`);
    }
    const sb = Buffer.alloc(64);
    const got = (await fh.read(sb, 0, 64, at)).bytesRead;
    const version = sb[8]!;
    const offsetSize = version <= 1 ? sb[13]! : sb[9]!;
    // Field positions from the HDF5 file-format spec: versions 0/1 keep the base address after
    // 16 (v0) or 20 (v1) bytes of version numbers and B-tree constants, versions 2/3 after 4.
    const baseAt = version === 0 ? 24 : version === 1 ? 28 : 12;
    const eofAt = baseAt + 2 * offsetSize;
    if (![2, 4, 8].includes(offsetSize) || version > 3 || got < eofAt + offsetSize) {
      throw new SrError(`${file}: truncated or damaged HDF5 header (file is ${size} bytes)`);
    }
    const readAddr = (pos: number): bigint => (offsetSize === 8 ? sb.readBigUInt64LE(pos) : offsetSize === 4 ? BigInt(sb.readUInt32LE(pos)) : BigInt(sb.readUInt16LE(pos)));
    const undefinedAddr = (1n << BigInt(8 * offsetSize)) - 1n;
    const base = readAddr(baseAt);
    const eof = readAddr(eofAt);
    if (eof !== undefinedAddr && base + eof > BigInt(size)) {
      throw new SrError(`${file}: the file is truncated: it is ${size} bytes but its HDF5 header says ${base + eof} (an interrupted download or copy?)`);
    }
  } finally {
    await fh.close();
  }
}

type H5 = typeof import('h5wasm/node').default;
type H5Group = InstanceType<H5['Group']>;

let h5Module: Promise<H5> | null = null;
function loadH5wasm(): Promise<H5> {
  h5Module ??= import('h5wasm/node').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return h5Module;
}

function decodeStrings(v: unknown): string[] | null {
  const one = (s: unknown): string | null => {
    if (typeof s === 'string') return s.replace(/[\0 ]+$/, '');
    if (s instanceof Uint8Array) return Buffer.from(s).toString('utf8').replace(/[\0 ]+$/, '');
    return null;
  };
  if (Array.isArray(v)) {
    const out = v.map(one);
    return out.every((s) => s !== null) ? (out as string[]) : null;
  }
  if (v instanceof Float64Array || v instanceof Float32Array) return v.length === 0 ? [] : null; // h5py writes [] as float64
  const s = one(v);
  return s === null ? null : [s];
}

/**
 * A list-of-names attribute as Keras writes it: whole, or, when over HDF5's 64 KB attribute limit,
 * split into `name0`, `name1`, ... Returns null when absent.
 */
function stringListAttr(g: H5Group, name: string, file: string): string[] | null {
  const attrs = g.attrs;
  const read = (key: string): string[] => {
    const list = decodeStrings(attrs[key]!.value);
    if (!list) throw new SrError(`${file}: attribute '${key}' of '${g.path}' is not a list of names`);
    return list;
  };
  if (name in attrs) return read(name);
  if (!(`${name}0` in attrs)) return null;
  const out: string[] = [];
  for (let i = 0; `${name}${i}` in attrs; i++) out.push(...read(`${name}${i}`));
  return out;
}

/**
 * Reads the kernel and bias of each named conv layer from a Keras HDF5 weights file.
 * Shapes are returned as stored; `setVgg19Weights` compares them with the model.
 */
export async function readKerasH5ConvWeights(file: string, layers: readonly string[]): Promise<Map<string, ConvWeights>> {
  if (!(await statOrNull(file))) throw new SrError(`VGG19 weights file not found: ${resolve(file)}`);
  await checkHdf5Header(file);
  const h5 = await loadH5wasm();
  const f = new h5.File(file, 'r');
  if (typeof f.file_id !== 'bigint' || f.file_id < 0n) {
    throw new SrError(`${file}: libhdf5 could not open it (damaged HDF5 file?)`);
  }
  try {
    let root: H5Group = f;
    let layerNames = stringListAttr(root, 'layer_names', file);
    const mw = f.get('model_weights');
    if (!layerNames && mw instanceof h5.Group) {
      root = mw;
      layerNames = stringListAttr(root, 'layer_names', file);
    }
    if (!layerNames) {
      throw new SrError(`${file}: not a Keras 2 / tf.keras weights file (no 'layer_names' attribute at its root or in 'model_weights'); Keras 3 '.weights.h5' files are not supported, save with tf.keras or convert to a TF.js folder`);
    }
    const known = new Set(layerNames);
    const out = new Map<string, ConvWeights>();
    for (const layer of layers) {
      const g = known.has(layer) ? root.get(layer) : null;
      if (!(g instanceof h5.Group)) {
        throw new SrError(`${file}: layer '${layer}' is missing (the file has: ${layerNames.join(', ') || 'no layers'})`);
      }
      const names = stringListAttr(g, 'weight_names', file) ?? [];
      if (names.length !== 2) {
        throw new SrError(`${file}: layer '${layer}' has ${names.length} weights (${names.join(', ') || 'none'}); a conv layer needs 2, kernel then bias`);
      }
      const read = (wname: string): RawWeight => {
        const d = g.get(wname);
        const where = `${g.path}/${wname}`;
        if (!(d instanceof h5.Dataset)) throw new SrError(`${file}: layer '${layer}': weight '${where}' named in 'weight_names' is missing`);
        const shape = d.shape ?? [];
        const v = d.value;
        let data: Float32Array;
        if (v instanceof Float32Array) data = v;
        else if (v instanceof Float64Array) data = Float32Array.from(v);
        else throw new SrError(`${file}: layer '${layer}': weight '${where}' is not float32/float64 (dtype ${JSON.stringify(d.dtype)})`);
        return { name: where, shape, data };
      };
      out.set(layer, { kernel: read(names[0]!), bias: read(names[1]!) });
    }
    return out;
  } catch (e) {
    if (e instanceof SrError) throw e;
    // h5wasm throws plain strings for some libhdf5 failures; keep the file name in front of them.
    throw new SrError(`${file}: libhdf5 could not read it (${e instanceof Error ? e.message : String(e)}); damaged file?`, { cause: e });
  } finally {
    f.close();
  }
}

async function md5Of(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

// ---------------------------------------------------------------------------------------------
// TF.js layers-model folder

interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function entryBytes(e: ManifestEntry, where: string): number {
  const dt = e.quantization?.dtype ?? e.dtype;
  const b = BYTES[dt];
  if (!b) throw new SrError(`${where}: weight '${e.name}' has dtype '${dt}', which a VGG19 loader cannot use`);
  return b * e.shape.reduce((a, n) => a * n, 1);
}

/** `block1_conv1/kernel_1:0` -> ['block1_conv1', 'kernel']; null when it is no layer/param name. */
function splitWeightName(name: string): [string, string] | null {
  const parts = name.split('/');
  if (parts.length < 2) return null;
  const param = parts[parts.length - 1]!.replace(/:\d+$/, '').replace(/_\d+$/, '');
  return [parts[parts.length - 2]!, param];
}

/** Reads the kernel and bias of each named conv layer from a TF.js model.json (or its folder). */
export async function readTfjsConvWeights(fileOrDir: string, layers: readonly string[]): Promise<Map<string, ConvWeights>> {
  const st = await statOrNull(fileOrDir);
  if (!st) throw new SrError(`VGG19 weights not found: ${resolve(fileOrDir)}`);
  const jsonPath = st.isDirectory() ? join(fileOrDir, 'model.json') : fileOrDir;
  let json: { weightsManifest?: Array<{ paths: string[]; weights: ManifestEntry[] }> };
  try {
    json = JSON.parse(await readFile(jsonPath, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new SrError(missing ? `VGG19 weights: no model.json in ${resolve(fileOrDir)}` : `${jsonPath}: not valid JSON (${(e as Error).message}); truncated?`, { cause: e });
  }
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw new SrError(`${jsonPath}: no 'weightsManifest'; not a TF.js layers model`);

  // Where each wanted weight is: its group's shards and its byte range within them.
  const found = new Map<string, { group: number; offset: number; entry: ManifestEntry }>();
  const seenLayers = new Set<string>();
  manifest.forEach((g, gi) => {
    let offset = 0;
    for (const e of g.weights) {
      const split = splitWeightName(e.name);
      if (split) {
        seenLayers.add(split[0]);
        const key = `${split[0]}/${split[1]}`;
        if (!found.has(key)) found.set(key, { group: gi, offset, entry: e });
      }
      offset += entryBytes(e, jsonPath);
    }
  });
  for (const layer of layers) {
    for (const p of ['kernel', 'bias']) {
      if (!found.has(`${layer}/${p}`)) {
        throw new SrError(`${jsonPath}: layer '${layer}' is missing ('${layer}/${p}' not in weightsManifest; the file has: ${[...seenLayers].join(', ') || 'no layers'})`);
      }
    }
  }

  const base = dirname(jsonPath);
  const groupData = new Map<number, { buf: Buffer; files: string[] }>();
  const shards = async (gi: number) => {
    let d = groupData.get(gi);
    if (!d) {
      const files = manifest[gi]!.paths.map((p) => join(base, p));
      const bufs: Buffer[] = [];
      for (const f of files) {
        try {
          bufs.push(await readFile(f));
        } catch (e) {
          throw new SrError(`${jsonPath}: weight shard ${f} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
        }
      }
      d = { buf: Buffer.concat(bufs), files };
      groupData.set(gi, d);
    }
    return d;
  };

  const out = new Map<string, ConvWeights>();
  for (const layer of layers) {
    const read = async (p: string): Promise<RawWeight> => {
      const { group, offset, entry } = found.get(`${layer}/${p}`)!;
      const { buf, files } = await shards(group);
      const n = entryBytes(entry, jsonPath);
      if (offset + n > buf.length) {
        throw new SrError(`${jsonPath}: layer '${layer}': weight '${entry.name}' ${fmtShape(entry.shape)} needs bytes ${offset}..${offset + n} of its shards but they hold ${buf.length} (truncated: ${files.join(', ')})`);
      }
      const slice = buf.buffer.slice(buf.byteOffset + offset, buf.byteOffset + offset + n) as ArrayBuffer;
      const t = tf.io.decodeWeights(slice, [entry as tf.io.WeightsManifestEntry])[entry.name]!;
      const data = Float32Array.from(t.dataSync());
      t.dispose();
      return { name: entry.name, shape: [...entry.shape], data };
    };
    out.set(layer, { kernel: await read('kernel'), bias: await read('bias') });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

/**
 * Copies `weights` into the VGG19 conv layers of `model`, matched by layer name. Every shape is
 * checked before anything is written, so a bad file leaves the model as it was.
 */
export function setVgg19Weights(model: tfl.LayersModel, weights: ReadonlyMap<string, ConvWeights>, file: string): void {
  const targets = model.layers.filter((l) => CONV_NAMES.has(l.name));
  for (const layer of targets) {
    const w = weights.get(layer.name);
    if (!w) throw new SrError(`${file}: layer '${layer.name}' is missing`);
    const [k, b] = layer.weights;
    if (!k || !b) throw new SrError(`model '${model.name}': layer '${layer.name}' has no kernel/bias to load into`);
    for (const [what, got, want] of [['kernel', w.kernel, k.shape], ['bias', w.bias, b.shape]] as const) {
      if (!sameShape(got.shape, want)) {
        throw new SrError(`${file}: layer '${layer.name}': ${what} '${got.name}' has shape ${fmtShape(got.shape)}, expected ${fmtShape(want)}`);
      }
    }
  }
  for (const layer of targets) {
    const w = weights.get(layer.name)!;
    tf.tidy(() => layer.setWeights([tf.tensor(w.kernel.data, w.kernel.shape), tf.tensor(w.bias.data, w.bias.shape)]));
  }
}

/** Reads `file` (Keras .h5, or TF.js model.json / folder) and loads it into `model` by layer name. */
export async function loadVgg19Weights(model: tfl.LayersModel, file: string, options: Vgg19LoadOptions = {}): Promise<void> {
  const format = options.format ?? (await detectVgg19WeightFormat(file));
  const layers = model.layers.filter((l) => CONV_NAMES.has(l.name)).map((l) => l.name);
  let weights: Map<string, ConvWeights>;
  if (format === 'keras-h5') {
    weights = await readKerasH5ConvWeights(file, layers);
    const md5 = options.md5 === undefined ? (basename(file) === KERAS_VGG19_NOTOP_FILE ? KERAS_VGG19_NOTOP_MD5 : null) : options.md5;
    if (md5) {
      const got = await md5Of(file);
      if (got !== md5.toLowerCase()) throw new SrError(`${file}: MD5 ${got} does not match the expected ${md5}: damaged or a different file`);
    }
  } else {
    weights = await readTfjsConvWeights(file, layers);
  }
  setVgg19Weights(model, weights, file);
}

/**
 * Builds the VGG19 feature extractor for `layers` (e.g. ['block2_conv2', 'block5_conv4']) and loads
 * its weights from a local file. Nothing is ever downloaded.
 */
export async function loadVgg19(file: string, layers: readonly string[], options: Vgg19LoadOptions = {}): Promise<tfl.LayersModel> {
  const model = buildVgg19Features({ layers });
  try {
    await loadVgg19Weights(model, file, options);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
