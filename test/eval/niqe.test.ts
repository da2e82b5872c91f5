import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SrError } from '../../src/util/errors.js';
import { loadImage } from '../../src/io/image.js';
import type { Image } from '../../src/image/image.js';
import { imresizeAs8 } from '../../src/image/resize.js';
import { niqe, loadNiqeModel, defaultNiqeModelPath, NIQE_MODEL_ENV } from '../../src/eval/niqe.js';
import { fitAggd } from '../../src/eval/niqe_features.js';
import { pinvSymmetric } from '../../src/util/linalg.js';
import { seeded } from '../helpers/tf.js';

// compiled to dist/test/eval/: the repository root is three levels up, shared/ beside it
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const shared = resolve(repoRoot, '..', 'shared', 'data');
const baboon = join(shared, 'benchmark', 'Set14', 'baboon.png');
const haveData = existsSync(baboon) && existsSync(defaultNiqeModelPath());
const skipData = haveData ? false : `NIQE check data not found (needs ${baboon} and ${defaultNiqeModelPath()})`;
const skipModel = existsSync(defaultNiqeModelPath()) ? false : `NIQE's pristine model not found at ${defaultNiqeModelPath()} (needs ../shared/data)`;

/** The authors' MATLAB niqe on Set14 baboon.png, whole image (shared/README.md). */
const BABOON_MATLAB = 5.7296;

function image(width: number, height: number, channels: 1 | 3, f: (x: number, y: number, c: number) => number): Image {
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
  return { width, height, channels, data };
}

test("NIQE of Set14 baboon.png matches the authors' MATLAB release (5.7296) within 0.005", { skip: skipData }, async (t) => {
  const q = niqe(await loadImage(baboon));
  t.diagnostic(`baboon.png NIQE ${q.toFixed(4)} (MATLAB ${BABOON_MATLAB})`);
  assert.ok(Math.abs(q - BABOON_MATLAB) <= 0.005, `NIQE ${q} vs ${BABOON_MATLAB}`);
});

test('NIQE needs a 96x96 block: a smaller image is an SrError with its size', { skip: skipModel }, () => {
  const tiny = image(80, 120, 3, (x, y, c) => ((x * 7 + y * 13 + c * 50) % 256) / 255);
  assert.throws(() => niqe(tiny), (e: unknown) => e instanceof SrError && /at least 96x96 pixels.*this one is 80x120/.test(e.message) && !e.message.includes('\n'));
  // a border can make an image too small, and the message says so
  const edge = image(100, 100, 1, (x, y) => ((x * 7 + y * 13) % 256) / 255);
  assert.throws(() => niqe(edge, { border: 4 }), (e: unknown) => e instanceof SrError && /this one is 92x92 after removing a 4-pixel border from 100x100/.test(e.message));
});

test('NIQE of a flat image is an SrError, not NaN', { skip: skipModel }, () => {
  const flat = image(200, 150, 3, () => 0.5);
  assert.throws(() => niqe(flat), (e: unknown) => e instanceof SrError && /flat image \(every pixel is \d+\)/.test(e.message));
});

test('NIQE ranks white noise far from natural, and a blurred photograph below the sharp one', { skip: skipData }, async () => {
  const r = seeded(3);
  const qn = niqe(image(192, 192, 1, () => r()));
  assert.ok(qn > 20, `noise NIQE ${qn}`);
  const photo = await loadImage(baboon);
  const blurred = imresizeAs8(imresizeAs8(photo, { scale: 1 / 4 }, 'bicubic'), { width: photo.width, height: photo.height }, 'bicubic');
  const qp = niqe(photo);
  const qb = niqe(blurred);
  assert.ok(qb > qp + 1, `blurred ${qb} vs sharp ${qp}`);
});

test('a missing pristine model file is one clear SrError naming the override', () => {
  assert.throws(
    () => loadNiqeModel('/nonexistent/niqe.json'),
    (e: unknown) => e instanceof SrError && e.message.includes('/nonexistent/niqe.json') && e.message.includes(NIQE_MODEL_ENV),
  );
});

test('AGGD fit: Gaussian samples give shape 2 and beta sqrt(2) sigma on both sides', () => {
  const r = seeded(11);
  const n = 200_000;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    // Box-Muller, sigma 0.7
    const u = Math.sqrt(-2 * Math.log(1 - r()));
    const a = 2 * Math.PI * r();
    v[i] = 0.7 * u * Math.cos(a);
    v[i + 1] = 0.7 * u * Math.sin(a);
  }
  const f = fitAggd(v);
  assert.ok(Math.abs(f.shape - 2) < 0.05, `shape ${f.shape}`);
  for (const b of [f.betaLeft, f.betaRight]) assert.ok(Math.abs(b - Math.SQRT2 * 0.7) < 0.02, `beta ${b}`);
  // no negative value: the left side is NaN and the shape the grid's first value, as in MATLAB
  const pos = fitAggd(Float64Array.from([1, 2, 3]));
  assert.ok(Number.isNaN(pos.betaLeft));
  assert.equal(pos.shape, 0.2);
});

test('pseudo-inverse: the inverse of a full-rank matrix, A pinv(A) A = A for a singular one', () => {
  const r = seeded(5);
  const n = 6;
  const b = Array.from({ length: n * 4 }, () => r() - 0.5); // n x 4: B B' has rank 4
  const full = new Float64Array(n * n);
  const low = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += b[i * 4 + k]! * b[j * 4 + k]!;
      low[i * n + j] = s;
      full[i * n + j] = s + (i === j ? 0.5 : 0);
    }
  }
  const mul = (x: Float64Array, y: Float64Array) => {
    const o = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) o[i * n + j] += x[i * n + k]! * y[k * n + j]!;
    return o;
  };
  const id = mul(full, pinvSymmetric(full, n));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.ok(Math.abs(id[i * n + j]! - (i === j ? 1 : 0)) < 1e-12);
  const back = mul(mul(low, pinvSymmetric(low, n)), low);
  for (let i = 0; i < n * n; i++) assert.ok(Math.abs(back[i]! - low[i]!) < 1e-12);
});
