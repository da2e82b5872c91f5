// Random-weight VGG19 files for tests (no pretrained file exists on this machine).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VGG19_CONV_LAYERS, VGG19_LAYER_NAMES } from '../../src/models/vgg19.js';
import { randomArray } from './tf.js';

export interface W { data: Float32Array; shape: number[] }
export type ConvSet = Map<string, { kernel: W; bias: W }>;

/** Deterministic He-scaled weights for the conv layers up to `upTo`. */
export function randomVggWeights(upTo: string, seed: number): ConvSet {
  const out: ConvSet = new Map();
  const last = VGG19_LAYER_NAMES.indexOf(upTo);
  for (const l of VGG19_CONV_LAYERS) {
    if (VGG19_LAYER_NAMES.indexOf(l.name) > last) break;
    const kshape = [3, 3, l.cin, l.cout];
    out.set(l.name, {
      kernel: { data: randomArray(9 * l.cin * l.cout, seed++, Math.sqrt(6 / (9 * l.cin))), shape: kshape },
      bias: { data: randomArray(l.cout, seed++, 0.1), shape: [l.cout] },
    });
  }
  return out;
}

/** A TF.js layers-model folder as tensorflowjs_converter writes it, split into shards. */
export async function writeTfjsByHand(folder: string, weights: ConvSet, shardBytes = 1 << 20): Promise<void> {
  await mkdir(folder, { recursive: true });
  const specs: Array<{ name: string; shape: number[]; dtype: string }> = [];
  const parts: Float32Array[] = [];
  for (const [name, { kernel, bias }] of weights) {
    specs.push({ name: `${name}/kernel`, shape: kernel.shape, dtype: 'float32' }, { name: `${name}/bias`, shape: bias.shape, dtype: 'float32' });
    parts.push(kernel.data, bias.data);
  }
  const all = Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
  const n = Math.max(1, Math.ceil(all.length / shardBytes));
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = `group1-shard${i + 1}of${n}.bin`;
    paths.push(p);
    await writeFile(join(folder, p), all.subarray(i * shardBytes, (i + 1) * shardBytes));
  }
  const json = { format: 'layers-model', generatedBy: 'test', convertedBy: null, modelTopology: null, weightsManifest: [{ paths, weights: specs }] };
  await writeFile(join(folder, 'model.json'), JSON.stringify(json));
}

