// Engine benchmark (not a test): SRResNet x4 (B=16, C=64) forward pass on 1x3x128x128 and one
// training step (MSE + Adam) at batch 16 on 24x24 LR patches, on the chosen backend.
//
// FLOPs are counted analytically (src/models/srresnet.ts, srresnetFlops): 2 per multiply-add over
// every convolution. A training step is counted as 3x the forward convolutions (forward, input
// gradient, filter gradient) less the input gradient of the first layer, which is not needed.
// Batch norm, PReLU, additions and Adam are left out (well under 1% of the work).
//
//   npm run bench:engine                     # wasm (default)
//   npm run bench:engine -- --backend cpu    # TF.js pure-JS reference, slow
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendRequest } from '../src/engine/backend.js';
import { buildModel, srresnetFlops, type SRResNetConfig } from '../src/models/index.js';
import { resolveConfig } from '../src/models/registry.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const backend = await initBackend({ backend: arg('backend', 'wasm') as BackendRequest });
const reps = Number(arg('reps', backend === 'cpu' ? '1' : '3'));
const config = resolveConfig({ type: 'srresnet', scale: 4, blocks: 16, channels: 64 }) as SRResNetConfig;
const model = buildModel(config);

function timeIt(label: string, flops: number, fn: () => void): void {
  fn(); // warm-up: kernel setup, XNNPACK operator creation
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  const best = Math.min(...times);
  const median = times.sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
  console.log(`${label.padEnd(44)} ${median.toFixed(3).padStart(8)} s (best ${best.toFixed(3)})  ${(flops / median / 1e9).toFixed(2).padStart(7)} GFLOP/s  [${backend}]`);
}

console.log(`SRResNet x4, B=16, C=64, backend ${backend}, ${reps} timed repetitions (median)`);
const x = tf.randomUniform([1, 128, 128, 3]);
const fwdFlops = srresnetFlops(config, 128, 128);
timeIt('forward 1x3x128x128', fwdFlops, () => {
  const y = model.predict(x) as tf.Tensor;
  y.dataSync();
  y.dispose();
});

const lr = tf.randomUniform([16, 24, 24, 3]);
const hr = tf.randomUniform([16, 96, 96, 3], -1, 1);
const opt = tf.train.adam(1e-4, 0.9);
const perImage = srresnetFlops(config, 24, 24);
const firstLayerInputGrad = 2 * 24 * 24 * 81 * 3 * 64;
const stepFlops = 16 * (3 * perImage - firstLayerInputGrad);
timeIt('train step, batch 16, 24x24 LR -> 96x96', stepFlops, () => {
  const loss = opt.minimize(() => tf.mean(tf.square(tf.sub(model.apply(lr, { training: true }) as tf.Tensor, hr))) as tf.Scalar, true);
  loss!.dataSync();
  loss!.dispose();
});
console.log(`analytic FLOPs: forward ${(fwdFlops / 1e9).toFixed(2)} GFLOP, train step ${(stepFlops / 1e9).toFixed(2)} GFLOP`);
