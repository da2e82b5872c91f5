// Training batches of (LR, HR) patches, produced ahead of time in worker threads.
//
// - HR patches are random crops (default 96x96) of the training images, mod-cropped to the scale.
// - LR patches are the matching crops of the whole image's protocol LR: MATLAB-exact bicubic 1/s
//   on uint8, rounded to uint8, so training sees the same degradation as the benchmarks.
// - Both get the same random flip / 90-degree rotation (one of the 8 symmetries of the square).
// - LR values are in [0, 1], HR in [-1, 1] (SRGAN paper); layout [batch, h, w, 3]. Grey images
//   are expanded to RGB, alpha is ignored, 16-bit sources are rounded to 8 bits in the cache.
// - Every sample's randomness is a pure function of (seed, sample number): images are drawn by
//   epoch (a seeded shuffle per epoch, each image once), then crop and transform from a per-sample
//   generator. So the stream does not depend on worker count or timing, and the state to resume
//   exactly is just the seed and the number of batches consumed.
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { SrError } from '../util/errors.js';
import { DEFAULT_MAX_PIXELS, imageSize, listImages } from '../io/image.js';
import { dataFolders } from './folders.js';
import type { SampleSpec, ToWorker, WorkerInit } from './patch_worker.js';
import { Rng, hash32 } from '../util/random.js';
import { WorkerStream } from './worker_stream.js';

export interface PatchDatasetOptions {
  /** folder of HR training images; several as 'a,b' */
  dir: string;
  scale: number;
  /** HR patch side (default 96); must be a multiple of scale */
  hrPatch?: number;
  /** samples per batch (default 16) */
  batch?: number;
  seed?: number;
  /** worker threads (default: cores - 1, between 1 and 4) */
  workers?: number;
  /** batches prepared ahead (default 2 per worker, at least 2) */
  prefetch?: number;
  /** random flips and rotations (default true) */
  augment?: boolean;
  maxPixels?: number;
  /** resume where a previous state() left off */
  state?: PatchDatasetState;
  /** where skipped-image warnings go (default: stderr) */
  onWarning?: (message: string) => void;
}

export interface PatchDatasetState {
  version: 1;
  seed: number;
  /** batches handed out by next() so far */
  batchesServed: number;
  scale: number;
  hrPatch: number;
  batch: number;
  augment: boolean;
  /** hash of the usable images' names and sizes: resuming on other data is an error */
  fingerprint: number;
}

export interface SampleInfo {
  file: string;
  /** HR crop top-left in the mod-cropped image, before the transform */
  x: number;
  y: number;
  /** 0..7, see patch_worker.ts */
  transform: number;
}

export interface PatchBatch {
  /** [batch, lrSize, lrSize, 3], values in [0, 1] */
  lr: Float32Array;
  /** [batch, hrSize, hrSize, 3], values in [-1, 1] */
  hr: Float32Array;
  batch: number;
  lrSize: number;
  hrSize: number;
  /** 0-based number of this batch in the stream */
  index: number;
  samples: SampleInfo[];
}

interface ImageInfo {
  path: string;
  /** LR size of the mod-cropped image */
  lrW: number;
  lrH: number;
}

export class PatchDataset {
  readonly scale: number;
  readonly hrSize: number;
  readonly lrSize: number;
  readonly batchSize: number;
  readonly seed: number;
  readonly augment: boolean;
  readonly images: readonly ImageInfo[];
  private readonly fingerprint: number;
  private readonly warn: (message: string) => void;
  private readonly stream: WorkerStream<SampleSpec>;

  private constructor(o: {
    scale: number;
    hrSize: number;
    batch: number;
    seed: number;
    augment: boolean;
    images: ImageInfo[];
    fingerprint: number;
    workers: number;
    prefetch: number;
    maxPixels: number;
    warn: (message: string) => void;
  }) {
    this.warn = o.warn;
    this.scale = o.scale;
    this.hrSize = o.hrSize;
    this.lrSize = o.hrSize / o.scale;
    this.batchSize = o.batch;
    this.seed = o.seed;
    this.augment = o.augment;
    this.images = o.images;
    this.fingerprint = o.fingerprint;
    const lrP = this.lrSize;
    this.stream = new WorkerStream<SampleSpec>({
      name: 'patch',
      url: new URL('./patch_worker.js', import.meta.url),
      // Image i lives in worker i % n: each decoded image is cached once, not once per worker.
      workerData: (owned) => ({
        files: Object.fromEntries(owned.map((i) => [i, o.images[i]!.path])),
        scale: o.scale,
        hrPatch: o.hrSize,
        maxPixels: o.maxPixels,
      }) satisfies WorkerInit,
      workers: o.workers,
      prefetch: o.prefetch,
      items: o.images.length,
      batch: o.batch,
      seed: o.seed,
      sizes: [lrP * lrP * 3, o.hrSize * o.hrSize * 3],
      sample: (g, image, slot) => {
        const rng = new Rng(hash32(o.seed, 0x5eed, g));
        const im = o.images[image]!;
        const x = rng.int(im.lrW - lrP + 1);
        const y = rng.int(im.lrH - lrP + 1);
        const t = o.augment ? rng.int(8) : 0;
        return { slot, image, x, y, t };
      },
    });
  }

  static async open(opts: PatchDatasetOptions): Promise<PatchDataset> {
    const scale = opts.scale;
    const hrSize = opts.hrPatch ?? 96;
    const batch = opts.batch ?? 16;
    const seed = (opts.seed ?? 0) >>> 0;
    const augment = opts.augment ?? true;
    const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
    if (!(Number.isInteger(scale) && scale >= 1 && scale <= 16)) throw new SrError(`scale must be an integer 1..16, got ${scale}`);
    if (!(Number.isInteger(hrSize) && hrSize > 0 && hrSize % scale === 0)) {
      throw new SrError(`HR patch size must be a positive multiple of the scale ${scale}, got ${hrSize}`);
    }
    if (!(Number.isInteger(batch) && batch > 0)) throw new SrError(`batch size must be a positive integer, got ${batch}`);
    const nWorkers = opts.workers ?? Math.max(1, Math.min(4, availableParallelism() - 1));
    if (!(Number.isInteger(nWorkers) && nWorkers >= 1)) throw new SrError(`workers must be a positive integer, got ${nWorkers}`);
    const prefetch = opts.prefetch ?? Math.max(2, 2 * nWorkers);
    const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));

    const files = (await Promise.all(dataFolders(opts.dir).map((d) => listImages(d)))).flat();
    const sizes = await Promise.all(files.map((f) => imageSize(f)));
    const images: ImageInfo[] = [];
    for (let i = 0; i < files.length; i++) {
      const { width, height } = sizes[i]!;
      if (width * height > maxPixels) throw new SrError(`${files[i]}: ${width}x${height} is over the ${maxPixels / 1e6} MP limit (maxPixels)`);
      const lrW = Math.floor(width / scale);
      const lrH = Math.floor(height / scale);
      if (lrW * scale < hrSize || lrH * scale < hrSize) {
        warn(`skipping ${files[i]}: ${width}x${height} is smaller than the ${hrSize}x${hrSize} HR patch`);
        continue;
      }
      images.push({ path: files[i]!, lrW, lrH });
    }
    if (images.length === 0) throw new SrError(`no image in ${opts.dir} is at least ${hrSize}x${hrSize}; nothing to train on`);
    const fingerprint = hash32(images.length, ...images.flatMap((im) => [hash32(...Buffer.from(basename(im.path))), im.lrW, im.lrH]));

    const ds = new PatchDataset({ scale, hrSize, batch, seed, augment, images, fingerprint, workers: nWorkers, prefetch, maxPixels, warn });
    if (opts.state) ds.restore(opts.state);
    ds.stream.start();
    // warm-up order: as the current epoch's draws will need the images
    const order = Array.from(ds.stream.permutation(Math.floor((ds.stream.position * batch) / images.length)));
    ds.stream.broadcast({ type: 'warm', order } satisfies ToWorker);
    return ds;
  }

  /** The next batch; prepared in the background while the caller worked on the previous one. */
  async next(): Promise<PatchBatch> {
    const { index, specs, buffers } = await this.stream.next();
    return {
      lr: buffers[0]!,
      hr: buffers[1]!,
      batch: this.batchSize,
      lrSize: this.lrSize,
      hrSize: this.hrSize,
      index,
      samples: specs.map((s) => ({ file: this.images[s.image]!.path, x: s.x * this.scale, y: s.y * this.scale, transform: s.t })),
    };
  }

  /** Where the stream stands: pass it back (open({state}) or restore) to continue exactly here. */
  state(): PatchDatasetState {
    return {
      version: 1,
      seed: this.seed,
      batchesServed: this.stream.position,
      scale: this.scale,
      hrPatch: this.hrSize,
      batch: this.batchSize,
      augment: this.augment,
      fingerprint: this.fingerprint,
    };
  }

  restore(state: PatchDatasetState): void {
    if (state?.version !== 1) throw new SrError(`unknown patch dataset state version ${String(state?.version)}`);
    const mismatch: string[] = [];
    if (state.seed !== this.seed) mismatch.push(`seed ${state.seed} vs ${this.seed}`);
    if (state.scale !== this.scale) mismatch.push(`scale ${state.scale} vs ${this.scale}`);
    if (state.augment !== this.augment) mismatch.push(`augment ${state.augment} vs ${this.augment}`);
    if (state.fingerprint !== this.fingerprint) mismatch.push('the image set differs (names or sizes)');
    if (mismatch.length) throw new SrError(`cannot resume the patch stream: saved state does not match this dataset (${mismatch.join('; ')})`);
    // Samples are a pure function of (seed, sample number), so a new patch or batch size keeps
    // the image order and augmentations, resuming at the first sample not yet served: a common
    // curriculum step (larger crops late in training), not an error. Only exact settings resume
    // bit-for-bit.
    if (state.hrPatch !== this.hrSize) {
      this.warn(`continuing the image order of a run saved with ${state.hrPatch}px HR patches with ${this.hrSize}px patches`);
    }
    if (state.batch !== this.batchSize) {
      this.warn(`continuing a stream saved with batches of ${state.batch} with batches of ${this.batchSize}, from sample ${Math.ceil((state.batchesServed * state.batch) / this.batchSize) * this.batchSize}`);
    }
    this.stream.seek(state.batchesServed, state.batch);
  }

  close(): Promise<void> {
    return this.stream.close();
  }

  /** The samples of batch `index`: a pure function of the seed. */
  recipe(index: number): (SampleSpec & { file: string })[] {
    return this.stream.recipe(index).map(({ spec }) => ({ ...spec, file: this.images[spec.image]!.path }));
  }
}
