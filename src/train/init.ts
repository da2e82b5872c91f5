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
// With `interpolate` an SRResNet then starts as a linear interpolator (interpolatingInit below).
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { namedWeights } from '../models/weights.js';
import { Rng } from '../util/random.js';

const OUTPUT_LAYERS = new Set(['tail_conv', 'fc2']);
const QUIET_OUTPUT_LAYERS = new Set(['tail_conv']);
const RESIDUAL_BRANCH_END = /^block\d+_bn2$/;
const RESIDUAL_GAMMA = 0.1;
const OUTPUT_GAIN = 0.1;

export interface InitOptions {
  /**
   * SRResNet only: start the network as an interpolator (see interpolatingInit) rather than as
   * random noise around mid-grey.
   */
  interpolate?: boolean;
}

export function seededInit(model: tfl.LayersModel, seed: number, opts: InitOptions = {}): void {
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
  if (opts.interpolate) interpolatingInit(model);
}

// Linear interpolation x2 with pixel centres at (i + 0.5) / 2 - 0.5: the two output phases read
// taps (i-1, i, i+1) with these weights.
const LINEAR_X2 = [
  [0.25, 0.75, 0],
  [0, 0.75, 0.25],
];
const RGB = 3;
/** Gain on the random part of the last convolution, so the first output is the interpolation. */
const FEATURE_TAIL_GAIN = 0.1;

/**
 * Starts SRResNet as an interpolator, so training spends its steps on detail rather than on
 * learning to reproduce the image. Nothing in the architecture changes (the paper's network has
 * no input skip to the output, unlike BasicSR's MSRResNet); only the starting weights do:
 * feature channels 0-2 carry the LR RGB through the head (identity taps), the long skip (the
 * body's closing batch norm starts at gamma 0 on them), each sub-pixel stage (linear x2, the
 * PReLUs pass these non-negative values unchanged) and the last convolution (x2 - 1, mapping
 * [0, 1] to [-1, 1]). All other weights keep their random start, and the last convolution's taps
 * from the other channels are scaled down so their noise starts small. Every weight stays
 * trainable, so the network is free to leave this start.
 */
export function interpolatingInit(model: tfl.LayersModel): void {
  const weights = new Map(namedWeights(model).map((w) => [w.name, w.variable]));
  const get = (name: string) => {
    const v = weights.get(name);
    if (!v) throw new Error(`interpolating init: the model has no weight '${name}' (is it an SRResNet?)`);
    return { v, data: v.read().dataSync().slice() as Float32Array, shape: v.shape as number[] };
  };
  const put = (w: ReturnType<typeof get>) => tf.tidy(() => {
    w.v.write(tf.tensor(w.data, w.shape));
  });

  const head = get('head_conv/kernel'); // [k, k, 3, C]
  const [kh, , , C] = head.shape as [number, number, number, number];
  const centre = (kh - 1) / 2;
  for (let i = 0; i < head.data.length; i++) if (i % C < RGB) head.data[i] = 0;
  for (let c = 0; c < RGB; c++) head.data[((centre * kh + centre) * RGB + c) * C + c] = 1;
  put(head);
  const headBias = get('head_conv/bias');
  for (let c = 0; c < RGB; c++) headBias.data[c] = 0;
  put(headBias);

  const bodyGamma = get('body_bn/gamma');
  const bodyBeta = get('body_bn/beta');
  for (let c = 0; c < RGB; c++) bodyGamma.data[c] = bodyBeta.data[c] = 0;
  put(bodyGamma);
  put(bodyBeta);

  for (let u = 0; weights.has(`up${u}_conv/kernel`); u++) {
    const k = get(`up${u}_conv/kernel`); // [3, 3, C, 4C]; output channel (py * 2 + px) * C + c
    const out = 4 * C;
    const bias = get(`up${u}_conv/bias`);
    for (let py = 0; py < 2; py++) {
      for (let px = 0; px < 2; px++) {
        for (let c = 0; c < RGB; c++) {
          const o = (py * 2 + px) * C + c;
          for (let ky = 0; ky < 3; ky++) {
            for (let kx = 0; kx < 3; kx++) {
              for (let ci = 0; ci < C; ci++) {
                k.data[((ky * 3 + kx) * C + ci) * out + o] = ci === c ? LINEAR_X2[py]![ky]! * LINEAR_X2[px]![kx]! : 0;
              }
            }
          }
          bias.data[o] = 0;
        }
      }
    }
    put(k);
    put(bias);
  }

  const tail = get('tail_conv/kernel'); // [k, k, C, 3]
  const tk = tail.shape[0]!;
  const tc = (tk - 1) / 2;
  for (let i = 0; i < tail.data.length; i++) {
    const ci = Math.floor(i / RGB) % C;
    tail.data[i] = ci < RGB ? 0 : tail.data[i]! * FEATURE_TAIL_GAIN;
  }
  for (let c = 0; c < RGB; c++) tail.data[((tc * tk + tc) * C + c) * RGB + c] = 2;
  put(tail);
  const tailBias = get('tail_conv/bias');
  tailBias.data.fill(-1);
  put(tailBias);
}
