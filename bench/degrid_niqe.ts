// Does NIQE reward the checkerboard itself? An experiment, not a tool: takes a folder of SR images
// (e.g. one method's folder from `srgan eval --save`), subtracts from each colour channel its
// whole-image sub-pixel pattern (the centred phase means that eval/grid.ts measures on luma), and
// scores PSNR, NIQE and grid before and after, as the protocol does (Y, border = scale). If NIQE
// hardly moves while the grid falls, the detail NIQE counts is not that whole-image pattern.
//
//   npm run build && node dist/bench/degrid_niqe.js --sr <folder of SR .png> --hr ../shared/data/benchmark/Set14 [--scale 4]
import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { loadImage } from '../src/io/image.js';
import { modcrop } from '../src/image/degrade.js';
import type { Image } from '../src/image/image.js';
import { psnr } from '../src/eval/metrics.js';
import { niqe, loadNiqeModel } from '../src/eval/niqe.js';
import { gridStrength, phaseMeans } from '../src/eval/grid.js';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : fallback;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

/** The image with each channel's whole-image period-s pattern removed, clamped to [0, 1]. */
function degrid(img: Image, period: number): Image {
  const { width, height, channels, data } = img;
  const out = new Float32Array(data);
  for (let c = 0; c < channels; c++) {
    const plane = new Float64Array(width * height);
    for (let i = 0; i < plane.length; i++) plane[i] = data[i * channels + c]! * 255;
    const q = phaseMeans({ width, height, data: plane }, period);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const i = (y * width + x) * channels + c;
        out[i] = Math.min(1, Math.max(0, out[i]! - q[(y % period) * period + (x % period)]! / 255));
      }
    }
  }
  return { ...img, data: out };
}

const srDir = arg('sr');
const hrDir = arg('hr');
const scale = Number(arg('scale', '4'));
const model = loadNiqeModel();
const names = readdirSync(srDir).filter((f) => f.endsWith('.png')).sort();
if (names.length === 0) throw new Error(`${srDir} holds no .png`);
const sums = new Float64Array(6);
console.log('image            PSNR / NIQE / grid as is      after removing the pattern');
for (const name of names) {
  const sr = await loadImage(join(srDir, name));
  const hr = modcrop(await loadImage(join(hrDir, name)), scale);
  const score = (img: Image) => [psnr(hr, img, { border: scale, yOnly: true }), niqe(img, { border: scale, model }), gridStrength(img, scale, { border: scale })];
  const row = [...score(sr), ...score(degrid(sr, scale))];
  row.forEach((v, i) => (sums[i] += v));
  const f = (r: number[]) => `${r[0]!.toFixed(2)} / ${r[1]!.toFixed(3)} / ${r[2]!.toFixed(3)}`;
  console.log(`${basename(name).padEnd(16)} ${f(row.slice(0, 3)).padEnd(29)} ${f(row.slice(3))}`);
}
const m = Array.from(sums, (v) => v / names.length);
console.log(`${'mean'.padEnd(16)} ${`${m[0]!.toFixed(2)} / ${m[1]!.toFixed(3)} / ${m[2]!.toFixed(3)}`.padEnd(29)} ${m[3]!.toFixed(2)} / ${m[4]!.toFixed(3)} / ${m[5]!.toFixed(3)}`);
