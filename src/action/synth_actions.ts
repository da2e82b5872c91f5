// A labelled synthetic action set (`srgan make-actions`): short clips of a small object cut from
// a photo, moving over another photo. The class is WHAT moves and HOW:
//   what: a fine pattern printed on the object, stripes or a checkerboard, with a period of 5-8
//         HR pixels (1.2-2 LR pixels after x4: at or past the LR Nyquist limit, so bicubic all
//         but erases it and the spatial stream needs resolution to tell them apart);
//   how:  every object drifts (1-1.5 px a frame, any direction); 'spin' objects also turn
//         0.12-0.2 rad a frame. A turning disc whose only strong texture is the fine pattern
//         shows its turn only at full resolution, so the temporal stream needs accurate flow.
// Everything is drawn from the seed, so a seed gives the same set byte for byte in the frames.
import { mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Image8 } from '../image/image.js';
import { listImages, loadImage8 } from '../io/image.js';
import { imresize8 } from '../image/resize.js';
import { dataFolders } from '../data/folders.js';
import { SrError, closest, EXIT_INTERRUPTED } from '../util/errors.js';
import { Rng, hash32 } from '../util/random.js';
import { tempPathFor, writeFileAtomic } from '../util/atomic.js';
import { FrameEncoder, findFfmpeg, type FfmpegTools } from '../video/ffmpeg.js';

export const PATTERNS = ['stripes', 'checker'] as const;
export const MOTIONS = ['drift', 'spin'] as const;
export const ACTION_CLASSES: readonly string[] = PATTERNS.flatMap((p) => MOTIONS.map((m) => `${p}_${m}`));

export interface MakeActionsOptions {
  out: string;
  /** folders of photos (objects and backgrounds come from them); 'a,b' for several */
  photos: string;
  seed: number;
  classes?: readonly string[];
  clipsPerClass?: number;
  frames?: number;
  size?: number;
  tools?: FfmpegTools;
  signal?: AbortSignal;
  onClip?: (done: number, total: number) => void;
}

export interface MadeActions {
  classes: string[];
  train: number;
  test: number;
}

/** Photos used per set: decoded once, shrunk so that crops of them are scenes, not pixels. */
const PHOTOS_USED = 12;

function crop(img: Image8, x0: number, y0: number, side: number): Image8 {
  const data = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + side) * 3), y * side * 3);
  return { width: side, height: side, channels: 3, data };
}

function randomSquare(rng: Rng, img: Image8, side: number, out: number): Image8 {
  const s = Math.min(side, img.width, img.height);
  return imresize8(crop(img, rng.int(img.width - s + 1), rng.int(img.height - s + 1), s), { width: out, height: out }, 'bicubic');
}

interface ClipPlan {
  pattern: (typeof PATTERNS)[number];
  spin: boolean;
  period: number;
  phase: number;
  radius: number;
  c0: [number, number];
  vel: [number, number];
  angle0: number;
  omega: number;
  dark: number;
  bright: number;
}

function planClip(rng: Rng, cls: string, size: number, frames: number): ClipPlan {
  const [pattern, motion] = cls.split('_') as [(typeof PATTERNS)[number], string];
  const radius = size * (0.24 + 0.06 * rng.next());
  const speed = 1 + 0.5 * rng.next();
  const dir = 2 * Math.PI * rng.next();
  const vel: [number, number] = [speed * Math.cos(dir), speed * Math.sin(dir)];
  // start where the whole path stays inside the frame
  const lo = (v: number) => radius + 1 + Math.max(0, -v * (frames - 1));
  const hi = (v: number) => size - radius - 1 - Math.max(0, v * (frames - 1));
  const c0: [number, number] = [lo(vel[0]) + rng.next() * Math.max(0, hi(vel[0]) - lo(vel[0])), lo(vel[1]) + rng.next() * Math.max(0, hi(vel[1]) - lo(vel[1]))];
  const spin = motion === 'spin';
  const omega = spin ? (rng.next() < 0.5 ? -1 : 1) * (0.12 + 0.08 * rng.next()) : 0;
  return {
    pattern, spin, period: 5 + 3 * rng.next(), phase: rng.next(), radius, c0, vel, angle0: 2 * Math.PI * rng.next(), omega,
    dark: 0.15 + 0.15 * rng.next(), bright: 0.75 + 0.2 * rng.next(),
  };
}

/** Renders frame t: background, then the object (2x2 supersampled edge and pattern). */
function renderFrame(p: ClipPlan, t: number, bg: Image8, tex: Image8, size: number): Uint8Array {
  const out = Uint8Array.from(bg.data);
  const cx = p.c0[0] + p.vel[0] * t;
  const cy = p.c0[1] + p.vel[1] * t;
  const a = p.angle0 + p.omega * t;
  const ca = Math.cos(a);
  const sa = Math.sin(a);
  const r = p.radius;
  const w = 2 * Math.PI / p.period;
  const x0 = Math.max(0, Math.floor(cx - r - 1));
  const x1 = Math.min(size - 1, Math.ceil(cx + r + 1));
  const y0 = Math.max(0, Math.floor(cy - r - 1));
  const y1 = Math.min(size - 1, Math.ceil(cy + r + 1));
  const ts = tex.width;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const acc = [0, 0, 0];
      let cover = 0;
      for (const [ox, oy] of [[-0.25, -0.25], [0.25, -0.25], [-0.25, 0.25], [0.25, 0.25]] as const) {
        const dx = x + ox - cx;
        const dy = y + oy - cy;
        if (dx * dx + dy * dy > r * r) continue;
        cover += 1;
        // object coordinates: the object's own frame turns with it
        const u = ca * dx + sa * dy;
        const v = -sa * dx + ca * dy;
        const on = p.pattern === 'stripes' ? Math.sin(w * u + 2 * Math.PI * p.phase) > 0 : Math.sin(w * u + 2 * Math.PI * p.phase) * Math.sin(w * v) > 0;
        const level = on ? p.bright : p.dark;
        // the photo's colours at low contrast: the object looks cut from it, its pattern dominates
        const tx = Math.min(ts - 1, Math.max(0, Math.round(((u / r + 1) / 2) * (ts - 1))));
        const ty = Math.min(ts - 1, Math.max(0, Math.round(((v / r + 1) / 2) * (ts - 1))));
        for (let c = 0; c < 3; c++) acc[c]! += 255 * (0.7 * level + 0.3 * (tex.data[(ty * ts + tx) * 3 + c]! / 255));
      }
      if (cover === 0) continue;
      const k = cover / 4;
      for (let c = 0; c < 3; c++) {
        const i = (y * size + x) * 3 + c;
        out[i] = Math.round((1 - k) * out[i]! + (acc[c]! / cover) * k);
      }
    }
  }
  return out;
}

export function checkActionClasses(names: readonly string[]): string[] {
  for (const n of names) {
    if (!ACTION_CLASSES.includes(n)) {
      const hint = closest(n, ACTION_CLASSES);
      throw new SrError(`--classes: unknown class '${n}'${hint ? ` (did you mean '${hint}'?)` : ''}; known: ${ACTION_CLASSES.join(', ')}`);
    }
  }
  if (new Set(names).size < 2) throw new SrError(`--classes needs at least 2 different classes, got ${names.join(',') || 'none'}`);
  return [...names];
}

/**
 * Writes the set: <out>/<class>/v_<class>_gNN.mkv (lossless H.264), classInd.txt, and the split
 * lists trainlist01.txt / testlist01.txt (every third clip of a class is a test clip).
 */
export async function makeActions(o: MakeActionsOptions): Promise<MadeActions> {
  const classes = checkActionClasses(o.classes ?? ACTION_CLASSES);
  const perClass = o.clipsPerClass ?? 12;
  const frames = o.frames ?? 16;
  const size = o.size ?? 64;
  if (!(Number.isInteger(perClass) && perClass >= 2)) throw new SrError(`--clips-per-class must be a whole number >= 2, got ${perClass}`);
  if (!(Number.isInteger(frames) && frames >= 4 && frames <= 1000)) throw new SrError(`--frames must be a whole number in 4..1000, got ${frames}`);
  if (!(Number.isInteger(size) && size >= 32 && size <= 1024 && size % 8 === 0)) throw new SrError(`--size must be a multiple of 8 in 32..1024, got ${size}`);
  const files = (await Promise.all(dataFolders(o.photos).map((d) => listImages(d)))).flat().sort();
  if (files.length < 2) throw new SrError(`--photos ${o.photos}: found ${files.length} photo(s), need at least 2 (objects and backgrounds are cut from them)`);
  const tools = o.tools ?? (await findFfmpeg());
  const pick = new Rng(hash32(o.seed, 0xac7));
  const chosen = Array.from({ length: Math.min(PHOTOS_USED, files.length) }, () => files[pick.int(files.length)]!);
  const photos: Image8[] = [];
  for (const f of chosen) {
    const img = await loadImage8(f);
    const rgb = img.channels === 3 ? img : { ...img, channels: 3 as const, data: Uint8Array.from({ length: img.width * img.height * 3 }, (_, i) => img.data[Math.floor(i / 3) * img.channels]!) };
    // half the photo's side: backgrounds are scenes with detail at the frame's scale
    photos.push(imresize8(rgb as Image8, { scale: 0.5 }, 'bicubic'));
  }
  const lines = { ind: classes.map((c, i) => `${i + 1} ${c}`), train: [] as string[], test: [] as string[] };
  const total = classes.length * perClass;
  let done = 0;
  for (const [ci, cls] of classes.entries()) {
    mkdirSync(join(o.out, cls), { recursive: true });
    for (let k = 0; k < perClass; k++) {
      if (o.signal?.aborted) throw new SrError('make-actions: interrupted; the clips written so far are complete, the split lists are not written', { exitCode: EXIT_INTERRUPTED });
      const rng = new Rng(hash32(o.seed, ci, k, ...Buffer.from(cls)));
      const plan = planClip(rng, cls, size, frames);
      const bg = randomSquare(rng, photos[rng.int(photos.length)]!, 2 * size, size);
      const tex = randomSquare(rng, photos[rng.int(photos.length)]!, size, 32);
      const rel = `${cls}/v_${cls}_g${String(k + 1).padStart(2, '0')}.mkv`;
      const target = join(o.out, rel);
      const tmp = tempPathFor(target, { keepExtension: true });
      const enc = new FrameEncoder(tools, tmp, target, { width: size, height: size, fpsText: '25', crf: 0, preset: 'ultrafast' });
      try {
        for (let t = 0; t < frames; t++) await enc.write(renderFrame(plan, t, bg, tex, size));
        await enc.finish();
      } catch (err) {
        await enc.abort();
        throw err;
      }
      renameSync(tmp, target);
      (k % 3 === 2 ? lines.test : lines.train).push(k % 3 === 2 ? rel : `${rel} ${ci + 1}`);
      o.onClip?.(++done, total);
    }
  }
  await writeFileAtomic(join(o.out, 'classInd.txt'), lines.ind.join('\n') + '\n');
  await writeFileAtomic(join(o.out, 'trainlist01.txt'), lines.train.join('\n') + '\n');
  await writeFileAtomic(join(o.out, 'testlist01.txt'), lines.test.join('\n') + '\n');
  return { classes, train: lines.train.length, test: lines.test.length };
}
