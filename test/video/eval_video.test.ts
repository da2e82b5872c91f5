// `srgan eval-video`: the metrics mean what they say (an oracle that returns the HR frames scores
// PSNR inf, tOF 0 and the HR warping error; bicubic beats nearest on PSNR and warping error), and
// the command writes its table, JSON and plot, for frame folders and (with ffmpeg) video files.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import type { Image } from '../../src/image/image.js';
import { Rng } from '../../src/util/random.js';
import { renderSequence, type Motion } from '../../src/video/synth.js';
import { evaluateVideo, openSequences } from '../../src/video/eval_video.js';
import { resolveMethod, type Method } from '../../src/inference/methods.js';
import { findFfmpeg } from '../../src/video/ffmpeg.js';
import { degrade } from '../../src/image/degrade.js';
import { texture } from './fixtures.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('srgan-evalvideo-');
// Awaited before any test is declared: node:test runs the after hooks (which remove root) once
// the tests declared so far are done, even while a later top-level await is pending.
const noFfmpeg = (await findFfmpeg().catch(() => null)) ? false : 'ffmpeg is not installed here (apt-get install ffmpeg; CI installs it in .ci/run)';
const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const seqDir = join(root, 'seqs');
const FRAMES = 4;
const hrFrames: Image[] = [];

before(async () => {
  const t = texture(8);
  const W = 220;
  const H = 180;
  const data = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data.set(t.at(x, y).map((v) => Math.round(v * 255)), (y * W + x) * 3);
  // Hard-edged rectangles: detail that interpolation methods render differently.
  const rr = new Rng(11);
  for (let k = 0; k < 60; k++) {
    const [x0, y0, w, h] = [rr.int(W - 8), rr.int(H - 8), 2 + rr.int(14), 2 + rr.int(14)];
    const c = [rr.int(256), rr.int(256), rr.int(256)];
    for (let y = y0; y < Math.min(H, y0 + h); y++) for (let x = x0; x < Math.min(W, x0 + w); x++) data.set(c, (y * W + x) * 3);
  }
  const motion: Motion = { pan: [1.5, 0.5], zoom: 1, rotate: 0, object: { center: [30, 34], radii: [14, 11], velocity: [3, 1], angle: 0, spin: 0.02, anchor: [NaN, NaN], texScale: 1 } };
  const r = new Rng(3);
  const seq = renderSequence({ width: W, height: H, channels: 3, data }, 64, 64, FRAMES, motion, () => r.next());
  for (const name of ['moving', 'copy']) {
    mkdirSync(join(seqDir, name), { recursive: true });
    for (let i = 0; i < FRAMES; i++) {
      const f = seq.frames[i]!;
      await sharp(Buffer.from(f.data), { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(join(seqDir, name, `f${i}.png`));
      if (name === 'moving') hrFrames.push({ width: 64, height: 64, channels: 3, data: Float32Array.from(f.data, (v) => v / 255) });
    }
  }
});

test('an oracle scores PSNR inf, tOF 0 and the HR warping error; bicubic beats nearest', async () => {
  // The oracle recognises the LR it is given among the HR frames' LRs and returns that HR frame.
  const lrs = hrFrames.map((h) => degrade(h, 2));
  const oracle: Method = {
    name: 'oracle',
    scale: 2,
    run: async (lr) => hrFrames[lrs.findIndex((l) => l.data.every((v, i) => v === lr.data[i]))]!,
  };
  const methods = [oracle, await resolveMethod('bicubic'), await resolveMethod('nearest')];
  const r = await evaluateVideo({ sequences: await openSequences(join(seqDir, 'moving')), methods, scale: 2 });
  assert.equal(r.sequences.length, 1);
  const s = r.sequences[0]!;
  assert.equal(s.frames, FRAMES);
  assert.equal(s.perFrame['bicubic']!.length, FRAMES);
  assert.equal(s.perFrame['bicubic']![0]!.warpError, undefined, 'frame 0 has no predecessor');
  assert.ok(s.movingFraction > 0.5, `moving fraction ${s.movingFraction}`);
  const o = r.mean['oracle']!;
  assert.equal(o.psnr, Infinity);
  assert.equal(o.psnrMoving, Infinity);
  assert.equal(o.tof, 0);
  assert.ok(Math.abs(o.warpError - r.hrWarpError) < 1e-9 && r.hrWarpError > 0);
  const b = r.mean['bicubic']!;
  const n = r.mean['nearest']!;
  // (tOF is not ranked here: at x2 both interpolations keep the motion almost equally well.)
  assert.ok(b.psnr > n.psnr && b.psnrMoving > n.psnrMoving && b.warpError < n.warpError, JSON.stringify(r.mean));
  assert.ok(b.tof > 0 && b.tof < 0.5 && n.tof > 0, JSON.stringify(r.mean));
});

test('the CLI prints the table and writes results.json and the per-frame plot', () => {
  const out = join(root, 'out');
  const r = spawnSync(process.execPath, [cli, 'eval-video', seqDir, '--methods', 'bicubic,nn=nearest', '--scale', '2', '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^2 sequence\(s\), 8 frames, x2: PSNR\/SSIM on Y \(border 2\)/);
  assert.match(r.stdout, /\nbicubic +[0-9.]+ +0\.[0-9]{4} +[0-9.]+ +(?:[0-9.]+|-) +[0-9.]+ +[0-9.]+\n/);
  assert.match(r.stdout, /\nnn +[0-9.]+/);
  assert.match(r.stdout, /\nHR +inf +1 +inf +inf +[0-9.]+ +0 +\(floor/);
  const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.deepEqual(json.methods, ['bicubic', 'nn']);
  assert.deepEqual(json.methodSpecs, { bicubic: 'bicubic', nn: 'nearest' });
  assert.equal(json.sequences[1].perFrame.nn.length, FRAMES);
  for (const f of ['per-frame.svg', 'per-frame.png']) assert.ok(existsSync(join(out, f)), f);
  const bad = spawnSync(process.execPath, [cli, 'eval-video', join(root, 'nothing'), '--scale', '2'], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^error: .*nothing: no such file or folder\n$/);
});

test('eval-video reads a video file through ffmpeg', { skip: noFfmpeg }, async () => {
  const tools = await findFfmpeg();
  const file = join(root, 'clip.mkv');
  const r = spawnSync(tools.ffmpeg, ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=48x40:rate=8', '-frames:v', '5', '-c:v', 'ffv1', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const res = await evaluateVideo({ sequences: await openSequences(file), methods: [await resolveMethod('bicubic')], scale: 2 });
  assert.equal(res.sequences[0]!.frames, 5);
  assert.ok(Number.isFinite(res.mean['bicubic']!.psnr) && Number.isFinite(res.mean['bicubic']!.tof));
});
