// Saving and loading a network: its architecture config travels in the file's metadata, so one
// file is enough to rebuild the model (`loadModel('models/srgan-x4.safetensors')`).
// Tensors are named `<layer>/<weight>` (e.g. `block3_bn1/moving_mean`) from the layer names the
// builders assign, independent of TF.js's process-wide variable-name uniquifying.
import tf = require('@tensorflow/tfjs-core');
import type * as tfl from '@tensorflow/tfjs-layers';
import { SrError } from '../util/errors.js';
import { buildModel, resolveConfig, type ModelConfig } from './registry.js';
import { readSafetensors, writeSafetensors, type NamedArray, type StoredDtype } from './safetensors.js';

export const FORMAT_TAG = 'srgan-js/1';

function weightName(layer: tfl.layers.Layer, w: tfl.LayerVariable): string {
  const short = w.originalName.split('/').pop()!;
  return `${layer.name}/${short}`;
}

/** Every weight of the model (trainable and moving statistics) with its stable name. */
export function namedWeights(model: tfl.LayersModel): Array<{ name: string; variable: tfl.LayerVariable }> {
  const out: Array<{ name: string; variable: tfl.LayerVariable }> = [];
  for (const layer of model.layers) for (const w of layer.weights) out.push({ name: weightName(layer, w), variable: w });
  return out;
}

export function modelToArrays(model: tfl.LayersModel): NamedArray[] {
  return namedWeights(model).map(({ name, variable }) => {
    const t = variable.read();
    return { name, shape: t.shape.slice(), data: t.dataSync() as Float32Array };
  });
}

/** Assigns stored arrays to the model; any missing, extra or mis-shaped tensor is an error naming it. */
export function assignArrays(model: tfl.LayersModel, arrays: Map<string, NamedArray>, source: string): void {
  const wanted = namedWeights(model);
  const problems: string[] = [];
  for (const { name, variable } of wanted) {
    const a = arrays.get(name);
    if (!a) problems.push(`missing '${name}' (expected shape [${variable.shape}])`);
    else if (a.shape.join(',') !== variable.shape.join(',')) problems.push(`'${name}' has shape [${a.shape}], the model expects [${variable.shape}]`);
  }
  const known = new Set(wanted.map((w) => w.name));
  for (const name of arrays.keys()) if (!known.has(name)) problems.push(`unexpected tensor '${name}'`);
  if (problems.length > 0) {
    const head = problems.slice(0, 5).join('; ');
    throw new SrError(`${source}: weights do not match the model: ${head}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`);
  }
  tf.tidy(() => {
    for (const { name, variable } of wanted) {
      const a = arrays.get(name)!;
      variable.write(tf.tensor(a.data, a.shape));
    }
  });
}

export interface SaveOptions {
  dtype?: StoredDtype;
  /** Free-form strings stored alongside (training step, data, command...). */
  metadata?: Record<string, string>;
}

export async function saveModel(model: tfl.LayersModel, config: ModelConfig, path: string, options: SaveOptions = {}): Promise<void> {
  const metadata = { ...options.metadata, format: FORMAT_TAG, config: JSON.stringify(config) };
  await writeSafetensors(path, modelToArrays(model), metadata, options.dtype ?? 'float32');
}

export interface LoadedModel {
  model: tfl.LayersModel;
  config: ModelConfig;
  metadata: Record<string, string>;
}

export function readModelConfig(path: string): { config: ModelConfig; metadata: Record<string, string>; arrays: Map<string, NamedArray> } {
  const { tensors, metadata } = readSafetensors(path);
  if (!metadata['config']) throw new SrError(`${path}: no model config in the file's metadata; was it written by srgan-js?`);
  let raw: { type: string } & Record<string, unknown>;
  try {
    raw = JSON.parse(metadata['config']);
  } catch {
    throw new SrError(`${path}: the model config in the metadata is not valid JSON`);
  }
  return { config: resolveConfig(raw), metadata, arrays: tensors };
}

export function loadModel(path: string): LoadedModel {
  const { config, metadata, arrays } = readModelConfig(path);
  const model = buildModel(config);
  assignArrays(model, arrays, path);
  return { model, config, metadata };
}
