// Gradients on the WASM backend (with the kernels this project supplies) must equal those of
// TF.js's reference `cpu` backend, for every layer type the SRGAN networks use and for full
// training steps of each network. Batch norm is the exception: initBackend registers the
// project's batch-norm gradient for every backend, so cpu and wasm would run the same code; its
// reference is the closed form in float64 below, itself checked against finite differences.
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

// Batch norm in training mode on NHWC data, per channel over N, H, W, in float64: the loss
// sum(y * r) with y = gamma * (x - mean) / sqrt(var + eps) + beta and the batch's biased variance.
function channelStats(x: Float64Array, c: number, eps: number): { mean: Float64Array; rstd: Float64Array } {
  const n = x.length / c;
  const mean = new Float64Array(c);
  const rstd = new Float64Array(c);
  for (let ch = 0; ch < c; ch++) {
    let m = 0;
    for (let i = ch; i < x.length; i += c) m += x[i]!;
    m /= n;
    let v = 0;
    for (let i = ch; i < x.length; i += c) v += (x[i]! - m) ** 2;
    mean[ch] = m;
    rstd[ch] = 1 / Math.sqrt(v / n + eps);
  }
  return { mean, rstd };
}

function bnLoss64(x: Float64Array, gamma: Float64Array, beta: Float64Array, r: Float64Array, eps: number): number {
  const c = gamma.length;
  const { mean, rstd } = channelStats(x, c, eps);
  let loss = 0;
  for (let i = 0; i < x.length; i++) loss += (gamma[i % c]! * (x[i]! - mean[i % c]!) * rstd[i % c]! + beta[i % c]!) * r[i]!;
  return loss;
}

// Its gradient by hand: with xh = (x - mean) * rstd and dy = r, dbeta = sum dy,
// dgamma = sum dy * xh, dx = gamma * rstd / n * (n dy - sum dy - xh * sum dy * xh).
function bnGrads64(x: Float64Array, gamma: Float64Array, r: Float64Array, eps: number): [Float64Array, Float64Array, Float64Array] {
  const c = gamma.length;
  const n = x.length / c;
  const dx = new Float64Array(x.length);
  const dgamma = new Float64Array(c);
  const dbeta = new Float64Array(c);
  const stats = channelStats(x, c, eps);
  for (let ch = 0; ch < c; ch++) {
    const mean = stats.mean[ch]!;
    const rstd = stats.rstd[ch]!;
    let sumDy = 0;
    let sumDyXh = 0;
    for (let i = ch; i < x.length; i += c) {
      sumDy += r[i]!;
      sumDyXh += r[i]! * (x[i]! - mean) * rstd;
    }
    dbeta[ch] = sumDy;
    dgamma[ch] = sumDyXh;
    for (let i = ch; i < x.length; i += c) dx[i] = ((gamma[ch]! * rstd) / n) * (n * r[i]! - sumDy - (x[i]! - mean) * rstd * sumDyXh);
  }
  return [dx, dgamma, dbeta];
}

test('batch-norm gradient (training mode) on cpu and wasm equals the float64 closed form', async () => {
  const shape = [3, 5, 6, 4];
  const size = shape.reduce((a, b) => a * b, 1);
  const eps = 1e-3;
  const x = Float64Array.from(randomArray(size, 11));
  const gamma = Float64Array.from(randomArray(4, 12));
  const beta = Float64Array.from(randomArray(4, 13));
  const r = Float64Array.from(randomArray(size, 14));
  const want = bnGrads64(x, gamma, r, eps);
  // The closed form first, against central differences of the float64 loss.
  const h = 1e-6;
  const inputs = [x, gamma, beta];
  inputs.forEach((v, k) => {
    for (const i of [0, 1, v.length - 1, Math.floor(v.length / 2)]) {
      const keep = v[i]!;
      v[i] = keep + h;
      const up = bnLoss64(x, gamma, beta, r, eps);
      v[i] = keep - h;
      const down = bnLoss64(x, gamma, beta, r, eps);
      v[i] = keep;
      const fd = (up - down) / (2 * h);
      assert.ok(Math.abs(fd - want[k]![i]!) <= 1e-6 * Math.max(1, Math.abs(fd)), `closed form, input ${k}[${i}]: ${want[k]![i]} vs finite difference ${fd}`);
    }
  });
  for (const backend of ['cpu', 'wasm'] as const) {
    await initBackend({ backend, quiet: true });
    const layer = tfl.layers.batchNormalization({ momentum: 0.9, epsilon: eps });
    const xt = tf.variable(tf.tensor(Float32Array.from(x), shape));
    (layer.apply(xt, { training: true }) as tf.Tensor).dispose();
    layer.setWeights([tf.tensor(Float32Array.from(gamma)), tf.tensor(Float32Array.from(beta)), tf.zeros([4]), tf.ones([4])]);
    const rt = tf.tensor(Float32Array.from(r), shape);
    const vars = [xt, ...layer.trainableWeights.map((w) => w.read() as tf.Variable)];
    const { grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(xt, { training: true }) as tf.Tensor, rt)) as tf.Scalar, vars);
    vars.forEach((v, k) => {
      const err = relativeError(Array.from(want[k]!), grads[v.name]!.dataSync() as Float32Array);
      assert.ok(err <= TOL, `${backend}: gradient ${k} relative error ${err.toExponential(2)} > ${TOL}`);
    });
    tf.dispose([xt, rt, ...Object.values(grads)]);
  }
});

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
