// Where the weights for an upscaler come from: a shipped model by name ('srresnet', 'srgan',
// found under the package's models/ folder as <name>-x<scale>.safetensors), a weights file, an
// exported .onnx file, or a blend of two weights files (network interpolation, Wang et al. 2018:
// every weight, batch-norm statistics included, is (1 - alpha) * A + alpha * B).
import { existsSync, statSync } from 'node:fs';
import { join, resolve, extname } from 'node:path';
import { readFile } from 'node:fs/promises';
import { SrError } from '../util/errors.js';
import { packageRoot } from '../util/package_info.js';
import type * as tfl from '@tensorflow/tfjs-layers';
// The index registers the architectures that readModelConfig and buildModel look up.
import { buildModel } from '../models/index.js';
import { readModelConfig, assignArrays } from '../models/weights.js';
import type { ModelConfig } from '../models/registry.js';
import type { NamedArray } from '../models/safetensors.js';
import { decodeModel } from './onnx_proto.js';
import { ONNX_META } from './onnx_export.js';

import { SHIPPED_MODELS, DEFAULT_MODEL, type ShippedModel } from './model_names.js';
export { SHIPPED_MODELS, DEFAULT_MODEL, type ShippedModel };

export interface ModelSpec {
  /** 'srresnet', 'srgan' (shipped), or a path to a .safetensors weights file or an exported .onnx file. Default 'srgan'. */
  model?: string;
  /** Upscaling factor of the shipped model to use (default 4); with a file it must match the file's. */
  scale?: number;
  /** Network interpolation weight in [0, 1]: 0 = blend[0], 1 = blend[1]. */
  alpha?: number;
  /** The two models `alpha` blends (names or weights paths); default ['srresnet', 'srgan']. */
  blend?: readonly [string, string];
}

/** Weights ready to build a TF.js model or export to ONNX. */
export interface WeightSource {
  kind: 'weights';
  /** Identifies the weights (files, their size and mtime, alpha) for caches. */
  key: string;
  /** For messages: the file, or "a.safetensors + b.safetensors @ alpha". */
  label: string;
  /** The weights file, when the weights are one file's (not a blend). */
  file?: string;
  config: ModelConfig;
  scale: number;
  arrays: Map<string, NamedArray>;
}

/** An already exported ONNX graph (only the ONNX engine runs it). */
export interface OnnxSource {
  kind: 'onnx';
  key: string;
  label: string;
  scale: number;
  bytes: Uint8Array;
}

export type ModelSource = WeightSource | OnnxSource;

export function shippedModelPath(name: ShippedModel, scale: number): string {
  return join(packageRoot, 'models', `${name}-x${scale}.safetensors`);
}

function isShipped(name: string): name is ShippedModel {
  return (SHIPPED_MODELS as readonly string[]).includes(name);
}

/** A model name or path -> an existing file; SrError naming what was looked for otherwise. */
export function resolveModelFile(nameOrPath: string, scale = 4): string {
  if (isShipped(nameOrPath)) {
    const p = shippedModelPath(nameOrPath, scale);
    if (!existsSync(p)) {
      throw new SrError(
        `shipped model '${nameOrPath}' x${scale} is not installed (looked for ${p}); pass a weights file instead (--model <file.safetensors>)`,
      );
    }
    return p;
  }
  const p = resolve(nameOrPath);
  let st;
  try {
    st = statSync(p);
  } catch {
    const looksLikeName = !/[\\/.]/.test(nameOrPath);
    throw new SrError(
      looksLikeName
        ? `unknown model '${nameOrPath}': use ${SHIPPED_MODELS.join(' or ')}, or a path to a .safetensors or .onnx file`
        : `model file not found: ${nameOrPath}`,
    );
  }
  if (!st.isFile()) throw new SrError(`model path ${nameOrPath} is not a file`);
  return p;
}

function fileKey(p: string): string {
  const st = statSync(p);
  return `${p}:${st.size}:${st.mtimeMs}`;
}

function configScale(config: ModelConfig, file: string): number {
  const s = config['scale'];
  if (typeof s !== 'number') throw new SrError(`${file}: model config has no scale`);
  return s;
}

function checkScale(want: number | undefined, got: number, label: string): void {
  if (want !== undefined && want !== got) throw new SrError(`${label} upscales x${got}, but scale ${want} was asked for`);
}

function loadWeightFile(path: string): { config: ModelConfig; arrays: Map<string, NamedArray> } {
  const { config, arrays } = readModelConfig(path);
  return { config, arrays };
}

/**
 * Blends two weight sets: every tensor becomes (1 - alpha) * a + alpha * b, so alpha 0 and 1 give
 * a and b exactly. The two must share architecture config and tensor names and shapes.
 */
export function interpolateArrays(
  a: { config: ModelConfig; arrays: Map<string, NamedArray>; label: string },
  b: { config: ModelConfig; arrays: Map<string, NamedArray>; label: string },
  alpha: number,
): Map<string, NamedArray> {
  checkAlpha(alpha);
  const ca = JSON.stringify(a.config);
  const cb = JSON.stringify(b.config);
  if (ca !== cb) throw new SrError(`cannot blend ${a.label} and ${b.label}: different model configs (${ca} vs ${cb}); interpolation needs the same architecture`);
  const out = new Map<string, NamedArray>();
  for (const [name, ta] of a.arrays) {
    const tb = b.arrays.get(name);
    if (!tb) throw new SrError(`cannot blend ${a.label} and ${b.label}: tensor '${name}' is only in the first`);
    if (ta.shape.join(',') !== tb.shape.join(',')) {
      throw new SrError(`cannot blend ${a.label} and ${b.label}: tensor '${name}' has shape [${ta.shape}] vs [${tb.shape}]`);
    }
    const d = new Float32Array(ta.data.length);
    const wa = 1 - alpha;
    for (let i = 0; i < d.length; i++) d[i] = wa * ta.data[i]! + alpha * tb.data[i]!;
    out.set(name, { name, shape: ta.shape.slice(), data: d });
  }
  for (const name of b.arrays.keys()) {
    if (!a.arrays.has(name)) throw new SrError(`cannot blend ${a.label} and ${b.label}: tensor '${name}' is only in the second`);
  }
  return out;
}

export function checkAlpha(alpha: number): void {
  if (typeof alpha !== 'number' || !Number.isFinite(alpha) || alpha < 0 || alpha > 1) {
    throw new SrError(`alpha must be a number from 0 to 1 (0 = first model, 1 = second), got ${String(alpha)}`);
  }
}

/** Identifies what a spec would load (files with size and mtime, alpha) without reading weights. */
export function sourceKey(spec: ModelSpec = {}): string {
  const scale = spec.scale ?? 4;
  if (spec.alpha !== undefined) {
    const [a, b] = spec.blend ?? ['srresnet', 'srgan'];
    return `blend(${fileKey(resolveModelFile(a, scale))}|${fileKey(resolveModelFile(b, scale))}|${spec.alpha})`;
  }
  return `file(${fileKey(resolveModelFile(spec.model ?? DEFAULT_MODEL, scale))}|${spec.scale ?? ''})`;
}

/** Reads the weights (or ONNX graph) a spec names. */
export async function loadModelSource(spec: ModelSpec = {}): Promise<ModelSource> {
  if (spec.alpha !== undefined) {
    checkAlpha(spec.alpha);
    if (spec.model !== undefined) {
      throw new SrError(`alpha blends the two models of 'blend' (default srresnet and srgan), not 'model' ('${spec.model}'); give the pair as blend`);
    }
    const [na, nb] = spec.blend ?? ['srresnet', 'srgan'];
    const pa = resolveModelFile(na, spec.scale ?? 4);
    const pb = resolveModelFile(nb, spec.scale ?? 4);
    for (const p of [pa, pb]) if (extname(p).toLowerCase() === '.onnx') throw new SrError(`cannot blend ONNX file ${p}: blending needs .safetensors weights`);
    const a = { ...loadWeightFile(pa), label: pa };
    const b = { ...loadWeightFile(pb), label: pb };
    const arrays = interpolateArrays(a, b, spec.alpha);
    const scale = configScale(a.config, pa);
    checkScale(spec.scale, scale, `${pa}`);
    return {
      kind: 'weights',
      key: `blend(${fileKey(pa)}|${fileKey(pb)}|${spec.alpha})`,
      label: `${pa} + ${pb} at alpha ${spec.alpha}`,
      config: a.config,
      scale,
      arrays,
    };
  }
  if (spec.blend !== undefined) throw new SrError(`'blend' was given without alpha: say how much of each model with alpha (0..1)`);
  const path = resolveModelFile(spec.model ?? DEFAULT_MODEL, spec.scale ?? 4);
  if (extname(path).toLowerCase() === '.onnx') {
    const bytes = new Uint8Array(await readFile(path));
    let scale: number;
    try {
      const meta = decodeModel(bytes).metadata_props ?? [];
      scale = Number(meta.find((m) => m.key === ONNX_META.scale)?.value);
    } catch (err) {
      throw new SrError(`${path}: not a readable ONNX model (${(err as Error).message})`);
    }
    if (!Number.isInteger(scale) || scale < 1) throw new SrError(`${path}: this ONNX file has no '${ONNX_META.scale}' metadata; export it with 'srgan export'`);
    checkScale(spec.scale, scale, path);
    return { kind: 'onnx', key: `onnx(${fileKey(path)})`, label: path, scale, bytes };
  }
  const { config, arrays } = loadWeightFile(path);
  const scale = configScale(config, path);
  checkScale(spec.scale, scale, path);
  return { kind: 'weights', key: `file(${fileKey(path)})`, label: path, file: path, config, scale, arrays };
}

/** Builds the TF.js generator for a weight source (needs an initialised backend); the caller disposes it. */
export function buildFromSource(src: WeightSource): tfl.LayersModel {
  const model = buildModel(src.config);
  try {
    assignArrays(model, src.arrays, src.label);
  } catch (err) {
    model.dispose();
    throw err;
  }
  return model;
}

