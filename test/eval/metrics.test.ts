import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SrError } from '../../src/util/errors.js';
import { psnr, ssim, score, scoringPlanes } from '../../src/eval/metrics.js';
import type { Image } from '../../src/image/image.js';

function image(width: number, height: number, channels: 1 | 3, f: (x: number, y: number, c: number) => number): Image {
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
  return { width, height, channels, data };
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) / 2 ** 24;
}

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b}`);

test('identical images: PSNR Infinity, SSIM exactly 1', () => {
  const r = lcg(1);
  for (const c of [1, 3] as const) {
    const a = image(30, 20, c, () => Math.round(r() * 255) / 255);
    assert.equal(psnr(a, a, { border: 2 }), Infinity);
    assert.equal(ssim(a, a, { border: 2 }), 1);
  }
});

test('PSNR by hand: a constant difference of 5 grey levels is 20 log10(255/5)', () => {
  const a = image(16, 16, 1, () => 100 / 255);
  const b = image(16, 16, 1, () => 105 / 255);
  close(psnr(a, b), 20 * Math.log10(51), 1e-10);
});

test('colour is scored on BT.601 Y: pure red against black differs by 65.481', () => {
  const red = image(16, 16, 3, (_x, _y, c) => (c === 0 ? 1 : 0));
  const black = image(16, 16, 3, () => 0);
  assert.equal(scoringPlanes(red)[0]!.data[0], 16 + 65.481);
  assert.equal(scoringPlanes(black)[0]!.data[0], 16);
  close(psnr(red, black), 20 * Math.log10(255 / 65.481), 1e-10);
  // RGB scoring: MSE = 255^2 / 3
  close(psnr(red, black, { yOnly: false }), 10 * Math.log10(3), 1e-10);
});

test('a grey image is scored on its own values, not on a Y made from it', () => {
  const a = image(16, 16, 1, () => 0);
  const b = image(16, 16, 1, () => 10 / 255);
  // a Y conversion would shrink the difference to 10 * 219/255 and read 1.3 dB higher
  close(psnr(a, b), 20 * Math.log10(25.5), 1e-10);
});

test('SSIM by hand: constant images 100 and 110 give (2ab + C1) / (a^2 + b^2 + C1)', () => {
  const a = image(16, 16, 1, () => 100 / 255);
  const b = image(16, 16, 1, () => 110 / 255);
  const c1 = (0.01 * 255) ** 2;
  close(ssim(a, b), (2 * 100 * 110 + c1) / (100 ** 2 + 110 ** 2 + c1), 1e-12);
});

test("SSIM equals a direct 2-D implementation of Wang et al.'s ssim_index", () => {
  const r = lcg(5);
  const w = 15;
  const h = 13;
  const a = image(w, h, 1, () => Math.round(r() * 255) / 255);
  const b = image(w, h, 1, (x, y) => Math.min(1, Math.max(0, a.data[y * w + x]! + Math.round((r() - 0.5) * 60) / 255)));
  // fspecial('gaussian', 11, 1.5), normalised; filter2(..., 'valid'); mean of the map
  const win: number[] = [];
  let sum = 0;
  for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) {
    const v = Math.exp(-((i - 5) ** 2 + (j - 5) ** 2) / (2 * 1.5 * 1.5));
    win.push(v);
    sum += v;
  }
  const A = (x: number, y: number) => Math.round(a.data[y * w + x]! * 255);
  const B = (x: number, y: number) => Math.round(b.data[y * w + x]! * 255);
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  let total = 0;
  let n = 0;
  for (let y = 0; y + 11 <= h; y++) {
    for (let x = 0; x + 11 <= w; x++) {
      let m1 = 0, m2 = 0, e11 = 0, e22 = 0, e12 = 0;
      for (let i = 0; i < 11; i++) for (let j = 0; j < 11; j++) {
        const g = win[i * 11 + j]! / sum;
        const va = A(x + j, y + i);
        const vb = B(x + j, y + i);
        m1 += g * va;
        m2 += g * vb;
        e11 += g * va * va;
        e22 += g * vb * vb;
        e12 += g * va * vb;
      }
      const s1 = e11 - m1 * m1;
      const s2 = e22 - m2 * m2;
      const s12 = e12 - m1 * m2;
      total += ((2 * m1 * m2 + C1) * (2 * s12 + C2)) / ((m1 * m1 + m2 * m2 + C1) * (s1 + s2 + C2));
      n++;
    }
  }
  assert.equal(n, 5 * 3);
  const expected = total / n;
  close(ssim(a, b), expected, 1e-12);
  assert.ok(expected < 0.99 && expected > 0.3, `a meaningful case: ${expected}`);
});

test('properties: symmetric, bounded, worse with more noise, border removal', () => {
  const r = lcg(9);
  const a = image(40, 32, 3, () => r());
  const noisy = (amp: number) => image(40, 32, 3, (x, y, c) => Math.min(1, Math.max(0, a.data[(y * 40 + x) * 3 + c]! + (r() - 0.5) * amp)));
  const b1 = noisy(0.05);
  const b2 = noisy(0.2);
  const s1 = score(a, b1, { border: 4 });
  const s2 = score(a, b2, { border: 4 });
  assert.equal(s1.psnr, psnr(b1, a, { border: 4 }));
  assert.equal(s1.ssim, ssim(b1, a, { border: 4 }));
  assert.ok(s1.psnr > s2.psnr && s1.ssim > s2.ssim);
  assert.ok(s1.ssim <= 1 && s2.ssim > -1);
  // differences confined to the border vanish once it is removed
  const edged = image(40, 32, 3, (x, y, c) => (x < 3 || y >= 29 ? 0 : a.data[(y * 40 + x) * 3 + c]!));
  assert.ok(psnr(a, edged) < 40);
  assert.equal(psnr(a, edged, { border: 3 }), Infinity);
});

test('both inputs are rounded to 8 bits first', () => {
  const a = image(12, 12, 3, (x, y, c) => ((x * 7 + y * 3 + c * 11) % 256) / 255);
  const nudged = image(12, 12, 3, (x, y, c) => a.data[(y * 12 + x) * 3 + c]! + 0.4 / 255);
  assert.equal(psnr(a, nudged), Infinity);
  const over = image(12, 12, 3, () => 1.3);
  const white = image(12, 12, 3, () => 1);
  assert.equal(psnr(over, white), Infinity);
});

test('mismatched shapes and oversized borders are SrErrors naming the shapes', () => {
  const a = image(12, 12, 3, () => 0);
  assert.throws(() => psnr(a, image(12, 10, 3, () => 0)), (e: unknown) => e instanceof SrError && /12x12x3.*12x10x3/.test(e.message));
  assert.throws(() => psnr(a, image(12, 12, 1, () => 0)), SrError);
  assert.throws(() => psnr(a, a, { border: 6 }), /too small for a border of 6/);
  assert.throws(() => ssim(a, a, { border: 1 }), /SSIM needs at least 11x11/);
});
