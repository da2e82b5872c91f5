// Short real training runs of every mode on tiny settings, resume after SIGKILL, flat memory.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { initBackend } from '../../src/tfjs/backend.js';
import { resolveOptions } from '../../src/train/options.js';
import { train, type LogEntry } from '../../src/train/trainer.js';
import { readSafetensors } from '../../src/models/safetensors.js';
import { makeImageFolder } from '../helpers/images.js';
import { randomVggWeights, writeTfjsByHand } from '../helpers/vgg_files.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('srgan-train-');
const data = join(root, 'train');
const val = join(root, 'val');
const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

before(async () => {
  await initBackend({ backend: 'wasm' });
  await makeImageFolder(data, 4, 64, 64, 1);
  await makeImageFolder(val, 2, 48, 40, 100);
});

const tiny = { scale: 2, blocks: 1, channels: 16, patch: 16, batch: 4, workers: 1, dataWorkers: 1, logEvery: 5 };

function lossEntries(log: LogEntry[]): LogEntry[] {
  return log.filter((e) => e.losses);
}

test('train srresnet: finite losses, validation PSNR rises, run folder complete', async () => {
  const out = join(root, 'srresnet');
  // From random weights: this test is about learning at all (the interpolating start has its own test).
  const o = resolveOptions('srresnet', { ...tiny, data, val, out, steps: 80, lr: 2e-3, valEvery: 80, ckptEvery: 40, genInit: 'random' });
  const r = await train(o, { backend: 'wasm', quiet: true });
  assert.equal(r.step, 80);
  for (const e of lossEntries(r.log)) assert.ok(Number.isFinite(e.losses!['pixel']!), `step ${e.step}`);
  const vals = r.log.filter((e) => e.val);
  assert.equal(vals[0]!.step, 0);
  // The quiet initialisation starts near mid-grey (15.4 dB here), so the rise is measured from there.
  assert.ok(vals.at(-1)!.val!.psnr > vals[0]!.val!.psnr + 2, `PSNR ${vals[0]!.val!.psnr.toFixed(2)} -> ${vals.at(-1)!.val!.psnr.toFixed(2)}`);
  for (const f of ['config.json', 'log.jsonl', 'curves.svg', 'curves.png', 'generator.safetensors', 'samples/step-00000080.png', 'checkpoints/latest.json']) {
    assert.ok(existsSync(join(out, f)), `${f} missing`);
  }
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).lrSchedule[0][1], 2e-3);
});

test('package-model ships a run as float16 with a card whose figures are measured', () => {
  const out = join(root, 'shipped', 'tiny-x2.safetensors');
  const args = [cli, 'package-model', '--run', join(root, 'srresnet'), '--out', out, '--eval', val, '--bn-batches', '100'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const card = readFileSync(join(root, 'shipped', 'tiny-x2.md'), 'utf8');
  assert.match(card, /Steps: 80 of 80 planned/);
  assert.match(card, /Batch-norm statistics re-estimated with the final weights \(precise BN\): the mean over 100 batches of 4 16 px crops/);
  const row = /\| val x2 \| ([\d.]+) \/ [\d.]+ \| ([\d.]+) \/ [\d.]+ \|/.exec(card);
  assert.ok(row, card);
  // 48x40 images are too small for NIQE's 96 px blocks: the card says so rather than failing.
  assert.match(card, /\| val x2 \| .* dB \| - \/ - \/ - \|/);
  // The sub-pixel grid has no such limit: the model's and the HR's.
  assert.match(card, /\| - \/ - \/ - \| \d+\.\d{3} \/ \d+\.\d{3} \|$/m);
  const { tensors, metadata } = readSafetensors(out);
  assert.equal(metadata['step'], '80');
  assert.ok(statSync(out).size < statSync(join(root, 'srresnet', 'generator.safetensors')).size * 0.6, 'float16 file');
  assert.ok(tensors.size > 0);
  const again = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /exists; add --force/);
});

test('a model trained over several sessions (--init from a packaged model) gets a card with every leg', async () => {
  const first = join(root, 'shipped', 'tiny-x2.safetensors');
  const run = join(root, 'second-leg');
  await train(resolveOptions('srresnet', { ...tiny, data, out: run, steps: 3, ckptEvery: 3, init: first }), { backend: 'wasm', quiet: true });
  // A second run from the same file (an SRGAN from the shipped SRResNet, say), packaged later.
  const sibling = join(root, 'sibling-leg');
  await train(resolveOptions('srresnet', { ...tiny, data, out: sibling, steps: 2, ckptEvery: 2, init: first }), { backend: 'wasm', quiet: true });
  // Packaged over the very file it started from, as a session that improves a shipped model does.
  const r = spawnSync(process.execPath, [cli, 'package-model', '--run', run, '--out', first, '--force'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const card = readFileSync(join(root, 'shipped', 'tiny-x2.md'), 'utf8');
  assert.match(card, /### Leg 1\n\n- Command: `srgan train srresnet [^`]*--out [^`]*srresnet /);
  assert.match(card, /Steps: 80 of 80 planned/);
  assert.match(card, /### Leg 2 \(this run\)\n\n- Command: `srgan train srresnet [^`]*second-leg [^`]*--init /);
  assert.match(card, /Steps: 3 of 3 planned/);
  // The legs travel in the weights too, so a third leg needs no card to find them.
  assert.equal((JSON.parse(readSafetensors(first).metadata['legs']!) as string[]).length, 2);
  // The sibling's card keeps the history its start file had then, not the file's new one.
  const siblingOut = join(root, 'shipped', 'sibling.safetensors');
  assert.equal(spawnSync(process.execPath, [cli, 'package-model', '--run', sibling, '--out', siblingOut], { encoding: 'utf8' }).status, 0);
  assert.equal((JSON.parse(readSafetensors(siblingOut).metadata['legs']!) as string[]).length, 2);
});

test('a resume that changes options records them, and the model card tells the history', async () => {
  const out = join(root, 'srresnet-legs');
  await train(resolveOptions('srresnet', { ...tiny, data, out, steps: 4, lr: 2e-3, ckptEvery: 2 }), { backend: 'wasm', quiet: true });
  const again = await train(resolveOptions('srresnet', { ...tiny, data, out, steps: 6, patch: 12, lr: 1e-3, ckptEvery: 2 }), { backend: 'wasm', quiet: true, resume: true });
  assert.equal(again.step, 6);
  const legs = readFileSync(join(out, 'resumes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(legs.length, 1);
  assert.equal(legs[0].step, 4);
  assert.deepEqual(legs[0].changed.patch, [16, 12]);
  assert.deepEqual(legs[0].changed.lrSchedule, [[[0, 2e-3]], [[0, 1e-3]]]);
  assert.deepEqual(Object.keys(legs[0].changed).sort(), ['lrSchedule', 'patch', 'steps']);
  const card = join(root, 'shipped', 'legs.safetensors');
  const r = spawnSync(process.execPath, [cli, 'package-model', '--run', out, '--out', card], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const text = readFileSync(card.replace(/safetensors$/, 'md'), 'utf8');
  assert.match(text, /Resumed at step 4 with changed options: .*patch 16 -> 12/);
  assert.match(text, /Batch-norm statistics: the moving averages kept during training/);
  const noData = spawnSync(process.execPath, [cli, 'package-model', '--run', out, '--out', card, '--force', '--bn-batches', '10', '--bn-data', join(root, 'nowhere')], { encoding: 'utf8' });
  assert.equal(noData.status, 1);
  assert.match(noData.stderr, /nowhere is not there: pass --bn-data <folder> or --bn-batches 0/);
});

test('train srgan with --content mse from an SRResNet init', async () => {
  const out = join(root, 'srgan-mse');
  const init = join(root, 'srresnet', 'generator.safetensors');
  // A validation image large enough for NIQE (a GAN run is watched for texture too).
  const bigVal = await makeImageFolder(join(root, 'val-niqe'), 1, 256, 200, 300);
  const o = resolveOptions('srgan', { ...tiny, data, val: bigVal, out, steps: 6, init, content: 'mse', ckptEvery: 3, valEvery: 6 });
  const r = await train(o, { backend: 'wasm', quiet: true });
  const last = lossEntries(r.log).at(-1)!.losses!;
  for (const k of ['pixel', 'adversarial', 'g_total', 'd_real', 'd_fake', 'd_total']) assert.ok(Number.isFinite(last[k]!), `${k} = ${last[k]}`);
  assert.ok(existsSync(join(out, 'checkpoints', 'step-00000006', 'discriminator.safetensors')));
  const vals = r.log.filter((e) => e.val);
  assert.deepEqual(vals.map((e) => e.step), [0, 6]);
  for (const e of vals) assert.ok(Number.isFinite(e.val!.niqe) && e.val!.niqe! > 0, `NIQE at step ${e.step}: ${e.val!.niqe}`);
  for (const e of vals) assert.ok(Number.isFinite(e.val!.grid) && Number.isFinite(e.val!.hrGrid), `grid at step ${e.step}: ${e.val!.grid} (HR ${e.val!.hrGrid})`);
  const curves = readFileSync(join(out, 'curves.svg'), 'utf8');
  assert.match(curves, /Validation NIQE/);
  assert.match(curves, /Validation sub-pixel grid/);
  assert.ok(!('grid' in last), 'no grid penalty unless asked');
  // A run that grew a checkerboard continues with the anti-aliased discriminator and the grid
  // penalty: neither has weights, so the checkpoints load, and the changes are recorded.
  const more = await train(resolveOptions('srgan', { ...tiny, data, val: bigVal, out, steps: 8, init, content: 'mse', ckptEvery: 3, valEvery: 6, discAntialias: 'blur', gridWeight: 30 }), { backend: 'wasm', quiet: true, resume: true });
  assert.equal(more.step, 8);
  const moreLosses = lossEntries(more.log).at(-1)!.losses!;
  for (const k of ['adversarial', 'grid', 'd_total']) assert.ok(Number.isFinite(moreLosses[k]!), `${k} after the resume: ${moreLosses[k]}`);
  const resumes = readFileSync(join(out, 'resumes.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(resumes.at(-1).changed.discAntialias, ['none', 'blur']);
  assert.deepEqual(resumes.at(-1).changed.gridWeight, [0, 30]);
});

test('train srgan with --content vgg54 on a random-weight VGG19 file', async () => {
  const vgg = join(root, 'vgg-tfjs');
  await writeTfjsByHand(vgg, randomVggWeights('block5_conv4', 7));
  const out = join(root, 'srgan-vgg');
  const o = resolveOptions('srgan', { ...tiny, batch: 2, data, out, steps: 2, content: 'vgg54', vggWeights: join(vgg, 'model.json'), logEvery: 1 });
  const r = await train(o, { backend: 'wasm', quiet: true });
  for (const e of lossEntries(r.log)) {
    assert.ok(Number.isFinite(e.losses!['vgg54']!) && e.losses!['vgg54']! > 0, JSON.stringify(e.losses));
    assert.ok(Number.isFinite(e.losses!['d_total']!));
  }
});

test('a VGG content loss without weights says where weights come from', () => {
  assert.throws(
    () => resolveOptions('srgan', { ...tiny, data, out: join(root, 'x'), content: 'vgg22' }),
    /--content vgg22 needs VGG19 ImageNet weights: pass --vgg-weights <file>.*vgg19_weights_tf_dim_ordering_tf_kernels_notop\.h5/,
  );
});

test('a config file (YAML) holds options, flags override it, the effective config is saved', () => {
  const cfg = join(root, 'cfg.yaml');
  writeFileSync(cfg, `steps: 7\nbatch: 4\nlrSchedule: "1e-3@0,1e-4@5"\nblocks: 1\n`);
  const out = join(root, 'cfgrun');
  const r = spawnSync(process.execPath, [cli, 'train', 'srresnet', '--config', cfg, '--data', data, '--out', out, '--steps', '3', '--scale', '2', '--patch', '16', '--channels', '8', '--workers', '1', '--no-progress'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(saved.steps, 3, 'the flag overrides the file');
  assert.equal(saved.blocks, 1, 'the file overrides the default');
  assert.deepEqual(saved.lrSchedule, [[0, 1e-3], [5, 1e-4]]);
  const bad = spawnSync(process.execPath, [cli, 'train', 'srresnet', '--data', data, '--out', out, '--scale', '3'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^error: --scale must be 2, 4 or 8, got 3\n$/);
  assert.equal(saved.genInit, 'interpolate', 'the default start is saved with the run');
  const badInit = spawnSync(process.execPath, [cli, 'train', 'srresnet', '--data', data, '--out', out, '--gen-init', 'zeros'], { encoding: 'utf8' });
  assert.equal(badInit.status, 1);
  assert.match(badInit.stderr, /^error: --gen-init must be interpolate or random, got 'zeros'\n$/);
});

test('--resume takes every option from the run, --data too; flags change only what may change on a resume', () => {
  const out = join(root, 'resume-flags');
  const start = spawnSync(process.execPath, [cli, 'train', 'srresnet', '--data', data, '--out', out, '--scale', '2', '--blocks', '1', '--channels', '8', '--patch', '16', '--batch', '4', '--steps', '2', '--ckpt-every', '2', '--workers', '1', '--seed', '5', '--no-progress'], { encoding: 'utf8' });
  assert.equal(start.status, 0, start.stderr);
  // A run saved before an option existed (here --ema) was started with its default, and --keep
  // belongs to the sitting: neither is a change of the run.
  const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  delete config.ema;
  writeFileSync(join(out, 'config.json'), JSON.stringify(config));
  const more = spawnSync(process.execPath, [cli, 'train', 'srresnet', '--out', out, '--resume', '--steps', '4', '--keep', '5', '--no-progress'], { encoding: 'utf8' });
  assert.equal(more.status, 0, more.stderr);
  const record = JSON.parse(readFileSync(join(out, 'resumes.jsonl'), 'utf8').trim().split('\n').at(-1)!);
  assert.deepEqual(Object.keys(record.changed), ['steps'], JSON.stringify(record));
  const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(saved.data, data);
  assert.equal(saved.steps, 4, 'a free option takes the flag');
  assert.deepEqual([saved.scale, saved.blocks, saved.channels, saved.patch, saved.seed], [2, 1, 8, 16, 5], 'the rest is the run\'s own');
  // Repeating the start's flags is fine; changing the network is not.
  const same = spawnSync(process.execPath, [cli, 'train', 'srresnet', '--out', out, '--resume', '--scale', '2', '--blocks', '1', '--steps', '4', '--no-progress'], { encoding: 'utf8' });
  assert.equal(same.status, 0, same.stderr);
  const changed = spawnSync(process.execPath, [cli, 'train', 'srresnet', '--out', out, '--resume', '--channels', '16'], { encoding: 'utf8' });
  assert.equal(changed.status, 1);
  assert.match(changed.stderr, /^error: --channels cannot change on --resume: .*resume-flags was started with 8; start a new run to train with 16\n$/);
  const fresh = spawnSync(process.execPath, [cli, 'train', 'srresnet', '--out', join(root, 'no-data')], { encoding: 'utf8' });
  assert.equal(fresh.status, 1);
  assert.match(fresh.stderr, /^error: --data <folder> is required\n$/);
  const nothing = spawnSync(process.execPath, [cli, 'train', 'srresnet', '--out', join(root, 'no-run'), '--resume'], { encoding: 'utf8' });
  assert.equal(nothing.status, 1);
  assert.match(nothing.stderr, /^error: --resume: .*no-run does not exist, so there is nothing to continue; start a new run without --resume\n$/);
});

test('SIGKILL at any moment leaves a run that resumes to the same weights as an uninterrupted run', async () => {
  const args = (out: string) => [cli, 'train', 'srresnet', '--data', data, '--out', out, '--scale', '2', '--blocks', '1', '--channels', '8', '--patch', '16', '--batch', '4', '--steps', '24', '--ckpt-every', '2', '--log-every', '1', '--lr', '1e-3', '--workers', '1', '--no-progress'];
  const ref = join(root, 'ref');
  assert.equal(spawnSync(process.execPath, args(ref), { encoding: 'utf8' }).status, 0);

  // Kills are timed by the run's own progress (the step its log has reached, then a few ms more,
  // to land mid-step or mid-checkpoint), not by the clock, so machine speed and load cannot make
  // the run finish before it is killed or be killed forever during start-up.
  const killed = join(root, 'killed');
  const loggedStep = (): number => {
    const log = join(killed, 'log.jsonl');
    if (!existsSync(log)) return 0;
    let step = 0;
    for (const line of readFileSync(log, 'utf8').split('\n')) {
      try {
        step = Math.max(step, (JSON.parse(line) as { step: number }).step);
      } catch {
        // a line being written
      }
    }
    return step;
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  let kills = 0;
  for (const [i, target] of [3, 8, 13, 19].entries()) {
    const child = spawn(process.execPath, [...args(killed), ...(i > 0 ? ['--resume'] : [])], { stdio: 'ignore' });
    let exitCode: number | null | undefined;
    const exited = new Promise<void>((resolve) => child.on('exit', (code) => ((exitCode = code), resolve())));
    while (exitCode === undefined) {
      if (loggedStep() >= target) {
        await sleep((i * 7) % 20);
        child.kill('SIGKILL');
        break;
      }
      await sleep(5);
    }
    await exited;
    if (exitCode !== 0) kills += 1;
  }
  const last = spawnSync(process.execPath, [...args(killed), '--resume'], { encoding: 'utf8' });
  assert.equal(last.status, 0, last.stderr);
  assert.ok(kills >= 1, 'the run was never interrupted; the test proves nothing');
  const a = readSafetensors(join(ref, 'generator.safetensors')).tensors;
  const b = readSafetensors(join(killed, 'generator.safetensors')).tensors;
  for (const [name, t] of a) assert.deepEqual(b.get(name)!.data, t.data, `weights differ at ${name} after ${kills} kills`);
  // The log has each step once, in order.
  const steps = readFileSync(join(killed, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.losses).map((e) => e.step);
  assert.deepEqual(steps, Array.from({ length: 24 }, (_, i) => i + 1));
  assert.ok(!readdirSync(join(killed, 'checkpoints')).some((f) => f.startsWith('.tmp-')), 'half-written checkpoints are cleaned up');
});

for (const engine of ['onnx', 'tfjs'] as const) {
  test(`memory stays flat on ${engine}: live tensors and RSS do not grow over 300 steps`, async () => {
    const out = join(root, `memory-${engine}`);
    const o = resolveOptions('srresnet', { ...tiny, engine, patch: 8, batch: 2, channels: 8, data, out, steps: 300, logEvery: 10, ckptEvery: 100, valEvery: 1000 });
    const r = await train(o, { backend: 'wasm', quiet: true });
    const counts = lossEntries(r.log).map((e) => e.tensors!);
    assert.equal(counts.length, 30);
    assert.equal(Math.max(...counts.slice(1)), Math.min(...counts.slice(1)), `live tensors: ${counts.join(' ')}`);
    // After the first 100 steps (sessions, arenas, caches warmed up) the process stops growing.
    const rss = lossEntries(r.log).map((e) => e.rssMB!);
    assert.ok(Math.max(...rss.slice(10)) - rss[9]! < 40, `RSS (MB) by log line: ${rss.join(' ')}`);
  });
}
