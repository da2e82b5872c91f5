import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SrError } from '../../src/util/errors.js';
import { loadImage } from '../../src/io/image.js';
import type { Image } from '../../src/image/image.js';
import { evaluate, evaluateImage } from '../../src/eval/protocol.js';
import { modcrop, degrade } from '../../src/image/degrade.js';
import { resolveMethod, resolveMethods, knownMethodNames, type Method } from '../../src/inference/methods.js';

// compiled to dist/test/eval/: the repository root is three levels up, shared/ beside it
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const benchmark = resolve(repoRoot, '..', 'shared', 'data', 'benchmark');
const haveData = existsSync(join(benchmark, 'Set5')) && existsSync(join(benchmark, 'Set14'));
const skipData = haveData ? false : `benchmark data not found at ${benchmark} (needs ../shared/data/benchmark beside the repository)`;

// shared/README.md: bicubic as tabled across the SR literature (EDSR, RCAN, BasicSR)
const PUBLISHED: Record<string, Record<number, [number, number]>> = {
  Set5: { 2: [33.66, 0.9299], 3: [30.39, 0.8682], 4: [28.42, 0.8104] },
  Set14: { 2: [30.24, 0.8688], 3: [27.55, 0.7742], 4: [26.0, 0.7027] },
};
// SRGAN paper, Table 2, nearest x4 PSNR (its SSIM column used another SSIM implementation)
const NEAREST_X4_PSNR: Record<string, number> = { Set5: 26.26, Set14: 24.64 };

test('bicubic on Set5 and Set14 reproduces the published figures (x2, x3, x4), nearest x4 the SRGAN paper', { skip: skipData }, async (t) => {
  const methods = await resolveMethods('bicubic,nearest');
  const rows: string[] = ['set    scale  bicubic PSNR / SSIM (published)        nearest PSNR / SSIM'];
  const failures: string[] = [];
  for (const set of ['Set5', 'Set14']) {
    for (const scale of [2, 3, 4]) {
      const r = await evaluate({ dir: join(benchmark, set), scale, methods });
      const b = r.mean['bicubic']!;
      const n = r.mean['nearest']!;
      const [pp, ps] = PUBLISHED[set]![scale]!;
      rows.push(`${set.padEnd(6)} x${scale}     ${b.psnr.toFixed(3)} / ${b.ssim.toFixed(4)} (${pp.toFixed(2)} / ${ps.toFixed(4)})      ${n.psnr.toFixed(3)} / ${n.ssim.toFixed(4)}`);
      if (Math.abs(b.psnr - pp) > 0.02) failures.push(`${set} x${scale} bicubic PSNR ${b.psnr.toFixed(3)} vs ${pp}`);
      if (Math.abs(b.ssim - ps) > 0.002) failures.push(`${set} x${scale} bicubic SSIM ${b.ssim.toFixed(4)} vs ${ps}`);
      if (scale === 4 && Math.abs(n.psnr - NEAREST_X4_PSNR[set]!) > 0.02) failures.push(`${set} x4 nearest PSNR ${n.psnr.toFixed(3)} vs ${NEAREST_X4_PSNR[set]}`);
      if (set === 'Set14') assert.equal(r.images.find((i) => i.name === 'bridge.png')?.channels, 1, 'bridge.png is scored as grey');
    }
  }
  for (const row of rows) t.diagnostic(row);
  assert.deepEqual(failures, []);
});

function flat(width: number, height: number, channels: 1 | 3, v: number): Image {
  return { width, height, channels, data: new Float32Array(width * height * channels).fill(v) };
}

test('modcrop keeps the top-left multiple of the scale; degrade needs it', () => {
  const img: Image = { width: 7, height: 5, channels: 1, data: Float32Array.from({ length: 35 }, (_, i) => i / 35) };
  const c = modcrop(img, 3);
  assert.equal(c.width, 6);
  assert.equal(c.height, 3);
  assert.equal(c.data[6], img.data[7]); // (row 1, col 0)
  assert.throws(() => degrade(img, 3), /not a multiple of the scale 3/);
  const lr = degrade(c, 3);
  assert.equal(lr.width, 2);
  assert.equal(lr.height, 1);
  for (const v of lr.data) assert.ok(Math.abs(Math.round(v * 255) - v * 255) < 1e-4, 'LR is on the 8-bit grid');
  assert.throws(() => modcrop(img, 0), SrError);
});

test('unknown methods name the known ones, models included', async () => {
  await assert.rejects(resolveMethods('bicubic,foo'), (e: unknown) => e instanceof SrError && /unknown method 'foo'.*known methods: nearest, bicubic/.test(e.message));
  await assert.rejects(resolveMethod('bicubc'), /did you mean 'bicubic'/);
  await assert.rejects(resolveMethods('bicubic,bicubic'), /listed twice/);
  await assert.rejects(resolveMethod('missing.safetensors'), /known methods: .*srresnet, srgan, alpha=<0\.\.1>, <weights\.safetensors>/);
  assert.deepEqual(knownMethodNames().slice(0, 5), ['nearest', 'bicubic', 'bilinear', 'srresnet', 'srgan']);
});

test('a method returning the wrong size is an SrError naming it and the image', async () => {
  const bad: Method = { name: 'off-by-one', run: async (lr, { scale: s }) => flat(lr.width * s - 1, lr.height * s, lr.channels, 0.5) };
  await assert.rejects(evaluateImage(flat(16, 16, 3, 0.5), 'x.png', 4, [bad]), /'off-by-one' turned the 4x4 LR of x.png into 15x16; x4 needs 16x16/);
});

test('bicubic of a constant image is exact (Infinity)', async () => {
  const { result } = await evaluateImage(flat(40, 36, 3, 0.4), 'c.png', 4, await resolveMethods('bicubic,nearest'));
  assert.equal(result.scores['bicubic']!.psnr, Infinity);
  assert.equal(result.scores['nearest']!.ssim, 1);
});

test('grey HR from disk stays grey through the protocol', { skip: skipData }, async () => {
  const hr = await loadImage(join(benchmark, 'Set14', 'bridge.png'));
  assert.equal(hr.channels, 1);
  const { lr, result } = await evaluateImage(hr, 'bridge.png', 4, await resolveMethods('bicubic'));
  assert.equal(lr.channels, 1);
  assert.ok(result.scores['bicubic']!.psnr > 20 && result.scores['bicubic']!.psnr < 30);
});
