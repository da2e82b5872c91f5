import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/tfjs/backend.js';
import { buildModel, getArchitecture, resolveConfig } from '../../src/models/index.js';
import { saveModel, loadModel } from '../../src/models/weights.js';
import { toFloat16Bits, fromFloat16Bits } from '../../src/util/float16.js';
import { randomTensor } from '../helpers/tf.js';
import { testTempDir } from '../helpers/tmp.js';

await initBackend({ backend: 'wasm' });

test('srresnet output shapes for scales 2, 4, 8 and odd input sizes', () => {
  for (const scale of [2, 4, 8]) {
    const model = buildModel({ type: 'srresnet', scale, blocks: 2, channels: 8 });
    for (const [h, w] of [[7, 5], [13, 16], [1, 1]] as const) {
      const y = tf.tidy(() => model.predict(tf.zeros([2, h, w, 3])) as tf.Tensor);
      assert.deepEqual(y.shape, [2, h * scale, w * scale, 3]);
      y.dispose();
    }
    model.dispose();
  }
});

test('discriminator outputs a logit and a probability per image', () => {
  const model = buildModel({ type: 'srgan-discriminator', size: 48, channels: 8 });
  const [logit, prob] = model.predict(randomTensor([3, 48, 48, 3], 1)) as tf.Tensor[];
  assert.deepEqual(logit!.shape, [3, 1]);
  const l = logit!.dataSync();
  const p = prob!.dataSync();
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(p[i]! - 1 / (1 + Math.exp(-l[i]!))) < 1e-6);
  tf.dispose([logit!, prob!]);
  model.dispose();
});

test('parameter counts equal the analytic counts', () => {
  // Written out by hand (see the formulas in src/models/*.ts):
  // SRResNet x4, B=16, C=64: head 15,680; 16 blocks x 74,304; body 37,120; 2 x up 147,776; tail 15,555.
  // Discriminator 96 px: convs 4,690,944; fc1 18,432*1024+1024 = 18,875,392; fc2 1,025.
  const expected: Array<[Record<string, unknown> & { type: string }, number]> = [
    [{ type: 'srresnet', scale: 4 }, 1_552_771],
    [{ type: 'srresnet', scale: 2 }, 1_552_771 - 147_776],
    [{ type: 'srresnet', scale: 8 }, 1_552_771 + 147_776],
    [{ type: 'srgan-discriminator' }, 23_567_361],
  ];
  for (const [cfg, count] of expected) {
    const model = buildModel(cfg);
    assert.equal(model.countParams(), count, `${JSON.stringify(cfg)}: TF.js counts ${model.countParams()}`);
    const resolved = resolveConfig(cfg);
    assert.equal(getArchitecture(cfg.type).paramCount(resolved), count);
    model.dispose();
  }
});

test('unknown architectures and options get a did-you-mean error', () => {
  assert.throws(() => buildModel({ type: 'srresnt' }), /unknown model type 'srresnt' \(did you mean 'srresnet'\?\)/);
  assert.throws(() => buildModel({ type: 'srresnet', blokcs: 3 }), /no option 'blokcs' \(did you mean 'blocks'\?\)/);
  assert.throws(() => buildModel({ type: 'srresnet', scale: 3 }), /srresnet.scale must be 2, 4 or 8, got 3/);
});

test('save and load give identical outputs (float32), and float16 files equal rounded weights', async (t) => {
  const dir = testTempDir(t, 'srgan-weights-');
  const config = resolveConfig({ type: 'srresnet', scale: 2, blocks: 2, channels: 8 });
  const model = buildModel(config);
  // Non-trivial BN statistics, so that they are shown to travel with the file.
  model.setWeights(model.getWeights().map((w, i) => tf.abs(randomTensor(w.shape, 50 + i, 0.3))));
  const x = randomTensor([1, 9, 7, 3], 5);
  const y = (model.predict(x) as tf.Tensor).dataSync();

  await saveModel(model, config, join(dir, 'm32.safetensors'));
  const back = loadModel(join(dir, 'm32.safetensors'));
  assert.deepEqual(back.config, config);
  assert.deepEqual((back.model.predict(x) as tf.Tensor).dataSync(), y);

  await saveModel(model, config, join(dir, 'm16.safetensors'), { dtype: 'float16' });
  const size16 = readFileSync(join(dir, 'm16.safetensors')).length;
  const size32 = readFileSync(join(dir, 'm32.safetensors')).length;
  assert.ok(size16 < size32 * 0.6, `float16 file ${size16} B vs float32 ${size32} B`);
  const half = loadModel(join(dir, 'm16.safetensors'));
  model.setWeights(model.getWeights().map((w) => tf.tensor(Array.from(w.dataSync(), (v) => fromFloat16Bits(toFloat16Bits(v))), w.shape)));
  assert.deepEqual((half.model.predict(x) as tf.Tensor).dataSync(), (model.predict(x) as tf.Tensor).dataSync());
  assert.deepEqual(readdirSync(dir).sort(), ['m16.safetensors', 'm32.safetensors'], 'no temporary files left behind');
});

test('bad weight files get errors that name the file and the problem', async (t) => {
  const dir = testTempDir(t, 'srgan-badweights-');
  assert.throws(() => loadModel(join(dir, 'nope.safetensors')), /weights file not found: .*nope\.safetensors/);
  writeFileSync(join(dir, 'text.safetensors'), 'hello, this is not a model');
  assert.throws(() => loadModel(join(dir, 'text.safetensors')), /text\.safetensors: not a safetensors weights file/);

  const config = resolveConfig({ type: 'srresnet', scale: 2, blocks: 1, channels: 8 });
  const model = buildModel(config);
  await saveModel(model, config, join(dir, 'ok.safetensors'));
  const bytes = readFileSync(join(dir, 'ok.safetensors'));
  writeFileSync(join(dir, 'cut.safetensors'), bytes.subarray(0, bytes.length - 100));
  assert.throws(() => loadModel(join(dir, 'cut.safetensors')), /cut\.safetensors: truncated: tensor '.*' ends at byte/);

  // A file whose config says 16 channels but whose tensors have 8.
  const forged = Buffer.from(bytes);
  const header = forged.subarray(8, 8 + Number(forged.readBigUInt64LE(0))).toString('utf8').replace('\\"channels\\":8', '\\"channels\\":16');
  forged.write(header, 8, 'utf8');
  writeFileSync(join(dir, 'mismatch.safetensors'), forged);
  assert.throws(() => loadModel(join(dir, 'mismatch.safetensors')), /mismatch\.safetensors: weights do not match the model: 'head_conv\/kernel' has shape \[9,9,3,8\], the model expects \[9,9,3,16\]/);
});

test('float16 conversion rounds to nearest even and keeps specials', () => {
  for (const v of [0, -0, 1, -2.5, 65504, 1e-7, 6.1e-5, 3.14159, 0.1]) {
    const back = fromFloat16Bits(toFloat16Bits(v));
    assert.ok(Math.abs(back - v) <= Math.max(Math.abs(v) * 2 ** -11, 2 ** -25), `${v} -> ${back}`);
  }
  assert.equal(toFloat16Bits(1 + 2 ** -11), 0x3c00, 'a tie rounds to even');
  assert.equal(toFloat16Bits(1e6), 0x7c00, 'overflow becomes infinity');
  assert.ok(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN))));
});
