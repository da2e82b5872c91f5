// The SR benchmark protocol: HR mod-cropped to a multiple of the scale, LR = MATLAB
// imresize(HR, 1/s, 'bicubic') on uint8, each method upscales the LR, and the result is scored
// against the HR on Y (or grey) with `scale` pixels removed at every border.
import { basename, resolve } from 'node:path';
import { SrError } from '../util/errors.js';
import { listImages, loadImage } from '../io/image.js';
import { checkImage, type Image } from '../image/image.js';
import { checkScale, degrade, modcrop } from '../image/degrade.js';
import { score, DEFAULT_METRICS, type MetricName, type Scores } from './metrics.js';
import { niqe } from './niqe.js';
import { gridStrength } from './grid.js';
import type { Method } from '../inference/methods.js';

const NO_REFERENCE = ['niqe', 'grid'] as const;

export interface ImageResult {
  name: string;
  /** HR size after mod-crop */
  width: number;
  height: number;
  channels: 1 | 3;
  scores: Record<string, Scores>;
  /** seconds each method took on this image */
  seconds: Record<string, number>;
  /** The no-reference metrics of the (mod-cropped) HR itself, the reference point for them. */
  reference?: NoReference;
}

export interface EvalResult {
  dataset: string;
  scale: number;
  border: number;
  yOnly: boolean;
  methods: string[];
  /** what was asked for (PSNR and SSIM are in the scores regardless) */
  metrics: MetricName[];
  images: ImageResult[];
  /** arithmetic mean over images of each method's per-image scores (the field's convention) */
  mean: Record<string, Scores>;
  /** mean of the images' `reference` */
  referenceMean?: NoReference;
}

/** The no-reference scores of one image, those that were asked for. */
export type NoReference = Pick<Scores, 'niqe' | 'grid'>;

export interface ImageOutcome {
  index: number;
  total: number;
  result: ImageResult;
  hr: Image;
  lr: Image;
  /** SR output of each method, as scored */
  outputs: Map<string, Image>;
}

export interface EvaluateOptions {
  /** folder of HR images */
  dir: string;
  scale: number;
  methods: Method[];
  /** default true: Y of YCbCr; false: RGB */
  yOnly?: boolean;
  /** default psnr, ssim; 'niqe' and 'grid' add those no-reference scores of every output and of the HR */
  metrics?: readonly MetricName[];
  /** called after each image, e.g. to save outputs or report progress */
  onImage?: (o: ImageOutcome) => void | Promise<void>;
  /** called before each image is loaded */
  onStart?: (file: string, index: number, total: number) => void;
}

/**
 * A method that hands back colour for a grey input (models trained on RGB do) is scored on the
 * mean of its channels, since the HR's grey values are the reference.
 */
function matchChannels(sr: Image, hr: Image): Image {
  if (sr.channels === hr.channels) return sr;
  if (hr.channels === 1 && sr.channels === 3) {
    const n = sr.width * sr.height;
    const data = new Float32Array(n);
    for (let p = 0; p < n; p++) data[p] = (sr.data[3 * p]! + sr.data[3 * p + 1]! + sr.data[3 * p + 2]!) / 3;
    return { width: sr.width, height: sr.height, channels: 1, data };
  }
  throw new SrError(`cannot score a ${sr.channels}-channel output against a ${hr.channels}-channel HR`);
}

export async function evaluateImage(
  hrFull: Image,
  name: string,
  scale: number,
  methods: Method[],
  yOnly = true,
  metrics: readonly MetricName[] = DEFAULT_METRICS,
): Promise<{ result: ImageResult; hr: Image; lr: Image; outputs: Map<string, Image> }> {
  // NIQE sees what PSNR sees: the same border removed (as BasicSR's crop_border and PIRM's shave do).
  const withNiqe = metrics.includes('niqe');
  const niqeOf = (img: Image, what: string): number => {
    try {
      return niqe(img, { border: scale });
    } catch (err) {
      if (err instanceof SrError) throw new SrError(`NIQE of ${what} for ${name}: ${err.message}`);
      throw err;
    }
  };
  const withGrid = metrics.includes('grid');
  // The sub-pixel grid of a x s upscaler repeats every s pixels; the border (= s) keeps its phase.
  const noReference = (img: Image, what: string): NoReference => ({
    ...(withNiqe ? { niqe: niqeOf(img, what) } : {}),
    ...(withGrid ? { grid: gridStrength(img, scale, { border: scale }) } : {}),
  });
  const hr = modcrop(hrFull, scale);
  const lr = degrade(hr, scale);
  const scores: Record<string, Scores> = {};
  const seconds: Record<string, number> = {};
  const outputs = new Map<string, Image>();
  for (const m of methods) {
    const t0 = performance.now();
    let sr = await m.run(lr, { scale });
    seconds[m.name] = (performance.now() - t0) / 1000;
    checkImage(sr, `output of method '${m.name}' for ${name}`);
    if (sr.width !== hr.width || sr.height !== hr.height) {
      throw new SrError(
        `method '${m.name}' turned the ${lr.width}x${lr.height} LR of ${name} into ${sr.width}x${sr.height}; x${scale} needs ${hr.width}x${hr.height}`,
      );
    }
    sr = matchChannels(sr, hr);
    outputs.set(m.name, sr);
    scores[m.name] = score(hr, sr, { border: scale, yOnly });
    Object.assign(scores[m.name]!, noReference(sr, `method '${m.name}'`));
  }
  const result: ImageResult = { name, width: hr.width, height: hr.height, channels: hr.channels, scores, seconds };
  if (withNiqe || withGrid) result.reference = noReference(hr, 'the HR');
  return { result, hr, lr, outputs };
}

export async function evaluate(opts: EvaluateOptions): Promise<EvalResult> {
  const { scale, methods } = opts;
  checkScale(scale);
  const yOnly = opts.yOnly ?? true;
  const metrics = [...(opts.metrics ?? DEFAULT_METRICS)];
  const files = await listImages(opts.dir);
  const images: ImageResult[] = [];
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    opts.onStart?.(file, i, files.length);
    const hr = await loadImage(file);
    const out = await evaluateImage(hr, basename(file), scale, methods, yOnly, metrics);
    images.push(out.result);
    await opts.onImage?.({ index: i, total: files.length, ...out });
  }
  const avg = (get: (r: ImageResult) => number): number => images.reduce((a, r) => a + get(r), 0) / images.length;
  const mean: Record<string, Scores> = {};
  for (const m of methods) {
    mean[m.name] = { psnr: avg((r) => r.scores[m.name]!.psnr), ssim: avg((r) => r.scores[m.name]!.ssim) };
    for (const k of NO_REFERENCE) if (metrics.includes(k)) mean[m.name]![k] = avg((r) => r.scores[m.name]![k]!);
  }
  const result: EvalResult = {
    dataset: basename(resolve(opts.dir)),
    scale,
    border: scale,
    yOnly,
    methods: methods.map((m) => m.name),
    metrics,
    images,
    mean,
  };
  const asked = NO_REFERENCE.filter((k) => metrics.includes(k));
  if (asked.length) result.referenceMean = Object.fromEntries(asked.map((k) => [k, avg((r) => r.reference![k]!)]));
  return result;
}

/**
 * evaluate() with NIQE added to `metrics` where the images allow it: NIQE needs a few 96 px blocks, so on images too
 * small for it (a small validation set) the scores come without NIQE, and `onSkip` says why.
 */
export async function evaluateWithNiqe(opts: EvaluateOptions, onSkip: (reason: string) => void): Promise<EvalResult> {
  const without = (opts.metrics ?? DEFAULT_METRICS).filter((m) => m !== 'niqe');
  try {
    return await evaluate({ ...opts, metrics: [...without, 'niqe'] });
  } catch (err) {
    if (!(err instanceof SrError && /NIQE/.test(err.message))) throw err;
    onSkip(err.message);
    return await evaluate({ ...opts, metrics: without });
  }
}
