// The video modes under data parallelism: frames and per-pixel data (SoSR weights, ToSR flow and
// validity) must be split with their samples, so 2 worker replicas compute what 1 replica with 2
// micro-batches computes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/tfjs/backend.js';
import { resolveConfig } from '../../src/models/registry.js';
import '../../src/models/index.js';
import { ReplicaPool } from '../../src/train/pool.js';
import { seededInit } from '../../src/train/init.js';
import type { ReplicaSetup, Shard } from '../../src/train/replica.js';
import { randomArray } from '../helpers/tf.js';

await initBackend({ backend: 'wasm', quiet: true });

function batch(mode: 'sosr' | 'tosr', seed: number): Shard {
  const n = 4;
  const frames = mode === 'tosr' ? 2 : 1;
  const auxChannels = mode === 'tosr' ? 3 : 1;
  const aux = randomArray(n * 16 * 16 * auxChannels, seed + 2, 3);
  for (let i = 0; i < aux.length; i++) {
    if (mode === 'sosr') aux[i] = 1 + aux[i]! / 4; // positive weights
    else if (i % 3 === 2) aux[i] = aux[i]! > -1 ? 1 : 0; // validity
  }
  return {
    lr: randomArray(n * frames * 8 * 8 * 3, seed).map((v) => (v + 1) / 2),
    hr: randomArray(n * frames * 16 * 16 * 3, seed + 1),
    n,
    lrSize: 8,
    hrSize: 16,
    frames,
    aux,
    auxChannels,
  };
}

async function run(mode: 'sosr' | 'tosr', workers: number, accumulate: number) {
  const setup: ReplicaSetup = { mode, generator: resolveConfig({ type: 'srresnet', scale: 2, blocks: 1, channels: 8 }), content: 'mse', advWeight: 0, beta1: 0.9, temporalWeight: 0.5 };
  const pool = await ReplicaPool.create(setup, { workers, accumulate, backend: 'wasm' });
  seededInit(pool.local.g.model, 42);
  pool.local.pullModels();
  await pool.broadcastState();
  const losses = [];
  for (let s = 0; s < 3; s++) losses.push(await pool.step('g', batch(mode, 100 + 7 * s), 1e-3));
  const state = await pool.stateOf(workers - 1);
  await pool.close();
  return { losses, state };
}

for (const mode of ['sosr', 'tosr'] as const) {
  test(`${mode}: 2 workers equal 1 worker with 2 micro-batches`, async () => {
    const one = await run(mode, 1, 2);
    const two = await run(mode, 2, 1);
    let maxDiff = 0;
    one.state.g.forEach((w, i) => w.data.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - two.state.g[i]!.data[j]!)))));
    assert.ok(maxDiff < 1e-5, `weights differ by ${maxDiff}`);
    one.losses.forEach((l, s) => {
      for (const k of Object.keys(l)) assert.ok(Math.abs(l[k]! - two.losses[s]![k]!) < 1e-5, `step ${s} ${k}: ${l[k]} vs ${two.losses[s]![k]}`);
    });
    const keys = mode === 'tosr' ? ['pixel', 'temporal_sr', 'temporal_hr', 'g_total'] : ['pixel_weighted', 'pixel', 'g_total'];
    assert.deepEqual(Object.keys(one.losses[0]!).sort(), keys.sort());
  });
}
