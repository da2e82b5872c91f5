// Learning-rate probe (not a test): is a run's learning rate too high where it stands now?
// From one SRResNet checkpoint (weights and Adam state), takes the same --steps batches at each
// rate in --lrs and reports, per rate, the training loss on each batch as the weights move and the
// cosine between consecutive gradients. A rate past the stable range shows as gradients that turn
// against each other (Adam's momentum averages them away and the weights jitter in place) and a
// loss that ends above that of a smaller rate on the same batches.
//
//   npm run build && node dist/bench/lr_probe.js --run runs/srresnet-x4 [--lrs 1e-4,3e-5,1e-5]
//     [--steps 8] [--batch 8] [--patch 128] [--data ../shared/data/train/sun-hays80] [--seed 99]
//
// One core, single replica, batch statistics over the whole batch (a 2-worker run normalises per
// half batch); about 6 s per step at batch 8 x 128 px.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/backend.js';
import { PatchDataset, type PatchBatch } from '../src/data/patch_dataset.js';
import { buildModel } from '../src/models/index.js';
import { readModelConfig, assignArrays } from '../src/models/weights.js';
import { readSafetensors } from '../src/models/safetensors.js';
import { latestCheckpoint, readCheckpointState } from '../src/train/checkpoint.js';
import { Adam } from '../src/train/adam.js';
import { pixelMse } from '../src/losses/pixel.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = arg('run', '');
const ckpt = arg('checkpoint', run ? (latestCheckpoint(run) ?? '') : '');
if (!ckpt || !existsSync(join(ckpt, 'optimizer.safetensors'))) {
  console.log('pass --run <training run folder> or --checkpoint <checkpoints/step-N folder> (with optimizer.safetensors)');
  process.exit(1);
}
const data = arg('data', resolve(repoRoot, '..', 'shared', 'data', 'train', 'sun-hays80'));
if (!existsSync(data)) {
  console.log(`no training images at ${data}; pass --data`);
  process.exit(0);
}
const lrs = arg('lrs', '1e-4,3e-5,1e-5').split(',').map(Number);
const steps = Number(arg('steps', '8'));
const batch = Number(arg('batch', '8'));
const hrPatch = Number(arg('patch', '128'));
const seed = Number(arg('seed', '99'));

await initBackend({ backend: 'wasm' });
const { config, arrays } = readModelConfig(join(ckpt, 'generator.safetensors'));
const scale = (config as { scale?: number }).scale ?? 4;
const optArrays = readSafetensors(join(ckpt, 'optimizer.safetensors')).tensors;
const optStep = readCheckpointState(ckpt).optStep.g;

const ds = await PatchDataset.open({ dir: data, scale, hrPatch, batch, seed, workers: 1 });
const batches: PatchBatch[] = [];
for (let i = 0; i < steps; i++) batches.push(await ds.next());
await ds.close();

const cosine = (a: Float32Array, b: Float32Array): number => {
  let d = 0, x = 0, y = 0;
  for (let i = 0; i < a.length; i++) {
    d += a[i]! * b[i]!;
    x += a[i]! * a[i]!;
    y += b[i]! * b[i]!;
  }
  return d / Math.sqrt(x * y);
};
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

// How far Adam's momentum is from the size of the gradients it has seen: near 0 when successive
// gradients cancel, near 1 when they agree.
{
  let ratio = 0, n = 0;
  for (const [name, m] of optArrays) {
    if (!name.endsWith('/kernel/m') || !/block\d+_conv/.test(name)) continue;
    const v = optArrays.get(name.replace(/\/m$/, '/v'))!;
    let sm = 0, sv = 0;
    for (let i = 0; i < m.data.length; i++) {
      sm += Math.abs(m.data[i]!);
      sv += Math.sqrt(v.data[i]!);
    }
    ratio += sm / sv;
    n += 1;
  }
  console.log(`${ckpt} (step ${optStep}): residual-block kernels, mean |m| / mean sqrt(v) = ${(ratio / n).toFixed(3)}`);
}

const finals: number[] = [];
for (const lr of lrs) {
  const model = buildModel(config);
  assignArrays(model, arrays, ckpt);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const names = model.trainableWeights.map((w) => w.originalName);
  const opt = new Adam(vars, names);
  opt.load('G/', optArrays, optStep, ckpt);
  const losses: number[] = [];
  const cos: number[] = [];
  let prev: Float32Array | null = null;
  for (const b of batches) {
    const x = tf.tensor4d(b.lr, [b.batch, b.lrSize, b.lrSize, 3]);
    const y = tf.tensor4d(b.hr, [b.batch, b.hrSize, b.hrSize, 3]);
    const { value, grads } = tf.variableGrads(() => pixelMse(model.apply(x, { training: true }) as tf.Tensor, y), vars);
    const list = vars.map((v) => grads[v.name]!);
    const joined = tf.tidy(() => tf.concat(list.map((g) => tf.reshape(g, [-1]))));
    const flat = joined.dataSync() as Float32Array;
    joined.dispose();
    if (prev) cos.push(cosine(prev, flat));
    prev = flat;
    losses.push(value.dataSync()[0]!);
    opt.apply(list, lr);
    tf.dispose([x, y, value, ...list]);
  }
  opt.dispose();
  model.dispose();
  const late = losses.slice(Math.floor(losses.length / 2));
  finals.push(mean(late));
  console.log(`lr ${lr.toExponential(0)}: loss per batch ${losses.map((l) => l.toFixed(5)).join(' ')}; mean cos(g_t, g_t-1) ${mean(cos).toFixed(3)} (min ${Math.min(...cos).toFixed(3)})`);
}
const best = Math.min(...finals);
console.log(`mean loss over the second half of the batches, relative to the lowest: ${lrs.map((lr, i) => `${lr.toExponential(0)} ${(finals[i]! / best).toFixed(4)}`).join(', ')}  [${steps} steps, batch ${batch}, ${hrPatch} px]`);
