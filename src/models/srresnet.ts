// SRResNet, the SRGAN generator (Ledig et al. 2017, Fig. 4):
//   conv9x9(C) + PReLU
//   B x [conv3x3 - BN - PReLU - conv3x3 - BN, identity skip]
//   conv3x3 - BN, plus the long skip from the first PReLU
//   log2(scale) x [conv3x3 C->4C, pixel shuffle x2, PReLU]
//   conv9x9 -> 3
// Input: LR RGB in [0, 1]; output: HR RGB in [-1, 1] (linear, no tanh, as in the paper).
// Convolutions followed by batch norm carry no bias: BN's beta makes it redundant.
// PReLU slopes are per channel, shared over height and width.
import type * as tfl from '@tensorflow/tfjs-layers';
import { registerArchitecture, type ModelConfig } from './registry.js';
import { SpecWriter, buildTfjsModel, type NetSpec } from './spec.js';

export interface SRResNetConfig extends ModelConfig {
  readonly type: 'srresnet';
  readonly scale: number;
  readonly blocks: number;
  readonly channels: number;
}

export function describeSRResNet(cfg: SRResNetConfig): NetSpec {
  const C = cfg.channels;
  const s = new SpecWriter('lr');
  const head = s.prelu('head_prelu', s.conv('head_conv', 'lr', C, 9));
  let x = head;
  for (let i = 0; i < cfg.blocks; i++) {
    const p = `block${i}`;
    let y = s.bn(`${p}_bn1`, s.conv(`${p}_conv1`, x, C, 3, { bias: false }));
    y = s.prelu(`${p}_prelu`, y);
    y = s.bn(`${p}_bn2`, s.conv(`${p}_conv2`, y, C, 3, { bias: false }));
    x = s.add(`${p}_add`, x, y);
  }
  x = s.bn('body_bn', s.conv('body_conv', x, C, 3, { bias: false }));
  x = s.add('long_skip', head, x);
  for (let i = 0; i < Math.log2(cfg.scale); i++) {
    x = s.conv(`up${i}_conv`, x, 4 * C, 3);
    x = s.shuffle(`up${i}_shuffle`, x, 2);
    x = s.prelu(`up${i}_prelu`, x);
  }
  const out = s.conv('tail_conv', x, 3, 9, { init: 'glorotNormal' });
  return { name: 'srresnet', input: { name: 'lr', shape: [null, null, 3] }, layers: s.layers, outputs: [out] };
}

export function buildSRResNet(cfg: SRResNetConfig): tfl.LayersModel {
  return buildTfjsModel(describeSRResNet(cfg));
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
  describe: describeSRResNet,
  paramCount: srresnetParams,
  flops: srresnetFlops,
});
