// Data-parallel throughput (not a test): SRResNet x4 (B=16, C=64) training steps at batch 16 on
// 24x24 LR patches, with 1 and with 2 replicas (worker threads), alternating rounds in one run
// because the machine is shared and noisy. Prints samples/s of each and their ratio.
//
//   npm run build && node dist/bench/train_workers.js [--rounds 3] [--steps 3] [--engine tfjs|onnx]
import { initBackend } from '../src/tfjs/backend.js';
import { randomBatch } from './batches.js';
import { resolveConfig } from '../src/models/registry.js';
import '../src/models/index.js';
import { ReplicaPool } from '../src/train/pool.js';
import { seededInit } from '../src/train/init.js';
import type { ReplicaSetup, Shard } from '../src/train/replica.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const rounds = arg('rounds', 3);
const steps = arg('steps', 3);
const i = process.argv.indexOf('--engine');
const engine = (i >= 0 ? process.argv[i + 1] : 'tfjs') as 'tfjs' | 'onnx';
const backend = await initBackend({ backend: 'wasm' });
const setup: ReplicaSetup = { mode: 'srresnet', generator: resolveConfig({ type: 'srresnet', scale: 4 }), content: 'mse', advWeight: 0, beta1: 0.9, engine, threads: 1 };
const batch = (): Shard => randomBatch();

const pools = new Map<number, ReplicaPool>();
for (const w of [1, 2]) {
  const p = await ReplicaPool.create(setup, { workers: w, accumulate: 1, backend });
  seededInit(p.local.g.model, 1);
  p.local.pullModels();
  await p.broadcastState();
  await p.step('g', batch(), 1e-4); // warm-up
  pools.set(w, p);
}
const rate: Record<number, number[]> = { 1: [], 2: [] };
for (let r = 0; r < rounds; r++) {
  for (const w of [1, 2]) {
    const p = pools.get(w)!;
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) await p.step('g', batch(), 1e-4);
    const sps = (steps * 16) / ((performance.now() - t0) / 1000);
    rate[w]!.push(sps);
    console.log(`round ${r + 1}: ${w} worker(s) ${sps.toFixed(2)} samples/s`);
  }
}
const med = (a: number[]) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(`median samples/s: 1 worker ${med(rate[1]!).toFixed(2)}, 2 workers ${med(rate[2]!).toFixed(2)}, ratio ${(med(rate[2]!) / med(rate[1]!)).toFixed(2)}x  [${engine}, batch 16, 24x24 LR]`);
for (const p of pools.values()) await p.close();
