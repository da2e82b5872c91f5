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
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { SrError } from '../util/errors.js';
import { DEFAULT_MAX_PIXELS, imageSize, listImages } from '../io/image.js';
import { dataFolders } from './folders.js';
import type { FromWorker, SampleSpec, ToWorker, WorkerInit } from './patch_worker.js';
import { Rng } from '../util/random.js';

// ---------------------------------------------------------------------------------------------
// Seeded randomness

/** 32-bit integer hash of a list of integers (murmur3 finaliser per word). */
export function hash32(...xs: number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    let k = Math.imul(x >>> 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    // the high half of numbers above 2^32 (sample counters) must matter too
    h ^= Math.floor(x / 0x100000000) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}


// ---------------------------------------------------------------------------------------------

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

interface Pending {
  index: number;
  promise: Promise<PatchBatch>;
}

interface Part {
  resolve: (v: { slots: number[]; lr: Float32Array; hr: Float32Array }) => void;
  reject: (e: Error) => void;
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
  private readonly workers: Worker[];
  private readonly prefetch: number;
  private readonly warn: (message: string) => void;
  private readonly parts = new Map<number, Part>();
  private nextJobId = 0;
  private queue: Pending[] = [];
  /** next batch index to schedule */
  private scheduled = 0;
  /** batches handed out */
  private served = 0;
  private closed = false;
  private failure: Error | undefined;
  private permCache = new Map<number, Int32Array>();

  private constructor(o: {
    scale: number;
    hrSize: number;
    batch: number;
    seed: number;
    augment: boolean;
    images: ImageInfo[];
    fingerprint: number;
    workers: Worker[];
    prefetch: number;
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
    this.workers = o.workers;
    this.prefetch = o.prefetch;
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

    // Image i lives in worker i % n: each decoded image is cached once, not once per worker.
    const workers: Worker[] = [];
    const url = new URL('./patch_worker.js', import.meta.url);
    for (let w = 0; w < nWorkers; w++) {
      const owned: Record<number, string> = {};
      images.forEach((im, i) => {
        if (i % nWorkers === w) owned[i] = im.path;
      });
      const init: WorkerInit = { files: owned, scale, hrPatch: hrSize, maxPixels };
      workers.push(new Worker(url, { workerData: init }));
    }
    const ds = new PatchDataset({ scale, hrSize, batch, seed, augment, images, fingerprint, workers, prefetch, warn });
    for (const w of workers) {
      w.on('message', (m: FromWorker) => ds.onMessage(m));
      w.on('error', (err) => ds.fail(new SrError(`patch worker crashed: ${err.message}`, { cause: err })));
      w.on('exit', (code) => {
        if (!ds.closed) ds.fail(new SrError(`patch worker exited unexpectedly (code ${code})`));
      });
      // Idle workers must not keep a process alive that forgot close(); busy ones must, or an
      // awaited next() could see the process exit under it.
      w.unref();
    }
    if (opts.state) ds.restore(opts.state);
    ds.fill();
    // warm-up order: as the current epoch's draws will need the images
    const order = Array.from(ds.permutation(Math.floor((ds.served * batch) / images.length)));
    for (const w of workers) w.postMessage({ type: 'warm', order } satisfies ToWorker);
    return ds;
  }

  /** The next batch; prepared in the background while the caller worked on the previous one. */
  async next(): Promise<PatchBatch> {
    if (this.closed) throw new SrError('PatchDataset.next() after close()');
    if (this.failure) throw this.failure;
    this.fill();
    const p = this.queue.shift()!;
    this.served = p.index + 1;
    this.fill();
    return p.promise;
  }

  /** Where the stream stands: pass it back (open({state}) or restore) to continue exactly here. */
  state(): PatchDatasetState {
    return {
      version: 1,
      seed: this.seed,
      batchesServed: this.served,
      scale: this.scale,
      hrPatch: this.hrSize,
      batch: this.batchSize,
      augment: this.augment,
      fingerprint: this.fingerprint,
    };
  }

  restore(state: PatchDatasetState): void {
    if (this.closed) throw new SrError('PatchDataset.restore() after close()');
    if (state?.version !== 1) throw new SrError(`unknown patch dataset state version ${String(state?.version)}`);
    const mismatch: string[] = [];
    if (state.seed !== this.seed) mismatch.push(`seed ${state.seed} vs ${this.seed}`);
    if (state.scale !== this.scale) mismatch.push(`scale ${state.scale} vs ${this.scale}`);
    if (state.augment !== this.augment) mismatch.push(`augment ${state.augment} vs ${this.augment}`);
    if (state.fingerprint !== this.fingerprint) mismatch.push('the image set differs (names or sizes)');
    if (mismatch.length) throw new SrError(`cannot resume the patch stream: saved state does not match this dataset (${mismatch.join('; ')})`);
    if (!(Number.isInteger(state.batchesServed) && state.batchesServed >= 0)) throw new SrError(`invalid batchesServed ${state.batchesServed}`);
    // Samples are a pure function of (seed, sample number), so a new patch or batch size keeps
    // the image order and augmentations, resuming at the first sample not yet served: a common
    // curriculum step (larger crops late in training), not an error. Only exact settings resume
    // bit-for-bit.
    if (state.hrPatch !== this.hrSize) {
      this.warn(`continuing the image order of a run saved with ${state.hrPatch}px HR patches with ${this.hrSize}px patches`);
    }
    let batchesServed = state.batchesServed;
    if (state.batch !== this.batchSize) {
      batchesServed = Math.ceil((state.batchesServed * state.batch) / this.batchSize);
      this.warn(`continuing a stream saved with batches of ${state.batch} with batches of ${this.batchSize}, from sample ${batchesServed * this.batchSize}`);
    }
    // Batches already in flight belong to the old position; their results are dropped.
    for (const p of this.queue) p.promise.catch(() => undefined);
    this.queue = [];
    this.served = batchesServed;
    this.scheduled = batchesServed;
    this.fill();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.queue) p.promise.catch(() => undefined);
    this.queue = [];
    const err = new SrError('PatchDataset closed');
    for (const part of this.parts.values()) part.reject(err);
    this.parts.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** The samples of batch `index`: a pure function of the seed. */
  recipe(index: number): (SampleSpec & { file: string })[] {
    const n = this.images.length;
    const out: (SampleSpec & { file: string })[] = [];
    for (let slot = 0; slot < this.batchSize; slot++) {
      const g = index * this.batchSize + slot;
      const epoch = Math.floor(g / n);
      const image = this.permutation(epoch)[g % n]!;
      const rng = new Rng(hash32(this.seed, 0x5eed, g));
      const im = this.images[image]!;
      const lrP = this.lrSize;
      const x = rng.int(im.lrW - lrP + 1);
      const y = rng.int(im.lrH - lrP + 1);
      const t = this.augment ? rng.int(8) : 0;
      out.push({ slot, image, x, y, t, file: im.path });
    }
    return out;
  }

  private permutation(epoch: number): Int32Array {
    let p = this.permCache.get(epoch);
    if (p) return p;
    const n = this.images.length;
    p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    const rng = new Rng(hash32(this.seed, 0xe90c, epoch));
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    if (this.permCache.size > 4) this.permCache.delete(this.permCache.keys().next().value!);
    this.permCache.set(epoch, p);
    return p;
  }

  private fill(): void {
    while (!this.closed && this.queue.length < this.prefetch) {
      const index = this.scheduled++;
      const promise = this.build(index);
      promise.catch(() => undefined); // observed by next(); avoids unhandled rejections while queued
      this.queue.push({ index, promise });
    }
  }

  private async build(index: number): Promise<PatchBatch> {
    const recipe = this.recipe(index);
    const byWorker = new Map<number, SampleSpec[]>();
    for (const s of recipe) {
      const w = s.image % this.workers.length;
      const list = byWorker.get(w) ?? [];
      list.push({ slot: s.slot, image: s.image, x: s.x, y: s.y, t: s.t });
      byWorker.set(w, list);
    }
    const results = await Promise.all(
      [...byWorker].map(
        ([w, samples]) =>
          new Promise<{ slots: number[]; lr: Float32Array; hr: Float32Array }>((resolve, reject) => {
            if (this.failure) return reject(this.failure);
            const id = this.nextJobId++;
            this.parts.set(id, { resolve, reject });
            this.workers[w]!.ref();
            this.workers[w]!.postMessage({ type: 'batch', id, samples } satisfies ToWorker);
          }),
      ),
    );
    const lrN = this.lrSize * this.lrSize * 3;
    const hrN = this.hrSize * this.hrSize * 3;
    let lr: Float32Array;
    let hr: Float32Array;
    if (results.length === 1 && results[0]!.slots.every((s, i) => s === i)) {
      // one worker made the whole batch, in slot order: its buffers are the batch (no copy; the
      // copy below costs the main thread a few ms per batch)
      lr = results[0]!.lr;
      hr = results[0]!.hr;
    } else {
      lr = new Float32Array(this.batchSize * lrN);
      hr = new Float32Array(this.batchSize * hrN);
      for (const r of results) {
        for (let i = 0; i < r.slots.length; i++) {
          const slot = r.slots[i]!;
          lr.set(r.lr.subarray(i * lrN, (i + 1) * lrN), slot * lrN);
          hr.set(r.hr.subarray(i * hrN, (i + 1) * hrN), slot * hrN);
        }
      }
    }
    return {
      lr,
      hr,
      batch: this.batchSize,
      lrSize: this.lrSize,
      hrSize: this.hrSize,
      index,
      samples: recipe.map((s) => ({ file: s.file, x: s.x * this.scale, y: s.y * this.scale, transform: s.t })),
    };
  }

  private onMessage(m: FromWorker): void {
    const part = this.parts.get(m.id);
    if (!part) return;
    this.parts.delete(m.id);
    if (this.parts.size === 0) for (const w of this.workers) w.unref();
    if (m.type === 'batch') part.resolve({ slots: m.slots, lr: new Float32Array(m.lr), hr: new Float32Array(m.hr) });
    else part.reject(new SrError(m.message));
  }

  private fail(err: Error): void {
    if (this.failure || this.closed) return;
    this.failure = err;
    for (const part of this.parts.values()) part.reject(err);
    this.parts.clear();
  }
}
