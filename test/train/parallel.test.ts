// Data-parallel training: 2 worker replicas must compute what 1 replica with 2 micro-batches
// computes, and the replicas must stay identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/tfjs/backend.js';
import { resolveConfig } from '../../src/models/registry.js';
import '../../src/models/index.js';
import { ReplicaPool } from '../../src/train/pool.js';
import { seededInit } from '../../src/train/init.js';
import type { ReplicaSetup, Shard } from '../../src/train/replica.js';
import { randomArray } from '../helpers/tf.js';

await initBackend({ backend: 'wasm' });

function batch(seed: number): Shard {
  return { lr: randomArray(4 * 8 * 8 * 3, seed).map((v) => (v + 1) / 2), hr: randomArray(4 * 16 * 16 * 3, seed + 1), n: 4, lrSize: 8, hrSize: 16 };
}

async function run(setup: ReplicaSetup, workers: number, accumulate: number, steps: number) {
  const pool = await ReplicaPool.create(setup, { workers, accumulate, backend: 'wasm' });
  seededInit(pool.local.g.model, 42);
  if (pool.local.d) seededInit(pool.local.d.model, 43);
  pool.local.pullModels();
  await pool.broadcastState();
  const losses = [];
  for (let s = 0; s < steps; s++) {
    const b = batch(100 + s);
    const l = await pool.step('g', b, 1e-3);
    if (setup.mode === 'srgan') Object.assign(l, await pool.step('d', b, 1e-3));
    losses.push(l);
  }
  const states = [];
  for (let r = 0; r < pool.size; r++) states.push(await pool.stateOf(r));
  await pool.close();
  return { losses, states };
}

for (const [engine, mode] of [['onnx', 'srresnet'], ['onnx', 'srgan'], ['tfjs', 'srresnet'], ['tfjs', 'srgan']] as const) {
  test(`${engine} ${mode}: 2 workers equal 1 worker with 2 micro-batches, and replicas stay identical`, async () => {
    const setup: ReplicaSetup = {
      mode,
      engine,
      generator: resolveConfig({ type: 'srresnet', scale: 2, blocks: 1, channels: 8 }),
      ...(mode === 'srgan' ? { discriminator: resolveConfig({ type: 'srgan-discriminator', size: 16, channels: 4 }) } : {}),
      content: 'mse',
      advWeight: 1e-3,
      beta1: 0.9,
    };
    const one = await run(setup, 1, 2, 3);
    const two = await run(setup, 2, 1, 3);
    assert.equal(two.states.length, 2);
    // Replicas of the 2-worker run hold the same bytes.
    const [a, b] = two.states;
    a!.g.forEach((w, i) => assert.deepEqual(w.data, b!.g[i]!.data, `replica weights differ at ${w.name}`));
    if (a!.d) a!.d.forEach((w, i) => assert.deepEqual(w.data, b!.d![i]!.data, `replica D weights differ at ${w.name}`));
    // And equal the single-worker run up to float rounding.
    let maxDiff = 0;
    one.states[0]!.g.forEach((w, i) => w.data.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(v - a!.g[i]!.data[j]!)))));
    assert.ok(maxDiff < 1e-5, `weights differ by ${maxDiff}`);
    one.losses.forEach((l, s) => {
      for (const k of Object.keys(l)) assert.ok(Math.abs(l[k]! - two.losses[s]![k]!) < 1e-5, `step ${s} ${k}: ${l[k]} vs ${two.losses[s]![k]}`);
    });
    // Training moved the weights at all (otherwise equality would prove nothing).
    assert.ok(one.losses.length === 3 && Number.isFinite(one.losses[2]!['g_total']!));
  });
}

test('a worker that dies mid-step fails the step with its reason instead of leaving rank 0 waiting', async () => {
  const setup: ReplicaSetup = { mode: 'srresnet', generator: resolveConfig({ type: 'srresnet', scale: 2, blocks: 1, channels: 8 }), content: 'mse', advWeight: 0, beta1: 0.9 };
  const pool = await ReplicaPool.create(setup, { workers: 2, accumulate: 1, backend: 'wasm' });
  await pool.step('g', batch(1), 1e-3);
  // Kill the worker once it has sent its gradient and waits for the mean: certainly mid-step.
  const worker = (pool as unknown as { workers: Array<import('node:worker_threads').Worker> }).workers[0]!;
  worker.on('message', (m: { type: string }) => {
    if (m.type === 'reduce') void worker.terminate();
  });
  const t0 = Date.now();
  await assert.rejects(pool.step('g', batch(2), 1e-3), /training worker 1 exited/);
  assert.ok(Date.now() - t0 < 5000);
  // Later steps fail at once with the same reason.
  await assert.rejects(pool.step('g', batch(3), 1e-3), /training worker 1 exited/);
  await pool.close();
});
