// A tiny SRResNet must be able to memorise one image: the whole training path (forward,
// gradients through the WASM kernels, Adam) works end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { buildModel } from '../../src/models/index.js';
import { randomTensor } from '../helpers/tf.js';

test('a small SRResNet overfits one image: MSE falls at least tenfold on WASM', async () => {
  assert.equal(await initBackend({ backend: 'wasm' }), 'wasm');
  const model = buildModel({ type: 'srresnet', scale: 2, blocks: 2, channels: 16 });
  // A smooth but non-trivial target: the network has to learn a real mapping.
  const hr = tf.tidy(() => {
    const yy = tf.reshape(tf.linspace(-1, 1, 24), [1, 24, 1, 1]);
    const xx = tf.reshape(tf.linspace(-1, 1, 24), [1, 1, 24, 1]);
    const r = tf.sin(tf.mul(tf.add(yy, xx), 3));
    const g = tf.cos(tf.mul(tf.sub(yy, xx), 4));
    const b = tf.mul(tf.add(randomTensor([1, 24, 24, 1], 3), 0), 0.3);
    return tf.mul(tf.concat([r, g, tf.add(b, tf.mul(r, g))], 3), 0.8);
  });
  const lr = tf.tidy(() => tf.div(tf.add(tf.image.resizeBilinear(hr as tf.Tensor4D, [12, 12]), 1), 2));
  const opt = tf.train.adam(1e-3, 0.9);
  const losses: number[] = [];
  const before = tf.memory().numTensors;
  for (let step = 0; step < 300; step++) {
    const loss = opt.minimize(() => tf.mean(tf.square(tf.sub(model.apply(lr, { training: true }) as tf.Tensor, hr))) as tf.Scalar, true);
    losses.push(loss!.dataSync()[0]!);
    loss!.dispose();
  }
  const first = losses[0]!;
  const last = Math.min(...losses.slice(-10));
  assert.ok(Number.isFinite(last));
  assert.ok(last <= first / 10, `MSE went from ${first.toFixed(4)} to ${last.toFixed(4)}`);
  // Adam creates its slot variables on the first step; after that nothing may accumulate.
  assert.ok(tf.memory().numTensors - before < 200, `live tensors grew by ${tf.memory().numTensors - before}`);
});
