// SRResNet, the SRGAN generator (Ledig et al. 2017, Fig. 4):
//   conv9x9(C) + PReLU
//   B x [conv3x3 - BN - PReLU - conv3x3 - BN, identity skip]
//   conv3x3 - BN, plus the long skip from the first PReLU
//   log2(scale) x [conv3x3 C->4C, pixel shuffle x2, PReLU]
//   conv9x9 -> 3
// Input: LR RGB in [0, 1]; output: HR RGB in [-1, 1] (linear, no tanh, as in the paper).
// Convolutions followed by batch norm carry no bias: BN's beta makes it redundant.
// PReLU slopes are per channel, shared over height and width.
import tfl = require('@tensorflow/tfjs-layers');
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { PixelShuffle } from './layers/pixel_shuffle.js';
import { registerArchitecture, type ModelConfig } from './registry.js';

export interface SRResNetConfig extends ModelConfig {
  readonly type: 'srresnet';
  readonly scale: number;
  readonly blocks: number;
  readonly channels: number;
}

type T = SymbolicTensor;

function conv(name: string, filters: number, kernel: number, bias: boolean, x: T): T {
  return tfl.layers.conv2d({ name, filters, kernelSize: kernel, padding: 'same', useBias: bias, kernelInitializer: 'heNormal' }).apply(x) as T;
}
function bn(name: string, x: T): T {
  // Keras' default momentum (0.99) and epsilon (1e-3) would differ from the paper's PyTorch/TF
  // reference models; 0.9 and 1e-5 follow them.
  return tfl.layers.batchNormalization({ name, momentum: 0.9, epsilon: 1e-5 }).apply(x) as T;
}
function prelu(name: string, x: T): T {
  return tfl.layers.prelu({ name, sharedAxes: [1, 2], alphaInitializer: tfl.initializers.constant({ value: 0.25 }) }).apply(x) as T;
}

export function buildSRResNet(cfg: SRResNetConfig): tfl.LayersModel {
  const C = cfg.channels;
  const input = tfl.input({ shape: [null, null, 3], name: 'lr' });
  const head = prelu('head_prelu', conv('head_conv', C, 9, true, input));
  let x = head;
  for (let i = 0; i < cfg.blocks; i++) {
    const p = `block${i}`;
    let y = bn(`${p}_bn1`, conv(`${p}_conv1`, C, 3, false, x));
    y = prelu(`${p}_prelu`, y);
    y = bn(`${p}_bn2`, conv(`${p}_conv2`, C, 3, false, y));
    x = tfl.layers.add({ name: `${p}_add` }).apply([x, y]) as T;
  }
  x = bn('body_bn', conv('body_conv', C, 3, false, x));
  x = tfl.layers.add({ name: 'long_skip' }).apply([head, x]) as T;
  for (let i = 0; i < Math.log2(cfg.scale); i++) {
    x = conv(`up${i}_conv`, 4 * C, 3, true, x);
    x = new PixelShuffle({ scale: 2, name: `up${i}_shuffle` }).apply(x) as T;
    x = prelu(`up${i}_prelu`, x);
  }
  const out = tfl.layers.conv2d({ name: 'tail_conv', filters: 3, kernelSize: 9, padding: 'same', kernelInitializer: 'glorotNormal' }).apply(x) as T;
  return tfl.model({ inputs: input, outputs: out, name: 'srresnet' });
}

/**
 * Parameters: head 9*9*3*C + C (bias) + C (PReLU); per block 2*(9*C*C) + 2*2*C (BN gamma/beta)
 * + 2*2*C (BN moving stats) + C; body 9*C*C + 4*C; per upsampling 9*C*4C + 4C + C; tail 81*C*3 + 3.
 */
export function srresnetParams(cfg: SRResNetConfig): number {
  const C = cfg.channels;
  const head = 81 * 3 * C + C + C;
  const block = 2 * 9 * C * C + 2 * 4 * C + C;
  const body = 9 * C * C + 4 * C;
  const up = 9 * C * 4 * C + 4 * C + C;
  const tail = 81 * C * 3 + 3;
  return head + cfg.blocks * block + body + Math.log2(cfg.scale) * up + tail;
}

/**
 * Forward FLOPs (2 per multiply-add, convolutions only: BN, PReLU and adds are <1%) for an
 * h x w LR input. Convolution at n pixels with k x k kernel, cin -> cout: 2 * n * k*k * cin * cout.
 */
export function srresnetFlops(cfg: SRResNetConfig, h: number, w: number): number {
  const C = cfg.channels;
  const conv = (n: number, k: number, cin: number, cout: number) => 2 * n * k * k * cin * cout;
  let n = h * w;
  let f = conv(n, 9, 3, C) + cfg.blocks * 2 * conv(n, 3, C, C) + conv(n, 3, C, C);
  for (let i = 0; i < Math.log2(cfg.scale); i++) {
    f += conv(n, 3, C, 4 * C);
    n *= 4;
  }
  return f + conv(n, 9, C, 3);
}

registerArchitecture<SRResNetConfig>({
  name: 'srresnet',
  description: 'SRResNet generator (Ledig et al. 2017): residual blocks with batch norm, sub-pixel upsampling',
  fields: {
    scale: { kind: 'int', default: 4, oneOf: [2, 4, 8], help: 'upscaling factor' },
    blocks: { kind: 'int', default: 16, min: 1, max: 64, help: 'number of residual blocks (B)' },
    channels: { kind: 'int', default: 64, min: 4, max: 512, help: 'feature channels' },
  },
  build: buildSRResNet,
  paramCount: srresnetParams,
  flops: srresnetFlops,
});
