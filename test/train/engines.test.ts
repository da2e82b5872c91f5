// The ONNX Runtime training engine against the TF.js reference: one micro-batch of each mode from
// the same weights and data gives the same losses, gradients and moved statistics, and a full
// replica step on ONNX moves the weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/tfjs/backend.js';
import { buildModel, getArchitecture, resolveConfig, type ModelConfig } from '../../src/models/index.js';
import { seededInit } from '../../src/train/init.js';
import { NetState } from '../../src/train/net_state.js';
import { getObjective, type Phase } from '../../src/train/objectives.js';
import { OnnxEngine } from '../../src/train/engine_onnx.js';
import { TfjsEngine } from '../../src/train/engine_tfjs.js';
import type { Shard } from '../../src/train/shard.js';
import { randomArray } from '../helpers/tf.js';
import { randomVggWeights } from '../helpers/vgg_files.js';
import { buildVgg19Features } from '../../src/models/vgg19.js';
import { namedWeights, modelToArrays } from '../../src/models/weights.js';
import { CONTENT_LAYERS } from '../../src/losses/perceptual.js';
import * as tf from '@tensorflow/tfjs-core';

await initBackend({ backend: 'wasm' });

const G = resolveConfig({ type: 'srresnet', scale: 2, blocks: 2, channels: 8 });
const D = resolveConfig({ type: 'srgan-discriminator', size: 16, channels: 4 });
const D_BLUR = resolveConfig({ type: 'srgan-discriminator', size: 16, channels: 4, antialias: true });
const R = resolveConfig({ type: 'two-stream', classes: 3, stack: 2, channels: 4 });
const adam = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

function net(config: ModelConfig, seed: number) {
  const model = buildModel(config);
  seededInit(model, seed);
  const state = new NetState(model, adam);
  state.pull(model);
  return { model, state, spec: getArchitecture(config.type).describe!(config) };
}

function shardFor(mode: string, seed: number): Shard {
  const n = 2;
  if (mode === 'recognizer') {
    // no images: the clip input (RGB + 2 flows) and one-hot labels
    const labels = new Float32Array(n * 3);
    labels[0 * 3 + 2] = labels[1 * 3 + 0] = 1;
    return { lr: new Float32Array(0), hr: new Float32Array(0), n, lrSize: 16, hrSize: 16, aux: randomArray(n * 16 * 16 * 7, seed).map((v) => 2 * v), auxChannels: 7, labels, classes: 3 };
  }
  const frames = mode === 'tosr' ? 2 : 1;
  const s: Shard = {
    lr: randomArray(n * frames * 8 * 8 * 3, seed).map((v) => (v + 1) / 2),
    hr: randomArray(n * frames * 16 * 16 * 3, seed + 1),
    n, lrSize: 8, hrSize: 16,
  };
  if (mode === 'sosr') Object.assign(s, { frames: 1, aux: randomArray(n * 16 * 16, seed + 2).map((v) => v + 1.2), auxChannels: 1 });
  if (mode === 'tosr') {
    const aux = new Float32Array(n * 16 * 16 * 3);
    const r = randomArray(aux.length, seed + 3);
    for (let i = 0; i < n * 256; i++) {
      aux[3 * i] = 2 * r[3 * i]!;
      aux[3 * i + 1] = 1.5 * r[3 * i + 1]!;
      aux[3 * i + 2] = r[3 * i + 2]! > -0.5 ? 1 : 0;
    }
    Object.assign(s, { frames: 2, aux, auxChannels: 3 });
  }
  return s;
}

function relErr(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / Math.max(den, 1e-30));
}

function randomVgg(content: 'vgg22' | 'vgg54') {
  const layer = CONTENT_LAYERS[content];
  const model = buildVgg19Features({ layers: [layer] });
  const w = randomVggWeights(layer, 7);
  tf.tidy(() => {
    for (const { name, variable } of namedWeights(model)) {
      const [l, kind] = name.split('/') as [string, 'kernel' | 'bias'];
      const a = w.get(l)![kind];
      variable.write(tf.tensor(a.data, a.shape));
    }
  });
  return model;
}

const cases = [
  ['srresnet', 'mse', 'mse'], ['srresnet', 'mse', 'l1'], ['srgan', 'mse', 'l1'], ['srgan', 'vgg22', 'mse'], ['srgan', 'vgg54', 'mse'], ['srgan', 'mse', 'mse', 'blur'], ['srgan', 'mse', 'mse', 'grid'],
  ['sosr', 'mse', 'mse'], ['tosr', 'mse', 'mse'], ['recognizer', 'mse', 'mse'],
] as const;
for (const [mode, content, pixel, extra] of cases) {
  test(`${mode} (${content}, pixel ${pixel}${extra === 'blur' ? ', antialiased D' : extra === 'grid' ? ', grid penalty' : ''}): ONNX Runtime step equals the TF.js step (losses, gradients, statistics)`, async () => {
    const objective = getObjective(mode);
    const g = net(mode === 'recognizer' ? R : G, 1);
    const d = mode === 'srgan' ? net(extra === 'blur' ? D_BLUR : D, 2) : undefined;
    // A large grid weight, so that a wrong rule for it shows in the gradients.
    const settings = { content, pixel, advWeight: 1e-3, temporalWeight: 0.7, ...(extra === 'grid' ? { grid: { weight: 300, period: 2 } } : {}) };
    const vgg = content === 'mse' ? undefined : randomVgg(content);
    const tfjs = new TfjsEngine({ objective, models: { g: g.model, ...(d ? { d: d.model } : {}) }, settings, ...(vgg ? { vgg } : {}) });
    const onnx = new OnnxEngine({ objective, specs: { g: g.spec, ...(d ? { d: d.spec } : {}) }, settings, threads: 1, ...(vgg ? { vgg: modelToArrays(vgg) } : {}) });
    const nets = { g: g.state, ...(d ? { d: d.state } : {}) };
    const shard = shardFor(mode, 10);
    for (const phase of objective.phases as Phase[]) {
      const a = await onnx.gradients(phase, shard, 0, nets);
      const b = await tfjs.gradients(phase, shard, 0, nets);
      assert.deepEqual(Object.keys(a.losses).sort(), Object.keys(b.losses).sort());
      for (const k of Object.keys(b.losses)) {
        assert.ok(Math.abs(a.losses[k]! - b.losses[k]!) <= 1e-4 * Math.max(1, Math.abs(b.losses[k]!)), `${phase} ${k}: onnx ${a.losses[k]} vs tfjs ${b.losses[k]}`);
      }
      const e = relErr(a.grads, b.grads);
      assert.ok(e < 1e-3, `${phase}: gradients differ by ${e} (relative)`);
      assert.ok(relErr(a.stats, b.stats) < 1e-4, `${phase}: statistics differ`);
      // Per weight, so one wrong rule cannot hide in the norm of the others.
      const st = phase === 'g' ? g.state : d!.state;
      for (const slot of st.trainable) {
        const ga = a.grads.subarray(slot.offset, slot.offset + slot.size);
        const gb = b.grads.subarray(slot.offset, slot.offset + slot.size);
        assert.ok(relErr(ga, gb) < 5e-3, `${phase} ${slot.name}: gradient differs by ${relErr(ga, gb)}`);
      }
    }
    await onnx.dispose();
    await tfjs.dispose();
    g.model.dispose();
    d?.model.dispose();
    vgg?.dispose();
  });
}

test('a full replica step on ONNX Runtime moves every trained weight of G and D from its start', async () => {
  const { Replica } = await import('../../src/train/replica.js');
  const { soloExchange } = await import('../../src/train/exchange.js');
  const r = await Replica.create({ mode: 'srgan', generator: G, discriminator: D, content: 'mse', advWeight: 1e-3, beta1: 0.9, engine: 'onnx' }, soloExchange);
  assert.equal(r.engineName, 'onnx');
  const before = r.state();
  const shard = shardFor('srgan', 20);
  await r.step('g', shard, 1e-3);
  await r.step('d', shard, 1e-3);
  const after = r.state();
  for (const key of ['g', 'd'] as const) {
    const trainable = new Set((key === 'g' ? r.g : r.d!).state.trainable.map((s) => s.name));
    before[key]!.forEach((w, i) => {
      if (!trainable.has(w.name)) return;
      const moved = w.data.some((v, j) => v !== after[key]![i]!.data[j]);
      assert.ok(moved, `${key} ${w.name} did not move`);
    });
  }
  assert.equal(after.optStep.g, 1);
  assert.equal(after.optStep.d, 1);
  await r.dispose();
});

test('validation on ONNX Runtime (exported generator) equals TF.js inference, RGB and grey', async () => {
  const { exportOnnx } = await import('../../src/inference/onnx_export.js');
  const { createSession, sessionMethod } = await import('../../src/inference/onnx_session.js');
  const { generatorMethod } = await import('../../src/inference/tfjs_runner.js');
  const g = net(G, 3);
  const session = await createSession(exportOnnx(g.model, { config: G }).bytes, 1);
  for (const channels of [3, 1] as const) {
    const lr = { width: 9, height: 7, channels, data: randomArray(63 * channels, 40 + channels).map((v) => (v + 1) / 2) };
    const a = await sessionMethod('m', session).run(lr, { scale: 2 });
    const b = await generatorMethod('m', g.model).run(lr, { scale: 2 });
    assert.deepEqual([a.width, a.height, a.channels], [b.width, b.height, b.channels]);
    let worst = 0;
    a.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b.data[i]!))));
    assert.ok(worst < 1e-4, `${channels} channel(s): outputs differ by ${worst}`);
  }
  await session.release();
  g.model.dispose();
});
