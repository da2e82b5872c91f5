// Seeded weight initialisation, so that a run is reproducible from its seed alone (TF.js's
// initialisers draw from an unseeded generator). He-normal for kernels feeding a (P/Leaky)ReLU,
// Glorot-normal for the output layers, the usual constants for biases, batch norm and PReLU.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { namedWeights } from '../models/weights.js';
import { Rng } from '../util/random.js';

const OUTPUT_LAYERS = new Set(['tail_conv', 'fc2']);

export function seededInit(model: tfl.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  tf.tidy(() => {
    for (const { name, variable } of namedWeights(model)) {
      const [layer, kind] = name.split('/') as [string, string];
      const shape = variable.shape as number[];
      const n = shape.reduce((a, b) => a * b, 1);
      let data: Float32Array;
      if (kind === 'kernel') {
        const fanOut = shape[shape.length - 1]!;
        const fanIn = n / fanOut;
        const std = OUTPUT_LAYERS.has(layer) ? Math.sqrt(2 / (fanIn + fanOut)) : Math.sqrt(2 / fanIn);
        data = rng.truncatedNormalArray(n, std);
      } else {
        const value = kind === 'gamma' || kind === 'moving_variance' ? 1 : kind === 'alpha' ? 0.25 : 0;
        data = new Float32Array(n).fill(value);
      }
      variable.write(tf.tensor(data, shape));
    }
  });
}
