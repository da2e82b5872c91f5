// Seeded weight initialisation, so that a run is reproducible from its seed alone (TF.js's
// initialisers draw from an unseeded generator). He-normal for kernels feeding a (P/Leaky)ReLU,
// Glorot-normal for the output layers, the usual constants for biases, batch norm and PReLU.
//
// Two exceptions, because Adam moves each weight by about the learning rate per step at most:
//  - The batch norm that closes a residual branch starts with gamma 0.1 (EDSR's residual scaling,
//    BasicSR's 0.1 init). Behind a batch norm a branch's output scale is gamma alone, and at
//    1e-4 per step gamma hardly moves in thousands of steps, so with gamma 1 the sixteen branches
//    stay equally loud and swamp the long skip.
//  - The generator's last convolution starts at a tenth of Glorot, so that the first output is
//    near mid-grey rather than values many times outside [-1, 1] that the first thousand steps
//    would spend shrinking.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { namedWeights } from '../models/weights.js';
import { Rng } from '../util/random.js';

const OUTPUT_LAYERS = new Set(['tail_conv', 'fc2']);
const QUIET_OUTPUT_LAYERS = new Set(['tail_conv']);
const RESIDUAL_BRANCH_END = /^block\d+_bn2$/;
const RESIDUAL_GAMMA = 0.1;
const OUTPUT_GAIN = 0.1;

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
        data = rng.truncatedNormalArray(n, QUIET_OUTPUT_LAYERS.has(layer) ? std * OUTPUT_GAIN : std);
      } else {
        const gamma = RESIDUAL_BRANCH_END.test(layer) ? RESIDUAL_GAMMA : 1;
        const value = kind === 'gamma' ? gamma : kind === 'moving_variance' ? 1 : kind === 'alpha' ? 0.25 : 0;
        data = new Float32Array(n).fill(value);
      }
      variable.write(tf.tensor(data, shape));
    }
  });
}
