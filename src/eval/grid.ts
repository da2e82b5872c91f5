// Grid strength: how much of an upscaled image repeats with the period of the upscaler's sub-pixel
// grid. A pixel-shuffle network x s computes the s x s output pixels of each LR pixel with
// different filters, so an imbalance between them (what SRGAN training tends to grow, seen as a
// checkerboard) is a pattern of period s. Averaging the high-passed luma over all pixels of the
// same phase (y mod s, x mod s) keeps exactly that pattern, while image content, which has no
// reason to favour a phase, averages out. The HR's own value is the reference, not always the
// floor: a JPEG-compressed HR has some, since its 8x8 blocks repeat every 4 and 2 pixels too.
import { SrError } from '../util/errors.js';
import type { Image } from '../image/image.js';
import { scoringPlanes, type Plane } from './metrics.js';

/**
 * RMS over the period x period phases of the phase means of (luma minus its 3x3 mean), in 8-bit
 * levels of the scoring plane (Y of BT.601 for colour, grey for grey). `border` pixels are removed
 * first; keep it a multiple of the period so that phases stay those of the LR grid.
 */
export function gridStrength(img: Image, period: number, opts: { border?: number } = {}): number {
  if (!(Number.isInteger(period) && period >= 2)) throw new SrError(`grid period must be a whole number >= 2, got ${period}`);
  const border = opts.border ?? 0;
  if (border % period !== 0) throw new SrError(`grid: border ${border} must be a multiple of the period ${period}, or the phases move`);
  const p = scoringPlanes(img, { border, yOnly: true })[0]!;
  if (p.width < 2 + 2 * period || p.height < 2 + 2 * period) throw new SrError(`grid: the image (${p.width}x${p.height} after the border) is too small for period ${period}`);
  const q = phaseMeans(p, period);
  return Math.sqrt(q.reduce((a, m) => a + m * m, 0) / q.length);
}

/**
 * The period x period phase means of (plane minus its 3x3 mean), centred over the phases: the
 * plane's periodic pattern, one value per phase (y mod period) * period + (x mod period).
 */
export function phaseMeans(p: Pick<Plane, 'width' | 'height' | 'data'>, period: number): number[] {
  const { width: w, height: h, data } = p;
  const sums = new Float64Array(period * period);
  const counts = new Float64Array(period * period);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      let box = 0;
      for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) box += data[(y + dy) * w + x + dx]!;
      const k = (y % period) * period + (x % period);
      sums[k] += data[y * w + x]! - box / 9;
      counts[k]++;
    }
  }
  const means = Array.from(sums, (s, k) => s / counts[k]!);
  const mu = means.reduce((a, b) => a + b, 0) / means.length;
  return means.map((m) => m - mu);
}
