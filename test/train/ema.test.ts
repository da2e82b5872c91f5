// The generator's weight average (--ema), the L1 pixel loss and the cosine decay fitted to the
// step budget, through real training runs: exact over a resume, and the average is what ships.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/tfjs/backend.js';
import { resolveOptions, stepRate } from '../../src/train/options.js';
import { train } from '../../src/train/trainer.js';
import { latestCheckpoint, EMA_FILE } from '../../src/train/checkpoint.js';
import { readSafetensors } from '../../src/models/safetensors.js';
import { packageRun } from '../../src/train/package_run.js';
import { makeImageFolder } from '../helpers/images.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('srgan-ema-');
const data = join(root, 'train');
const opts = { scale: 2, blocks: 1, channels: 8, patch: 16, batch: 2, workers: 1, dataWorkers: 1, logEvery: 1, valEvery: 1000, lr: 1e-3, ema: 0.8, pixelLoss: 'l1', lrDecay: 'cosine', steps: 8, ckptEvery: 4 };

before(async () => {
  await initBackend({ backend: 'wasm' });
  await makeImageFolder(data, 3, 48, 48, 1);
});

test('the cosine decay starts at the scheduled rate and ends at 1% of it at --steps', () => {
  const o = { lrSchedule: [[0, 1e-3], [6, 5e-4]] as Array<[number, number]>, lrDecay: 'cosine' as const, steps: 10 };
  assert.equal(stepRate(o, 0), 1e-3);
  assert.ok(Math.abs(stepRate(o, 5) - 1e-3 * 0.505) < 1e-12);
  assert.ok(Math.abs(stepRate(o, 10) - 5e-4 * 0.01) < 1e-12);
  assert.equal(stepRate({ ...o, lrDecay: 'none' }, 5), 1e-3);
});

test('--ema with --pixel-loss l1 and --lr-decay cosine: a resumed run ships the same average as an uninterrupted one', async () => {
  const full = join(root, 'full');
  const r = await train(resolveOptions('srresnet', { ...opts, data, out: full }), { backend: 'wasm', quiet: true });
  const rates = r.log.filter((e) => e.lr !== undefined).map((e) => e.lr!);
  assert.ok(rates.every((x, i) => i === 0 || x < rates[i - 1]!), `rates decay every step: ${rates.join(' ')}`);

  // The run as a kill after step 4 leaves it: the checkpoint of step 4 and no later one.
  const split = join(root, 'split');
  mkdirSync(join(split, 'checkpoints'), { recursive: true });
  cpSync(join(full, 'config.json'), join(split, 'config.json'));
  cpSync(join(full, 'checkpoints', 'step-00000004'), join(split, 'checkpoints', 'step-00000004'), { recursive: true });
  await train(resolveOptions('srresnet', { ...opts, data, out: split }), { backend: 'wasm', quiet: true, resume: true });

  const ckpt = latestCheckpoint(full)!;
  assert.ok(existsSync(join(ckpt, EMA_FILE)), 'the checkpoint holds the average');
  const raw = readSafetensors(join(ckpt, 'generator.safetensors')).tensors;
  const avg = readSafetensors(join(ckpt, EMA_FILE)).tensors;
  const shipped = readSafetensors(join(full, 'generator.safetensors')).tensors;
  const resumed = readSafetensors(join(split, 'generator.safetensors')).tensors;
  let differs = false;
  for (const [name, t] of avg) {
    assert.deepEqual(shipped.get(name)!.data, t.data, `the final generator is the average (${name})`);
    assert.deepEqual(resumed.get(name)!.data, t.data, `resume changes the average (${name})`);
    if (t.data.some((v, i) => v !== raw.get(name)!.data[i])) differs = true;
  }
  assert.ok(differs, 'the average equals the last weights: nothing was averaged');

  // package-model ships the average, or with --last-iterate the trained weights (float16 both):
  // each file is nearer its source than the other candidate, over every tensor.
  const distance = (a: Map<string, { data: Float32Array }>, b: ReadonlyMap<string, { data: Float32Array }>) => {
    let d = 0;
    for (const [name, t] of a) t.data.forEach((v, i) => (d += Math.abs(v - b.get(name)!.data[i]!)));
    return d;
  };
  for (const [lastIterate, want, other] of [[false, avg, raw], [true, raw, avg]] as const) {
    const out = join(root, `shipped-${lastIterate}.safetensors`);
    await packageRun({ run: full, out, packagedWith: 'test', lastIterate });
    const shippedW = readSafetensors(out).tensors;
    assert.ok(distance(shippedW, want) < distance(shippedW, other) / 10, `lastIterate ${lastIterate}: the file is not the expected weights`);
  }

  // --step ships an earlier checkpoint the run still keeps (the one validation liked best).
  const early = join(root, 'shipped-step4.safetensors');
  await packageRun({ run: full, out: early, packagedWith: 'test', step: 4 });
  const earlyAvg = readSafetensors(join(full, 'checkpoints', 'step-00000004', EMA_FILE)).tensors;
  const earlyW = readSafetensors(early).tensors;
  assert.ok(distance(earlyW, earlyAvg) < distance(earlyW, avg) / 10, 'the file is not step 4\'s average');
  assert.match(readFileSync(early.replace(/\.safetensors$/, '.md'), 'utf8'), /Steps: 4 of 8 planned/);
  await assert.rejects(packageRun({ run: full, out: join(root, 'none.safetensors'), packagedWith: 'test', step: 6 }), /keeps no complete checkpoint of step 6; it keeps steps 4, 8 \(train with a larger --keep/);
});

test('options that do not fit: L1 with a VGG content loss or in a video mode, an --ema outside [0, 1)', () => {
  const base = { data, out: join(root, 'x') };
  assert.throws(() => resolveOptions('srgan', { ...base, pixelLoss: 'l1', content: 'vgg54', vggWeights: data }), /--pixel-loss l1 applies to .*--content vgg54 has no pixel term/);
  assert.throws(() => resolveOptions('sosr', { ...base, pixelLoss: 'l1' }), /train sosr weights its own MSE/);
  assert.throws(() => resolveOptions('srresnet', { ...base, pixelLoss: 'l2' }), /--pixel-loss must be mse or l1, got 'l2'/);
  assert.throws(() => resolveOptions('srresnet', { ...base, ema: 1 }), /--ema must be a decay in \[0, 1\)/);
  assert.throws(() => resolveOptions('srresnet', { ...base, lrDecay: 'linear' }), /--lr-decay must be none or cosine/);
});
