// Training throughput of the engines (not a test): SRResNet x4 (B=16, C=64) and SRGAN (that
// generator against the 96 px discriminator, content MSE + 1e-3 adversarial) steps at batch 16
// on 24x24 LR / 96x96 HR patches, through the real path (ReplicaPool.step: gradients, exchange,
// Adam). Every configuration runs in each round, alternating, because the machine is shared and
// noisy; the medians, and the medians of the per-round ratios, are printed at the end.
//
//   npm run build && node dist/bench/train_engines.js [--modes srresnet,srgan] [--rounds 3] [--steps 2]
//     [--configs onnx:1x2,onnx:2x1,tfjs:2x1]   engine:workers x threads
//     [--profile]   also one profiled ONNX step per mode: time per op type and the slowest layers
//     [--torch]     also the PyTorch reference (../shared/bench/torch_train_bench.py, Debian's
//                   python3-torch) in every round, as a separate process, for the ratios
import { readFileSync, rmSync, mkdtempSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/tfjs/backend.js';
import { randomBatch } from './batches.js';
import { resolveConfig, getArchitecture } from '../src/models/index.js';
import { ReplicaPool } from '../src/train/pool.js';
import { seededInit } from '../src/train/init.js';
import { NetState } from '../src/train/net_state.js';
import { getObjective } from '../src/train/objectives.js';
import { OnnxEngine } from '../src/train/engine_onnx.js';
import type { ReplicaSetup, Shard } from '../src/train/replica.js';
import type { EngineName } from '../src/train/engine.js';
import { buildModel } from '../src/models/registry.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const rounds = Number(arg('rounds', '3'));
const steps = Number(arg('steps', '2'));
const modes = arg('modes', 'srresnet,srgan').split(',') as Array<'srresnet' | 'srgan'>;
const configs = arg('configs', 'onnx:1x2,onnx:2x1,tfjs:2x1').split(',').map((c) => {
  const m = /^(onnx|tfjs):(\d+)x(\d+)$/.exec(c);
  if (!m) throw new Error(`--configs entry '${c}' should look like onnx:1x2 (engine:workers x threads)`);
  return { label: c, engine: m[1] as EngineName, workers: Number(m[2]), threads: Number(m[3]) };
});
const backend = await initBackend({ backend: 'wasm' });
const torchScript = join(process.cwd(), '..', 'shared', 'bench', 'torch_train_bench.py');
const withTorch = process.argv.includes('--torch');
if (withTorch && !existsSync(torchScript)) throw new Error(`--torch: ${torchScript} not found`);

/** One round of the PyTorch reference in its own process (its warm-up step is not timed). */
function torchRound(mode: string): number {
  const args = [torchScript, '--rounds', '1', '--steps', String(steps), ...(mode === 'srgan' ? ['--gan'] : [])];
  const r = spawnSync('/usr/bin/python3', args, { encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'passive' } });
  const m = /median samples\/s: ([\d.]+)/.exec(r.stdout ?? '');
  if (!m) throw new Error(`PyTorch reference failed (apt-get install python3-torch): ${r.stderr || r.stdout}`);
  return Number(m[1]);
}

const G = resolveConfig({ type: 'srresnet', scale: 4 });
const D = resolveConfig({ type: 'srgan-discriminator', size: 96 });
const batch = (): Shard => randomBatch();
const setupFor = (mode: string, engine: EngineName, threads: number): ReplicaSetup => ({
  mode, generator: G, ...(mode === 'srgan' ? { discriminator: D } : {}), content: 'mse', advWeight: 1e-3, beta1: 0.9, engine, threads,
});

async function step(p: ReplicaPool, mode: string): Promise<void> {
  const b = batch();
  await p.step('g', b, 1e-4);
  if (mode === 'srgan') await p.step('d', b, 1e-4);
}

const med = (a: number[]) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const summary: string[] = [];
for (const mode of modes) {
  const pools = new Map<string, ReplicaPool>();
  for (const c of configs) {
    const p = await ReplicaPool.create(setupFor(mode, c.engine, c.threads), { workers: c.workers, accumulate: 1, backend });
    seededInit(p.local.g.model, 1);
    if (p.local.d) seededInit(p.local.d.model, 2);
    p.local.pullModels();
    await p.broadcastState();
    await step(p, mode); // warm-up: graph build, session creation, first allocations
    pools.set(c.label, p);
  }
  const rate = new Map<string, number[]>(configs.map((c) => [c.label, []]));
  if (withTorch) rate.set('torch', []);
  for (let r = 0; r < rounds; r++) {
    if (withTorch) {
      const sps = torchRound(mode);
      rate.get('torch')!.push(sps);
      console.log(`${mode} round ${r + 1}: torch ${sps.toFixed(2)} samples/s`);
    }
    for (const c of configs) {
      const p = pools.get(c.label)!;
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) await step(p, mode);
      const sps = (steps * 16) / ((performance.now() - t0) / 1000);
      rate.get(c.label)!.push(sps);
      console.log(`${mode} round ${r + 1}: ${c.label} ${sps.toFixed(2)} samples/s`);
    }
  }
  for (const p of pools.values()) await p.close();
  const base = configs.find((c) => c.engine === 'tfjs');
  // Ratios are taken within each round (neighbours in time share the machine's load) and their
  // median reported: on a shared machine that is steadier than a ratio of medians.
  const ratio = (a: string, b: string) => med(rate.get(a)!.map((v, r) => v / rate.get(b)![r]!)).toFixed(2);
  for (const label of [...(withTorch ? ['torch'] : []), ...configs.map((c) => c.label)]) {
    const m = med(rate.get(label)!);
    const ratios = [
      ...(base && base.label !== label ? [`${ratio(label, base.label)}x ${base.label}`] : []),
      ...(withTorch && label !== 'torch' ? [`${ratio(label, 'torch')}x torch`] : []),
    ];
    summary.push(`${mode.padEnd(8)} ${label.padEnd(10)} ${m.toFixed(2)} samples/s${ratios.length ? `  (${ratios.join(', ')})` : ''}`);
  }
}
console.log(`\nmedian samples/s (batch 16, 24x24 LR, 96x96 HR; ${rounds} rounds of ${steps} steps):`);
for (const line of summary) console.log(line);

if (process.argv.includes('--profile')) {
  for (const mode of modes) await profile(mode);
}

/** One profiled step on a two-thread ONNX engine: ONNX Runtime's trace summed by op type. */
async function profile(mode: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'srgan-profile-'));
  const objective = getObjective(mode);
  const mk = (cfg: typeof G) => {
    const model = buildModel(cfg);
    seededInit(model, 1);
    const state = new NetState(model, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    state.pull(model);
    model.dispose();
    return state;
  };
  const nets = { g: mk(G), ...(mode === 'srgan' ? { d: mk(D) } : {}) };
  const engine = new OnnxEngine({
    objective,
    specs: { g: getArchitecture('srresnet').describe!(G), ...(mode === 'srgan' ? { d: getArchitecture('srgan-discriminator').describe!(D) } : {}) },
    settings: { content: 'mse', pixel: 'mse', advWeight: 1e-3, temporalWeight: 1 },
    threads: 2,
    profilePrefix: join(dir, mode),
  });
  const b = batch();
  for (const phase of objective.phases) await engine.gradients(phase, b, 0, nets);
  for (const phase of objective.phases) await engine.gradients(phase, b, 0, nets);
  await engine.dispose(); // ends the sessions, which writes the traces
  const { readdirSync } = await import('node:fs');
  const byOp = new Map<string, number>();
  const byNode = new Map<string, number>();
  let total = 0;
  for (const f of readdirSync(dir)) {
    const events = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Array<{ cat: string; name: string; dur: number; args?: { op_name?: string } }>;
    // Only the second run of each session: the first holds one-off allocations.
    const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
    const second = runs[1];
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !e.args?.op_name) continue;
      if (second && ((e as unknown as { ts: number }).ts < (second as unknown as { ts: number }).ts)) continue;
      byOp.set(e.args.op_name, (byOp.get(e.args.op_name) ?? 0) + e.dur);
      // Node names are '<network>.<layer>[~grad]/<Op>#<n>' (graph/builder.ts): time per layer and direction.
      const node = e.name.replace('_kernel_time', '');
      const layer = node.includes('/') ? node.slice(0, node.lastIndexOf('/')) : '(loss, optimiser glue)';
      byNode.set(layer, (byNode.get(layer) ?? 0) + e.dur);
      total += e.dur;
    }
  }
  console.log(`\nprofile of one ${mode} step (onnx, 2 threads): ${(total / 1e6).toFixed(3)} s in kernels`);
  for (const [op, us] of [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 14)) console.log(`  ${op.padEnd(18)} ${(us / 1e6).toFixed(3)} s  ${((100 * us) / total).toFixed(1)}%`);
  console.log('  slowest layers (~grad: their gradients):');
  for (const [n, us] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, 16)) console.log(`    ${n.padEnd(40)} ${(us / 1e3).toFixed(1)} ms`);
  rmSync(dir, { recursive: true, force: true });
}
