// NIQE, the "completely blind" naturalness score of Mittal, Soundararajan and Bovik (IEEE SPL
// 2013): the distance between a multivariate Gaussian fitted to an image's block features and the
// authors' model of pristine photographs. Lower = more natural. No reference image is needed, which
// is why it sits on the perception axis of the perception-distortion plane.
//
// Recipe of the authors' MATLAB release (computequality.m), which the check figure holds us to:
// Y of BT.601 rounded to integers (a grey image as is); crop to whole 96x96 blocks; per block, 18
// features of the MSCN map at full size and 18 more at half size (MATLAB bicubic imresize x0.5 on
// doubles, blocks 48x48); mean and covariance of the block features (NaN handled like nanmean and
// nancov); quality = sqrt(d' pinv((cov_pristine + cov_image) / 2) d), d = the difference of means.
// Set14 baboon.png gives 5.7296 in the authors' MATLAB (test/eval/niqe.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SrError } from '../util/errors.js';
import { packageRoot } from '../util/package_info.js';
import { pinvSymmetric } from '../util/linalg.js';
import { imresizePlane } from '../image/resize.js';
import type { Image } from '../image/image.js';
import { scoringPlanes, type Plane } from './metrics.js';
import { mscn, blockFeatures } from './niqe_features.js';

/** Block side of the release (and of the pristine model's fit). */
export const NIQE_BLOCK = 96;
const FEATURES = 36;
const HALF = FEATURES / 2;

/** The pristine model: 36 feature means, their 36x36 covariance, and the 7x7 window for MSCN. */
export interface NiqeModel {
  path: string;
  mean: Float64Array;
  /** row-major 36x36 */
  cov: Float64Array;
  /** row-major windowSize x windowSize, sums to 1 */
  window: Float64Array;
  windowSize: number;
}

/** Overrides where the pristine model is read from. */
export const NIQE_MODEL_ENV = 'SRGAN_NIQE_MODEL';

/**
 * The model is the authors' data, kept with the project's shared data (../shared/data/niqe) rather
 * than shipped: only evaluation needs it. SRGAN_NIQE_MODEL points elsewhere.
 */
export function defaultNiqeModelPath(): string {
  return process.env[NIQE_MODEL_ENV] ?? resolve(packageRoot, '..', 'shared', 'data', 'niqe', 'niqe_pristine_params.json');
}

const models = new Map<string, NiqeModel>();

function numbers(v: unknown, n: number, what: string, path: string): Float64Array {
  if (!Array.isArray(v) || v.length !== n || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw new SrError(`${path}: '${what}' must be ${n} finite numbers`);
  }
  return Float64Array.from(v as number[]);
}

function matrix(v: unknown, n: number, what: string, path: string): Float64Array {
  if (!Array.isArray(v) || v.length !== n) throw new SrError(`${path}: '${what}' must be a ${n}x${n} array of numbers`);
  const out = new Float64Array(n * n);
  v.forEach((row, i) => out.set(numbers(row, n, `${what}[${i}]`, path), i * n));
  return out;
}

/** Reads (once per path) and checks the pristine model file. */
export function loadNiqeModel(path = defaultNiqeModelPath()): NiqeModel {
  const abs = resolve(path);
  const hit = models.get(abs);
  if (hit) return hit;
  if (!existsSync(abs)) {
    throw new SrError(`NIQE's pristine model not found at ${abs}; it comes with the shared data (../shared/data/niqe/niqe_pristine_params.json), or set ${NIQE_MODEL_ENV}`);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(abs, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new SrError(`${abs}: not a readable JSON file (${(err as Error).message})`);
  }
  const win = json['gaussian_window_7x7'];
  const windowSize = Array.isArray(win) ? win.length : 0;
  if (windowSize % 2 !== 1) throw new SrError(`${abs}: 'gaussian_window_7x7' must be a square array of odd size`);
  const model: NiqeModel = {
    path: abs,
    mean: numbers(json['mu_pris_param'], FEATURES, 'mu_pris_param', abs),
    cov: matrix(json['cov_pris_param'], FEATURES, 'cov_pris_param', abs),
    window: matrix(win, windowSize, 'gaussian_window_7x7', abs),
    windowSize,
  };
  models.set(abs, model);
  return model;
}

export interface NiqeOptions {
  /** Pixels removed at every side first (default 0: the whole image, as the check figure). */
  border?: number;
  /** The pristine model, or the path of its file (default: defaultNiqeModelPath()). */
  model?: NiqeModel | string;
}

/**
 * NIQE of an image (lower = more natural). Colour is scored on Y (BT.601, studio range) rounded to
 * integers, a grey image on its own values, both from the image's 8-bit values, like the metrics.
 */
export function niqe(img: Image, opts: NiqeOptions = {}): number {
  const model = typeof opts.model === 'object' ? opts.model : loadNiqeModel(opts.model);
  const plane = scoringPlanes(img, { border: opts.border ?? 0, yOnly: true })[0]!;
  for (let i = 0; i < plane.data.length; i++) plane.data[i] = Math.round(plane.data[i]!);
  return niqePlane(plane, model, opts.border ? ` after removing a ${opts.border}-pixel border from ${img.width}x${img.height}` : '');
}

/** NIQE of one plane on the 0..255 scale, used as it is (no rounding). */
export function niqePlane(p: Plane, model: NiqeModel = loadNiqeModel(), context = ''): number {
  const bx = Math.floor(p.width / NIQE_BLOCK);
  const by = Math.floor(p.height / NIQE_BLOCK);
  if (bx === 0 || by === 0) {
    throw new SrError(`NIQE needs an image of at least ${NIQE_BLOCK}x${NIQE_BLOCK} pixels (it scores ${NIQE_BLOCK}x${NIQE_BLOCK} blocks); this one is ${p.width}x${p.height}${context}`);
  }
  let im: Plane = crop(p, bx * NIQE_BLOCK, by * NIQE_BLOCK);
  const first = im.data[0]!;
  if (im.data.every((v) => v === first)) throw new SrError(`NIQE is undefined for a flat image (every pixel is ${first}): it measures the statistics of texture`);
  const n = bx * by;
  const feats = new Float64Array(n * FEATURES);
  for (let scale = 1; scale <= 2; scale++) {
    const m = mscn(im.data, im.width, im.height, model.window, model.windowSize);
    const bs = NIQE_BLOCK / scale;
    for (let j = 0; j < by; j++) for (let i = 0; i < bx; i++) blockFeatures(m, im.width, i * bs, j * bs, bs, feats, (j * bx + i) * FEATURES + (scale - 1) * HALF);
    if (scale === 1) im = imresizePlane(im, { scale: 0.5 }, 'bicubic');
  }
  const q = distance(feats, n, model);
  if (!Number.isFinite(q)) {
    throw new SrError(`NIQE is undefined for this ${p.width}x${p.height} image: no ${NIQE_BLOCK}x${NIQE_BLOCK} block has texture on both sides of its local mean`);
  }
  return q;
}

function crop(p: Plane, w: number, h: number): Plane {
  if (w === p.width && h === p.height) return p;
  const data = new Float64Array(w * h);
  for (let y = 0; y < h; y++) data.set(p.data.subarray(y * p.width, y * p.width + w), y * w);
  return { width: w, height: h, data };
}

/**
 * sqrt(d' pinv((C_pristine + C_image) / 2) d). The image's mean skips NaN per feature (nanmean);
 * its covariance uses only the blocks without NaN, normalised by N - 1 (by 1 for a single block,
 * as MATLAB's cov does).
 */
function distance(feats: Float64Array, n: number, model: NiqeModel): number {
  const F = FEATURES;
  const mean = new Float64Array(F);
  for (let f = 0; f < F; f++) {
    let s = 0;
    let c = 0;
    for (let r = 0; r < n; r++) {
      const v = feats[r * F + f]!;
      if (!Number.isNaN(v)) {
        s += v;
        c++;
      }
    }
    mean[f] = s / c;
  }
  const rows: number[] = [];
  for (let r = 0; r < n; r++) if (!feats.subarray(r * F, (r + 1) * F).some(Number.isNaN)) rows.push(r);
  if (rows.length === 0) return NaN;
  const cm = new Float64Array(F);
  for (const r of rows) for (let f = 0; f < F; f++) cm[f] += feats[r * F + f]!;
  for (let f = 0; f < F; f++) cm[f] /= rows.length;
  const sum = new Float64Array(F * F);
  const norm = rows.length > 1 ? rows.length - 1 : 1;
  for (const r of rows) {
    for (let a = 0; a < F; a++) {
      const da = feats[r * F + a]! - cm[a]!;
      for (let b = 0; b < F; b++) sum[a * F + b] += (da * (feats[r * F + b]! - cm[b]!)) / norm;
    }
  }
  for (let i = 0; i < F * F; i++) sum[i] = (sum[i]! + model.cov[i]!) / 2;
  const inv = pinvSymmetric(sum, F);
  const d = model.mean.map((m, f) => m - mean[f]!);
  let q = 0;
  for (let a = 0; a < F; a++) for (let b = 0; b < F; b++) q += d[a]! * inv[a * F + b]! * d[b]!;
  return Math.sqrt(q);
}
