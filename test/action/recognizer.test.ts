// The two-stream recognizer end to end on a tiny synthetic action set: it trains above chance,
// an interrupted run resumes to the same weights, eval-recognition runs hr, bicubic and a model,
// and bad dataset layouts, unknown classes in split lists and unreadable videos fail in one line.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { initBackend } from '../../src/tfjs/backend.js';
import { resolveOptions } from '../../src/train/options.js';
import { train } from '../../src/train/trainer.js';
import { readSafetensors } from '../../src/models/safetensors.js';
import { makeActions } from '../../src/action/synth_actions.js';
import { readActionLayout } from '../../src/action/layout.js';
import { evaluateRecognition } from '../../src/action/eval_recognition.js';
import { findFfmpeg } from '../../src/video/ffmpeg.js';
import { SrError } from '../../src/util/errors.js';
import { makeImageFolder } from '../helpers/images.js';
import { writeTestModel } from '../helpers/sr_models.js';
import { tempDir } from '../helpers/tmp.js';

const tools = await findFfmpeg().catch(() => null);
const skip = tools ? false : 'ffmpeg is not installed here (apt-get install ffmpeg)';
const root = tempDir('srgan-actions-');
const photos = join(root, 'photos');
const set = join(root, 'set');
const cli = new URL('../../src/cli/main.js', import.meta.url).pathname;
// 2 classes that differ in both pattern and motion; 48x48 frames, 8 frames, stack 2
const tiny = { patch: 48, stack: 2, videoFrames: 8, batch: 8, workers: 1, dataWorkers: 1, logEvery: 1, lrSchedule: '3e-3@0,3e-4@60', channels: 8 };

before(async () => {
  if (!tools) return;
  await initBackend({ backend: 'wasm', quiet: true });
  await makeImageFolder(photos, 3, 96, 80, 3);
  await makeActions({ out: set, photos, seed: 5, classes: ['stripes_drift', 'checker_spin'], clipsPerClass: 9, frames: 8, size: 48, tools });
});

test('make-actions writes a seeded UCF101-style set that the layout reader accepts', { skip }, async () => {
  const layout = readActionLayout(set);
  assert.deepEqual(layout.classes, ['stripes_drift', 'checker_spin']);
  assert.equal(layout.train.length, 12);
  assert.equal(layout.test.length, 6);
  assert.match(readFileSync(join(set, 'trainlist01.txt'), 'utf8'), /^stripes_drift\/v_stripes_drift_g01\.mkv 1$/m);
  // the same seed gives the same frames (the files' bytes may differ by the muxer's stamps)
  const again = join(root, 'again');
  await makeActions({ out: again, photos, seed: 5, classes: ['stripes_drift', 'checker_spin'], clipsPerClass: 2, frames: 8, size: 48, tools: tools! });
  const frames = (p: string) => spawnSync(tools!.ffmpeg, ['-v', 'error', '-i', p, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], { maxBuffer: 1 << 24 }).stdout;
  assert.ok(frames(join(set, 'checker_spin/v_checker_spin_g02.mkv')).equals(frames(join(again, 'checker_spin/v_checker_spin_g02.mkv'))));
});

test('train recognizer: both streams learn the tiny set (above chance on its test clips); a stopped run resumes to the same weights', { skip }, async () => {
  const full = join(root, 'rec-full');
  const r = await train(resolveOptions('recognizer', { ...tiny, data: set, out: full, steps: 80, ckptEvery: 40 }), { backend: 'wasm', quiet: true });
  const losses = r.log.filter((e) => e.losses).map((e) => e.losses!);
  const first = losses[0]!;
  const last = losses.slice(-5);
  const mean = (k: string) => last.reduce((a, l) => a + l[k]!, 0) / last.length;
  for (const k of ['spatial', 'temporal']) assert.ok(mean(k) < 0.6 * first[k]!, `${k}: ${first[k]} -> ${mean(k)}`);
  const ev = await evaluateRecognition({ data: set, recognizer: full, scale: 4, methods: [{ name: 'hr', spec: 'hr' }], positions: 3 });
  assert.equal(ev.videos, 6);
  // chance is 50% (3 of the 6 test clips): each stream must beat it, the fusion by a margin
  for (const s of ['spatial', 'temporal'] as const) assert.ok(ev.accuracy['hr']![s] >= 4 / 6, `${s}: ${ev.accuracy['hr']![s]}`);
  assert.ok(ev.accuracy['hr']!.fused >= 5 / 6, `fused: ${ev.accuracy['hr']!.fused}`);

  // resume: 8 steps in one go against 4, a stop, and 4 more
  const whole = join(root, 'rec-whole');
  await train(resolveOptions('recognizer', { ...tiny, data: set, out: whole, steps: 8, ckptEvery: 4 }), { backend: 'wasm', quiet: true });
  const half = join(root, 'rec-half');
  await train(resolveOptions('recognizer', { ...tiny, data: set, out: half, steps: 4, ckptEvery: 4 }), { backend: 'wasm', quiet: true });
  const resumed = await train(resolveOptions('recognizer', { ...tiny, data: set, out: half, steps: 8, ckptEvery: 4 }), { backend: 'wasm', quiet: true, resume: true });
  assert.equal(resumed.step, 8);
  const a = readSafetensors(join(whole, 'recognizer.safetensors')).tensors;
  const b = readSafetensors(join(half, 'recognizer.safetensors')).tensors;
  for (const [name, t] of a) assert.deepEqual(b.get(name)!.data, t.data, `weights differ at ${name}`);
});

test('eval-recognition runs hr, bicubic and a model, and writes its table, JSON and bar plot', { skip }, async () => {
  const rec = join(root, 'rec-full', 'recognizer.safetensors');
  assert.ok(existsSync(rec), 'needs the previous test');
  const model = await writeTestModel(join(root, 'tiny-x4.safetensors'), { scale: 4 });
  const out = join(root, 'eval');
  const r = spawnSync(process.execPath, [cli, 'eval-recognition', '--data', set, '--recognizer', rec, '--methods', `hr,bicubic,tiny=${model}`, '--positions', '2', '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /top-1 accuracy on 6 test video\(s\), 2 classes, x4/);
  for (const m of ['hr', 'bicubic', 'tiny']) assert.match(r.stdout, new RegExp(`^${m}\\s+\\d+\\.\\d% +\\d+\\.\\d% +\\d+\\.\\d%$`, 'm'));
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.deepEqual(Object.keys(json.accuracy), ['hr', 'bicubic', 'tiny']);
  assert.equal(json.perVideo.length, 6);
  assert.match(readFileSync(join(out, 'recognition.svg'), 'utf8'), /<rect x=.*fill="#1f77b4"/);
});

function layoutError(files: Record<string, string>, pattern: RegExp): void {
  const dir = mkdtempSync(join(root, 'bad-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  assert.throws(() => readActionLayout(dir), (e: unknown) => e instanceof SrError && pattern.test(e.message) && !e.message.includes('\n'));
}

test('bad layouts and split lists are one-line errors naming the file and line', () => {
  layoutError({ 'walk/a.mp4': 'x' }, /at least 2 class folders/);
  layoutError({ 'walk/a.mp4': 'x', 'run/notes.txt': 'x' }, /class 'run' holds no videos/);
  const two = { 'walk/a.mp4': 'x', 'run/b.mp4': 'x', 'classInd.txt': '1 walk\n2 run\n' };
  layoutError({ ...two, 'trainlist01.txt': 'walk/a.mp4 1\nswim/c.mp4 3\n', 'testlist01.txt': 'run/b.mp4\n' }, /trainlist01\.txt:2: 'swim\/c\.mp4' is not in a known class folder/);
  layoutError({ ...two, 'trainlist01.txt': 'walk/a.mp4 2\n', 'testlist01.txt': 'run/b.mp4\n' }, /trainlist01\.txt:1: class index 2 does not match the folder 'walk'/);
  layoutError({ ...two, 'trainlist01.txt': 'walk/a.mp4 1\n', 'testlist01.txt': 'run/gone.mp4\n' }, /testlist01\.txt:1: video .*gone\.mp4 does not exist/);
  layoutError({ ...two, 'trainlist01.txt': 'walk/a.mp4 1\n' }, /give both split lists or neither/);
  layoutError({ ...two, 'classInd.txt': '1 walk\n3 run\n' }, /classInd\.txt:2: class indices must run 1, 2, 3/);
  layoutError({ ...two, 'classInd.txt': '1 walk\n2 swim\n' }, /classInd\.txt:2: class 'swim' has no folder/);
});

test('an unreadable video stops training and evaluation with one line, no stack trace', { skip }, () => {
  const broken = join(root, 'broken');
  cpSync(set, broken, { recursive: true });
  writeFileSync(join(broken, 'stripes_drift/v_stripes_drift_g01.mkv'), 'not a video');
  writeFileSync(join(broken, 'checker_spin/v_checker_spin_g03.mkv'), 'not a video either');
  const t = spawnSync(process.execPath, [cli, 'train', 'recognizer', '--data', broken, '--out', join(root, 'rec-broken'), '--steps', '3', '--patch', '48', '--stack', '2', '--video-frames', '8', '--batch', '12', '--workers', '1', '--no-progress'], { encoding: 'utf8' });
  assert.equal(t.status, 1, t.stderr);
  assert.match(t.stderr, /^error: .*v_stripes_drift_g01\.mkv/m);
  assert.doesNotMatch(t.stderr, /\n\s+at /);
  const e = spawnSync(process.execPath, [cli, 'eval-recognition', '--data', broken, '--recognizer', join(root, 'rec-full'), '--methods', 'hr', '--out', join(root, 'eval-broken')], { encoding: 'utf8' });
  assert.equal(e.status, 1, e.stderr);
  assert.match(e.stderr, /^error: .*v_checker_spin_g03\.mkv/m);
  assert.doesNotMatch(e.stderr, /\n\s+at /);
});
