// Dense optical flow and the plain (non-TF.js) flow utilities built on it.
//
// Convention, used everywhere in src/video: the flow from frame A to frame B at pixel p is the
// displacement f(p) such that A(p) ~ B(p + f(p)) (OpenCV's: prev = A, next = B). So B is brought
// onto A's grid by backward warping, warped(p) = B(p + f(p)). Pixel centres sit at integer
// coordinates, x to the right, y down; u is the x component, v the y component, in pixels.
//
// The estimator is OpenCV's Farneback (polynomial expansion, Farneback 2003) from OpenCV.js. DIS
// would be faster, but the published OpenCV.js build exports only its constants, not the class.
// On band-limited texture the end-point error is ~0.02 px for shifts up to several pixels
// (test/video/flow.test.ts holds it under 0.1 px).
import { SrError } from '../util/errors.js';
import type { Image, Image8 } from '../image/image.js';
import { loadOpenCv } from './opencv.js';

export interface Flow {
  /** horizontal displacement, row-major width*height */
  u: Float32Array;
  /** vertical displacement */
  v: Float32Array;
  width: number;
  height: number;
}

export interface FlowOptions {
  /** Image scale between pyramid levels (default 0.5). */
  pyrScale?: number;
  /** Pyramid levels above the full resolution (default 4: motions up to ~30 px). */
  levels?: number;
  /** Averaging window (default 15): larger is more robust, smoother at motion edges. */
  winSize?: number;
  /** Iterations per level (default 5). */
  iterations?: number;
  /** Neighbourhood of the polynomial fit (default 5, with polySigma 1.1). */
  polyN?: number;
  polySigma?: number;
}

const DEFAULTS: Required<FlowOptions> = { pyrScale: 0.5, levels: 4, winSize: 15, iterations: 5, polyN: 5, polySigma: 1.1 };

/** Luma as OpenCV's RGB2GRAY computes it (BT.601 weights), rounded to 8 bits. */
export function toGrey8(img: Image | Image8): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n);
  const d = img.data;
  const k = d instanceof Uint8Array ? 1 : 255;
  if (img.channels === 1) {
    for (let i = 0; i < n; i++) out[i] = Math.max(0, Math.min(255, Math.round(d[i]! * k)));
    return out;
  }
  for (let i = 0; i < n; i++) {
    const g = (0.299 * d[3 * i]! + 0.587 * d[3 * i + 1]! + 0.114 * d[3 * i + 2]!) * k;
    out[i] = Math.max(0, Math.min(255, Math.round(g)));
  }
  return out;
}

/**
 * Dense flow from `a` to `b` (see the convention above). Both frames must have the same size;
 * colour frames are reduced to luma first.
 */
export async function opticalFlow(a: Image | Image8, b: Image | Image8, opts: FlowOptions = {}): Promise<Flow> {
  if (a.width !== b.width || a.height !== b.height) {
    throw new SrError(`optical flow needs frames of one size, got ${a.width}x${a.height} and ${b.width}x${b.height}`);
  }
  return opticalFlowGrey(toGrey8(a), toGrey8(b), a.width, a.height, opts);
}

export async function opticalFlowGrey(a: Uint8Array, b: Uint8Array, width: number, height: number, opts: FlowOptions = {}): Promise<Flow> {
  const { cv } = await loadOpenCv();
  const o = { ...DEFAULTS, ...opts };
  // Farneback's pyramid must not shrink a level below a few pixels.
  const maxLevels = Math.max(0, Math.floor(Math.log2(Math.min(width, height) / 8)));
  const ma = new cv.Mat(height, width, cv.CV_8UC1);
  const mb = new cv.Mat(height, width, cv.CV_8UC1);
  const mf = new cv.Mat();
  try {
    ma.data.set(a);
    mb.data.set(b);
    cv.calcOpticalFlowFarneback(ma, mb, mf, o.pyrScale, Math.min(o.levels, maxLevels), o.winSize, o.iterations, o.polyN, o.polySigma, 0);
    const f = mf.data32F;
    const n = width * height;
    const u = new Float32Array(n);
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      u[i] = f[2 * i]!;
      v[i] = f[2 * i + 1]!;
    }
    return { u, v, width, height };
  } finally {
    ma.delete();
    mb.delete();
    mf.delete();
  }
}

export function flowMagnitude(f: Flow): Float32Array {
  const out = new Float32Array(f.u.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.hypot(f.u[i]!, f.v[i]!);
  return out;
}

/** Bilinear sample of a single-channel plane, or undefined when (x, y) is outside the frame. */
function sample(plane: Float32Array, w: number, h: number, x: number, y: number): number | undefined {
  if (!(x >= 0 && y >= 0 && x <= w - 1 && y <= h - 1)) return undefined;
  const x0 = Math.min(Math.floor(x), w - 2 < 0 ? 0 : w - 2);
  const y0 = Math.min(Math.floor(y), h - 2 < 0 ? 0 : h - 2);
  const fx = x - x0;
  const fy = y - y0;
  const x1 = Math.min(x0 + 1, w - 1);
  const y1 = Math.min(y0 + 1, h - 1);
  const a = plane[y0 * w + x0]! * (1 - fx) + plane[y0 * w + x1]! * fx;
  const b = plane[y1 * w + x0]! * (1 - fx) + plane[y1 * w + x1]! * fx;
  return a * (1 - fy) + b * fy;
}

/**
 * Pixels where the flow `fwd` (A -> B) can be trusted for warping: p + f(p) lands inside the
 * frame, and the flow passes the forward-backward consistency check of Sundaram, Brox & Keutzer
 * (ECCV 2010), with `bwd` the flow B -> A:
 *   |f(p) + b(p + f(p))|^2 < alpha (|f(p)|^2 + |b(p + f(p))|^2) + beta,  alpha 0.01, beta 0.5.
 * A pixel occluded in B fails it: what B shows at p + f(p) moves differently. 1 = valid.
 */
export function validFlowMask(fwd: Flow, bwd: Flow, alpha = 0.01, beta = 0.5): Uint8Array {
  const { width: w, height: h } = fwd;
  if (bwd.width !== w || bwd.height !== h) throw new SrError('forward and backward flows differ in size');
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const fu = fwd.u[i]!;
      const fv = fwd.v[i]!;
      const bu = sample(bwd.u, w, h, x + fu, y + fv);
      if (bu === undefined) continue;
      const bv = sample(bwd.v, w, h, x + fu, y + fv)!;
      const du = fu + bu;
      const dv = fv + bv;
      if (du * du + dv * dv < alpha * (fu * fu + fv * fv + bu * bu + bv * bv) + beta) out[i] = 1;
    }
  }
  return out;
}

/**
 * Backward warp of an image by a flow (bilinear): out(p) = img(p + f(p)). Samples outside the
 * frame are left 0 and their `inFrame` entry is 0.
 */
export function warpImage(img: Image, f: Flow): { image: Image; inFrame: Uint8Array } {
  const { width: w, height: h, channels: c } = img;
  if (f.width !== w || f.height !== h) throw new SrError(`flow ${f.width}x${f.height} does not match the image ${w}x${h}`);
  const out = new Float32Array(w * h * c);
  const inFrame = new Uint8Array(w * h);
  const d = img.data;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const sx = x + f.u[i]!;
      const sy = y + f.v[i]!;
      if (!(sx >= 0 && sy >= 0 && sx <= w - 1 && sy <= h - 1)) continue;
      inFrame[i] = 1;
      const x0 = Math.min(Math.floor(sx), Math.max(0, w - 2));
      const y0 = Math.min(Math.floor(sy), Math.max(0, h - 2));
      const x1 = Math.min(x0 + 1, w - 1);
      const y1 = Math.min(y0 + 1, h - 1);
      const fx = sx - x0;
      const fy = sy - y0;
      const w00 = (1 - fx) * (1 - fy);
      const w01 = fx * (1 - fy);
      const w10 = (1 - fx) * fy;
      const w11 = fx * fy;
      for (let k = 0; k < c; k++) {
        out[i * c + k] = w00 * d[(y0 * w + x0) * c + k]! + w01 * d[(y0 * w + x1) * c + k]! + w10 * d[(y1 * w + x0) * c + k]! + w11 * d[(y1 * w + x1) * c + k]!;
      }
    }
  }
  return { image: { width: w, height: h, channels: c, data: out }, inFrame };
}
