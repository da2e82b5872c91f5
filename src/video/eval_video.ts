// Video SR evaluation: per-frame quality and temporal consistency, streaming frame by frame (only
// the previous HR and SR frames are kept, so video length does not matter).
//
// For each HR frame: LR by the benchmark protocol (mod-crop, MATLAB bicubic 1/s on uint8), each
// method upscales it, the SR frame is rounded to 8 bits as a video frame would be, and:
//  - PSNR / SSIM against HR with the image protocol (Y of BT.601, `scale` border pixels removed);
//  - PSNR on moving regions (frames t >= 1): the same Y-channel MSE, but only over pixels where
//    the HR flow from frame t to t-1 is at least `movingThreshold` pixels long, pooled over the
//    sequence's frames before taking the log (and, for comparison, the same over the other pixels);
//  - warping error (frames t >= 1): with F the HR flow t-1 -> t and B the HR flow t -> t-1,
//    mean over valid pixels of |SR_t(p + F(p)) - SR_{t-1}(p)|^2, RGB on the 0..255 scale; valid =
//    inside the frame after the move, forward-backward consistent (not occluded), outside the border;
//  - tOF (frames t >= 1): mean over pixels (border removed) of the end-point distance
//    |flow(SR_{t-1} -> SR_t)(p) - F(p)| in HR pixels: how far the SR video's motion is from the
//    real one (the metric of TecoGAN, Chu et al. 2020, with the Euclidean norm per pixel).
// All flows are Farneback's (flow.ts). An 'HR' row gives the warping error of the ground truth
// itself: the floor set by interpolation and flow errors.
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { SrError } from '../util/errors.js';
import { IMAGE_EXTENSIONS, listImages, loadImage } from '../io/image.js';
import type { Image } from '../image/image.js';
import { modcrop, degrade } from '../image/degrade.js';
import { score, scoringPlanes } from '../eval/metrics.js';
import { opticalFlow, validFlowMask, warpImage, type Flow } from './flow.js';
import { findFfmpeg, probeVideo, decodeFrames } from './ffmpeg.js';
import { rgb24ToImage } from './upscale_video.js';
import { VIDEO_EXTENSIONS } from './sequence_dataset.js';
import { checkMethodScale, type Method } from '../inference/methods.js';

export interface SequenceSource {
  name: string;
  path: string;
  frames(): AsyncGenerator<Image>;
}

function rgb(img: Image): Image {
  if (img.channels === 3) return { width: img.width, height: img.height, channels: 3, data: img.data };
  const n = img.width * img.height;
  const data = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) data[3 * p] = data[3 * p + 1] = data[3 * p + 2] = img.data[p]!;
  return { width: img.width, height: img.height, channels: 3, data };
}

async function hasImages(dir: string): Promise<boolean> {
  return (await readdir(dir)).some((n) => !n.startsWith('.') && IMAGE_EXTENSIONS.has(extname(n).toLowerCase()));
}

function videoSource(path: string, ffmpeg: string | undefined, maxFrames: number | undefined): SequenceSource {
  return {
    name: basename(path),
    path,
    async *frames() {
      const tools = await findFfmpeg(ffmpeg);
      const info = await probeVideo(tools, path);
      for await (const f of decodeFrames(tools, info, maxFrames !== undefined ? { maxFrames } : {})) yield rgb24ToImage(f, info.width, info.height);
    },
  };
}

function folderSource(dir: string, maxFrames: number | undefined): SequenceSource {
  return {
    name: basename(dir),
    path: dir,
    async *frames() {
      const files = (await listImages(dir)).slice(0, maxFrames);
      for (const f of files) yield await loadImage(f);
    },
  };
}

/**
 * What `input` holds: a video file; a folder of frames (one sequence, frames in name order); or a
 * folder of such folders and/or video files (several sequences, in name order).
 */
export async function openSequences(input: string, o: { ffmpeg?: string; maxFrames?: number } = {}): Promise<SequenceSource[]> {
  const st = await stat(input).catch(() => null);
  if (!st) throw new SrError(`${input}: no such file or folder`);
  if (st.isFile()) return [videoSource(input, o.ffmpeg, o.maxFrames)];
  if (await hasImages(input)) return [folderSource(input, o.maxFrames)];
  const out: SequenceSource[] = [];
  for (const n of (await readdir(input)).sort()) {
    if (n.startsWith('.')) continue;
    const p = join(input, n);
    const s = await stat(p).catch(() => null);
    if (s?.isDirectory() && (await hasImages(p))) out.push(folderSource(p, o.maxFrames));
    else if (s?.isFile() && VIDEO_EXTENSIONS.has(extname(n).toLowerCase())) out.push(videoSource(p, o.ffmpeg, o.maxFrames));
  }
  if (out.length === 0) throw new SrError(`${input}: no video files, frames, or folders of frames to evaluate`);
  return out;
}

export interface FrameScores {
  frame: number;
  psnr: number;
  ssim: number;
  /** frames t >= 1 */
  warpError?: number;
  tof?: number;
}

export interface MethodSummary {
  psnr: number;
  ssim: number;
  /** pooled over the moving pixels of frames t >= 1; NaN when nothing moves */
  psnrMoving: number;
  /** the same over the other pixels of frames t >= 1 (the complement, for comparison) */
  psnrStatic: number;
  warpError: number;
  tof: number;
}

export interface SequenceResult {
  name: string;
  frames: number;
  width: number;
  height: number;
  /** fraction of the scored pixels of frames t >= 1 counted as moving */
  movingFraction: number;
  /** warping error of the HR frames themselves */
  hrWarpError: number;
  perFrame: Record<string, FrameScores[]>;
  mean: Record<string, MethodSummary>;
}

export interface VideoEvalResult {
  scale: number;
  border: number;
  movingThreshold: number;
  methods: string[];
  sequences: SequenceResult[];
  /** arithmetic mean over sequences */
  mean: Record<string, MethodSummary>;
  hrWarpError: number;
}

export interface VideoEvalOptions {
  sequences: SequenceSource[];
  /** scored under their names (inference/methods.ts) */
  methods: Method[];
  scale: number;
  /** pixels removed at each side (default: scale) */
  border?: number;
  /** HR pixels per frame from which a pixel counts as moving (default 1) */
  movingThreshold?: number;
  onFrame?: (sequence: string, frame: number) => void;
}

function round8(img: Image): Image {
  return { ...img, data: img.data.map((v) => Math.min(255, Math.max(0, Math.floor(v * 255 + 0.5))) / 255) };
}

/** Squared-error sum and count of Y over the pixels where `mask` is 1, border removed. */
function maskedYError(a: Image, b: Image, mask: Uint8Array, border: number): [number, number] {
  const pa = scoringPlanes(a, { border })[0]!;
  const pb = scoringPlanes(b, { border })[0]!;
  let sum = 0;
  let n = 0;
  for (let y = 0; y < pa.height; y++) {
    for (let x = 0; x < pa.width; x++) {
      if (!mask[(y + border) * a.width + x + border]) continue;
      const d = pa.data[y * pa.width + x]! - pb.data[y * pa.width + x]!;
      sum += d * d;
      n++;
    }
  }
  return [sum, n];
}

function warpError(cur: Image, prev: Image, f: Flow, valid: Uint8Array): number {
  const { image } = warpImage(cur, f);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < valid.length; i++) {
    if (!valid[i]) continue;
    for (let k = 0; k < 3; k++) {
      const d = (image.data[3 * i + k]! - prev.data[3 * i + k]!) * 255;
      sum += d * d;
    }
    n += 3;
  }
  return n ? sum / n : NaN;
}

function insideBorder(w: number, h: number, border: number): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = border; y < h - border; y++) m.fill(1, y * w + border, (y + 1) * w - border);
  return m;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

export async function evaluateVideo(o: VideoEvalOptions): Promise<VideoEvalResult> {
  const scale = o.scale;
  const border = o.border ?? scale;
  const tau = o.movingThreshold ?? 1;
  for (const m of o.methods) checkMethodScale(m, scale);
  const names = o.methods.map((m) => m.name);
  const sequences: SequenceResult[] = [];
  for (const seq of o.sequences) {
    const perFrame: Record<string, FrameScores[]> = Object.fromEntries(names.map((n) => [n, []]));
    const moving: Record<string, [number, number]> = Object.fromEntries(names.map((n) => [n, [0, 0]]));
    const still: Record<string, [number, number]> = Object.fromEntries(names.map((n) => [n, [0, 0]]));
    let prevHr: Image | null = null;
    let prevSr: Record<string, Image> = {};
    const hrWarp: number[] = [];
    let movingPx = 0;
    let scoredPx = 0;
    let t = 0;
    let size: [number, number] = [0, 0];
    for await (const raw of seq.frames()) {
      const hr = rgb(modcrop(raw, scale));
      if (prevHr && (hr.width !== prevHr.width || hr.height !== prevHr.height)) throw new SrError(`${seq.path}: frame ${t} is ${hr.width}x${hr.height}, the previous one ${prevHr.width}x${prevHr.height}`);
      size = [hr.width, hr.height];
      const lr = degrade(hr, scale);
      let fwd: Flow | null = null;
      let valid: Uint8Array | null = null;
      let movingMask: Uint8Array | null = null;
      let stillMask: Uint8Array | null = null;
      const inner = insideBorder(hr.width, hr.height, border);
      if (prevHr) {
        fwd = await opticalFlow(prevHr, hr);
        const bwd = await opticalFlow(hr, prevHr);
        valid = validFlowMask(fwd, bwd);
        movingMask = new Uint8Array(inner.length);
        stillMask = new Uint8Array(inner.length);
        for (let i = 0; i < inner.length; i++) {
          valid[i]! &= inner[i]!;
          movingMask[i] = inner[i]! && Math.hypot(bwd.u[i]!, bwd.v[i]!) >= tau ? 1 : 0;
          stillMask[i] = inner[i]! && !movingMask[i] ? 1 : 0;
          movingPx += movingMask[i]!;
          scoredPx += inner[i]!;
        }
        hrWarp.push(warpError(hr, prevHr, fwd, valid));
      }
      const srNow: Record<string, Image> = {};
      for (const m of o.methods) {
        const sr = round8(await m.run(lr, { scale }));
        if (sr.width !== hr.width || sr.height !== hr.height) throw new SrError(`method '${m.name}' returned ${sr.width}x${sr.height} for a ${hr.width}x${hr.height} frame`);
        const s = score(sr, hr, { border });
        const fs: FrameScores = { frame: t, psnr: s.psnr, ssim: s.ssim };
        if (fwd && valid && movingMask) {
          const prev = prevSr[m.name]!;
          fs.warpError = warpError(sr, prev, fwd, valid);
          const f = await opticalFlow(prev, sr);
          let e = 0;
          let n = 0;
          for (let i = 0; i < inner.length; i++) {
            if (!inner[i]) continue;
            e += Math.hypot(f.u[i]! - fwd.u[i]!, f.v[i]! - fwd.v[i]!);
            n++;
          }
          fs.tof = e / n;
          const [se, cnt] = maskedYError(sr, hr, movingMask, border);
          moving[m.name]![0] += se;
          moving[m.name]![1] += cnt;
          const [se2, cnt2] = maskedYError(sr, hr, stillMask!, border);
          still[m.name]![0] += se2;
          still[m.name]![1] += cnt2;
        }
        perFrame[m.name]!.push(fs);
        srNow[m.name] = sr;
      }
      o.onFrame?.(seq.name, t);
      prevHr = hr;
      prevSr = srNow;
      t++;
    }
    if (t === 0) throw new SrError(`${seq.path}: no frames`);
    const meanOf: Record<string, MethodSummary> = {};
    for (const n of names) {
      const fr = perFrame[n]!;
      const pooled = ([se, cnt]: [number, number]) => (cnt ? (se === 0 ? Infinity : 10 * Math.log10((255 * 255 * cnt) / se)) : NaN);
      meanOf[n] = {
        psnr: mean(fr.map((f) => f.psnr)),
        ssim: mean(fr.map((f) => f.ssim)),
        psnrMoving: pooled(moving[n]!),
        psnrStatic: pooled(still[n]!),
        warpError: mean(fr.filter((f) => f.warpError !== undefined).map((f) => f.warpError!)),
        tof: mean(fr.filter((f) => f.tof !== undefined).map((f) => f.tof!)),
      };
    }
    sequences.push({ name: seq.name, frames: t, width: size[0], height: size[1], movingFraction: scoredPx ? movingPx / scoredPx : 0, hrWarpError: mean(hrWarp), perFrame, mean: meanOf });
  }
  const overall: Record<string, MethodSummary> = {};
  for (const n of names) {
    const pick = (k: keyof MethodSummary) => mean(sequences.map((s) => s.mean[n]![k]).filter((v) => !Number.isNaN(v)));
    overall[n] = { psnr: pick('psnr'), ssim: pick('ssim'), psnrMoving: pick('psnrMoving'), psnrStatic: pick('psnrStatic'), warpError: pick('warpError'), tof: pick('tof') };
  }
  return { scale, border, movingThreshold: tau, methods: names, sequences, mean: overall, hrWarpError: mean(sequences.map((s) => s.hrWarpError).filter((v) => !Number.isNaN(v))) };
}
