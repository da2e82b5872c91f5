// Where the studio's models come from, as ONNX bytes for the browser:
//  - shipped: models/srresnet-x4 and srgan-x4 weights, exported to ONNX on first request with the
//    inference package's exporter; the alpha dial blends the two weight sets (batch-norm
//    statistics included) before export, which is network interpolation proper;
//  - a folder of .onnx files (--model-dir): served as they are; the dial blends the two files'
//    initializers (see blendOnnx for what that means when batch norm was folded);
//  - tiny untrained models (--tiny-models), so the page can be tried without any trained weights.
import { readdir, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, extname, join, resolve } from 'node:path';
import { SrError } from '../util/errors.js';
import { blendOnnx, inspectOnnx } from './onnx_wire.js';
import { tinyModel } from './tiny_model.js';
import type { ModelInfo } from './client/protocol.js';

export interface ServedModel extends Omit<ModelInfo, 'url'> {
  load(): Promise<Uint8Array>;
}

export interface ModelCatalog {
  source: string;
  models: ServedModel[];
  dial: { from: string; to: string; note: string; load(alpha: number): Promise<Uint8Array> } | null;
}

function memo<T>(f: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => {
    p ??= f();
    p.catch(() => (p = undefined)); // a failure is retried on the next request
    return p;
  };
}

/** A small least-recently-used cache of dial positions: each blend costs an export or a copy. */
function lru(size: number, make: (alpha: number) => Promise<Uint8Array>): (alpha: number) => Promise<Uint8Array> {
  const cache = new Map<string, Promise<Uint8Array>>();
  return (alpha) => {
    const key = alpha.toFixed(2);
    let p = cache.get(key);
    if (p) cache.delete(key);
    else {
      p = make(Number(key));
      p.catch(() => cache.delete(key));
    }
    cache.set(key, p);
    while (cache.size > size) cache.delete(cache.keys().next().value!);
    return p;
  };
}

const RANGE_KEY = 'srgan-js.output_range';
const SCALE_KEY = 'srgan-js.scale';

/** Layout, scale and output range of an ONNX file, from its metadata and its input/output shapes. */
export function describeOnnx(bytes: Uint8Array, label: string): Pick<ModelInfo, 'layout' | 'scale' | 'outputRange' | 'note'> {
  const info = inspectOnnx(bytes, label);
  if (info.inputs.length !== 1 || info.outputs.length < 1) throw new SrError(`${label}: expected one image input, found ${info.inputs.length} inputs`);
  const dims = info.inputs[0]!.dims;
  if (dims.length !== 4) throw new SrError(`${label}: input '${info.inputs[0]!.name}' has ${dims.length} dimensions; an image model takes 4 (N, C, H, W or N, H, W, C)`);
  const layout = dims[1] === 3 ? 'nchw' : dims[3] === 3 ? 'nhwc' : undefined;
  if (!layout) throw new SrError(`${label}: cannot tell the channel axis of input shape [${dims.join(', ')}]; expected 3 channels at axis 1 (NCHW) or 3 (NHWC)`);
  const notes: string[] = [];
  let scale = Number(info.metadata[SCALE_KEY]);
  if (!(Number.isInteger(scale) && scale >= 1 && scale <= 8)) {
    scale = 4;
    notes.push(`no ${SCALE_KEY} metadata: assumed x4`);
  }
  let outputRange: [number, number] = [0, 1];
  const r = info.metadata[RANGE_KEY];
  if (r !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(r);
    } catch {
      parsed = undefined;
    }
    if (!Array.isArray(parsed) || parsed.length !== 2 || !parsed.every((v) => typeof v === 'number') || !(parsed[1] > parsed[0])) {
      throw new SrError(`${label}: metadata ${RANGE_KEY} is '${r}', expected [low, high]`);
    }
    outputRange = [parsed[0], parsed[1]];
  } else notes.push(`no ${RANGE_KEY} metadata: output taken as [0, 1]`);
  return { layout, scale, outputRange, note: notes.length ? notes.join('; ') : undefined };
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
}

const DIAL_NOTE = '0 = SRResNet (faithful, smoother) \u2026 1 = SRGAN (sharper, plausible detail)';

function dialBetween(models: ServedModel[], pair: readonly [string, string] | undefined, how: string): ModelCatalog['dial'] {
  const find = (prefix: string) => models.find((m) => m.id === prefix) ?? models.find((m) => m.id.startsWith(prefix));
  const a = pair ? models.find((m) => m.id === pair[0]) : find('srresnet');
  const b = pair ? models.find((m) => m.id === pair[1]) : find('srgan');
  if (pair && (!a || !b)) throw new SrError(`--dial ${pair.join(',')}: no such model (have ${models.map((m) => m.id).join(', ')})`);
  if (!a || !b || a === b) return null;
  if (a.layout !== b.layout || a.scale !== b.scale) throw new SrError(`cannot blend ${a.id} and ${b.id}: different layout or scale`);
  const load = lru(6, async (alpha) => blendOnnx(await a.load(), await b.load(), alpha, [a.id, b.id]));
  return {
    from: a.id,
    to: b.id,
    note: pair ? `0 = ${a.label} \u2026 1 = ${b.label} (${how})` : `${DIAL_NOTE} (${how})`,
    load: (alpha) => (alpha === 0 ? a.load() : alpha === 1 ? b.load() : load(alpha)),
  };
}

/** Every .onnx file of a folder; the dial joins srresnet* and srgan* (or the `dial` pair). */
export async function catalogFromDir(dirArg: string, dial?: readonly [string, string]): Promise<ModelCatalog> {
  const dir = resolve(dirArg);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => extname(n).toLowerCase() === '.onnx').sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SrError(`cannot read model folder ${dir}: ${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : String(err)}`, { cause: err });
  }
  if (names.length === 0) throw new SrError(`no .onnx models in ${dir}`);
  const models: ServedModel[] = [];
  const ids = new Set<string>();
  for (const n of names) {
    const path = join(dir, n);
    if (!(await stat(path)).isFile()) continue;
    const bytes = new Uint8Array(await readFile(path));
    const d = describeOnnx(bytes, path);
    let id = slug(basename(n, extname(n)));
    while (ids.has(id) || id === 'interp') id += '_'; // 'interp' is the dial's route
    ids.add(id);
    // Read again per request only if the file changes; kept in memory otherwise.
    models.push({ id, label: basename(n, extname(n)), ...d, load: async () => bytes });
  }
  return { source: `ONNX files in ${dir}`, models, dial: dialBetween(models, dial, 'blend of the two files\u2019 weights') };
}

/** Two tiny untrained models of one graph, with the dial between them. */
export function tinyCatalog(): ModelCatalog {
  const mk = (id: string, seed: number): ServedModel => {
    const bytes = tinyModel(seed);
    return { id, label: `${id} (untrained demo)`, ...describeOnnx(bytes, id), note: 'untrained: nearest-neighbour plus random texture', load: async () => bytes };
  };
  const models = [mk('tiny-a', 1), mk('tiny-b', 2)];
  return { source: 'tiny untrained demo models', models, dial: dialBetween(models, ['tiny-a', 'tiny-b'], 'network interpolation of the two demo models') };
}

export interface WeightsEntry {
  id: string;
  label: string;
  /** a shipped model name or a .safetensors path, as loadModelSource takes it */
  model: string;
}

/**
 * Generators from weights (shipped or trained with `srgan train`), exported to ONNX by
 * src/inference on first request (TF.js runs on the server for that; the bytes stay in memory).
 * With two entries the dial blends their weights, batch-norm statistics included, before export:
 * network interpolation proper.
 */
export async function weightsCatalog(entries: readonly WeightsEntry[], source: string, scale?: number): Promise<ModelCatalog> {
  const ms = await import('../inference/model_source.js');
  const exportSpec = async (spec: { model?: string; alpha?: number; blend?: readonly [string, string] }, label: string): Promise<Uint8Array> => {
    const { initBackend } = await import('../tfjs/backend.js');
    const { exportOnnx } = await import('../inference/onnx_export.js');
    await initBackend({});
    const src = await ms.loadModelSource({ ...spec, scale });
    let bytes: Uint8Array;
    if (src.kind === 'onnx') bytes = src.bytes;
    else {
      const model = ms.buildFromSource(src);
      try {
        bytes = exportOnnx(model, { config: src.config }).bytes;
      } finally {
        model.dispose();
      }
    }
    // The page is told the layout and range up front; make sure the export really has them.
    const d = describeOnnx(bytes, label);
    if (d.layout !== 'nchw' || d.outputRange[0] !== -1 || d.outputRange[1] !== 1 || d.scale !== want) {
      throw new SrError(`${label}: exported model is ${d.layout} x${d.scale} with output [${d.outputRange}], expected nchw x${want} [-1, 1]`);
    }
    return bytes;
  };
  // Read each source once now, so a missing or broken file fails at start, and to learn the scale.
  let want = 0;
  for (const e of entries) {
    const src = await ms.loadModelSource({ model: e.model, scale });
    if (want && src.scale !== want) throw new SrError(`${e.model} upscales x${src.scale}, but ${entries[0]!.model} x${want}`);
    want = src.scale;
  }
  const models: ServedModel[] = entries.map((e) => ({
    id: e.id,
    label: e.label,
    layout: 'nchw',
    scale: want,
    outputRange: [-1, 1],
    load: memo(() => exportSpec({ model: e.model }, e.model)),
  }));
  let dial: ModelCatalog['dial'] = null;
  if (entries.length === 2) {
    const [a, b] = models as [ServedModel, ServedModel];
    const blended = lru(6, (alpha) => exportSpec({ alpha, blend: [entries[0]!.model, entries[1]!.model] }, `blend at alpha ${alpha}`));
    const names = entries[0]!.id === 'srresnet' && entries[1]!.id === 'srgan';
    dial = {
      from: a.id,
      to: b.id,
      note: `${names ? DIAL_NOTE : `0 = ${a.label} \u2026 1 = ${b.label}`} (network interpolation of the weights)`,
      load: (alpha) => (alpha === 0 ? a.load() : alpha === 1 ? b.load() : blended(alpha)),
    };
  }
  return { source, models, dial };
}

/** The shipped SRResNet and SRGAN; SrError naming the files when neither is installed. */
export async function shippedCatalog(scale = 4): Promise<ModelCatalog> {
  const ms = await import('../inference/model_source.js');
  const present = ms.SHIPPED_MODELS.filter((n) => existsSync(ms.shippedModelPath(n, scale)));
  if (present.length === 0) {
    throw new SrError(
      `the shipped x${scale} models are not installed (looked for ${ms.SHIPPED_MODELS.map((n) => ms.shippedModelPath(n, scale)).join(', ')}); ` +
        'serve your own weights with --weights, a folder of exported .onnx files with --model-dir, or try the page with --tiny-models',
    );
  }
  const labels: Record<string, string> = { srresnet: 'SRResNet (MSE)', srgan: 'SRGAN (perceptual)' };
  return weightsCatalog(
    present.map((n) => ({ id: n, label: labels[n] ?? n, model: n })),
    `shipped models (${present.join(', ')})`,
    scale,
  );
}
