// Tiny untrained x4 "models" in the exporter's own convention (input 'lr' NCHW RGB in [0, 1],
// output 'sr' NCHW RGB in [-1, 1], metadata srgan-js.scale and srgan-js.output_range), so that the
// studio and its browser tests run before any trained model exists. One 3x3 convolution to
// 3*s*s channels and a DepthToSpace: nearest-neighbour upscaling plus seeded random texture. Two
// seeds give two models of the same graph, which is all network interpolation needs.
import { Rng } from '../util/random.js';
import { attributes, encodeModel, floatTensor, valueInfo } from '../inference/onnx_proto.js';

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
  return encodeModel({
    ir_version: 8, // ONNX 1.10+, supported by every current runtime
    producer_name: 'srgan-js tiny demo',
    producer_version: '',
    opset_import: [{ domain: '', version: 13 }],
    metadata_props: [
      { key: 'srgan-js.scale', value: String(scale) },
      { key: 'srgan-js.output_range', value: '[-1,1]' },
      { key: 'srgan-js.note', value: 'untrained demo model (nearest-neighbour plus random texture)' },
    ],
    graph: {
      name: `tiny-x${scale}-seed${seed}`,
      node: [
        { name: 'conv', op_type: 'Conv', input: ['lr', 'conv.weight', 'conv.bias'], output: ['features'], attribute: attributes({ kernel_shape: [3, 3], pads: [1, 1, 1, 1] }) },
        { name: 'shuffle', op_type: 'DepthToSpace', input: ['features'], output: ['sr'], attribute: attributes({ blocksize: scale, mode: 'DCR' }) },
      ],
      initializer: [floatTensor('conv.weight', [cout, 3, 3, 3], weight), floatTensor('conv.bias', [cout], bias)],
      input: [valueInfo('lr', ['N', 3, 'H', 'W'])],
      output: [valueInfo('sr', ['N', 3, `${scale}H`, `${scale}W`])],
    },
  });
}
