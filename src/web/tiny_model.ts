// Tiny untrained x4 "models" in the exporter's own convention (input 'lr' NCHW RGB in [0, 1],
// output 'sr' NCHW RGB in [-1, 1], metadata srgan-js.scale and srgan-js.output_range), so that the
// studio and its browser tests run before any trained model exists. One 3x3 convolution to
// 3*s*s channels and a DepthToSpace: nearest-neighbour upscaling plus seeded random texture. Two
// seeds give two models of the same graph, which is all network interpolation needs.
import { Rng } from '../util/random.js';
import { nodeProto, tensorProto, valueInfoProto, w } from './onnx_wire.js';

export function tinyModel(seed: number, scale = 4, noise = 0.12): Uint8Array {
  const rng = new Rng(seed);
  const cout = 3 * scale * scale;
  const weight = new Float32Array(cout * 3 * 3 * 3);
  const bias = new Float32Array(cout);
  for (let o = 0; o < cout; o++) {
    // DepthToSpace (DCR) puts channel o at sub-pixel (o / 3 / s, o / 3 % s) of colour o % 3.
    const colour = o % 3;
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 9; k++) {
        const at = ((o * 3 + i) * 3 + Math.floor(k / 3)) * 3 + (k % 3);
        weight[at] = (i === colour && k === 4 ? 2 : 0) + noise * rng.normal() * (k === 4 ? 1 : 0.5);
      }
    }
    bias[o] = -1 + 0.05 * rng.normal();
  }
  const graph = w()
    .message(1, nodeProto({ name: 'conv', op: 'Conv', inputs: ['lr', 'conv.weight', 'conv.bias'], outputs: ['features'], ints: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } }))
    .message(1, nodeProto({ name: 'shuffle', op: 'DepthToSpace', inputs: ['features'], outputs: ['sr'], int: { blocksize: scale }, strings: { mode: 'DCR' } }))
    .string(2, `tiny-x${scale}-seed${seed}`)
    .message(5, tensorProto('conv.weight', [cout, 3, 3, 3], weight))
    .message(5, tensorProto('conv.bias', [cout], bias))
    .message(11, valueInfoProto('lr', ['N', 3, 'H', 'W']))
    .message(12, valueInfoProto('sr', ['N', 3, `${scale}H`, `${scale}W`]));
  return w()
    .varint(1, 8) // IR version 8 (ONNX 1.10+), supported by every current runtime
    .string(2, 'srgan-js tiny demo')
    .message(7, graph)
    .message(8, w().string(1, '').varint(2, 13))
    .message(14, w().string(1, 'srgan-js.scale').string(2, String(scale)))
    .message(14, w().string(1, 'srgan-js.output_range').string(2, '[-1,1]'))
    .message(14, w().string(1, 'srgan-js.note').string(2, 'untrained demo model (nearest-neighbour plus random texture)'))
    .finish();
}
