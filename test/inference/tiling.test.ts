import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/tfjs/backend.js';
import { planAxis, planTiles, axisWeights, type TileRect } from '../../src/inference/tiling.js';
import { createUpscaler, type Upscaler } from '../../src/inference/upscale.js';
import { shippedModelPath } from '../../src/inference/model_source.js';
import type { Image } from '../../src/image/image.js';
import { writeTestModel, testPixels } from '../helpers/sr_models.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('srgan-tiling-');
let weights: string;
// 200x140 with tile 96 / overlap 32 gives 3 x 2 tiles: edges, and corners where four tiles meet.
const img: Image = { width: 200, height: 140, channels: 3, data: testPixels(200, 140, 11) };
const wholeOf = new Map<string, Image>();
const ups = new Map<string, Upscaler>();

before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  weights = await writeTestModel(join(dir, 'g.safetensors'), { blocks: 1, channels: 8, seed: 21 });
  for (const engine of ['tfjs', 'onnx'] as const) {
    const up = await createUpscaler({ model: weights, engine });
    ups.set(engine, up);
    // One tile larger than the image: whole-image inference.
    wholeOf.set(engine, await up.upscaleImage(img, { tileSize: 256, overlap: 0 }));
  }
});
after(async () => {
  for (const up of ups.values()) await up.dispose();
});

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

test('tiles cover each axis with equal overlaps, none larger than asked', () => {
  for (const [len, tile, overlap] of [[1000, 192, 16], [193, 192, 16], [192, 192, 16], [50, 192, 16], [777, 100, 33], [4096, 192, 0]] as const) {
    const spans = planAxis(len, tile, overlap);
    assert.equal(spans[0]![0], 0);
    assert.equal(spans.at(-1)![1], len);
    for (const [a, b] of spans) assert.ok(b - a <= tile && b - a >= Math.min(len, 2 * overlap), `${len}/${tile}/${overlap}: span ${a}..${b}`);
    for (let i = 1; i < spans.length; i++) assert.equal(spans[i - 1]![1] - spans[i]![0], overlap);
    const sizes = spans.map(([a, b]) => b - a);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, 'sizes spread evenly');
  }
  assert.throws(() => planTiles(100, 100, 40, 16), /at least 3x the overlap/);
});

const pixels = (tiles: TileRect[]) => tiles.reduce((a, t) => a + t.width * t.height, 0);

test('the tile plan balances the workers with the least overlap, within the tile budget', () => {
  // 256x256 on two workers: one 256x144 tile each (1.125x the pixels), where the square 192 px
  // grid made four 144x144 tiles, two per worker (1.27x)
  const two = planTiles(256, 256, 192, 32, 2);
  assert.deepEqual(two.map((t) => [t.x, t.y, t.width, t.height]), [[0, 0, 256, 144], [0, 112, 256, 144]]);
  assert.equal(pixels(two) / (256 * 256), 1.125);
  // a small image is split for the second worker only when there is overlap to hide the seam
  assert.equal(planTiles(200, 72, 192, 32, 2).length, 2);
  assert.equal(planTiles(200, 72, 192, 32, 1).length, 1);
  assert.equal(planTiles(200, 140, 256, 0, 2).length, 1);
  for (const [w, h, tile, overlap, workers] of [[1024, 768, 192, 32, 2], [1024, 768, 192, 32, 1], [6000, 4000, 192, 32, 2], [1000, 50, 192, 32, 2], [777, 333, 100, 33, 3], [4096, 17, 64, 0, 2], [3000, 3000, 16, 0, 2]] as const) {
    const t0 = performance.now();
    const tiles = planTiles(w, h, tile, overlap, workers);
    // Generous: the search is bounded to a few ms, but a loaded machine can stall any thread.
    assert.ok(performance.now() - t0 < 1000, `planning ${w}x${h} took ${(performance.now() - t0).toFixed(0)} ms`);
    const what = `${w}x${h} tile ${tile} overlap ${overlap}, ${workers} workers`;
    for (const t of tiles) assert.ok(t.width * t.height <= tile * tile, `${what}: a ${t.width}x${t.height} tile is over the budget`);
    // row-major rows of tiles that cover the image, neighbours overlapping by exactly `overlap`
    const xs = [...new Set(tiles.map((t) => `${t.x},${t.width}`))].map((k) => k.split(',').map(Number) as [number, number]);
    const ys = [...new Set(tiles.map((t) => `${t.y},${t.height}`))].map((k) => k.split(',').map(Number) as [number, number]);
    assert.equal(tiles.length, xs.length * ys.length, what);
    for (const [spans, len] of [[xs, w], [ys, h]] as const) {
      assert.equal(spans[0]![0], 0);
      assert.equal(spans.at(-1)![0] + spans.at(-1)![1], len);
      for (let i = 1; i < spans.length; i++) assert.equal(spans[i - 1]![0] + spans[i - 1]![1] - spans[i]![0], overlap, what);
    }
    tiles.forEach((t, i) => assert.equal(t.index, i));
    // found quickly, and never more pixels than the square grid of the same budget
    assert.ok(pixels(tiles) <= planAxis(w, tile, overlap).reduce((a, [x0, x1]) => a + x1 - x0, 0) * planAxis(h, tile, overlap).reduce((a, [y0, y1]) => a + y1 - y0, 0), what);
  }
});

test('blend weights are a partition of unity (every HR pixel sums to 1)', () => {
  for (const [len, tile, overlap, scale] of [[300, 96, 32, 4], [181, 64, 16, 2], [90, 64, 0, 4]] as const) {
    const sum = new Float64Array(len * scale);
    for (const [a, b] of planAxis(len, tile, overlap)) {
      const w = axisWeights(a, b, len, overlap, scale);
      for (let i = 0; i < w.length; i++) sum[a * scale + i]! += w[i]!;
    }
    for (let i = 0; i < sum.length; i++) assert.ok(Math.abs(sum[i]! - 1) < 1e-6, `${len}/${tile}/${overlap}: pixel ${i} sums to ${sum[i]}`);
  }
  // the quarter of the overlap nearest a tile's inner edge carries no weight
  const w = axisWeights(64, 160, 300, 32, 1);
  assert.equal(w[0], 0);
  assert.equal(w[7], 0);
  assert.ok(w[8]! > 0 && w[23]! < 1 && w[24] === 1);
});

for (const engine of ['tfjs', 'onnx'] as const) {
  test(`tiled upscaling equals the whole image within 1/255 everywhere (${engine})`, async () => {
    const up = ups.get(engine)!;
    const seen: number[] = [];
    const tiled = await up.upscaleImage(img, { tileSize: 96, overlap: 32, onProgress: (p) => seen.push(p.done + 100 * p.total) });
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6].map((d) => d + 600), 'progress per tile, in order');
    const d = maxDiff(tiled.data, wholeOf.get(engine)!.data);
    assert.ok(d <= 1 / 255, `max |tiled - whole| = ${d} (${(d * 255).toFixed(3)}/255)`);
    // and no seam at all where the margins cover the receptive field (overlap 40 -> 10 px margin)
    const wide = await up.upscaleImage(img, { tileSize: 120, overlap: 40 });
    assert.ok(maxDiff(wide.data, wholeOf.get(engine)!.data) < 1e-5);
  });
}

test('ONNX Runtime and TF.js agree within 1e-3 on the [0, 1] output', () => {
  const d = maxDiff(wholeOf.get('onnx')!.data, wholeOf.get('tfjs')!.data);
  assert.ok(d < 1e-3, `max |onnx - tfjs| = ${d}`);
  let spread = 0;
  for (const v of wholeOf.get('onnx')!.data) if (v > 0.02 && v < 0.98) spread++;
  assert.ok(spread > 0.9 * img.width * img.height * 48, 'outputs are mostly unclipped, so the comparison means something');
});

for (const name of ['srresnet', 'srgan'] as const) {
  const file = shippedModelPath(name, 4);
  test(`shipped ${name}-x4: default tile and overlap equal the whole image within 1/255`, { skip: !existsSync(file) && `${file} is not there yet` }, async () => {
    const up = await createUpscaler({ model: name, engine: 'onnx' });
    try {
      const photo: Image = { width: 200, height: 72, channels: 3, data: testPixels(200, 72, 5) };
      const whole = await up.upscaleImage(photo, { tileSize: 256, overlap: 0 });
      const tiled = await up.upscaleImage(photo); // default 192 / 32: two tiles side by side
      const d = maxDiff(tiled.data, whole.data);
      assert.ok(d <= 1 / 255, `max |tiled - whole| = ${(d * 255).toFixed(3)}/255`);
    } finally {
      await up.dispose();
    }
  });
}
