// Where the README's tiling and crop-size figures come from (not a test):
//  1. seams: max |tiled - whole| on a 200x72 image, 192 px tiles, for several overlaps;
//  2. context: on Set5 x4, each image's mean error (SR - HR, /255, all channels) and Y PSNR when
//     the network sees the whole LR image and when it sees small tiles without overlap. A model
//     trained on crops smaller than its receptive field is calibrated for small contexts: its
//     error drifts as the context grows (see README, "Changing settings mid-run").
//
//   npm run build && node dist/bench/tiling_context.js [--model <weights>] [--overlaps 16,24,32] [--tiles 16,32] [--data ../shared/data/benchmark/Set5]
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../src/tfjs/backend.js';
import { createUpscaler } from '../src/inference/upscale.js';
import { shippedModelPath } from '../src/inference/model_source.js';
import { loadImage } from '../src/io/image.js';
import type { Image } from '../src/image/image.js';
import { modcrop, degrade } from '../src/image/degrade.js';
import { psnr } from '../src/eval/metrics.js';
import { testPixels } from '../test/helpers/sr_models.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
const list = (s: string) => s.split(',').map(Number);

const model = arg('model', shippedModelPath('srresnet', 4));
if (!existsSync(model)) throw new Error(`no model at ${model}; pass --model <weights>`);
const data = arg('data', join('..', 'shared', 'data', 'benchmark', 'Set5'));
await initBackend({ backend: 'wasm' });
const up = await createUpscaler({ model, engine: 'onnx' });
console.log(`model: ${model}`);

const photo: Image = { width: 200, height: 72, channels: 3, data: testPixels(200, 72, 5) };
const whole = await up.upscaleImage(photo, { tileSize: 256, overlap: 0 });
for (const overlap of list(arg('overlaps', '16,24,32'))) {
  const tiled = await up.upscaleImage(photo, { tileSize: 192, overlap });
  let d = 0;
  for (let i = 0; i < whole.data.length; i++) d = Math.max(d, Math.abs(whole.data[i]! - tiled.data[i]!));
  console.log(`seams: tile 192, overlap ${overlap}: max |tiled - whole| = ${(d * 255).toFixed(2)}/255`);
}

if (!existsSync(data)) {
  console.log(`context: skipped, no benchmark images at ${data}`);
} else {
  const images: { f: string; hr: Image; lr: Image }[] = [];
  for (const f of readdirSync(data).sort()) {
    const hr = modcrop(await loadImage(join(data, f)), 4);
    images.push({ f, hr, lr: degrade(hr, 4) });
  }
  for (const tile of [...list(arg('tiles', '16,32')), 0]) {
    const cells: string[] = [];
    for (const { f, hr, lr } of images) {
      const sr = await up.upscaleImage(lr, tile ? { tileSize: tile, overlap: 0 } : { tileSize: 100000, overlap: 0 });
      let mean = 0;
      const n = hr.width * hr.height;
      for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) mean += sr.data[i * 3 + c]! - hr.data[i * hr.channels + (hr.channels === 1 ? 0 : c)]!;
      mean /= n * 3;
      cells.push(`${f} ${mean >= 0 ? '+' : ''}${(mean * 255).toFixed(2)}/255, Y PSNR ${psnr(sr, hr, { border: 4 }).toFixed(2)} dB`);
    }
    console.log(`context: ${tile ? `${tile} px LR tiles` : 'whole image'}: ${cells.join(' | ')}`);
  }
}
await up.dispose();
