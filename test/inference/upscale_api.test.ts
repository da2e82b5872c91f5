import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/tfjs/backend.js';
import { createUpscaler, upscale, releaseUpscalers, type Upscaler } from '../../src/inference/upscale.js';
import { interpolateArrays, loadModelSource } from '../../src/inference/model_source.js';
import { readModelConfig } from '../../src/models/weights.js';
import { imresize } from '../../src/image/resize.js';
import { loadImage } from '../../src/io/image.js';
import type { Image } from '../../src/image/image.js';
import { SrError } from '../../src/util/errors.js';
import { writeTestModel, testPixels } from '../helpers/sr_models.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('srgan-api-');
let A: string;
let B: string;
let up: Upscaler;

before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  A = await writeTestModel(join(dir, 'a.safetensors'), { blocks: 1, channels: 8, seed: 1 });
  B = await writeTestModel(join(dir, 'b.safetensors'), { blocks: 1, channels: 8, seed: 2 });
  up = await createUpscaler({ model: A, engine: 'onnx', tileSize: 32, overlap: 8 });
});
after(async () => {
  await up.dispose();
  await releaseUpscalers();
});

const rgb = (w: number, h: number, seed: number): Image => ({ width: w, height: h, channels: 3, data: testPixels(w, h, seed) });

test('alpha is upscaled apart with bicubic and re-attached; colour is unchanged by it', async () => {
  const img = rgb(40, 30, 1);
  const alpha = new Float32Array(40 * 30).map((_, i) => ((i % 40) / 39) * ((Math.floor(i / 40) % 2) ? 1 : 0.5));
  const out = await up.upscale({ ...img, alpha });
  assert.deepEqual([out.width, out.height, out.channels], [160, 120, 3]);
  const want = imresize({ width: 40, height: 30, channels: 1, data: alpha }, { width: 160, height: 120 }, 'bicubic').data;
  assert.deepEqual(out.alpha, want);
  const opaque = await up.upscale(img);
  assert.equal(opaque.alpha, undefined);
  assert.deepEqual(out.data, opaque.data);
});

test('grey in, grey out; an RGBA PNG keeps its transparency through the Buffer path', async () => {
  const g: Image = { width: 36, height: 20, channels: 1, data: testPixels(36, 20, 2, 1) };
  const out = await up.upscale(g);
  assert.equal(out.channels, 1);
  assert.equal(out.data.length, 144 * 80);
  // the same picture as RGB gives the average of the three outputs
  const asRgb = await up.upscale({ width: 36, height: 20, channels: 3, data: Float32Array.from({ length: 36 * 20 * 3 }, (_, i) => g.data[Math.floor(i / 3)]!) });
  for (let p = 0; p < 144 * 80; p += 97) assert.ok(Math.abs(out.data[p]! - (asRgb.data[3 * p]! + asRgb.data[3 * p + 1]! + asRgb.data[3 * p + 2]!) / 3) < 1e-6);

  const px = Buffer.alloc(24 * 16 * 4);
  for (let i = 0; i < 24 * 16; i++) px.set([(i * 7) & 255, (i * 3) & 255, 200, i % 24 < 12 ? 0 : 255], 4 * i);
  const png = await sharp(px, { raw: { width: 24, height: 16, channels: 4 } }).png().toBuffer();
  const encoded: Buffer = await up.upscale(png);
  const meta = await sharp(encoded).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height, meta.hasAlpha], ['png', 96, 64, true]);
  const back = await loadImage(encoded);
  assert.equal(back.alpha![5 * 96 + 3], 0, 'transparent stays transparent, not black');
  assert.equal(back.alpha![5 * 96 + 90], 1);
  // EXIF orientation 6 (rotate 90 degrees clockwise): a 24x16 stored JPEG is a 16x24 picture
  const rotated = await sharp(Buffer.alloc(24 * 16 * 3, 120), { raw: { width: 24, height: 16, channels: 3 } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  const upright = await up.upscale(rotated, { output: 'pixels' });
  assert.deepEqual([upright.width, upright.height], [64, 96]);
  const greyPng = await sharp(Buffer.alloc(20 * 20, 128), { raw: { width: 20, height: 20, channels: 1 } }).toColourspace('b-w').png().toBuffer();
  assert.equal((await loadImage(await up.upscale(greyPng, { format: 'png' }))).channels, 1);
});

test('tensors in, tensors out (3-D, 4-D, RGBA), and nothing leaks', async () => {
  const initial = tf.memory().numTensors;
  const tfUp = await createUpscaler({ model: A, engine: 'tfjs', tileSize: 32, overlap: 8 });
  const before = tf.memory().numTensors;
  const x3 = tf.tensor3d(testPixels(20, 18, 3), [18, 20, 3]);
  const x4 = tf.tensor4d(new Float32Array(2 * 18 * 20 * 4).fill(0.5), [2, 18, 20, 4]);
  const y3: tf.Tensor3D = await tfUp.upscale(x3);
  const y4: tf.Tensor4D = await tfUp.upscale(x4);
  assert.deepEqual(y3.shape, [72, 80, 3]);
  assert.deepEqual(y4.shape, [2, 72, 80, 4]);
  const a = await y4.data();
  assert.ok(Math.abs(a[3]! - 0.5) < 1e-6, 'alpha channel comes back in place');
  const px = await tfUp.upscale(x3, { output: 'pixels' });
  assert.deepEqual(px.data, await y3.data());
  tf.dispose([x3, x4, y3, y4]);
  assert.equal(tf.memory().numTensors, before, 'a run leaves no live tensors');
  await tfUp.dispose();
  assert.equal(tf.memory().numTensors, initial, 'dispose frees the model');
});

test('abort via AbortSignal stops between tiles; the upscaler stays usable', async () => {
  const img = rgb(96, 64, 4); // 32-px tiles, overlap 8: 4 x 3 tiles
  const ctrl = new AbortController();
  let seen = 0;
  await assert.rejects(
    up.upscaleImage(img, { signal: ctrl.signal, onProgress: (p) => ((seen = p.done), p.done === 2 && ctrl.abort()) }),
    (e: Error) => e.name === 'AbortError',
  );
  assert.ok(seen >= 2 && seen < 12, `stopped early (after ${seen} of 12 tiles)`);
  await assert.rejects(up.upscaleImage(img, { signal: AbortSignal.abort() }), (e: Error) => e.name === 'AbortError');
  const ok = await up.upscaleImage(img);
  assert.equal(ok.width, 384);
});

test('network interpolation: alpha 0 is model A exactly, 1 is model B, 0.5 between', async () => {
  const img = rgb(30, 26, 5);
  const run = async (opts: Parameters<typeof createUpscaler>[0]) => {
    const u = await createUpscaler({ ...opts, engine: 'tfjs' });
    try {
      return (await u.upscaleImage(img)).data;
    } finally {
      await u.dispose();
    }
  };
  const [a, b] = [await run({ model: A }), await run({ model: B })];
  assert.deepEqual(await run({ alpha: 0, blend: [A, B] }), a);
  assert.deepEqual(await run({ alpha: 1, blend: [A, B] }), b);
  const mid = await run({ alpha: 0.5, blend: [A, B] });
  assert.notDeepEqual(mid, a);
  assert.notDeepEqual(mid, b);

  // every tensor blended, batch-norm statistics included
  const ra = { ...readModelConfig(A), label: A };
  const rb = { ...readModelConfig(B), label: B };
  const m = interpolateArrays(ra, rb, 0.25);
  const mean = m.get('block0_bn1/moving_mean')!.data;
  const [ma, mb] = [ra.arrays.get('block0_bn1/moving_mean')!.data, rb.arrays.get('block0_bn1/moving_mean')!.data];
  for (let i = 0; i < mean.length; i++) assert.ok(Math.abs(mean[i]! - (0.75 * ma[i]! + 0.25 * mb[i]!)) < 1e-7);

  const other = await writeTestModel(join(dir, 'c16.safetensors'), { blocks: 1, channels: 16, seed: 3 });
  await assert.rejects(loadModelSource({ alpha: 0.5, blend: [A, other] }), (e: Error) => e instanceof SrError && /different model configs/.test(e.message) && e.message.includes('c16.safetensors'));
  await assert.rejects(loadModelSource({ alpha: 1.5, blend: [A, B] }), /alpha must be a number from 0 to 1/);
});

test('one-shot upscale(): typed results, shared session, clear errors', async () => {
  const img = rgb(20, 20, 6);
  const px = await upscale(img, { model: A });
  assert.equal(px.width, 80);
  const buf: Buffer = await upscale(img, { model: A, output: 'buffer', format: 'webp' });
  assert.equal((await sharp(buf).metadata()).format, 'webp');
  const again = await upscale(img, { model: A });
  assert.deepEqual(again.data, px.data);
  await assert.rejects(upscale(img, { model: join(dir, 'nope.safetensors') }), /model file not found/);
  await assert.rejects(upscale(img, { model: 'srgan', scale: 8 }), /shipped model 'srgan' x8 is not installed \(looked for .*models\/srgan-x8\.safetensors\)/);
  await assert.rejects(upscale(Buffer.from('not an image at all'), { model: A }), /not an image in a supported format/);
});

test('an output too large for memory is written in bands through a file, identical to the in-memory one', async () => {
  // grey + alpha, 16-bit, several tile rows: every part of the band path at once
  const w = 70;
  const h = 53;
  const img: Image = { width: w, height: h, channels: 1, data: testPixels(w, h, 9, 1), alpha: new Float32Array(w * h).map((_, i) => (i % 7) / 6), bitDepth: 16 };
  const mem = join(dir, 'mem.png');
  const banded = join(dir, 'banded.png');
  const a = await up.upscaleToFile(img, mem);
  const b = await up.upscaleToFile(img, banded, { inMemoryBytes: 0 });
  assert.deepEqual([a.banded, b.banded], [false, true]);
  const raw = async (p: string) => {
    const m = await sharp(p).metadata();
    return [m.depth, m.channels, (await sharp(p).raw({ depth: 'ushort' }).toBuffer()).toString('hex')];
  };
  const [depth, channels] = await raw(banded);
  assert.deepEqual([depth, channels], ['ushort', 2]);
  assert.deepEqual(await raw(banded), await raw(mem));
  // and both equal the float result, rounded to 16 bits
  const f = await up.upscaleImage(img);
  const back = await loadImage(banded);
  for (let i = 0; i < f.data.length; i++) assert.ok(Math.abs(back.data[i]! - Math.min(1, Math.max(0, f.data[i]!))) <= 0.5 / 65535 + 1e-7, `sample ${i}`);
  for (let i = 0; i < f.alpha!.length; i++) assert.ok(Math.abs(back.alpha![i]! - Math.min(1, Math.max(0, f.alpha![i]!))) <= 0.5 / 65535 + 1e-7, `alpha ${i}`);
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('.tmp-')), [], 'the band file is gone');
});

test('outputs over maxOutputPixels are refused before any tile runs', async () => {
  let tiles = 0;
  await assert.rejects(
    up.upscaleImage(rgb(40, 30, 3), { maxOutputPixels: 40 * 30 * 16 - 1, onProgress: () => tiles++ }),
    /x4 of 40x30 would be 160x120 \(0\.0 MP\), over the 0\.0 MP limit for outputs/,
  );
  assert.equal(tiles, 0);
});
