// The SRGAN discriminator (Ledig et al. 2017, Fig. 4): conv3x3(64) + LeakyReLU(0.2), then seven
// conv3x3 + BN + LeakyReLU blocks (64,128,128,256,256,512,512 filters; strides 2,1,2,1,2,1,2),
// dense 1024 + LeakyReLU(0.2), dense 1 + sigmoid. Input: HR RGB in [-1, 1], size x size.
//
// The model has two outputs: the logit and its sigmoid. The trainer uses the logit so that
// -log D(G(x)) is computed as softplus(-logit), which does not overflow when D saturates.
import tfl = require('@tensorflow/tfjs-layers');
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { registerArchitecture, type ModelConfig } from './registry.js';

export interface DiscriminatorConfig extends ModelConfig {
  readonly type: 'srgan-discriminator';
  readonly size: number;
  readonly channels: number;
}

type T = SymbolicTensor;

// [filters as a multiple of `channels`, stride] for the eight conv layers.
const PLAN: ReadonlyArray<[number, number]> = [
  [1, 1], [1, 2], [2, 1], [2, 2], [4, 1], [4, 2], [8, 1], [8, 2],
];

export function buildDiscriminator(cfg: DiscriminatorConfig): tfl.LayersModel {
  const C = cfg.channels;
  const input = tfl.input({ shape: [cfg.size, cfg.size, 3], name: 'hr' });
  let x: T = input;
  PLAN.forEach(([mult, stride], i) => {
    const first = i === 0;
    x = tfl.layers.conv2d({ name: `d${i}_conv`, filters: C * mult, kernelSize: 3, strides: stride, padding: 'same', useBias: first, kernelInitializer: 'heNormal' }).apply(x) as T;
    if (!first) x = tfl.layers.batchNormalization({ name: `d${i}_bn`, momentum: 0.9, epsilon: 1e-5 }).apply(x) as T;
    x = tfl.layers.leakyReLU({ name: `d${i}_lrelu`, alpha: 0.2 }).apply(x) as T;
  });
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as T;
  x = tfl.layers.dense({ name: 'fc1', units: 1024 }).apply(x) as T;
  x = tfl.layers.leakyReLU({ name: 'fc1_lrelu', alpha: 0.2 }).apply(x) as T;
  const logit = tfl.layers.dense({ name: 'fc2', units: 1 }).apply(x) as T;
  const prob = tfl.layers.activation({ name: 'prob', activation: 'sigmoid' }).apply(logit) as T;
  return tfl.model({ inputs: input, outputs: [logit, prob], name: 'srgan_discriminator' });
}

function finalSide(size: number): number {
  let s = size;
  for (const [, stride] of PLAN) s = Math.ceil(s / stride);
  return s;
}

/** conv1 27C+C; blocks 9*cin*cout + 4*cout (BN incl. moving stats); fc1 (s*s*8C)*1024+1024; fc2 1025. */
export function discriminatorParams(cfg: DiscriminatorConfig): number {
  const C = cfg.channels;
  let total = 0;
  let cin = 3;
  PLAN.forEach(([mult], i) => {
    const cout = C * mult;
    total += 9 * cin * cout + (i === 0 ? cout : 4 * cout);
    cin = cout;
  });
  const s = finalSide(cfg.size);
  return total + s * s * cin * 1024 + 1024 + 1024 + 1;
}

registerArchitecture<DiscriminatorConfig>({
  name: 'srgan-discriminator',
  description: 'SRGAN discriminator: 8 strided conv layers with batch norm and LeakyReLU, two dense layers',
  fields: {
    size: { kind: 'int', default: 96, min: 16, max: 1024, help: 'HR patch side the discriminator sees' },
    channels: { kind: 'int', default: 64, min: 4, max: 256, help: 'filters of the first layer (doubles every other block)' },
  },
  build: buildDiscriminator,
  paramCount: discriminatorParams,
});
