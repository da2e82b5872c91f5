// The two-stream action recognizer (Simonyan & Zisserman 2014, as the video SR paper of Zhang,
// Liu & Xiong 2019 uses it to judge SR), small enough for CPU training on tiny clips. One input
// tensor holds a sample's RGB frame (3 channels, [0, 1]) and its stack of L flow fields
// (2L channels, x and y displacement in pixels, interleaved per field); the network slices it
// into the spatial stream (RGB) and the temporal stream (flow), each four conv + BN + LeakyReLU
// layers (three of them strided), global average pooling and a dense layer to class logits.
// Late fusion (the average of the two softmaxes) is done by the caller: the streams train apart.
import type * as tfl from '@tensorflow/tfjs-layers';
import { registerArchitecture, type ModelConfig } from './registry.js';
import { SpecWriter, buildTfjsModel, type NetSpec } from './spec.js';

export interface TwoStreamConfig extends ModelConfig {
  readonly type: 'two-stream';
  readonly classes: number;
  /** L: flow fields per temporal sample */
  readonly stack: number;
  readonly channels: number;
}

// [filters as a multiple of `channels`, stride]
const PLAN: ReadonlyArray<[number, number]> = [[1, 1], [2, 2], [2, 2], [4, 2]];

export const STREAMS = ['spatial', 'temporal'] as const;
export type StreamName = (typeof STREAMS)[number];

export function describeTwoStream(cfg: TwoStreamConfig): NetSpec {
  const s = new SpecWriter('clip');
  const outputs = STREAMS.map((stream) => {
    const p = stream[0]; // 's' or 't': short layer names, stable in the weights file
    let x = stream === 'spatial' ? s.slice(`${p}_in`, 'clip', 0, 3) : s.slice(`${p}_in`, 'clip', 3, 2 * cfg.stack);
    PLAN.forEach(([mult, stride], i) => {
      x = s.conv(`${p}${i}_conv`, x, cfg.channels * mult, 3, { stride, bias: false });
      x = s.lrelu(`${p}${i}_lrelu`, s.bn(`${p}${i}_bn`, x), 0.1);
    });
    return s.dense(`${p}_logits`, s.gap(`${p}_pool`, x), cfg.classes);
  });
  return { name: 'two_stream', input: { name: 'clip', shape: [null, null, 3 + 2 * cfg.stack] }, layers: s.layers, outputs };
}

export function buildTwoStream(cfg: TwoStreamConfig): tfl.LayersModel {
  return buildTfjsModel(describeTwoStream(cfg));
}

export function twoStreamParams(cfg: TwoStreamConfig): number {
  let total = 0;
  for (const cin0 of [3, 2 * cfg.stack]) {
    let cin = cin0;
    for (const [mult] of PLAN) {
      const cout = cfg.channels * mult;
      total += 9 * cin * cout + 4 * cout;
      cin = cout;
    }
    total += cin * cfg.classes + cfg.classes;
  }
  return total;
}

const FIELDS = {
  classes: { kind: 'int', default: 4, min: 2, max: 1000, help: 'action classes' },
  stack: { kind: 'int', default: 4, min: 1, max: 32, help: 'L, flow fields stacked for the temporal stream (the paper: 10)' },
  channels: { kind: 'int', default: 16, min: 4, max: 256, help: 'filters of the first layer of each stream' },
} as const;

registerArchitecture<TwoStreamConfig>({ name: 'two-stream', description: 'two-stream action recognizer: a spatial (RGB) and a temporal (stacked flow) CNN, late fusion', fields: FIELDS, build: buildTwoStream, describe: describeTwoStream, paramCount: twoStreamParams });
