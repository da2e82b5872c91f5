// The ONNX Runtime training engine against the TF.js reference: one micro-batch of each mode from
// the same weights and data gives the same losses, gradients and moved statistics, and a full
// replica step on ONNX moves the weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/engine/backend.js';
import { buildModel, getArchitecture, resolveConfig, type ModelConfig } from '../../src/models/index.js';
import { seededInit } from '../../src/train/init.js';
import { NetState } from '../../src/train/net_state.js';
import { getObjective, type Phase } from '../../src/train/objectives.js';
import { OnnxEngine } from '../../src/train/engine_onnx.js';
import { TfjsEngine } from '../../src/train/engine_tfjs.js';
import type { Shard } from '../../src/train/shard.js';
import { randomArray } from '../helpers/tf.js';

await initBackend({ backend: 'wasm' });

const G = resolveConfig({ type: 'srresnet', scale: 2, blocks: 2, channels: 8 });
const D = resolveConfig({ type: 'srgan-discriminator', size: 16, channels: 4 });
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

for (const mode of ['srresnet', 'srgan', 'sosr', 'tosr'] as const) {
  test(`${mode}: ONNX Runtime step equals the TF.js step (losses, gradients, statistics)`, async () => {
    const objective = getObjective(mode);
    const g = net(G, 1);
    const d = mode === 'srgan' ? net(D, 2) : undefined;
    const settings = { content: 'mse' as const, advWeight: 1e-3, temporalWeight: 0.7 };
    const tfjs = new TfjsEngine({ objective, models: { g: g.model, ...(d ? { d: d.model } : {}) }, settings });
    const onnx = new OnnxEngine({ objective, specs: { g: g.spec, ...(d ? { d: d.spec } : {}) }, settings, threads: 1 });
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
  });
}
