// PatchDataset benchmark (not a test): how long a training loop waits in next() when it spends
// --work-ms of main-thread CPU per step (a busy loop, as a synchronous WASM training step is).
// The first call is reported apart (nothing can be prefetched before it); the first epoch apart
// from the rest (the workers are still decoding while it runs).
//
//   npm run build && node dist/bench/patch_dataset.js
//   node dist/bench/patch_dataset.js --work-ms 100 --batches 60 --workers 1 --batch 16 [--dir DIR] [--sleep]
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { PatchDataset } from '../src/data/patch_dataset.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = arg('dir', resolve(repoRoot, '..', 'shared', 'data', 'train', 'sun-hays80'));
if (!existsSync(dir)) {
  console.log(`no training images at ${dir}; pass --dir`);
  process.exit(0);
}
const workMs = Number(arg('work-ms', '200'));
const batches = Number(arg('batches', '40'));
const batch = Number(arg('batch', '16'));
const scale = Number(arg('scale', '4'));
const hrPatch = Number(arg('hr-patch', '96'));
const workersArg = arg('workers', '');
const sleep = process.argv.includes('--sleep');

const t0 = performance.now();
const ds = await PatchDataset.open({ dir, scale, hrPatch, batch, seed: 1, workers: workersArg ? Number(workersArg) : undefined });
const openMs = performance.now() - t0;
const epochBatches = Math.ceil(ds.images.length / batch);

function work(): Promise<void> {
  if (sleep) return new Promise((r) => setTimeout(r, workMs));
  const end = performance.now() + workMs;
  while (performance.now() < end) {
    /* the training step */
  }
  return Promise.resolve();
}

const waits: number[] = [];
for (let i = 0; i < batches; i++) {
  const t = performance.now();
  await ds.next();
  waits.push(performance.now() - t);
  await work();
}
await ds.close();

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const sum = s.reduce((a, b) => a + b, 0);
  return `median ${s[Math.floor(s.length / 2)]!.toFixed(2)} ms, mean ${(sum / s.length).toFixed(2)} ms, max ${s[s.length - 1]!.toFixed(2)} ms (n=${s.length})`;
};
const first = waits[0]!;
const warm = waits.slice(1, epochBatches);
const steady = waits.slice(epochBatches);
console.log(`PatchDataset: ${ds.images.length} images in ${dir}`);
console.log(`batch ${batch} of ${hrPatch}x${hrPatch} HR / x${scale}, workers ${workersArg || 'default'}, ${workMs} ms ${sleep ? 'sleep' : 'busy CPU'} per step`);
console.log(`open: ${openMs.toFixed(0)} ms; first next(): ${first.toFixed(0)} ms (cold: decodes its images)`);
if (warm.length) console.log(`rest of epoch 1 (workers still decoding): ${stats(warm)}`);
if (steady.length) console.log(`after epoch 1: ${stats(steady)}`);
const total = waits.reduce((a, b) => a + b, 0) - first;
console.log(`waiting after the first call: ${total.toFixed(0)} ms of ${((batches - 1) * workMs).toFixed(0)} ms of work (${((100 * total) / ((batches - 1) * workMs)).toFixed(2)}%)`);
