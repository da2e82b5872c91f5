// NIQE's natural-scene-statistics features (Mittal, Soundararajan & Bovik, IEEE SPL 2013), as the
// authors' MATLAB release computes them (computequality.m, computefeature.m, estimateaggdparam.m).
// Where the release and the paper's wording differ, the release wins: the pristine model was fitted
// with the release's code, so only its features are comparable with it. In particular:
//  - the MSCN coefficients get an AGGD fit too (not a symmetric GGD), and the feature pair is
//    (shape, (beta_left + beta_right) / 2);
//  - the neighbour products give (shape, mean, beta_left, beta_right): scale parameters, not
//    variances;
//  - neighbours wrap around inside a block (MATLAB circshift), so each block is scored on its own;
//  - empty sides (a block with no negative value, say) give NaN, and the shape then falls on the
//    first grid value (MATLAB's min skips NaN and returns index 1); NaN rows are dropped later.
import { logGamma } from '../mos/stats.js';

const gamma = (x: number): number => Math.exp(logGamma(x));

/** The release's grid of candidate shapes, 0.2:0.001:10, and the AGGD ratio r(g) on it. */
const SHAPES: Float64Array = Float64Array.from({ length: 9801 }, (_, k) => 0.2 + k * 0.001);
const RATIO: Float64Array = SHAPES.map((g) => Math.exp(2 * logGamma(2 / g) - logGamma(1 / g) - logGamma(3 / g)));

export interface Aggd {
  shape: number;
  betaLeft: number;
  betaRight: number;
}

/** Moment-matching AGGD fit of `v[0..n)` (estimateaggdparam.m). */
export function fitAggd(v: Float64Array, n = v.length): Aggd {
  let sumL = 0, nL = 0, sumR = 0, nR = 0, sumAbs = 0, sumSq = 0;
  for (let i = 0; i < n; i++) {
    const x = v[i]!;
    const x2 = x * x;
    if (x < 0) {
      sumL += x2;
      nL++;
    } else if (x > 0) {
      sumR += x2;
      nR++;
    }
    sumAbs += Math.abs(x);
    sumSq += x2;
  }
  const leftStd = Math.sqrt(sumL / nL); // NaN when there is no negative value, as in MATLAB
  const rightStd = Math.sqrt(sumR / nR);
  const g = leftStd / rightStd;
  const rhat = (sumAbs / n) ** 2 / (sumSq / n);
  const target = (rhat * (g ** 3 + 1) * (g + 1)) / (g ** 2 + 1) ** 2;
  // Nearest grid value by squared difference, first on ties; a NaN target keeps index 0.
  let best = 0;
  let bestD = Infinity;
  if (!Number.isNaN(target)) {
    for (let k = 0; k < RATIO.length; k++) {
      const d = (RATIO[k]! - target) ** 2;
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
  }
  const shape = SHAPES[best]!;
  const f = Math.sqrt(gamma(1 / shape) / gamma(3 / shape));
  return { shape, betaLeft: leftStd * f, betaRight: rightStd * f };
}

/**
 * 7x7 local mean and deviation with replicated borders (MATLAB imfilter(..., 'replicate'); the
 * window is symmetric, so correlation and convolution agree), then MSCN = (I - mu) / (sigma + 1).
 * (The release also averages sigma per block as 'sharpness', but only its model fitting uses that
 * to pick sharp pristine blocks; scoring an image keeps every block.)
 */
export function mscn(data: Float64Array, width: number, height: number, window: Float64Array, size: number): Float64Array {
  const r = (size - 1) / 2;
  const pw = width + 2 * r;
  const ph = height + 2 * r;
  // padded copies of I and I^2 keep the border logic out of the 49-tap loop
  const pad = new Float64Array(pw * ph);
  const pad2 = new Float64Array(pw * ph);
  for (let y = 0; y < ph; y++) {
    const sy = Math.min(height - 1, Math.max(0, y - r));
    for (let x = 0; x < pw; x++) {
      const v = data[sy * width + Math.min(width - 1, Math.max(0, x - r))]!;
      pad[y * pw + x] = v;
      pad2[y * pw + x] = v * v;
    }
  }
  const out = new Float64Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let mu = 0;
      let m2 = 0;
      for (let ky = 0; ky < size; ky++) {
        const row = (y + ky) * pw + x;
        const wrow = ky * size;
        for (let kx = 0; kx < size; kx++) {
          const w = window[wrow + kx]!;
          mu += w * pad[row + kx]!;
          m2 += w * pad2[row + kx]!;
        }
      }
      const sigma = Math.sqrt(Math.abs(m2 - mu * mu));
      out[y * width + x] = (data[y * width + x]! - mu) / (sigma + 1);
    }
  }
  return out;
}

/** Neighbour offsets of the release's circshift calls: horizontal, vertical, diagonal, anti-diagonal. */
const SHIFTS: ReadonlyArray<readonly [number, number]> = [
  [0, 1],
  [1, 0],
  [1, 1],
  [1, -1],
];

/** The 18 features of one bs x bs block of an MSCN map (computefeature.m), appended to `out` at `at`. */
export function blockFeatures(m: Float64Array, width: number, x0: number, y0: number, bs: number, out: Float64Array, at: number): void {
  const block = new Float64Array(bs * bs);
  for (let y = 0; y < bs; y++) block.set(m.subarray((y0 + y) * width + x0, (y0 + y) * width + x0 + bs), y * bs);
  const a = fitAggd(block);
  out[at] = a.shape;
  out[at + 1] = (a.betaLeft + a.betaRight) / 2;
  const pair = new Float64Array(bs * bs);
  let k = at + 2;
  for (const [dy, dx] of SHIFTS) {
    // circshift by (dy, dx): the shifted block at (y, x) holds the block's ((y - dy), (x - dx)) mod bs
    for (let y = 0; y < bs; y++) {
      const sy = (y - dy + bs) % bs;
      for (let x = 0; x < bs; x++) pair[y * bs + x] = block[y * bs + x]! * block[sy * bs + ((x - dx + bs) % bs)]!;
    }
    const p = fitAggd(pair);
    out[k++] = p.shape;
    out[k++] = (p.betaRight - p.betaLeft) * (gamma(2 / p.shape) / gamma(1 / p.shape));
    out[k++] = p.betaLeft;
    out[k++] = p.betaRight;
  }
}
