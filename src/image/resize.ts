// MATLAB's imresize, reproduced to the sample. Every SR paper's LR images and its bicubic baseline
// come from it, so matching it exactly is what makes our figures comparable with theirs. The
// details that matter (all from MATLAB's imresize.m):
//  - Keys cubic kernel, a = -0.5, width 4; triangle (width 2) for bilinear; box (width 1) for nearest;
//  - when shrinking, the kernel is stretched by 1/scale and scaled by scale (antialiasing), on by
//    default except for nearest;
//  - output x (1-based) samples input u = x/scale + 0.5*(1 - 1/scale);
//  - taps left = floor(u - width/2) .. left + ceil(width) + 1, weights normalised to sum 1;
//  - out-of-range taps mirror the border sample ([1..n, n..1] repeated);
//  - the dimension with the smaller scale is resized first, rows (height) on ties;
//  - a uint8 image is rounded and saturated after each dimension, not only at the end.
import { SrError } from '../util/errors.js';
import type { Image, Image8 } from './image.js';
import { checkImage, toUint8, fromUint8 } from './image.js';

export type ResizeMethod = 'bicubic' | 'bilinear' | 'nearest';
export type ResizeSize = { scale: number } | { width: number; height: number };
export interface ResizeOptions {
  /** Stretch the kernel when shrinking; MATLAB's default: true, except for nearest. */
  antialias?: boolean;
}

interface Kernel {
  f: (x: number) => number;
  width: number;
}

function cubic(x: number): number {
  const ax = Math.abs(x);
  const ax2 = ax * ax;
  const ax3 = ax2 * ax;
  if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
  if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
  return 0;
}

function triangle(x: number): number {
  if (-1 <= x && x < 0) return x + 1;
  if (0 <= x && x <= 1) return 1 - x;
  return 0;
}

function box(x: number): number {
  return -0.5 <= x && x < 0.5 ? 1 : 0;
}

const KERNELS: Record<ResizeMethod, Kernel> = {
  bicubic: { f: cubic, width: 4 },
  bilinear: { f: triangle, width: 2 },
  nearest: { f: box, width: 1 },
};

/** Taps for one dimension: output i reads input idx[i*taps + k] (0-based) with weight w[i*taps + k]. */
export interface WeightTable {
  inLen: number;
  outLen: number;
  taps: number;
  idx: Int32Array;
  w: Float64Array;
}

const tableCache = new Map<string, WeightTable>();

export function weightTable(inLen: number, outLen: number, scale: number, method: ResizeMethod, antialias: boolean): WeightTable {
  const key = `${inLen}:${outLen}:${scale}:${method}:${antialias}`;
  const hit = tableCache.get(key);
  if (hit) return hit;
  const kernel = KERNELS[method];
  let h = kernel.f;
  let kw = kernel.width;
  if (scale < 1 && antialias) {
    h = (x: number) => scale * kernel.f(scale * x);
    kw = kw / scale;
  }
  const taps = Math.ceil(kw) + 2;
  const idx = new Int32Array(outLen * taps);
  const w = new Float64Array(outLen * taps);
  const period = 2 * inLen;
  for (let i = 0; i < outLen; i++) {
    const x = i + 1;
    const u = x / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - kw / 2);
    let sum = 0;
    for (let k = 0; k < taps; k++) {
      const v = h(u - (left + k));
      w[i * taps + k] = v;
      sum += v;
    }
    for (let k = 0; k < taps; k++) {
      w[i * taps + k] /= sum;
      // 1-based j mirrored through aux = [1..n, n..1]
      const j = left + k;
      const m = (((j - 1) % period) + period) % period;
      idx[i * taps + k] = m < inLen ? m : period - 1 - m;
    }
  }
  const table = { inLen, outLen, taps, idx, w };
  if (tableCache.size >= 64) tableCache.delete(tableCache.keys().next().value!);
  tableCache.set(key, table);
  return table;
}

export interface ResizePlan {
  outWidth: number;
  outHeight: number;
  scaleX: number;
  scaleY: number;
  /** true: height (rows) first */
  rowsFirst: boolean;
}

/** Output size and per-dimension scale, as MATLAB derives them from a scale or a target size. */
export function resizePlan(width: number, height: number, size: ResizeSize): ResizePlan {
  let outWidth: number;
  let outHeight: number;
  let scaleX: number;
  let scaleY: number;
  if ('scale' in size) {
    const s = size.scale;
    if (!(Number.isFinite(s) && s > 0)) throw new SrError(`resize scale must be a positive number, got ${s}`);
    scaleX = scaleY = s;
    outWidth = Math.ceil(s * width);
    outHeight = Math.ceil(s * height);
  } else {
    outWidth = size.width;
    outHeight = size.height;
    if (!(Number.isInteger(outWidth) && Number.isInteger(outHeight) && outWidth > 0 && outHeight > 0)) {
      throw new SrError(`resize target must be positive integers, got ${outWidth}x${outHeight}`);
    }
    scaleX = outWidth / width;
    scaleY = outHeight / height;
  }
  // MATLAB sorts the scales ascending (stable), so height goes first unless width shrinks more.
  return { outWidth, outHeight, scaleX, scaleY, rowsFirst: scaleY <= scaleX };
}

type Samples = Uint8Array | Float32Array | Float64Array;

// Along the height: every output row is a weighted sum of whole input rows, so the inner loop
// runs over contiguous memory. Taps are summed in order, as MATLAB does.
function resizeRows(src: Samples, rowLen: number, t: WeightTable, dst: Samples, round8: boolean): void {
  const acc = new Float64Array(rowLen);
  const { taps, idx, w } = t;
  for (let y = 0; y < t.outLen; y++) {
    let first = true;
    for (let k = 0; k < taps; k++) {
      const wt = w[y * taps + k]!;
      if (wt === 0) continue;
      const base = idx[y * taps + k]! * rowLen;
      if (first) {
        for (let i = 0; i < rowLen; i++) acc[i] = wt * src[base + i]!;
        first = false;
      } else {
        for (let i = 0; i < rowLen; i++) acc[i] += wt * src[base + i]!;
      }
    }
    if (first) acc.fill(0);
    storeRow(acc, dst, y * rowLen, round8);
  }
}

/** One accumulated row into `dst` at `offset`, rounded to 8 bits (half up, saturated) when asked. */
function storeRow(acc: Float64Array, dst: Samples, offset: number, round8: boolean): void {
  if (round8) {
    for (let i = 0; i < acc.length; i++) {
      const v = Math.floor(acc[i]! + 0.5);
      dst[offset + i] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  } else {
    for (let i = 0; i < acc.length; i++) dst[offset + i] = acc[i]!;
  }
}

// Along the width, for `rows` rows of `inW` pixels with `c` channels each. Results go to a
// float64 row first so rounding stays out of the tap loop.
function resizeCols(src: Samples, rows: number, inW: number, c: number, t: WeightTable, dst: Samples, round8: boolean): void {
  const { taps, idx, w, outLen } = t;
  const rowOut = outLen * c;
  const acc = new Float64Array(rowOut);
  for (let y = 0; y < rows; y++) {
    const ib = y * inW * c;
    if (c === 3) {
      for (let x = 0; x < outLen; x++) {
        const tb = x * taps;
        let s0 = 0, s1 = 0, s2 = 0;
        for (let k = 0; k < taps; k++) {
          const wt = w[tb + k]!;
          const p = ib + idx[tb + k]! * 3;
          s0 += wt * src[p]!;
          s1 += wt * src[p + 1]!;
          s2 += wt * src[p + 2]!;
        }
        acc[3 * x] = s0;
        acc[3 * x + 1] = s1;
        acc[3 * x + 2] = s2;
      }
    } else {
      for (let x = 0; x < outLen; x++) {
        const tb = x * taps;
        for (let ch = 0; ch < c; ch++) {
          let s = 0;
          for (let k = 0; k < taps; k++) s += w[tb + k]! * src[ib + idx[tb + k]! * c + ch]!;
          acc[x * c + ch] = s;
        }
      }
    }
    storeRow(acc, dst, y * rowOut, round8);
  }
}

/** Output rows [y0, y1) of a weight table, as a table of its own (input indices unchanged). */
function tableRows(t: WeightTable, y0: number, y1: number, shift = 0): WeightTable {
  const idx = t.idx.slice(y0 * t.taps, y1 * t.taps);
  if (shift) for (let i = 0; i < idx.length; i++) idx[i] -= shift;
  return { inLen: t.inLen, outLen: y1 - y0, taps: t.taps, idx, w: t.w.subarray(y0 * t.taps, y1 * t.taps) };
}

function resizeSamples<T extends Samples>(
  src: T,
  width: number,
  height: number,
  c: number,
  plan: ResizePlan,
  method: ResizeMethod,
  antialias: boolean,
  make: (n: number) => T,
  mid: (n: number) => Samples,
  round8: boolean,
  rows: [number, number] = [0, plan.outHeight],
): T {
  const { outWidth, outHeight } = plan;
  const [y0, y1] = rows;
  const full = weightTable(height, outHeight, plan.scaleY, method, antialias);
  const ty = y0 === 0 && y1 === outHeight ? full : tableRows(full, y0, y1);
  const tx = weightTable(width, outWidth, plan.scaleX, method, antialias);
  const out = make(outWidth * (y1 - y0) * c);
  if (plan.rowsFirst) {
    const tmp = mid(width * (y1 - y0) * c);
    resizeRows(src, width * c, ty, tmp, round8);
    resizeCols(tmp, y1 - y0, width, c, tx, out, round8);
  } else {
    // Only the input rows these output rows read go through the horizontal pass.
    let lo = height;
    let hi = -1;
    for (const i of ty.idx) (lo = Math.min(lo, i)), (hi = Math.max(hi, i));
    const tmp = mid(outWidth * (hi - lo + 1) * c);
    resizeCols(src.subarray(lo * width * c, (hi + 1) * width * c), hi - lo + 1, width, c, tx, tmp, round8);
    resizeRows(tmp, outWidth * c, lo ? tableRows(ty, 0, y1 - y0, lo) : ty, out, round8);
  }
  return out;
}

function defaultAntialias(method: ResizeMethod, opts: ResizeOptions): boolean {
  return opts.antialias ?? method !== 'nearest';
}

function checkMethod(method: string): asserts method is ResizeMethod {
  if (!(method in KERNELS)) throw new SrError(`unknown resize method '${method}' (bicubic, bilinear, nearest)`);
}

const f32 = (n: number) => new Float32Array(n);
const f64 = (n: number) => new Float64Array(n);

/** MATLAB imresize on float (double) data: no rounding anywhere. Alpha is resized the same way. */
export function imresize(img: Image, size: ResizeSize, method: ResizeMethod = 'bicubic', opts: ResizeOptions = {}): Image {
  checkImage(img, 'image to resize');
  checkMethod(method);
  const plan = resizePlan(img.width, img.height, size);
  const aa = defaultAntialias(method, opts);
  const data = resizeSamples(img.data, img.width, img.height, img.channels, plan, method, aa, f32, f64, false);
  const out: Image = { width: plan.outWidth, height: plan.outHeight, channels: img.channels, data };
  if (img.alpha) {
    const a = resizeSamples(img.alpha, img.width, img.height, 1, plan, method, aa, f32, f64, false);
    for (let i = 0; i < a.length; i++) a[i] = Math.min(1, Math.max(0, a[i]!));
    out.alpha = a;
  }
  return out;
}

/**
 * Rows [y0, y1) of imresize(img, size, method): the same values, computed from the input rows they
 * need only, so a large output can be made a band at a time.
 */
export function imresizeRows(img: Image, size: ResizeSize, method: ResizeMethod, y0: number, y1: number, opts: ResizeOptions = {}): Image {
  checkImage(img, 'image to resize');
  checkMethod(method);
  const plan = resizePlan(img.width, img.height, size);
  if (!(Number.isInteger(y0) && Number.isInteger(y1) && 0 <= y0 && y0 < y1 && y1 <= plan.outHeight)) throw new SrError(`rows ${y0}..${y1} are not within the ${plan.outHeight} output rows`);
  const aa = defaultAntialias(method, opts);
  const data = resizeSamples(img.data, img.width, img.height, img.channels, plan, method, aa, f32, f64, false, [y0, y1]);
  return { width: plan.outWidth, height: y1 - y0, channels: img.channels, data };
}

/** MATLAB imresize on uint8 samples: rounded (half up) and saturated after each dimension. */
export function imresize8(img: Image8, size: ResizeSize, method: ResizeMethod = 'bicubic', opts: ResizeOptions = {}): Image8 {
  checkImage(img, 'image to resize');
  checkMethod(method);
  const plan = resizePlan(img.width, img.height, size);
  const aa = defaultAntialias(method, opts);
  const u8 = (n: number) => new Uint8Array(n);
  const data = resizeSamples(img.data, img.width, img.height, img.channels, plan, method, aa, u8, u8, true);
  const out: Image8 = { width: plan.outWidth, height: plan.outHeight, channels: img.channels, data };
  if (img.alpha) out.alpha = resizeSamples(img.alpha, img.width, img.height, 1, plan, method, aa, u8, u8, true);
  return out;
}

/**
 * MATLAB imresize on one float64 plane (any value range), no rounding: MATLAB's imresize of a
 * double matrix. NIQE's second scale needs this; float32 Images would round the values.
 */
export function imresizePlane(
  plane: { width: number; height: number; data: Float64Array },
  size: ResizeSize,
  method: ResizeMethod = 'bicubic',
  opts: ResizeOptions = {},
): { width: number; height: number; data: Float64Array } {
  checkMethod(method);
  if (plane.data.length !== plane.width * plane.height) throw new SrError(`plane of ${plane.data.length} values is not ${plane.width}x${plane.height}`);
  const plan = resizePlan(plane.width, plane.height, size);
  const f64 = (n: number) => new Float64Array(n);
  const data = resizeSamples(plane.data, plane.width, plane.height, 1, plan, method, defaultAntialias(method, opts), f64, f64, false);
  return { width: plan.outWidth, height: plan.outHeight, data };
}

/**
 * imresize of the image as uint8, the way the SR protocol calls it on images read from disk:
 * the input is snapped to 8 bits first and the result has values k/255.
 */
export function imresizeAs8(img: Image, size: ResizeSize, method: ResizeMethod = 'bicubic', opts: ResizeOptions = {}): Image {
  checkImage(img, 'image to resize');
  const src: Image8 = { width: img.width, height: img.height, channels: img.channels, data: toUint8(img.data) };
  if (img.alpha) src.alpha = toUint8(img.alpha);
  const r = imresize8(src, size, method, opts);
  const out: Image = { width: r.width, height: r.height, channels: r.channels, data: fromUint8(r.data) };
  if (r.alpha) out.alpha = fromUint8(r.alpha);
  return out;
}
