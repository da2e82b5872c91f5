// The kernels this project supplies to the WASM backend, against what TF.js ships (not a test):
// convolution gradients of an SRResNet body layer (batch 16, 24x24, 64 -> 64, 3x3), and a whole
// SRResNet x4 training step with our batch-norm gradient and with TF.js's own.
//
//   npm run build && node dist/bench/kernels.js
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/tfjs/backend.js';
import { stockWasmKernel } from '../src/tfjs/kernels/index.js';
import { originalBatchNormGradient } from '../src/tfjs/kernels/batch_norm_grad.js';
import { buildModel } from '../src/models/index.js';

await initBackend({ backend: 'wasm' });
const reps = 5;
function time(fn: () => tf.Tensor | tf.Tensor[]): number {
  tf.dispose(fn());
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const out = fn();
    (Array.isArray(out) ? out : [out]).forEach((t) => t.dataSync());
    tf.dispose(out);
  }
  return (performance.now() - t0) / reps / 1000;
}
const report = (label: string, s: number, flops: number) => console.log(`${label.padEnd(48)} ${(s * 1000).toFixed(1).padStart(8)} ms ${(flops / s / 1e9).toFixed(1).padStart(6)} GFLOP/s`);

const x = tf.randomNormal([16, 24, 24, 64]) as tf.Tensor4D;
const w = tf.randomNormal([3, 3, 64, 64]) as tf.Tensor4D;
const dy = tf.randomNormal([16, 24, 24, 64]) as tf.Tensor4D;
const flops = 2 * 16 * 24 * 24 * 9 * 64 * 64;
console.log('conv 3x3 64->64 on 16x24x24, stride 1, same (wasm)');
report('forward Conv2D (XNNPACK)', time(() => tf.conv2d(x, w, 1, 'same')), flops);
report('filter gradient, ours', time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 64, 64] }) as tf.Tensor), flops);
const ourInput = time(() => tf.conv2dTranspose(dy, w, [16, 24, 24, 64], 1, 'same'));
report('input gradient, ours', ourInput, flops);
const stock = stockWasmKernel('Conv2DBackpropInput');
if (stock) {
  const ours = tf.getKernel('Conv2DBackpropInput', 'wasm')!;
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel(stock);
  // It was replaced before the backend started, so its one-time setup (binding the WASM
  // function) never ran.
  stock.setupFunc?.(tf.backend());
  const s = time(() => tf.conv2dTranspose(dy, w, [16, 24, 24, 64], 1, 'same'));
  report('input gradient, tfjs-backend-wasm as shipped', s, flops);
  console.log(`input gradient: ours is ${(s / ourInput).toFixed(1)}x faster`);
  tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
  tf.registerKernel(ours);
}

const model = buildModel({ type: 'srresnet', scale: 4 });
const lr = tf.randomUniform([16, 24, 24, 3]);
const hr = tf.randomUniform([16, 96, 96, 3], -1, 1);
const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
const step = () => {
  const { value, grads } = tf.variableGrads(() => tf.mean(tf.squaredDifference(model.apply(lr, { training: true }) as tf.Tensor, hr)) as tf.Scalar, vars);
  return [value, ...Object.values(grads)];
};
const lean = time(step);
const ours = tf.getGradient('FusedBatchNorm')!;
tf.registerGradient(originalBatchNormGradient()!);
const orig = time(step);
tf.registerGradient(ours);
console.log(`SRResNet x4 forward+backward, batch 16, 24x24: ${lean.toFixed(2)} s with our batch-norm gradient, ${orig.toFixed(2)} s with TF.js's (${(orig / lean).toFixed(2)}x)`);
