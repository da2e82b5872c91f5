// The perception-distortion plane (Blau & Michaeli, CVPR 2018): each method is a point, x its
// distortion against the HR, y its perception score, both lower = better; the HR itself sits at
// x = 0. Distortion is RMSE rather than PSNR so that the HR has a place on the axis; PSNR is kept
// in the table and in the labels. An alpha sweep of network interpolation draws the trade-off
// curve between SRResNet (alpha 0) and SRGAN (alpha 1).
import { SrError } from '../util/errors.js';
import { plotSvg, type Series } from '../util/svg_plot.js';
import type { EvalResult } from './protocol.js';

export interface PlanePoint {
  /** method name, or 'HR' for the reference */
  name: string;
  /** network-interpolation weight, for the points of an alpha sweep */
  alpha?: number;
  /** mean over images (Infinity for the HR) */
  psnr: number;
  ssim: number;
  /** mean over images of each image's RMSE on the scored planes (0..255 scale); 0 for the HR */
  rmse: number;
  /** mean NIQE over images */
  niqe: number;
}

/** RMSE of an image from its PSNR (peak 255): the same MSE, read the other way. */
const rmseOf = (psnr: number): number => (psnr === Infinity ? 0 : 255 * 10 ** (-psnr / 20));

/**
 * The plane's points of an evaluation that measured NIQE: the sweep's blends in alpha order, the
 * other methods as evaluated, then the HR. `alphas` maps method names to their alpha.
 */
export function planePoints(r: EvalResult, alphas: ReadonlyMap<string, number> = new Map()): PlanePoint[] {
  const hrNiqe = r.referenceMean?.niqe;
  if (!r.metrics.includes('niqe') || hrNiqe === undefined) throw new SrError('the perception-distortion plane needs NIQE: evaluate with the niqe metric');
  const point = (name: string): PlanePoint => {
    const m = r.mean[name]!;
    const rmse = r.images.reduce((a, img) => a + rmseOf(img.scores[name]!.psnr), 0) / r.images.length;
    const p: PlanePoint = { name, psnr: m.psnr, ssim: m.ssim, rmse, niqe: m.niqe! };
    const alpha = alphas.get(name);
    if (alpha !== undefined) p.alpha = alpha;
    return p;
  };
  const swept = r.methods.filter((m) => alphas.has(m)).sort((a, b) => alphas.get(a)! - alphas.get(b)!);
  const others = r.methods.filter((m) => !alphas.has(m));
  return [...swept.map(point), ...others.map(point), { name: 'HR', psnr: Infinity, ssim: 1, rmse: 0, niqe: hrNiqe }];
}

export function planeCsv(points: readonly PlanePoint[]): string {
  const rows = ['point,alpha,psnr,rmse,ssim,niqe'];
  for (const p of points) {
    rows.push([p.name, p.alpha ?? '', p.psnr === Infinity ? 'inf' : p.psnr.toFixed(4), p.rmse.toFixed(4), p.ssim.toFixed(6), p.niqe.toFixed(4)].join(','));
  }
  return rows.join('\n') + '\n';
}

/** Blau & Michaeli's figure: x = RMSE, y = NIQE, every point labelled; the sweep joined by a line. */
export function planeSvg(points: readonly PlanePoint[], title: string, sweepName = 'SRResNet→SRGAN'): string {
  const label = (p: PlanePoint) => (p.psnr === Infinity ? p.name : `${p.alpha !== undefined ? `α=${p.alpha}` : p.name} (${p.psnr.toFixed(2)} dB)`);
  const sweep = points.filter((p) => p.alpha !== undefined);
  const series: Series[] = [];
  if (sweep.length > 0) series.push({ name: sweepName, points: sweep.map((p) => [p.rmse, p.niqe]), labels: sweep.map(label) });
  for (const p of points.filter((q) => q.alpha === undefined)) series.push({ name: p.name, points: [[p.rmse, p.niqe]], labels: [label(p)], line: false });
  return plotSvg(
    [{ title, xLabel: 'distortion: RMSE on Y, mean over images (lower = closer to the HR)', yLabel: 'perception: NIQE (lower = more natural)', series }],
    900,
    520,
  );
}
