// Short real runs of `train sosr` and `train tosr` on tiny settings: sequences synthesised from
// photos, and (with ffmpeg) from a folder of videos; finite losses, complete run folders, and an
// interrupted run that resumes to the same weights.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { initBackend } from '../../src/tfjs/backend.js';
import { resolveOptions } from '../../src/train/options.js';
import { train, type LogEntry } from '../../src/train/trainer.js';
import { readSafetensors } from '../../src/models/safetensors.js';
import { findFfmpeg } from '../../src/video/ffmpeg.js';
import { makeImageFolder } from '../helpers/images.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('srgan-train-video-');
const data = join(root, 'photos');
const tiny = { scale: 2, blocks: 1, channels: 8, patch: 16, batch: 4, workers: 1, dataWorkers: 1, logEvery: 1, lr: 1e-3 };
const tools = await findFfmpeg().catch(() => null);

before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  await makeImageFolder(data, 3, 72, 64, 5);
});

function lossesOf(log: LogEntry[]): Array<Record<string, number>> {
  return log.filter((e) => e.losses).map((e) => e.losses!);
}

test('train sosr: finite weighted and plain pixel losses, run folder complete', async () => {
  const out = join(root, 'sosr');
  const r = await train(resolveOptions('sosr', { ...tiny, data, out, steps: 5 }), { backend: 'wasm', quiet: true });
  assert.equal(r.step, 5);
  const ls = lossesOf(r.log);
  assert.equal(ls.length, 5);
  for (const l of ls) for (const k of ['pixel_weighted', 'pixel', 'g_total']) assert.ok(Number.isFinite(l[k]!) && l[k]! > 0, `${k} = ${l[k]}`);
  for (const f of ['config.json', 'log.jsonl', 'curves.svg', 'generator.safetensors']) assert.ok(existsSync(join(out, f)), f);
  const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
  assert.equal(cfg.mode, 'sosr');
  assert.equal(cfg.motionEps, 0.1);
});

test('train tosr: finite losses, no tensor leak; a run stopped half-way resumes to the same weights', async () => {
  const full = join(root, 'tosr-full');
  const r = await train(resolveOptions('tosr', { ...tiny, data, out: full, steps: 6, ckptEvery: 3 }), { backend: 'wasm', quiet: true });
  for (const l of lossesOf(r.log)) for (const k of ['pixel', 'temporal_sr', 'temporal_hr', 'g_total']) assert.ok(Number.isFinite(l[k]!), `${k} = ${l[k]}`);
  const counts = r.log.filter((e) => e.losses).map((e) => e.tensors!);
  assert.equal(Math.max(...counts.slice(1)), Math.min(...counts.slice(1)), `live tensors: ${counts.join(' ')}`);
  const last = lossesOf(r.log).at(-1)!;
  assert.ok(Math.abs(last['g_total']! - (last['pixel']! + last['temporal_sr']! + last['temporal_hr']!)) < 1e-4, 'lambda 1 by default');

  const half = join(root, 'tosr-half');
  await train(resolveOptions('tosr', { ...tiny, data, out: half, steps: 3, ckptEvery: 3 }), { backend: 'wasm', quiet: true });
  const resumed = await train(resolveOptions('tosr', { ...tiny, data, out: half, steps: 6, ckptEvery: 3 }), { backend: 'wasm', quiet: true, resume: true });
  assert.equal(resumed.step, 6);
  const a = readSafetensors(join(full, 'generator.safetensors')).tensors;
  const b = readSafetensors(join(half, 'generator.safetensors')).tensors;
  for (const [name, t] of a) assert.deepEqual(b.get(name)!.data, t.data, `weights differ at ${name}`);
});

test('the video modes refuse VGG content losses and bad settings', () => {
  assert.throws(() => resolveOptions('tosr', { ...tiny, data, out: join(root, 'x'), content: 'vgg22', vggWeights: data }), /train tosr uses its own pixel losses/);
  assert.throws(() => resolveOptions('sosr', { ...tiny, data, out: join(root, 'x'), motionEps: 0 }), /--motion-eps must be > 0/);
  assert.throws(() => resolveOptions('tosr', { ...tiny, data, out: join(root, 'x'), temporalWeight: -1 }), /--temporal-weight must be >= 0/);
});

test('train tosr from a folder of videos (flow estimated on the HR frames)', { skip: tools ? false : 'ffmpeg is not installed here (apt-get install ffmpeg; CI installs it in .ci/run)' }, async () => {
  const videos = join(root, 'videos');
  mkdirSync(videos);
  for (const [i, src] of ['testsrc2=size=64x48:rate=10', 'mandelbrot=size=64x48:rate=10'].entries()) {
    const r = spawnSync(tools!.ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', src, '-frames:v', '5', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', join(videos, `clip${i}.mp4`)], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  const r = await train(resolveOptions('tosr', { ...tiny, data: videos, out: join(root, 'tosr-video'), steps: 3, videoFrames: 4 }), { backend: 'wasm', quiet: true });
  for (const l of lossesOf(r.log)) for (const k of ['pixel', 'temporal_sr', 'temporal_hr']) assert.ok(Number.isFinite(l[k]!), `${k} = ${l[k]}`);
  const s = await train(resolveOptions('sosr', { ...tiny, data: videos, out: join(root, 'sosr-video'), steps: 2, videoFrames: 4 }), { backend: 'wasm', quiet: true });
  for (const l of lossesOf(s.log)) assert.ok(Number.isFinite(l['pixel_weighted']!));
});
