// Small deterministic generators for inference tests (the shipped models are not needed): every
// weight comes from a seeded generator, batch-norm statistics are non-trivial (so folding them
// into convolutions is really tested), and the output is scaled to stay mostly inside [-1, 1]
// (so clipping does not hide differences).
import type * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { buildModel, resolveConfig, type ModelConfig } from '../../src/models/index.js';
import { namedWeights, saveModel } from '../../src/models/weights.js';
import { seeded } from './tf.js';

export interface TestModelOptions {
  blocks?: number;
  channels?: number;
  scale?: number;
  seed?: number;
}

export function makeTestModel(opts: TestModelOptions = {}): { model: tfl.LayersModel; config: ModelConfig } {
  const config = resolveConfig({ type: 'srresnet', scale: opts.scale ?? 4, blocks: opts.blocks ?? 1, channels: opts.channels ?? 8 });
  const model = buildModel(config);
  const r = seeded(opts.seed ?? 1);
  const uni = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
  tf.tidy(() => {
    for (const { name, variable } of namedWeights(model)) {
      const shape = variable.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      let data: Float32Array;
      if (name.endsWith('/kernel')) {
        const fanIn = shape[0]! * shape[1]! * shape[2]!;
        const lim = Math.sqrt(3 / fanIn) * (name.startsWith('tail_conv') ? 0.5 : 1);
        data = uni(n, -lim, lim);
      } else if (name.endsWith('/bias')) data = uni(n, -0.05, 0.05);
      else if (name.endsWith('/gamma')) data = uni(n, 0.6, 1.4);
      else if (name.endsWith('/beta')) data = uni(n, -0.1, 0.1);
      else if (name.endsWith('/moving_mean')) data = uni(n, -0.2, 0.2);
      else if (name.endsWith('/moving_variance')) data = uni(n, 0.5, 1.5);
      else if (name.endsWith('/alpha')) data = uni(n, 0.05, 0.3);
      else throw new Error(`test model: no rule for weight ${name}`);
      variable.write(tf.tensor(data, shape));
    }
  });
  return { model, config };
}

/** Writes a test model to `path` and disposes it. */
export async function writeTestModel(path: string, opts: TestModelOptions = {}): Promise<string> {
  const { model, config } = makeTestModel(opts);
  try {
    await saveModel(model, config, path);
  } finally {
    model.dispose();
  }
  return path;
}

/** A smooth, textured RGB image in [0, 1] (HWC), deterministic. */
export function testPixels(width: number, height: number, seed: number, channels: 1 | 3 = 3): Float32Array {
  const r = seeded(seed);
  const ph = [r() * 6, r() * 6, r() * 6];
  const out = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v = 0.5 + 0.3 * Math.sin(0.21 * x + 0.13 * y + ph[c]!) + 0.15 * Math.sin(0.9 * x - 0.7 * y + 2 * ph[c]!) + 0.05 * (r() - 0.5);
        out[(y * width + x) * channels + c] = Math.min(1, Math.max(0, v));
      }
    }
  }
  return out;
}
