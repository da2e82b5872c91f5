// A tiny SRResNet must be able to memorise one image through the real training path (a replica:
// gradients from either engine, the shared Adam on flat weights), on both engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/tfjs/backend.js';
import { resolveConfig } from '../../src/models/index.js';
import { Replica } from '../../src/train/replica.js';
import { soloExchange } from '../../src/train/exchange.js';
import { seededInit } from '../../src/train/init.js';
import { randomTensor } from '../helpers/tf.js';

for (const engine of ['onnx', 'tfjs'] as const) {
  test(`a small SRResNet overfits one image on ${engine}: MSE falls at least tenfold`, async () => {
    await initBackend({ backend: 'wasm' });
    // A smooth but non-trivial target: the network has to learn a real mapping.
    const [hr, lr] = tf.tidy(() => {
      const yy = tf.reshape(tf.linspace(-1, 1, 24), [1, 24, 1, 1]);
      const xx = tf.reshape(tf.linspace(-1, 1, 24), [1, 1, 24, 1]);
      const r = tf.sin(tf.mul(tf.add(yy, xx), 3));
      const g = tf.cos(tf.mul(tf.sub(yy, xx), 4));
      const b = tf.mul(randomTensor([1, 24, 24, 1], 3), 0.3);
      const h = tf.mul(tf.concat([r, g, tf.add(b, tf.mul(r, g))], 3), 0.8) as tf.Tensor4D;
      return [h.dataSync() as Float32Array, tf.div(tf.add(tf.image.resizeBilinear(h, [12, 12]), 1), 2).dataSync() as Float32Array];
    });
    const replica = await Replica.create({ mode: 'srresnet', generator: resolveConfig({ type: 'srresnet', scale: 2, blocks: 2, channels: 16 }), content: 'mse', advWeight: 0, beta1: 0.9, engine }, soloExchange);
    seededInit(replica.g.model, 1);
    replica.pullModels();
    const losses: number[] = [];
    for (let step = 0; step < 300; step++) losses.push((await replica.step('g', { lr: lr!, hr: hr!, n: 1, lrSize: 12, hrSize: 24 }, 1e-3))['pixel']!);
    const first = losses[0]!;
    const last = Math.min(...losses.slice(-10));
    assert.ok(Number.isFinite(last));
    assert.ok(last <= first / 10, `MSE went from ${first.toFixed(4)} to ${last.toFixed(4)}`);
    await replica.dispose();
  });
}
