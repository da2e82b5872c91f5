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
// The training path's own pieces (ONNX Runtime engine, NetState's Adam), one replica with batch
// statistics over the whole batch (a 2-worker run normalises per half batch).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { initBackend } from '../src/tfjs/backend.js';
import { PatchDataset, type PatchBatch } from '../src/data/patch_dataset.js';
import { buildModel, getArchitecture } from '../src/models/index.js';
import { readModelConfig } from '../src/models/weights.js';
import { readSafetensors } from '../src/models/safetensors.js';
import { latestCheckpoint, readCheckpointState } from '../src/train/checkpoint.js';
import { NetState } from '../src/train/net_state.js';
import { OnnxEngine } from '../src/train/engine_onnx.js';
import { getObjective } from '../src/train/objectives.js';

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
const model = buildModel(config);
const engine = new OnnxEngine({
  objective: getObjective('srresnet'),
  specs: { g: getArchitecture(config.type).describe!(config) },
  settings: { content: 'mse', pixel: 'mse', advWeight: 0, temporalWeight: 0 },
  threads: 2,
});
for (const lr of lrs) {
  const state = new NetState(model, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  state.load(arrays, ckpt, { prefix: 'G/', arrays: optArrays, step: optStep });
  const losses: number[] = [];
  const cos: number[] = [];
  let prev: Float32Array | null = null;
  for (const b of batches) {
    const r = await engine.gradients('g', { lr: b.lr, hr: b.hr, n: b.batch, lrSize: b.lrSize, hrSize: b.hrSize }, 0, { g: state });
    if (prev) cos.push(cosine(prev, r.grads));
    prev = r.grads;
    losses.push(r.losses['pixel']!);
    state.applyAdam(r.grads, lr);
    state.setStats(r.stats);
  }
  const late = losses.slice(Math.floor(losses.length / 2));
  finals.push(mean(late));
  console.log(`lr ${lr.toExponential(0)}: loss per batch ${losses.map((l) => l.toFixed(5)).join(' ')}; mean cos(g_t, g_t-1) ${mean(cos).toFixed(3)} (min ${Math.min(...cos).toFixed(3)})`);
}
await engine.dispose();
model.dispose();
const best = Math.min(...finals);
console.log(`mean loss over the second half of the batches, relative to the lowest: ${lrs.map((lr, i) => `${lr.toExponential(0)} ${(finals[i]! / best).toFixed(4)}`).join(', ')}  [${steps} steps, batch ${batch}, ${hrPatch} px]`);
