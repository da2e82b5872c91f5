// Gradients on the WASM backend (with the kernels this project supplies) must equal those of
// TF.js's reference `cpu` backend, for every layer type the SRGAN networks use and for full
// training steps of each network.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/tfjs/backend.js';
import { buildModel, PixelShuffle } from '../../src/models/index.js';
import { randomTensor, randomArray, relativeError } from '../helpers/tf.js';

const TOL = 1e-4;

interface Case {
  name: string;
  inputShape: number[];
  layer: () => tfl.layers.Layer;
  training?: boolean;
}

/** Gradients of sum(layer(x) * r) with respect to x and every trainable weight. */
async function layerGrads(backend: 'cpu' | 'wasm', c: Case): Promise<Float32Array[]> {
  await initBackend({ backend, quiet: true });
  const layer = c.layer();
  const x = tf.variable(randomTensor(c.inputShape, 1));
  const probe = layer.apply(x, { training: c.training ?? false }) as tf.Tensor;
  layer.setWeights(layer.getWeights().map((w, i) => randomTensor(w.shape, 100 + i, 0.5)));
  const r = randomTensor(probe.shape, 7);
  probe.dispose();
  const vars = [x, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x, { training: c.training ?? false }) as tf.Tensor, r)) as tf.Scalar, vars);
  const out = vars.map((v) => grads[v.name]!.dataSync() as Float32Array);
  tf.dispose([x, r, ...Object.values(grads)]);
  return out;
}

const conv = (k: number, s: number, padding: 'same' | 'valid', filters = 5) => () =>
  tfl.layers.conv2d({ filters, kernelSize: k, strides: s, padding });

const cases: Case[] = [
  { name: 'conv 3x3 stride 1 same', inputShape: [2, 9, 10, 4], layer: conv(3, 1, 'same') },
  { name: 'conv 3x3 stride 2 same (even)', inputShape: [2, 10, 12, 4], layer: conv(3, 2, 'same') },
  { name: 'conv 3x3 stride 2 same (odd)', inputShape: [2, 9, 11, 4], layer: conv(3, 2, 'same') },
  { name: 'conv 3x3 stride 1 valid', inputShape: [2, 9, 10, 4], layer: conv(3, 1, 'valid') },
  { name: 'conv 3x3 stride 2 valid', inputShape: [2, 10, 11, 4], layer: conv(3, 2, 'valid') },
  { name: 'conv 9x9 stride 1 same', inputShape: [2, 12, 11, 3], layer: conv(9, 1, 'same', 8) },
  { name: 'conv 9x9 stride 1 valid', inputShape: [2, 12, 13, 3], layer: conv(9, 1, 'valid', 8) },
  { name: 'conv 3x3 64->64 stride 1 same', inputShape: [2, 8, 8, 64], layer: conv(3, 1, 'same', 64) },
  { name: 'batch norm (training mode)', inputShape: [3, 5, 6, 4], layer: () => tfl.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }), training: true },
  { name: 'PReLU shared over H, W', inputShape: [2, 5, 6, 4], layer: () => tfl.layers.prelu({ sharedAxes: [1, 2] }) },
  { name: 'LeakyReLU 0.2', inputShape: [2, 5, 6, 4], layer: () => tfl.layers.leakyReLU({ alpha: 0.2 }) },
  { name: 'pixel shuffle x2', inputShape: [2, 4, 5, 12], layer: () => new PixelShuffle({ scale: 2 }) },
  { name: 'dense', inputShape: [3, 20], layer: () => tfl.layers.dense({ units: 7 }) },
  { name: 'sigmoid', inputShape: [3, 20], layer: () => tfl.layers.activation({ activation: 'sigmoid' }) },
];

for (const c of cases) {
  test(`gradient on wasm equals cpu: ${c.name}`, async () => {
    const ref = await layerGrads('cpu', c);
    const got = await layerGrads('wasm', c);
    assert.equal(got.length, ref.length);
    ref.forEach((g, i) => {
      const err = relativeError(g, got[i]!);
      assert.ok(err <= TOL, `${c.name}: gradient ${i} relative error ${err.toExponential(2)} > ${TOL}`);
      assert.ok(g.some((v) => v !== 0), `${c.name}: gradient ${i} is all zero, the test would prove nothing`);
    });
  });
}

/** One full training step's gradients for every trainable weight of a network. */
async function networkGrads(backend: 'cpu' | 'wasm', config: { type: string } & Record<string, unknown>, xShape: number[]) {
  await initBackend({ backend, quiet: true });
  const model = buildModel(config);
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(randomArray(w.size, 1000 + i, 0.2), w.shape)));
  const x = randomTensor(xShape, 3);
  const { value, grads } = tf.variableGrads(() => {
    const out = model.apply(x, { training: true }) as tf.Tensor | tf.Tensor[];
    const y = Array.isArray(out) ? out[0]! : out;
    return tf.mean(tf.square(tf.sub(y, tf.sin(y)))) as tf.Scalar;
  });
  const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
  const out = names.map((n) => grads[n]!.dataSync() as Float32Array);
  const loss = value.dataSync()[0]!;
  tf.dispose([x, value, ...Object.values(grads)]);
  model.dispose();
  return { out, loss, layerNames: model.trainableWeights.map((w) => w.originalName) };
}

for (const [label, config, shape] of [
  ['srresnet x4 (2 blocks, 16 channels)', { type: 'srresnet', scale: 4, blocks: 2, channels: 16 }, [2, 6, 7, 3]],
  ['srgan-discriminator (32 px, 8 channels)', { type: 'srgan-discriminator', size: 32, channels: 8 }, [2, 32, 32, 3]],
] as const) {
  test(`full training-step gradients on wasm equal cpu: ${label}`, async () => {
    const ref = await networkGrads('cpu', { ...config }, [...shape]);
    const got = await networkGrads('wasm', { ...config }, [...shape]);
    assert.ok(Math.abs(ref.loss - got.loss) <= 1e-4 * Math.abs(ref.loss));
    ref.out.forEach((g, i) => {
      const err = relativeError(g, got.out[i]!);
      assert.ok(err <= TOL, `${ref.layerNames[i]}: relative error ${err.toExponential(2)} > ${TOL}`);
    });
  });
}

test('the lean batch-norm gradient equals TF.js own gradient (through the batch statistics)', async () => {
  await initBackend({ backend: 'cpu', quiet: true });
  const { originalBatchNormGradient } = await import('../../src/tfjs/kernels/batch_norm_grad.js');
  const x = randomTensor([3, 5, 6, 4], 11);
  const gamma = randomTensor([4], 12);
  const beta = randomTensor([4], 13);
  const r = randomTensor([3, 5, 6, 4], 14);
  const f = (a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(a, [0, 1, 2]);
    return tf.sum(tf.mul(tf.batchNorm(a, mean, variance, b, g, 1e-3), r));
  };
  const lean = tf.grads(f)([x, gamma, beta]).map((t) => t.dataSync() as Float32Array);
  const ours = tf.getGradient('FusedBatchNorm')!;
  tf.registerGradient(originalBatchNormGradient()!);
  try {
    const ref = tf.grads(f)([x, gamma, beta]).map((t) => t.dataSync() as Float32Array);
    ref.forEach((g, i) => assert.ok(relativeError(g, lean[i]!) <= 1e-5, `input ${i}: ${relativeError(g, lean[i]!)}`));
  } finally {
    tf.registerGradient(ours);
  }
});
