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
  const r = tf.tidy(() => Math.sqrt(tf.mean(tf.square(t)).dataSync()[0]!));
  t.dispose();
  return r;
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
    // Training mode, as the first step sees it; outputs are in [-1, 1] units (0.13 here).
    const firstOutputRms = () => rms(model.apply(x, { training: true }) as tf.Tensor);
    const r = firstOutputRms();
    assert.ok(r < 0.5, `first output rms ${r.toFixed(3)} in [-1, 1] units`);
    assert.ok(r > 1e-3, `first output rms ${r.toFixed(3)}: a dead network would not learn either`);
    // The plain He/Glorot init (gamma 1 everywhere, full-size tail) fails the bound (1.33 here).
    tf.tidy(() => {
      for (const w of namedWeights(model)) {
        if (/_bn2\/gamma$/.test(w.name)) w.variable.write(tf.onesLike(w.variable.read()));
        if (w.name === 'tail_conv/kernel') w.variable.write(tf.mul(w.variable.read(), 10));
      }
    });
    const plain = firstOutputRms();
    assert.ok(plain > 0.5, `plain init: first output rms ${plain.toFixed(3)}`);
  } finally {
    x.dispose();
    model.dispose();
  }
});
