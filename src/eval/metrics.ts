// PSNR and SSIM with the SR field's conventions, as pure functions.
//
// Conventions (those of the published tables, e.g. RCAN's Evaluate_PSNR_SSIM.m):
//  - both images are first rounded to 8 bits (round half up, saturate): results are written and
//    read back as 8-bit files in the literature, so a float SR output is scored as its PNG would be;
//  - colour images are scored on Y of YCbCr, ITU-R BT.601 studio range, computed in double from
//    the 8-bit values and NOT rounded: Y = 16 + (65.481 R + 128.553 G + 24.966 B), R,G,B in [0,1];
//  - a grey image is scored on its own grey values (no Y conversion, no 16 offset);
//  - `border` pixels are removed on every side (the field uses border = scale);
//  - values on the 0..255 scale, peak 255, float64 accumulation;
//  - SSIM: Wang et al. (2004) ssim_index: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03,
//    L 255, 'valid' filtering (no padding), mean of the SSIM map, no automatic downsampling.
import { SrError, closest } from '../util/errors.js';
import { checkImage, type Image } from '../image/image.js';

export interface MetricOptions {
  /** Pixels removed at each side before scoring (default 0; the protocol uses the scale). */
  border?: number;
  /** Score Y of YCbCr (default true); false scores R, G and B. Grey images ignore this. */
  yOnly?: boolean;
}

export interface Scores {
  psnr: number;
  ssim: number;
  /** no-reference NIQE of the output (src/eval/niqe.ts), when asked for */
  niqe?: number;
  /** no-reference strength of the sub-pixel grid (src/eval/grid.ts), when asked for */
  grid?: number;
}

/** What `eval --metrics` can report; PSNR and SSIM are always computed (they are cheap), the no-reference ones on request. */
export const METRIC_NAMES = ['psnr', 'ssim', 'niqe', 'grid'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
export const DEFAULT_METRICS: readonly MetricName[] = ['psnr', 'ssim'];

/** "psnr,ssim,niqe" -> the names, checked, in the order given. */
export function parseMetrics(list: string): MetricName[] {
  const names = list.split(',').map((s) => s.trim().toLowerCase());
  if (names.some((n) => n === '')) throw new SrError(`--metrics takes names separated by commas (${METRIC_NAMES.join(', ')}), got '${list}'`);
  for (const n of names) {
    if (!(METRIC_NAMES as readonly string[]).includes(n)) {
      const hint = closest(n, METRIC_NAMES);
      throw new SrError(`unknown metric '${n}'${hint ? ` (did you mean '${hint}'?)` : ''}; known metrics: ${METRIC_NAMES.join(', ')}`);
    }
  }
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new SrError(`metric '${dup}' is listed twice`);
  return names as MetricName[];
}

/** One channel on the 0..255 scale, row-major. */
export interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

/**
 * The planes that get scored: [Y] for colour with yOnly, [R, G, B] for colour without it, and
 * [grey] for grey images, after 8-bit rounding and border removal.
 */
export function scoringPlanes(img: Image, opts: MetricOptions = {}): Plane[] {
  checkImage(img, 'image to score');
  const border = opts.border ?? 0;
  const yOnly = opts.yOnly ?? true;
  if (!(Number.isInteger(border) && border >= 0)) throw new SrError(`border must be a non-negative integer, got ${border}`);
  const w = img.width - 2 * border;
  const h = img.height - 2 * border;
  if (w <= 0 || h <= 0) throw new SrError(`image ${img.width}x${img.height} is too small for a border of ${border}`);
  const c = img.channels;
  const q = (v: number): number => {
    const r = Math.floor(v * 255 + 0.5);
    return r < 0 ? 0 : r > 255 ? 255 : r;
  };
  const nPlanes = c === 1 || yOnly ? 1 : 3;
  const planes: Plane[] = [];
  for (let p = 0; p < nPlanes; p++) planes.push({ width: w, height: h, data: new Float64Array(w * h) });
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const src = ((y + border) * img.width + (x + border)) * c;
      const dst = y * w + x;
      if (c === 1) {
        planes[0]!.data[dst] = q(img.data[src]!);
      } else if (yOnly) {
        const r = q(img.data[src]!);
        const g = q(img.data[src + 1]!);
        const b = q(img.data[src + 2]!);
        planes[0]!.data[dst] = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255;
      } else {
        for (let k = 0; k < 3; k++) planes[k]!.data[dst] = q(img.data[src + k]!);
      }
    }
  }
  return planes;
}

function checkPair(a: Image, b: Image): void {
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    throw new SrError(`cannot compare a ${a.width}x${a.height}x${a.channels} image with a ${b.width}x${b.height}x${b.channels} one: sizes and channels must match`);
  }
}

/** Mean squared error over planes of equal size, float64. */
export function msePlanes(a: Plane[], b: Plane[]): number {
  let sum = 0;
  let n = 0;
  for (let p = 0; p < a.length; p++) {
    const da = a[p]!.data;
    const db = b[p]!.data;
    for (let i = 0; i < da.length; i++) {
      const d = da[i]! - db[i]!;
      sum += d * d;
    }
    n += da.length;
  }
  return sum / n;
}

/** PSNR in dB for peak 255; Infinity when the planes are identical. */
export function psnrPlanes(a: Plane[], b: Plane[]): number {
  const mse = msePlanes(a, b);
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

export function psnr(a: Image, b: Image, opts: MetricOptions = {}): number {
  checkPair(a, b);
  return psnrPlanes(scoringPlanes(a, opts), scoringPlanes(b, opts));
}

const WIN = 11;
const SIGMA = 1.5;
const C1 = (0.01 * 255) ** 2;
const C2 = (0.03 * 255) ** 2;

// fspecial('gaussian', 11, 1.5) is the outer product of this normalised 1-D kernel, so the 2-D
// window can be applied as two 1-D passes.
const GAUSS: Float64Array = (() => {
  const g = new Float64Array(WIN);
  let s = 0;
  for (let i = 0; i < WIN; i++) {
    const d = i - (WIN - 1) / 2;
    g[i] = Math.exp(-(d * d) / (2 * SIGMA * SIGMA));
    s += g[i]!;
  }
  for (let i = 0; i < WIN; i++) g[i]! /= s;
  return g;
})();

/** Mean SSIM of two planes (0..255), 'valid' Gaussian filtering. */
export function ssimPlane(a: Plane, b: Plane): number {
  const { width: w, height: h } = a;
  if (w < WIN || h < WIN) throw new SrError(`SSIM needs at least ${WIN}x${WIN} pixels after border removal, got ${w}x${h}`);
  const ow = w - WIN + 1;
  const oh = h - WIN + 1;
  // horizontal pass for the five moments: a, b, a^2, b^2, ab
  const n = ow * h;
  const ha = new Float64Array(n);
  const hb = new Float64Array(n);
  const haa = new Float64Array(n);
  const hbb = new Float64Array(n);
  const hab = new Float64Array(n);
  const da = a.data;
  const db = b.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < ow; x++) {
      let sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
      const base = y * w + x;
      for (let k = 0; k < WIN; k++) {
        const g = GAUSS[k]!;
        const va = da[base + k]!;
        const vb = db[base + k]!;
        sa += g * va;
        sb += g * vb;
        saa += g * va * va;
        sbb += g * vb * vb;
        sab += g * va * vb;
      }
      const o = y * ow + x;
      ha[o] = sa;
      hb[o] = sb;
      haa[o] = saa;
      hbb[o] = sbb;
      hab[o] = sab;
    }
  }
  let total = 0;
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let mu1 = 0, mu2 = 0, e11 = 0, e22 = 0, e12 = 0;
      for (let k = 0; k < WIN; k++) {
        const g = GAUSS[k]!;
        const o = (y + k) * ow + x;
        mu1 += g * ha[o]!;
        mu2 += g * hb[o]!;
        e11 += g * haa[o]!;
        e22 += g * hbb[o]!;
        e12 += g * hab[o]!;
      }
      const mu11 = mu1 * mu1;
      const mu22 = mu2 * mu2;
      const mu12 = mu1 * mu2;
      const s11 = e11 - mu11;
      const s22 = e22 - mu22;
      const s12 = e12 - mu12;
      total += ((2 * mu12 + C1) * (2 * s12 + C2)) / ((mu11 + mu22 + C1) * (s11 + s22 + C2));
    }
  }
  return total / (ow * oh);
}

export function ssimPlanes(a: Plane[], b: Plane[]): number {
  let s = 0;
  for (let p = 0; p < a.length; p++) s += ssimPlane(a[p]!, b[p]!);
  return s / a.length;
}

/** SSIM; for RGB scoring (yOnly false) the mean of the three channels' SSIM. */
export function ssim(a: Image, b: Image, opts: MetricOptions = {}): number {
  checkPair(a, b);
  return ssimPlanes(scoringPlanes(a, opts), scoringPlanes(b, opts));
}

/** PSNR and SSIM together, preparing the planes once. */
export function score(a: Image, b: Image, opts: MetricOptions = {}): Scores {
  checkPair(a, b);
  const pa = scoringPlanes(a, opts);
  const pb = scoringPlanes(b, opts);
  return { psnr: psnrPlanes(pa, pb), ssim: ssimPlanes(pa, pb) };
}
