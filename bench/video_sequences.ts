// Writes synthetic HR video sequences (PNG frames) made from still images with smooth camera
// motion and a moving object (src/video/synth.ts), one folder per image, for `srgan eval-video`.
// The motion of each sequence is drawn from a seeded generator and saved in motion.json.
//
//   node dist/bench/video_sequences.js --out runs/video-exp/evalset --frames 8 --size 128 \
//     [--seed 7] [--object 1] [--static-camera 0.3] ../shared/data/benchmark/Set5 ../shared/data/benchmark/Set14
import { mkdirSync, existsSync } from 'node:fs';
import { basename, join, parse } from 'node:path';
import sharp from 'sharp';
import { listImages, loadImage8 } from '../src/io/image.js';
import type { Image8 } from '../src/image/image.js';
import { writeFileAtomic } from '../src/util/atomic.js';
import { Rng } from '../src/util/random.js';
import { hash32 } from '../src/util/random.js';
import { renderSequence, randomMotion } from '../src/video/synth.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

const out = arg('out', 'runs/video-exp/evalset');
const frames = Number(arg('frames', '8'));
const size = Number(arg('size', '128'));
const seed = Number(arg('seed', '7'));
// Every evaluation sequence has a moving object by default, so that moving-region scores and
// temporal metrics have something to measure in each; the camera is static in about 30%.
const objectChance = Number(arg('object', '1'));
const staticCamera = Number(arg('static-camera', '0.3'));
const folders = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && !all[i - 1]?.startsWith('--'));
if (folders.length === 0) throw new Error('give one or more folders of images');

function rgb(img: Image8): Image8 {
  if (img.channels === 3) return img;
  const data = new Uint8Array(img.width * img.height * 3);
  for (let p = 0; p < img.width * img.height; p++) data[3 * p] = data[3 * p + 1] = data[3 * p + 2] = img.data[p]!;
  return { width: img.width, height: img.height, channels: 3, data };
}

mkdirSync(out, { recursive: true });
let count = 0;
for (const folder of folders) {
  for (const file of await listImages(folder)) {
    const name = `${basename(folder)}-${parse(file).name}`;
    const dir = join(out, name);
    if (existsSync(join(dir, 'motion.json'))) continue;
    const photo = rgb(await loadImage8(file));
    const r = new Rng(hash32(seed, ...Buffer.from(name)));
    const rand = () => r.next();
    const seq = renderSequence(photo, size, size, frames, randomMotion(rand, size, size, { object: objectChance, staticCamera }), rand);
    mkdirSync(dir, { recursive: true });
    for (let t = 0; t < frames; t++) {
      const f = seq.frames[t]!;
      await writeFileAtomic(join(dir, `frame-${String(t).padStart(3, '0')}.png`), await sharp(Buffer.from(f.data), { raw: { width: f.width, height: f.height, channels: 3 } }).png().toBuffer());
    }
    await writeFileAtomic(join(dir, 'motion.json'), JSON.stringify({ source: file, size, frames, motion: seq.motion, origin: seq.origin }, null, 1) + '\n');
    count++;
  }
}
process.stdout.write(`${count} sequence(s) of ${frames} frames (${size}x${size}) written to ${out}\n`);
