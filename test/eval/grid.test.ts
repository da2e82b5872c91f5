// The sub-pixel grid metric (src/eval/grid.ts) against a pattern whose strength is known exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gridStrength } from '../../src/eval/grid.js';
import { evaluate } from '../../src/eval/protocol.js';
import { resolveMethods, type Method } from '../../src/inference/methods.js';
import type { Image } from '../../src/image/image.js';
import { makeImageFolder } from '../helpers/images.js';
import { testTempDir } from '../helpers/tmp.js';

/** A grey image in whole 8-bit levels: a linear ramp (which a 3x3 high-pass removes exactly) plus `pattern` repeated every `p` pixels. */
function rampWith(width: number, height: number, p: number, pattern: number[]): Image {
  const data = new Float32Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = (40 + x + 2 * y + pattern[(y % p) * p + (x % p)]!) / 255;
  return { width, height, channels: 1, data };
}

/** What the metric must give for a periodic pattern: the RMS over phases of (pattern - its 3x3 mean), on the torus. */
function expected(p: number, pattern: number[]): number {
  const hp = pattern.map((v, k) => {
    const [py, px] = [Math.floor(k / p), k % p];
    let box = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) box += pattern[((py + dy + p) % p) * p + ((px + dx + p) % p)]!;
    return v - box / 9;
  });
  const mu = hp.reduce((a, b) => a + b, 0) / hp.length;
  return Math.sqrt(hp.reduce((a, v) => a + (v - mu) ** 2, 0) / hp.length);
}

test('grid strength: zero for a ramp, exactly the periodic part of a ramp plus a period-4 pattern, and blind to other periods', () => {
  assert.ok(gridStrength(rampWith(64, 48, 4, new Array(16).fill(0)), 4) < 1e-9);
  const pattern = [3, -2, 0, 1, -1, 4, -3, 0, 2, 0, -1, -2, 0, 1, 2, -3];
  const want = expected(4, pattern);
  assert.ok(want > 1);
  // borders that are multiples of the period keep the phases
  for (const border of [0, 4, 8]) {
    const got = gridStrength(rampWith(64, 48, 4, pattern), 4, { border });
    assert.ok(Math.abs(got - want) < 1e-9, `border ${border}: ${got} vs ${want}`);
  }
  // a period-3 pattern is not the x4 grid: it averages out over the phases of 4 (up to the edges)
  const three = [2, -1, -1, -1, 2, -1, -1, -1, 2];
  assert.ok(gridStrength(rampWith(96, 96, 3, three), 4) < 0.05 * expected(3, three));
  assert.throws(() => gridStrength(rampWith(64, 48, 4, pattern), 4, { border: 2 }), /border 2 must be a multiple of the period 4/);
  assert.throws(() => gridStrength(rampWith(8, 8, 4, pattern), 4), /too small for period 4/);
});

test('evaluate with the grid metric scores every output and the HR, and finds a planted checkerboard', async (t) => {
  const dir = await makeImageFolder(testTempDir(t, 'grid-eval-'), 2, 96, 80, 7);
  const [bicubic] = await resolveMethods('bicubic');
  // bicubic plus a +-3 level checkerboard
  const gridded: Method = {
    name: 'gridded',
    run: async (lr, o) => {
      const up = await bicubic!.run(lr, o);
      const data = up.data.map((v, i) => {
        const px = Math.floor(i / up.channels);
        return v + ((Math.floor(px / up.width) + (px % up.width)) % 2 ? 3 : -3) / 255;
      });
      return { ...up, data };
    },
  };
  const r = await evaluate({ dir, scale: 2, methods: [bicubic!, gridded], metrics: ['psnr', 'grid'] });
  assert.ok(r.referenceMean!.grid! >= 0 && r.referenceMean!.niqe === undefined);
  assert.ok(r.mean['gridded']!.grid! > 2, `planted checkerboard: ${r.mean['gridded']!.grid}`);
  assert.ok(r.mean['bicubic']!.grid! < 0.5, `bicubic: ${r.mean['bicubic']!.grid}`);
  for (const img of r.images) assert.ok(img.reference!.grid! >= 0);
});
