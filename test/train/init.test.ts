import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/backend.js';
import { buildModel } from '../../src/models/index.js';
import { namedWeights } from '../../src/models/weights.js';
import { seededInit } from '../../src/train/init.js';
import { randomTensor } from '../helpers/tf.js';

before(async () => {
  await initBackend({ backend: 'wasm' });
});

function rms(t: tf.Tensor): number {
  return tf.tidy(() => Math.sqrt(tf.mean(tf.square(t)).dataSync()[0]!));
}

test('a freshly initialised SRResNet x4 (paper size) starts near mid-grey, with quiet residual branches', () => {
  const model = buildModel({ type: 'srresnet', scale: 4, blocks: 16, channels: 64 });
  const x = tf.tidy(() => tf.add(tf.mul(randomTensor([2, 16, 16, 3], 7), 0.5), 0.5));
  try {
    seededInit(model, 1);
    const weights = new Map(namedWeights(model).map((w) => [w.name, w.variable.read()]));
    const gamma = (name: string) => weights.get(`${name}/gamma`)!.dataSync()[0]!;
    assert.ok(Math.abs(gamma('block0_bn2') - 0.1) < 1e-7 && Math.abs(gamma('block15_bn2') - 0.1) < 1e-7, 'branch-closing BN gamma');
    assert.equal(gamma('block0_bn1'), 1);
    assert.equal(gamma('body_bn'), 1);
    // Training mode, as the first step sees it. Outputs are in [-1, 1] units; with the plain
    // He/Glorot init (gamma 1 everywhere, full-size tail) it was 1.33 on this input; now 0.13.
    const y = model.apply(x, { training: true }) as tf.Tensor;
    const r = rms(y);
    y.dispose();
    assert.ok(r < 0.5, `first output rms ${r.toFixed(3)} in [-1, 1] units`);
    assert.ok(r > 1e-3, `first output rms ${r.toFixed(3)}: a dead network would not learn either`);
  } finally {
    x.dispose();
    model.dispose();
  }
});
