import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initBackend } from '../../src/tfjs/backend.js';
import { recalibrateBatchNorm } from '../../src/train/precise_bn.js';
import { namedWeights } from '../../src/models/weights.js';
import { makeTestModel } from '../helpers/sr_models.js';
import { randomTensor } from '../helpers/tf.js';

before(async () => {
  await initBackend({ backend: 'wasm' });
});

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

test('statistics re-estimated on one batch make inference equal training mode on that batch', async () => {
  const { model } = makeTestModel({ blocks: 2, channels: 8, seed: 3 });
  const x = tf.tidy(() => tf.add(tf.mul(randomTensor([4, 12, 12, 3], 5), 0.5), 0.5)) as tf.Tensor4D;
  try {
    const train = model.apply(x, { training: true }) as tf.Tensor;
    const before = model.predict(x) as tf.Tensor;
    // The test model's moving statistics are random, so the two modes differ before.
    assert.ok(maxAbsDiff(train, before) > 0.05, 'modes already agree: the test would prove nothing');
    const tensorsBefore = tf.memory().numTensors;
    const n = await recalibrateBatchNorm(model, { batches: 1, nextBatch: async () => x });
    assert.equal(n, 5, 'two blocks x 2 + the trunk end');
    assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor left behind');
    const after = model.predict(x) as tf.Tensor;
    const d = maxAbsDiff(train, after);
    assert.ok(d < 1e-4, `max |training - inference| = ${d}`);
    tf.dispose([train, before, after]);
  } finally {
    x.dispose();
    model.dispose();
  }
});

test('over several batches the statistics are the mean of the batch statistics; other weights untouched', async () => {
  const { model } = makeTestModel({ blocks: 1, channels: 8, seed: 4 });
  const xs = [6, 7, 8].map((s) => tf.tidy(() => tf.add(tf.mul(randomTensor([2, 10, 10, 3], s), 0.5), 0.5)) as tf.Tensor4D);
  const firstBn = model.layers.find((l) => l.getClassName() === 'BatchNormalization')!;
  try {
    const others = new Map(namedWeights(model).filter((w) => !/moving_/.test(w.name)).map((w) => [w.name, w.variable.read().dataSync().slice()]));
    let i = 0;
    await recalibrateBatchNorm(model, { batches: 3, nextBatch: async () => xs[i++]! });
    assert.equal(i, 3);
    // Expected: the first BN layer's input is the head's output (no BN upstream), so its batch
    // moments can be computed independently by a model cut at that layer.
    const head = tfl.model({ inputs: model.inputs, outputs: firstBn.input as tfl.SymbolicTensor });
    const means = xs.map((x) => tf.tidy(() => tf.moments(head.predict(x) as tf.Tensor, [0, 1, 2]).mean.dataSync().slice()));
    const want = means[0]!.map((_, c) => (means[0]![c]! + means[1]![c]! + means[2]![c]!) / 3);
    const got = firstBn.getWeights()[firstBn.weights.findIndex((w) => w.name.includes('moving_mean'))]!.dataSync();
    for (let c = 0; c < want.length; c++) assert.ok(Math.abs(got[c]! - want[c]!) < 1e-5, `channel ${c}: ${got[c]} vs ${want[c]}`);
    for (const w of namedWeights(model)) {
      const old = others.get(w.name);
      if (old) assert.deepEqual(w.variable.read().dataSync(), old, `${w.name} changed`);
    }
  } finally {
    tf.dispose(xs);
    model.dispose();
  }
});

test('a non-positive batch count is a clear error', async () => {
  const { model } = makeTestModel({ blocks: 1 });
  try {
    await assert.rejects(recalibrateBatchNorm(model, { batches: 0, nextBatch: async () => tf.zeros([1, 8, 8, 3]) }), /positive number of batches, got 0/);
  } finally {
    model.dispose();
  }
});
