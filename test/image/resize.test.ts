import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SrError } from '../../src/util/errors.js';
import { imresize, imresize8, imresizeAs8, imresizePlane, imresizeRows, resizePlan, weightTable, type ResizeMethod } from '../../src/image/resize.js';
import type { Image, Image8 } from '../../src/image/image.js';

function image(width: number, height: number, channels: 1 | 3, f: (x: number, y: number, c: number) => number): Image {
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = f(x, y, c);
  return { width, height, channels, data };
}

const methods: ResizeMethod[] = ['bicubic', 'bilinear', 'nearest'];

test('a constant image stays constant', () => {
  const img = image(37, 23, 3, (_x, _y, c) => [0.25, 0.5, 0.8][c]!);
  for (const m of methods) {
    for (const size of [{ scale: 0.25 }, { scale: 1 / 3 }, { scale: 0.7 }, { scale: 2 }, { scale: 3 }, { width: 50, height: 11 }]) {
      const out = imresize(img, size, m);
      for (let i = 0; i < out.data.length; i++) assert.ok(Math.abs(out.data[i]! - [0.25, 0.5, 0.8][i % 3]!) < 1e-6, `${m} ${JSON.stringify(size)}`);
    }
  }
  const u8: Image8 = { width: 20, height: 12, channels: 1, data: new Uint8Array(240).fill(173) };
  for (const m of methods) for (const s of [0.25, 0.5, 3]) assert.ok(imresize8(u8, { scale: s }, m).data.every((v) => v === 173));
});

test('a linear ramp stays linear away from the borders', () => {
  const n = 64;
  const ramp = image(n, 4, 1, (x) => (x + 1) / 100); // value = (1-based column) / 100
  const cases: [ResizeMethod, number][] = [
    ['bicubic', 2],
    ['bicubic', 3],
    ['bicubic', 0.5],
    ['bicubic', 0.25],
    ['bilinear', 2],
    ['bilinear', 0.5],
  ];
  for (const [m, s] of cases) {
    const out = imresize(ramp, { width: Math.ceil(n * s), height: 4 }, m);
    const kw = (m === 'bicubic' ? 4 : 2) / Math.min(1, s);
    let checked = 0;
    for (let x = 1; x <= out.width; x++) {
      const u = x / s + 0.5 * (1 - 1 / s); // MATLAB's mapping
      if (u - kw / 2 - 1 < 1 || u + kw / 2 + 1 > n) continue;
      assert.ok(Math.abs(out.data[x - 1]! - u / 100) < 1e-6, `${m} x${s} at ${x}: ${out.data[x - 1]} vs ${u / 100}`);
      checked++;
    }
    assert.ok(checked > 5, `${m} x${s}: too few interior samples`);
  }
});

test('4x4 checkerboard shrunk by 2 (bicubic, antialiased) gives the hand-derived values', () => {
  // Scale 1/2 stretches the kernel to width 8; output 1 samples u = 1.5 and its taps j = -3..6
  // mirror onto inputs 1..4 with total weights [0.546875, 0.3984375, 0.1015625, -0.046875]
  // (output 2 takes them reversed). For c = (1 - (-1)^(i+j)) / 2 the separable result is
  // 1/2 -+ 1/2 * s^2 with s = 0.546875 - 0.3984375 + 0.1015625 + 0.046875 = 0.296875.
  const board = image(4, 4, 1, (x, y) => (x + y) % 2);
  const out = imresize(board, { scale: 0.5 }, 'bicubic');
  const lo = 0.5 - 0.5 * 0.296875 ** 2; // 0.4559326171875
  const hi = 0.5 + 0.5 * 0.296875 ** 2;
  assert.equal(out.width, 2);
  assert.equal(out.height, 2);
  [lo, hi, hi, lo].forEach((v, i) => assert.ok(Math.abs(out.data[i]! - v) < 1e-6, `${i}: ${out.data[i]} vs ${v}`));
  // On uint8 0/255: rows first, rounded: 0.3515625*255 = 89.65 -> 90, 0.6484375*255 = 165.35 -> 165;
  // then the columns of [90 165 90 165]: 116.37 -> 116 and 138.63 -> 139.
  const u8: Image8 = { width: 4, height: 4, channels: 1, data: Uint8Array.from({ length: 16 }, (_, i) => (((i % 4) + Math.floor(i / 4)) % 2) * 255) };
  assert.deepEqual(Array.from(imresize8(u8, { scale: 0.5 }, 'bicubic').data), [116, 139, 139, 116]);
});

test('bilinear [0 1] up by 2 is [0 0.25 0.75 1], as MATLAB gives', () => {
  const out = imresize(image(2, 1, 1, (x) => x), { scale: 2 }, 'bilinear');
  assert.deepEqual(Array.from(out.data.subarray(0, 4)), [0, 0.25, 0.75, 1]);
});

test('nearest replicates when enlarging and picks every second sample when halving', () => {
  const row = image(6, 1, 1, (x) => (x + 1) / 10);
  const down = imresize(row, { width: 3, height: 1 }, 'nearest');
  assert.deepEqual(Array.from(down.data, (v) => Math.round(v * 10)), [2, 4, 6]);
  const up = imresize(image(2, 2, 1, (x, y) => (x + 2 * y) / 4), { scale: 3 }, 'nearest');
  assert.equal(up.width, 6);
  for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) assert.equal(up.data[y * 6 + x], (Math.floor(x / 3) + 2 * Math.floor(y / 3)) / 4);
});

test('weight tables: rows sum to 1, kernel stretched when shrinking', () => {
  const t = weightTable(100, 25, 0.25, 'bicubic', true);
  assert.equal(t.taps, 18); // ceil(4 / 0.25) + 2
  for (let i = 0; i < t.outLen; i++) {
    let s = 0;
    for (let k = 0; k < t.taps; k++) s += t.w[i * t.taps + k]!;
    assert.ok(Math.abs(s - 1) < 1e-12);
    for (let k = 0; k < t.taps; k++) assert.ok(t.idx[i * t.taps + k]! >= 0 && t.idx[i * t.taps + k]! < 100);
  }
  assert.equal(weightTable(100, 25, 0.25, 'bicubic', false).taps, 6);
});

test('MATLAB dimension order: the smaller scale first, height on ties', () => {
  assert.equal(resizePlan(20, 20, { scale: 0.5 }).rowsFirst, true);
  assert.equal(resizePlan(20, 20, { width: 10, height: 20 }).rowsFirst, false);
  assert.equal(resizePlan(20, 20, { width: 20, height: 10 }).rowsFirst, true);
  assert.deepEqual(resizePlan(255, 99, { scale: 1 / 3 }), { outWidth: 85, outHeight: 33, scaleX: 1 / 3, scaleY: 1 / 3, rowsFirst: true });
});

test('uint8 resize rounds after each dimension, the float one only at the end', () => {
  // Random data: the two agree to within one level, and they do differ somewhere.
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
  const img = image(40, 40, 3, () => Math.round(rnd() * 255) / 255);
  const a = imresizeAs8(img, { scale: 0.25 });
  const b = imresize(img, { scale: 0.25 });
  let differ = 0;
  for (let i = 0; i < a.data.length; i++) {
    const qa = Math.round(a.data[i]! * 255);
    const qb = Math.min(255, Math.max(0, Math.floor(b.data[i]! * 255 + 0.5)));
    assert.ok(Math.abs(qa - qb) <= 1);
    if (qa !== qb) differ++;
  }
  assert.ok(differ > 0);
});

test('alpha is resized with the colour', () => {
  const img: Image = { ...image(8, 8, 3, () => 0.5), alpha: new Float32Array(64).fill(1) };
  const out = imresize(img, { scale: 0.5 });
  assert.ok(out.alpha);
  assert.equal(out.alpha.length, 16);
  assert.ok(out.alpha.every((v) => Math.abs(v - 1) < 1e-6));
});

test('a float64 plane (any range, as NIQE halves its 0..255 Y) resizes like a grey image, without float32 rounding', () => {
  const img = image(41, 30, 1, (x, y) => ((x * 13 + y * 7) % 23) / 23);
  const plane = { width: 41, height: 30, data: Float64Array.from(img.data, (v) => v * 255) };
  const half = imresizePlane(plane, { scale: 0.5 }, 'bicubic');
  const ref = imresize(img, { scale: 0.5 }, 'bicubic');
  assert.deepEqual([half.width, half.height], [21, 15]);
  assert.ok(half.data instanceof Float64Array);
  for (let i = 0; i < half.data.length; i++) assert.ok(Math.abs(half.data[i]! - ref.data[i]! * 255) < 1e-4, `sample ${i}`);
});

test('a band of output rows equals those rows of the whole resize (rows first and columns first)', () => {
  const img = image(23, 17, 3, (x, y, c) => Math.sin(x * 0.7 + y * 1.3 + c));
  for (const m of methods) {
    // x4 both ways (rows first), and wider than tall (columns first: the smaller scale goes first)
    for (const size of [{ scale: 4 }, { width: 23 * 2, height: 17 * 5 }, { scale: 0.5 }]) {
      const whole = imresize(img, size, m);
      const rowLen = whole.width * 3;
      for (const [y0, y1] of [[0, 1], [0, 7], [5, 20], [whole.height - 3, whole.height]]) {
        if (y1 > whole.height) continue;
        const band = imresizeRows(img, size, m, y0, y1);
        assert.deepEqual([band.width, band.height], [whole.width, y1 - y0]);
        assert.deepEqual(Array.from(band.data), Array.from(whole.data.subarray(y0 * rowLen, y1 * rowLen)), `${m} ${JSON.stringify(size)} rows ${y0}..${y1}`);
      }
    }
  }
  assert.throws(() => imresizeRows(img, { scale: 2 }, 'bicubic', 30, 40), /rows 30\.\.40 are not within the 34 output rows/);
});

test('bad sizes are SrErrors', () => {
  const img = image(4, 4, 1, () => 0);
  assert.throws(() => imresize(img, { scale: 0 }), SrError);
  assert.throws(() => imresize(img, { width: 0, height: 3 }), SrError);
  assert.throws(() => imresize(img, { scale: 2 }, 'lanczos' as ResizeMethod), /unknown resize method 'lanczos'/);
  assert.throws(() => imresize({ ...img, data: new Float32Array(3) }, { scale: 2 }), /data has 3 values/);
});

test('throughput: degrading 1024x768 RGB by 1/4 (uint8, as the protocol and the patch workers do)', (t) => {
  const w = 1024;
  const h = 768;
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (Math.imul(i, 2654435761) >>> 24) & 255;
  const img: Image8 = { width: w, height: h, channels: 3, data };
  imresize8(img, { scale: 0.25 }); // warm-up (JIT, weight tables)
  const runs = 5;
  const t0 = performance.now();
  for (let r = 0; r < runs; r++) imresize8(img, { scale: 0.25 });
  const secs = (performance.now() - t0) / 1000;
  const mps = (runs * w * h) / 1e6 / secs;
  const msg = `imresize8 bicubic 1/4 of 1024x768 RGB: ${((secs / runs) * 1000).toFixed(1)} ms/image, ${mps.toFixed(1)} MP/s (an 80-image training set: ${((80 * secs) / runs).toFixed(1)} s)`;
  t.diagnostic(msg);
  // loose: only a pathological slowdown fails on a busy shared machine
  assert.ok(mps > 3, msg);
});
