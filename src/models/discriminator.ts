// The SRGAN discriminator (Ledig et al. 2017, Fig. 4): conv3x3(64) + LeakyReLU(0.2), then seven
// conv3x3 + BN + LeakyReLU blocks (64,128,128,256,256,512,512 filters; strides 2,1,2,1,2,1,2),
// dense 1024 + LeakyReLU(0.2), dense 1 + sigmoid. Input: HR RGB in [-1, 1], size x size.
//
// The model has two outputs: the logit and its sigmoid. The trainer uses the logit so that
// -log D(G(x)) is computed as softplus(-logit), which does not overflow when D saturates.
//
// `antialias` (not in the paper) blurs the input of every stride-2 layer (layers/blur.ts). A
// strided 3x3 conv's gradient with respect to its input repeats every 2 pixels, and through the
// generator's pixel shuffles that is the checkerboard SRGAN training grows; the blur removes the
// Nyquist component of that gradient. It adds no weights, so checkpoints stay interchangeable.
import type * as tfl from '@tensorflow/tfjs-layers';
import { registerArchitecture, type ModelConfig } from './registry.js';
import { SpecWriter, buildTfjsModel, type NetSpec } from './spec.js';

export interface DiscriminatorConfig extends ModelConfig {
  readonly type: 'srgan-discriminator';
  readonly size: number;
  readonly channels: number;
  readonly antialias: boolean;
}

// [filters as a multiple of `channels`, stride] for the eight conv layers.
const PLAN: ReadonlyArray<[number, number]> = [
  [1, 1], [1, 2], [2, 1], [2, 2], [4, 1], [4, 2], [8, 1], [8, 2],
];

export function describeDiscriminator(cfg: DiscriminatorConfig): NetSpec {
  const C = cfg.channels;
  const s = new SpecWriter('hr');
  let x = 'hr';
  PLAN.forEach(([mult, stride], i) => {
    const first = i === 0;
    if (stride > 1 && cfg.antialias) x = s.blur(`d${i}_blur`, x);
    x = s.conv(`d${i}_conv`, x, C * mult, 3, { stride, bias: first });
    if (!first) x = s.bn(`d${i}_bn`, x);
    x = s.lrelu(`d${i}_lrelu`, x, 0.2);
  });
  x = s.flatten('flatten', x);
  x = s.lrelu('fc1_lrelu', s.dense('fc1', x, 1024), 0.2);
  const logit = s.dense('fc2', x, 1);
  const prob = s.sigmoid('prob', logit);
  return { name: 'srgan_discriminator', input: { name: 'hr', shape: [cfg.size, cfg.size, 3] }, layers: s.layers, outputs: [logit, prob] };
}

export function buildDiscriminator(cfg: DiscriminatorConfig): tfl.LayersModel {
  return buildTfjsModel(describeDiscriminator(cfg));
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
    antialias: { kind: 'boolean', default: false, help: 'blur the input of every stride-2 layer (against checkerboard artefacts; not in the paper)' },
  },
  build: buildDiscriminator,
  describe: describeDiscriminator,
  paramCount: discriminatorParams,
});
