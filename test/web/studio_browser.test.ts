// The studio in Chromium with the WASM backend: an image is upscaled tile by tile in the worker;
// the "before" canvas must be MATLAB bicubic to the sample, the "after" canvas the model's own
// output (checked against the same ONNX model run whole in Node), the alpha dial must give the
// blended network, and bad inputs must give a message in the page. Screenshots go to
// $SRGAN_SCREENSHOTS (default <tmp>/srgan-screenshots).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as ort from 'onnxruntime-web';
import type { Browser, Page } from 'playwright-core';
import { loadImage8 } from '../../src/io/image.js';
import { imresize8 } from '../../src/image/resize.js';
import { blendOnnx } from '../../src/web/onnx_wire.js';
import { tinyModel } from '../../src/web/tiny_model.js';
import { catalogFromDir } from '../../src/web/models.js';
import { serveStudio, type StudioServer } from '../../src/web/server.js';
import { writeTextureImage } from '../helpers/images.js';
import { browserSkipReason, launchBrowser, screenshotDir } from './browser.js';
import { tempDir } from '../helpers/tmp.js';

const skip = browserSkipReason();
const dir = tempDir('srgan-studio-');
let server: StudioServer | undefined;
let browser: Browser | undefined;
const W = 96;
const H = 72;

before(async () => {
  if (skip) return;
  const models = join(dir, 'models');
  mkdirSync(models);
  writeFileSync(join(models, 'srresnet.onnx'), tinyModel(1));
  writeFileSync(join(models, 'srgan.onnx'), tinyModel(2));
  await writeTextureImage(join(dir, 'tex.png'), W, H, 5);
  await writeTextureImage(join(dir, 'big.png'), 130, 100, 6);
  // The limit is lowered so that a "too large" image stays small enough for a quick test.
  server = await serveStudio({ catalog: await catalogFromDir(models), port: 0, limits: { maxPixels: 10_000 } });
  browser = await launchBrowser();
  ort.env.wasm.numThreads = 1;
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** The model run on the whole image in Node, as 8-bit RGB. */
async function reference(bytes: Uint8Array): Promise<Uint8Array> {
  const img = await loadImage8(join(dir, 'tex.png'));
  const x = new Float32Array(3 * W * H);
  for (let p = 0; p < W * H; p++) for (let c = 0; c < 3; c++) x[c * W * H + p] = img.data[3 * p + c]! / 255;
  const s = await ort.InferenceSession.create(bytes);
  const y = (await s.run({ lr: new ort.Tensor('float32', x, [1, 3, H, W]) }))['sr']!.data as Float32Array;
  await s.release();
  const n = 16 * W * H;
  const out = new Uint8Array(3 * n);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) out[3 * p + c] = Math.max(0, Math.min(255, Math.floor(((y[c * n + p]! + 1) / 2) * 255 + 0.5)));
  return out;
}

async function canvasRgb(page: Page, id: string): Promise<{ width: number; height: number; rgb: Uint8Array }> {
  const r = await page.evaluate((sel) => {
    const c = document.getElementById(sel) as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let bin = '';
    for (let i = 0; i < d.length; i += 4) bin += String.fromCharCode(d[i]!, d[i + 1]!, d[i + 2]!);
    return { width: c.width, height: c.height, b64: btoa(bin) };
  }, id);
  return { width: r.width, height: r.height, rgb: new Uint8Array(Buffer.from(r.b64, 'base64')) };
}

function diff(a: Uint8Array, b: Uint8Array): { mean: number; max: number } {
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    sum += d;
    if (d > max) max = d;
  }
  return { mean: sum / a.length, max };
}

async function waitDone(page: Page, trigger: () => Promise<unknown>): Promise<void> {
  await page.evaluate(() => (document.body.dataset['state'] = 'waiting'));
  await trigger();
  await page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset['state'] ?? ''), null, { timeout: 60_000 });
  const state = await page.evaluate(() => document.body.dataset['state']);
  assert.equal(state, 'done', `upscaling ended in '${state}': ${await page.textContent('#message')}`);
}

test('an image is upscaled x4 in the browser, tile by tile, with the alpha dial and a download', { skip }, async () => {
  const page = await browser!.newPage({ viewport: { width: 1100, height: 760 }, acceptDownloads: true });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    // 32 px tiles with 8 px overlap: a 96x72 image is 4 x 3 tiles.
    await page.goto(`${server!.url}?tile=32&overlap=8&backend=wasm`);
    await page.waitForFunction(() => document.body.dataset['state'] === 'ready');
    assert.deepEqual(await page.$$eval('#model option', (o) => o.map((x) => (x as HTMLOptionElement).value)), ['__dial', 'srgan', 'srresnet']);
    assert.equal(await page.isVisible('#dialBox'), true);
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { statuses: string[] }).statuses = seen;
      new MutationObserver(() => seen.push(document.getElementById('statusText')!.textContent ?? '')).observe(document.getElementById('statusText')!, { childList: true, characterData: true, subtree: true });
    });

    const t0 = performance.now();
    await waitDone(page, () => page.setInputFiles('#file', join(dir, 'tex.png')));
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(await page.evaluate(() => document.body.dataset['backend']), 'wasm');
    const statuses = await page.evaluate(() => (window as unknown as { statuses: string[] }).statuses);
    assert.ok(statuses.includes('tile 1 of 12') && statuses.includes('tile 12 of 12'), `progress shown per tile: ${statuses.join(' | ')}`);

    const bic = await canvasRgb(page, 'before');
    const sr = await canvasRgb(page, 'after');
    assert.deepEqual([sr.width, sr.height, bic.width, bic.height], [4 * W, 4 * H, 4 * W, 4 * H]);
    const lr = await loadImage8(join(dir, 'tex.png'));
    const want = imresize8(lr, { scale: 4 }, 'bicubic');
    assert.equal(diff(bic.rgb, want.data).max, 0, 'the before canvas is MATLAB bicubic');
    const vsBicubic = diff(sr.rgb, bic.rgb);
    assert.ok(vsBicubic.mean > 5, `the model's pixels differ from bicubic (mean ${vsBicubic.mean.toFixed(2)})`);
    // alpha 1 is the second model; tiled with feathering it matches the whole-image run closely.
    const b = tinyModel(2);
    const vsModel = diff(sr.rgb, await reference(b));
    assert.ok(vsModel.mean < 0.3 && vsModel.max <= 12, `tiles match the whole-image model output (mean ${vsModel.mean.toFixed(3)}, max ${vsModel.max})`);

    // The dial at 0.5 fetches the server's blend of the two networks.
    await waitDone(page, () =>
      page.$eval('#alpha', (el) => {
        const input = el as HTMLInputElement;
        input.value = '0.5';
        input.dispatchEvent(new Event('input'));
        input.dispatchEvent(new Event('change'));
      }),
    );
    assert.equal(await page.textContent('#alphaOut'), '0.50');
    const half = await canvasRgb(page, 'after');
    const vsBlend = diff(half.rgb, await reference(blendOnnx(tinyModel(1), b, 0.5)));
    assert.ok(vsBlend.mean < 0.3, `alpha 0.5 is the interpolated network (mean ${vsBlend.mean.toFixed(3)})`);
    assert.ok(diff(half.rgb, sr.rgb).mean > 1, 'and not the alpha 1 network');

    // Divider dragged to a third, lens over the middle; then the screenshot.
    const box = (await page.locator('#compare').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 3, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    assert.equal(await page.getAttribute('#divider', 'aria-valuenow'), '33');
    await page.mouse.move(box.x + box.width * 0.36, box.y + box.height * 0.45);
    assert.equal(await page.isVisible('#lens'), true);
    await page.screenshot({ path: join(screenshotDir(), 'studio.png') });

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    assert.equal(download.suggestedFilename(), 'tex-x4-alpha0.50.png');
    const saved = join(dir, 'download.png');
    await download.saveAs(saved);
    const meta = await sharp(saved).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 4 * W, 4 * H]);
    assert.deepEqual(errors, []);
    process.stderr.write(`studio: first upscale ${seconds.toFixed(2)} s (model download, session, 12 tiles)\n`);
  } finally {
    await page.close();
  }
});

test('the studio says clearly what is wrong with a bad input', { skip }, async () => {
  const page = await browser!.newPage({ viewport: { width: 1100, height: 500 } });
  try {
    await page.goto(`${server!.url}?backend=wasm`);
    await page.waitForFunction(() => document.body.dataset['state'] === 'ready');
    const tryFile = async (file: Parameters<Page['setInputFiles']>[1]): Promise<string> => {
      await page.evaluate(() => (document.body.dataset['state'] = 'waiting'));
      await page.setInputFiles('#file', file);
      await page.waitForFunction(() => document.body.dataset['state'] === 'error');
      return (await page.textContent('#message')) ?? '';
    };
    assert.match(await tryFile({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') }), /notes\.txt is not an image \(text\/plain\)/);
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
    const broken = Buffer.concat([png.subarray(0, 40), Buffer.alloc(60, 7)]);
    assert.match(await tryFile({ name: 'broken.png', mimeType: 'image/png', buffer: broken }), /broken\.png could not be decoded/);
    assert.match(await tryFile({ name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) }), /empty\.png is empty/);
    assert.match(await tryFile(join(dir, 'big.png')), /big\.png is too large: 130×100 \(13,000 pixels\)\. The studio upscales images up to 10,000 pixels and 2048 px a side/);
    assert.equal(await page.isVisible('#compare'), false);
    await page.screenshot({ path: join(screenshotDir(), 'studio-error.png') });
  } finally {
    await page.close();
  }
});
