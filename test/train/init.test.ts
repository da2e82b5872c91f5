import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/tfjs/backend.js';
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

/** Linear x2 per axis with pixel centres at (i + 0.5) / 2 - 0.5 and zero padding, on [h, w, 3]. */
function linearX2(x: Float32Array, h: number, w: number): Float32Array {
  const out = new Float32Array(4 * h * w * 3);
  const at = (y: number, xx: number, c: number) => (y < 0 || y >= h || xx < 0 || xx >= w ? 0 : x[(y * w + xx) * 3 + c]!);
  for (let Y = 0; Y < 2 * h; Y++) {
    for (let X = 0; X < 2 * w; X++) {
      const y = Y >> 1, xx = X >> 1;
      const ny = Y % 2 === 0 ? y - 1 : y + 1, nx = X % 2 === 0 ? xx - 1 : xx + 1;
      for (let c = 0; c < 3; c++) {
        out[(Y * 2 * w + X) * 3 + c] =
          0.5625 * at(y, xx, c) + 0.1875 * at(ny, xx, c) + 0.1875 * at(y, nx, c) + 0.0625 * at(ny, nx, c);
      }
    }
  }
  return out;
}

test('the interpolating init makes SRResNet x4 start as linear x2 twice (checked at 16 channels), and stays trainable', () => {
  const model = buildModel({ type: 'srresnet', scale: 4, blocks: 2, channels: 16 });
  const h = 12, w = 10;
  const x = tf.tidy(() => tf.add(tf.mul(randomTensor([1, h, w, 3], 3), 0.5), 0.5));
  try {
    const ref = linearX2(linearX2(x.dataSync() as Float32Array, h, w), 2 * h, 2 * w).map((v) => 2 * v - 1);
    const error = (training: boolean) =>
      rms(tf.tidy(() => tf.sub(model.apply(x, { training }) as tf.Tensor, tf.tensor4d(ref, [1, 4 * h, 4 * w, 3]))));
    seededInit(model, 1, { interpolate: true });
    const atStart = [error(true), error(false)];
    for (const e of atStart) assert.ok(e < 0.02, `rms difference from linear interpolation ${e.toFixed(4)} in [-1, 1] units`);
    for (const w of namedWeights(model)) assert.ok(w.variable.trainable || /moving_/.test(w.name), `${w.name} trainable`);
    seededInit(model, 1);
    const random = error(true);
    assert.ok(random > 0.2, `without it the first output is ${random.toFixed(3)} from the interpolation`);
  } finally {
    x.dispose();
    model.dispose();
  }
});
