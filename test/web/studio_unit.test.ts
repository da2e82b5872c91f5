// The studio's pieces that need no browser: its RGBA adapters over the MATLAB-exact resize and the
// project's tiler, the modules the server hands the browser, and the ONNX wire helpers (inspect,
// blend, tiny models) run through onnxruntime-web's Node build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { SrError } from '../../src/util/errors.js';
import { imresize8 } from '../../src/image/resize.js';
import { bicubicRgba, upscaleRgba } from '../../src/web/client/rgba.js';
import { planTiles } from '../../src/inference/tiling.js';
import { blendOnnx, inspectOnnx } from '../../src/web/onnx_wire.js';
import { tinyModel } from '../../src/web/tiny_model.js';
import { describeOnnx, tinyCatalog } from '../../src/web/models.js';
import { moduleTable, parseAlpha } from '../../src/web/server.js';
import { seeded } from '../helpers/tf.js';

function randomRgba(w: number, h: number, seed: number, opaque = true): Uint8ClampedArray {
  const r = seeded(seed);
  const px = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < px.length; i++) px[i] = (i & 3) === 3 && opaque ? 255 : Math.floor(r() * 256);
  return px;
}

test("the page's bicubic equals MATLAB imresize on uint8, colour and alpha", () => {
  for (const [w, h, seed] of [[13, 9, 1], [4, 7, 2], [1, 3, 3]] as const) {
    const rgba = randomRgba(w, h, seed, false);
    const got = bicubicRgba(rgba, w, h, 4);
    const rgb = new Uint8Array(w * h * 3);
    const alpha = new Uint8Array(w * h);
    for (let p = 0; p < w * h; p++) {
      rgb.set(rgba.subarray(4 * p, 4 * p + 3), 3 * p);
      alpha[p] = rgba[4 * p + 3]!;
    }
    const want = imresize8({ width: w, height: h, channels: 3, data: rgb, alpha }, { scale: 4 }, 'bicubic');
    assert.equal(got.length, w * h * 16 * 4);
    let diff = 0;
    for (let p = 0; p < w * h * 16; p++) {
      for (let c = 0; c < 3; c++) diff += Number(got[4 * p + c] !== want.data[3 * p + c]);
      diff += Number(got[4 * p + 3] !== want.alpha![p]);
    }
    assert.equal(diff, 0, `${w}x${h}: samples differ`);
  }
});

test("the page's modules are served with what they import, and none reaches Node", async () => {
  const table = await moduleTable(fileURLToPath(new URL('../../src/', import.meta.url)));
  for (const m of ['web/client/studio.js', 'web/client/worker.js', 'web/client/rgba.js', 'image/resize.js', 'image/image.js', 'inference/tiling.js', 'util/errors.js']) {
    assert.ok(table.has(m), `${m} is served`);
  }
  assert.ok(![...table.keys()].some((k) => /^(io|data|eval)\//.test(k)), `only the pure modules: ${[...table.keys()].join(', ')}`);
});

test("the project's tiler, through the page's adapter, equals the whole-image result for a local model", async () => {
  // "Model": nearest-neighbour x3 mapped to [-1, 1]; local, so tiling must not change anything.
  const s = 3;
  for (const planar of [true, false]) {
    const w = 37;
    const h = 23;
    const rgba = randomRgba(w, h, 7);
    let tiles = 0;
    const progress: number[] = [];
    const out = await upscaleRgba({
      rgba,
      width: w,
      height: h,
      scale: s,
      tileSize: 16,
      overlap: 4,
      planar,
      outputRange: [-1, 1],
      onProgress: (p: { done: number; total: number }) => progress.push(p.done / p.total),
      run: async (rgb: Float32Array, th: number, tw: number) => {
        tiles++;
        const n = th * tw;
        const o = new Float32Array(n * s * s * 3);
        for (let y = 0; y < th * s; y++) {
          for (let x = 0; x < tw * s; x++) {
            const p = Math.floor(y / s) * tw + Math.floor(x / s);
            const q = y * tw * s + x;
            for (let c = 0; c < 3; c++) o[planar ? c * n * s * s + q : 3 * q + c] = 2 * rgb[planar ? c * n + p : 3 * p + c]! - 1;
          }
        }
        return o;
      },
    });
    assert.equal(tiles, planTiles(w, h, 16, 4).length);
    assert.ok(tiles > 2, 'the image is cut into several tiles');
    assert.equal(progress[progress.length - 1], 1);
    let bad = 0;
    for (let y = 0; y < h * s; y++) {
      for (let x = 0; x < w * s; x++) {
        const src = (Math.floor(y / s) * w + Math.floor(x / s)) * 4;
        const dst = (y * w * s + x) * 4;
        for (let c = 0; c < 3; c++) bad += Number(out[dst + c] !== rgba[src + c]);
        bad += Number(out[dst + 3] !== 255);
      }
    }
    assert.equal(bad, 0, `planar=${planar}`);
  }
});

test('tiled upscaling stops when cancelled', async () => {
  let calls = 0;
  await assert.rejects(
    upscaleRgba({
      rgba: randomRgba(40, 40, 1),
      width: 40,
      height: 40,
      scale: 2,
      tileSize: 16,
      overlap: 4,
      planar: true,
      outputRange: [0, 1],
      cancelled: () => calls >= 2,
      run: async (rgb: Float32Array, th: number, tw: number) => {
        calls++;
        return new Float32Array(th * tw * 4 * 3);
      },
    }),
    { name: 'AbortError' },
  );
  assert.equal(calls, 2);
});

async function runModel(bytes: Uint8Array, x: Float32Array, h: number, w: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    const r = await s.run({ lr: new ort.Tensor('float32', x, [1, 3, h, w]) });
    return r['sr']!.data as Float32Array;
  } finally {
    await s.release();
  }
}

test('tiny models run in ONNX Runtime; blending their weights blends their outputs', async () => {
  ort.env.wasm.numThreads = 1;
  const a = tinyModel(1);
  const b = tinyModel(2);
  const info = inspectOnnx(a);
  assert.deepEqual(info.inputs.map((i) => [i.name, i.dims]), [['lr', ['N', 3, 'H', 'W']]]);
  assert.equal(info.metadata['srgan-js.scale'], '4');
  assert.deepEqual(describeOnnx(a, 'a'), { layout: 'nchw', scale: 4, outputRange: [-1, 1], note: undefined });
  const x = new Float32Array(3 * 5 * 6).map((_, i) => ((i * 37) % 101) / 100);
  const ya = await runModel(a, x, 5, 6);
  const yb = await runModel(b, x, 5, 6);
  assert.equal(ya.length, 3 * 20 * 24);
  const y0 = await runModel(blendOnnx(a, b, 0), x, 5, 6);
  const yh = await runModel(blendOnnx(a, b, 0.25), x, 5, 6);
  let d0 = 0;
  let dh = 0;
  for (let i = 0; i < ya.length; i++) {
    d0 = Math.max(d0, Math.abs(y0[i]! - ya[i]!));
    dh = Math.max(dh, Math.abs(yh[i]! - (0.75 * ya[i]! + 0.25 * yb[i]!)));
  }
  assert.equal(d0, 0, 'alpha 0 is the first model');
  assert.ok(dh < 1e-5, `a linear model's output blends with its weights (${dh})`);
  assert.ok(tinyCatalog().dial, 'the demo catalog has a dial');
});

test('ONNX helpers refuse what they cannot use', () => {
  assert.throws(() => inspectOnnx(new Uint8Array([0xff, 0xff, 0xff]), 'junk'), (e: unknown) => e instanceof SrError && /junk is not a readable ONNX model/.test(e.message));
  assert.throws(() => blendOnnx(tinyModel(1, 4), tinyModel(1, 2), 0.5), /cannot blend .* differs in type or shape/);
  assert.throws(() => blendOnnx(tinyModel(1), tinyModel(2), 1.5), /alpha must be in \[0, 1\]/);
  assert.equal(parseAlpha('0.35'), 0.35);
  assert.equal(parseAlpha('1'), 1);
  assert.equal(parseAlpha('.5'), 0.5);
  assert.equal(parseAlpha('0.333'), 0.33);
  for (const bad of ['1.5', '-0', 'NaN', '', '0x1', '1e-1', null]) assert.throws(() => parseAlpha(bad), /alpha must be a number from 0 to 1/);
});
