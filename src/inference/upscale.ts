// The library's upscaling API.
//
//   const up = await createUpscaler({ model: 'srgan' });        // load + warm the engine once
//   const png = await up.upscale('photo.jpg');                   // Buffer (PNG)
//   const px = await up.upscale(png, { output: 'pixels' });      // { data, width, height, channels, alpha? }
//   await up.dispose();
//
// or one-shot `upscale(input, options)`, which keeps the last two upscalers (per model, engine
// and thread settings) alive so that repeated calls reuse their sessions; `releaseUpscalers()`
// frees them.
//
// What comes back depends on the input unless `output` says otherwise, and the types follow:
//   file path or encoded bytes -> Buffer, encoded as `format` (default png)
//   Image ({ data, width, height, channels })  -> Image
//   tf.Tensor3D [h, w, c] / Tensor4D [n, h, w, c], values in [0, 1] -> the same rank, in [0, 1]
// Colour goes through the network; alpha is upscaled apart with bicubic (MATLAB imresize) and
// re-attached; a grey image comes back grey (the network's three outputs averaged).
//
// Memory: the output is assembled in 8 bits a sample (16 for 16-bit sources) for every result but
// 'pixels' and 'tensor', which are float32 by contract. upscaleToFile writes outputs larger than
// `inMemoryBytes` (256 MiB) a band of rows at a time to a file beside the target, which sharp
// then encodes without loading it whole. Outputs over `maxOutputPixels` (400 MP) are refused
// before any work.
import tf = require('@tensorflow/tfjs-core');
import { mkdir, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SrError } from '../util/errors.js';
import { sweepStaleTemps, tempPathFor } from '../util/atomic.js';
import { loadImage, checkFormatSize, encodeRaster, formatFromPath, outputBitDepth, saveRaster, type ImageFormat, type EncodeOptions, type SaveOptions } from '../io/image.js';
import { checkImage, type Image } from '../image/image.js';
import { RasterWriter, rasterBytes, type Raster } from '../io/raster.js';
import { imresizeRows } from '../image/resize.js';
import { DEFAULT_ENGINE, checkEngineName, type Engine, type EngineName, type EngineOptions } from './engine.js';
import { createEngine } from './create_engine.js';
import { loadModelSource, sourceKey, type ModelSpec, type ModelSource } from './model_source.js';
import { upscaleTiledRows, checkTiling, DEFAULT_TILE, DEFAULT_OVERLAP, type TileProgress } from './tiling.js';

/** 24000x16000 (a 6000x4000 photo x4) fits; a 10000x10000 x4 (1600 MP) is refused at once. */
export const DEFAULT_MAX_OUTPUT_PIXELS = 400_000_000;
/** upscaleToFile assembles larger outputs (as stored samples) on disk, a band at a time. */
export const DEFAULT_IN_MEMORY_BYTES = 256 * 2 ** 20;

/** SrError, before any work, when width x height upscaled x`scale` is over `maxOutputPixels`. */
export function checkOutputSize(label: string, width: number, height: number, scale: number, maxOutputPixels = DEFAULT_MAX_OUTPUT_PIXELS): void {
  const W = width * scale;
  const H = height * scale;
  if (W * H > maxOutputPixels) {
    throw new SrError(
      `${label}: x${scale} of ${width}x${height} would be ${W}x${H} (${((W * H) / 1e6).toFixed(1)} MP), over the ${(maxOutputPixels / 1e6).toFixed(1)} MP limit for outputs; ` +
        `refusing it (raise it with --max-output-pixels <MP>, or the maxOutputPixels option)`,
    );
  }
}

export interface UpscalerOptions extends ModelSpec, EngineOptions {
  /** Tile side in LR pixels (default 192); a run may override it. */
  tileSize?: number;
  /** Overlap between tiles in LR pixels (default 32). */
  overlap?: number;
}

export interface RunOptions {
  tileSize?: number;
  overlap?: number;
  /** Called after each tile is blended in. */
  onProgress?: (p: TileProgress) => void;
  /** Aborting stops between tiles; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Refuse inputs whose output would have more pixels (default 400 MP). */
  maxOutputPixels?: number;
  /** Refuse encoded inputs (paths, bytes) with more pixels, before decoding them (default 100 MP). */
  maxPixels?: number;
}

export interface FileRunOptions extends RunOptions, SaveOptions {
  /** Outputs taking more bytes than this (as stored samples) are assembled on disk (default 256 MiB). */
  inMemoryBytes?: number;
}

export interface EncodeRunOptions extends RunOptions, EncodeOptions {
  output?: 'buffer';
  /** Default 'png'. */
  format?: ImageFormat;
}
export interface PixelsRunOptions extends RunOptions {
  output: 'pixels';
}
export interface TensorRunOptions extends RunOptions {
  output?: 'tensor';
}
export type OutputKind = 'buffer' | 'pixels' | 'tensor';
export type UpscaleInput = string | Uint8Array | Image | tf.Tensor3D | tf.Tensor4D;

type AnyRunOptions = RunOptions & EncodeOptions & { output?: OutputKind; format?: ImageFormat };

function isImage(x: unknown): x is Image {
  return typeof x === 'object' && x !== null && (x as Image).data instanceof Float32Array && typeof (x as Image).width === 'number';
}

function grey(rgb: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let p = 0; p < n; p++) out[p] = (rgb[3 * p]! + rgb[3 * p + 1]! + rgb[3 * p + 2]!) / 3;
  return out;
}

function rasterChannels(img: Image, alpha = true): Raster['channels'] {
  return (img.channels + (img.alpha && alpha ? 1 : 0)) as Raster['channels'];
}

function toRgb(img: Image): Float32Array {
  if (img.channels === 3) return img.data;
  const n = img.width * img.height;
  const out = new Float32Array(3 * n);
  for (let p = 0; p < n; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = img.data[p]!;
  return out;
}

export class Upscaler {
  private disposed = false;
  private active = new Set<Promise<unknown>>();

  private constructor(
    private readonly engineImpl: Engine,
    /** What was loaded, for messages: a file, or a blend of two. */
    readonly model: string,
    private readonly defaults: { tileSize: number; overlap: number },
  ) {}

  static async create(opts: UpscalerOptions = {}): Promise<Upscaler> {
    checkTiling(opts.tileSize ?? DEFAULT_TILE, opts.overlap ?? DEFAULT_OVERLAP);
    checkEngineName(opts.engine ?? DEFAULT_ENGINE);
    return Upscaler.fromSource(await loadModelSource(opts), opts);
  }

  /** For callers that read the weights first (the CLI needs the scale before it starts an engine). */
  static async fromSource(src: ModelSource, opts: EngineOptions & { tileSize?: number; overlap?: number } = {}): Promise<Upscaler> {
    const tileSize = opts.tileSize ?? DEFAULT_TILE;
    const overlap = opts.overlap ?? DEFAULT_OVERLAP;
    checkTiling(tileSize, overlap);
    const engine = await createEngine(src, opts);
    return new Upscaler(engine, src.label, { tileSize, overlap });
  }

  get scale(): number {
    return this.engineImpl.scale;
  }

  get engine(): EngineName {
    return this.engineImpl.name;
  }

  /**
   * The core: the output of `img` in bands of final rows, top to bottom: colour (1 channel for a
   * grey input, else 3) in [0, 1] and, when the input has it, alpha (bicubic, apart from colour).
   */
  private async bands(img: Image, opts: RunOptions, onBand: (y0: number, count: number, colour: Float32Array, alpha?: Float32Array) => void | Promise<void>): Promise<void> {
    checkImage(img, 'image to upscale');
    const s = this.scale;
    checkOutputSize('image to upscale', img.width, img.height, s, opts.maxOutputPixels);
    const W = img.width * s;
    const H = img.height * s;
    const alpha: Image | null = img.alpha ? { width: img.width, height: img.height, channels: 1, data: img.alpha } : null;
    await upscaleTiledRows(
      this.engineImpl,
      toRgb(img),
      img.width,
      img.height,
      { tileSize: opts.tileSize ?? this.defaults.tileSize, overlap: opts.overlap ?? this.defaults.overlap, onProgress: opts.onProgress, signal: opts.signal },
      (y0, rows, count) => onBand(y0, count, img.channels === 1 ? grey(rows, W * count) : rows, alpha ? imresizeRows(alpha, { width: W, height: H }, 'bicubic', y0, y0 + count).data : undefined),
    );
  }

  /** An Image in, the upscaled Image out, float32 (alpha and grey handled). */
  async upscaleImage(img: Image, opts: RunOptions = {}): Promise<Image> {
    return this.track(async () => {
      const W = img.width * this.scale;
      const H = img.height * this.scale;
      let out: Image | undefined;
      await this.bands(img, opts, (y0, count, colour, alpha) => {
        out ??= { width: W, height: H, channels: img.channels, data: new Float32Array(W * H * img.channels), ...(alpha ? { alpha: new Float32Array(W * H) } : {}) };
        out.data.set(colour, y0 * W * img.channels);
        if (alpha) out.alpha!.set(alpha, y0 * W);
      });
      return out!;
    });
  }

  /**
   * The upscaled image as stored samples: `bitDepth` (default 16 for a 16-bit input, else 8), alpha
   * kept unless `alpha` is false. A quarter of upscaleImage's memory at 8 bits.
   */
  async upscaleRaster(img: Image, opts: RunOptions & { bitDepth?: 8 | 16; alpha?: boolean } = {}): Promise<Raster> {
    return this.track(async () => {
      const w = RasterWriter.inMemory(img.width * this.scale, img.height * this.scale, rasterChannels(img, opts.alpha), opts.bitDepth ?? (img.bitDepth === 16 ? 16 : 8));
      await this.bands(img, opts, (y0, count, colour, alpha) => w.put(y0, count, colour, opts.alpha === false ? undefined : alpha));
      return (await w.finish()) as Raster;
    });
  }

  /**
   * Upscales `img` into the image file `path` (atomically: the old file or the new one, never half),
   * PNG/TIFF in 16 bits for a 16-bit input. Outputs over `inMemoryBytes` are assembled in a
   * temporary file next to `path`, a band of rows at a time, so memory does not grow with them.
   */
  async upscaleToFile(img: Image, path: string, opts: FileRunOptions = {}): Promise<{ width: number; height: number; banded: boolean }> {
    return this.track(async () => {
      const format = opts.format ?? formatFromPath(path);
      const bits = outputBitDepth(img, format, opts.bitDepth);
      const W = img.width * this.scale;
      const H = img.height * this.scale;
      checkOutputSize(path, img.width, img.height, this.scale, opts.maxOutputPixels);
      checkFormatSize(format, W, H, path);
      const keepAlpha = format !== 'jpeg';
      const channels = rasterChannels(img, keepAlpha);
      const banded = rasterBytes(W, H, channels, bits) > (opts.inMemoryBytes ?? DEFAULT_IN_MEMORY_BYTES);
      if (banded) sweepStaleTemps(dirname(path));
      const tmp = banded ? tempPathFor(path, { extension: '.tif' }) : null;
      let w: RasterWriter | undefined;
      try {
        w = tmp ? await RasterWriter.toFile(tmp, W, H, channels, bits) : RasterWriter.inMemory(W, H, channels, bits);
        await this.bands(img, opts, (y0, count, colour, alpha) => w!.put(y0, count, colour, keepAlpha ? alpha : undefined));
        await saveRaster(await w.finish(), path, { format, quality: opts.quality, bitDepth: bits });
      } catch (err) {
        await w?.abort();
        if (err instanceof SrError || (err as Error).name === 'AbortError') throw err;
        throw new SrError(`cannot write ${path}: ${(err as Error).message}`, { cause: err });
      } finally {
        if (tmp) await rm(tmp, { force: true });
      }
      return { width: W, height: H, banded };
    });
  }

  upscale(input: tf.Tensor4D, opts?: TensorRunOptions): Promise<tf.Tensor4D>;
  upscale(input: tf.Tensor3D, opts?: TensorRunOptions): Promise<tf.Tensor3D>;
  upscale(input: string | Uint8Array | Image, opts: TensorRunOptions & { output: 'tensor' }): Promise<tf.Tensor3D>;
  upscale(input: UpscaleInput, opts: PixelsRunOptions): Promise<Image>;
  upscale(input: UpscaleInput, opts: EncodeRunOptions & { output: 'buffer' }): Promise<Buffer>;
  upscale(input: string | Uint8Array, opts?: EncodeRunOptions): Promise<Buffer>;
  upscale(input: Image, opts?: RunOptions & { output?: 'pixels' }): Promise<Image>;
  async upscale(input: UpscaleInput, opts: AnyRunOptions = {}): Promise<Buffer | Image | tf.Tensor> {
    if (input instanceof tf.Tensor) {
      const out = opts.output ?? 'tensor';
      if (out === 'tensor') return this.upscaleTensor(input, opts);
      const imgs = await tensorToImages(input);
      if (imgs.length !== 1) throw new SrError(`a batch of ${imgs.length} images can only come back as a tensor (output 'tensor')`);
      return this.finish(imgs[0]!, out, opts);
    }
    let img: Image;
    let def: OutputKind;
    if (typeof input === 'string' || input instanceof Uint8Array) {
      img = await loadImage(input, { maxPixels: opts.maxPixels, checkSize: (w, h) => checkOutputSize(typeof input === 'string' ? input : 'image to upscale', w, h, this.scale, opts.maxOutputPixels) });
      def = 'buffer';
    } else if (isImage(input)) {
      img = input;
      def = 'pixels';
    } else {
      throw new SrError('upscale input must be a file path, encoded image bytes, an Image { data, width, height, channels } or a tf.Tensor3D/4D');
    }
    return this.finish(img, opts.output ?? def, opts);
  }

  private async finish(img: Image, output: OutputKind, opts: AnyRunOptions): Promise<Buffer | Image | tf.Tensor> {
    if (output === 'buffer') {
      const format = opts.format ?? 'png';
      const raster = await this.upscaleRaster(img, { ...opts, bitDepth: outputBitDepth(img, format, opts.bitDepth), alpha: format !== 'jpeg' });
      return encodeRaster(raster, format, opts);
    }
    if (output === 'pixels') return this.upscaleImage(img, opts);
    if (output === 'tensor') return imagesToTensor([await this.upscaleImage(img, opts)], 3);
    throw new SrError(`unknown output '${String(output)}': use buffer, pixels or tensor`);
  }

  private async upscaleTensor(input: tf.Tensor, opts: RunOptions): Promise<tf.Tensor> {
    const imgs = await tensorToImages(input);
    const outs: Image[] = [];
    for (const img of imgs) outs.push(await this.upscaleImage(img, opts));
    return imagesToTensor(outs, input.rank as 3 | 4);
  }

  private async track<T>(fn: () => Promise<T>): Promise<T> {
    if (this.disposed) throw new SrError('this upscaler has been disposed');
    const p = fn();
    this.active.add(p);
    try {
      return await p;
    } finally {
      this.active.delete(p);
    }
  }

  /** Refuses new work, lets running calls finish, then frees the engine (sessions, workers, tensors). */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.allSettled([...this.active]);
    await this.engineImpl.dispose();
  }
}

export interface UpscaleFileOptions extends FileRunOptions {
  /** Called once the input is decoded, before any tile runs (e.g. to size a progress bar). */
  onLoaded?: (img: Image) => void;
  /** Told what the decode leaves out (the later frames of an animation). */
  onWarning?: (message: string) => void;
}

export interface FileRunResult {
  /** The decoded input. */
  input: Image;
  /** The output's size, and whether it was assembled on disk in bands. */
  output: { width: number; height: number; banded: boolean };
  /** The input had transparency that the output format (JPEG) cannot hold. */
  alphaDropped: boolean;
}

/**
 * One image file in, one image file out: decode (refusing inputs over the limits from the header),
 * create the output's folder, upscale into the file through upscaleToFile (bands, 16 bits, atomic
 * write). What `srgan upscale` does for each file and what a queue worker does for each photo
 * job, so the two write the same bytes for the same model and options.
 */
export async function upscaleFile(up: Upscaler, input: string, output: string, opts: UpscaleFileOptions = {}): Promise<FileRunResult> {
  const img = await loadImage(input, { maxPixels: opts.maxPixels, onWarning: opts.onWarning, checkSize: (w, h) => checkOutputSize(input, w, h, up.scale, opts.maxOutputPixels) });
  opts.onLoaded?.(img);
  await mkdir(dirname(resolve(output)), { recursive: true });
  const out = await up.upscaleToFile(img, output, opts);
  return { input: img, output: out, alphaDropped: img.alpha !== undefined && (opts.format ?? formatFromPath(output)) === 'jpeg' };
}

/** Tensor [h, w, c] or [n, h, w, c] with c = 1, 3 or 4 (RGBA) and values in [0, 1] -> Images. */
async function tensorToImages(t: tf.Tensor): Promise<Image[]> {
  if (t.rank !== 3 && t.rank !== 4) throw new SrError(`input tensor must be [height, width, channels] or [batch, height, width, channels], got shape [${t.shape}]`);
  const [n, h, w, c] = t.rank === 3 ? [1, ...t.shape] : t.shape;
  if (c !== 1 && c !== 3 && c !== 4) throw new SrError(`input tensor has ${c} channels (shape [${t.shape}]); expected 1 (grey), 3 (RGB) or 4 (RGBA)`);
  const all = (await t.data()) as Float32Array;
  const per = h! * w! * c;
  const out: Image[] = [];
  for (let b = 0; b < n!; b++) {
    const d = all.subarray(b * per, (b + 1) * per);
    if (c === 4) {
      const rgb = new Float32Array(h! * w! * 3);
      const alpha = new Float32Array(h! * w!);
      for (let p = 0; p < h! * w!; p++) {
        rgb[3 * p] = d[4 * p]!;
        rgb[3 * p + 1] = d[4 * p + 1]!;
        rgb[3 * p + 2] = d[4 * p + 2]!;
        alpha[p] = d[4 * p + 3]!;
      }
      out.push({ width: w!, height: h!, channels: 3, data: rgb, alpha });
    } else {
      out.push({ width: w!, height: h!, channels: c, data: Float32Array.from(d) });
    }
  }
  return out;
}

function imagesToTensor(imgs: Image[], rank: 3 | 4): tf.Tensor {
  const { width: w, height: h } = imgs[0]!;
  const c = imgs[0]!.channels + (imgs[0]!.alpha ? 1 : 0);
  const data = new Float32Array(imgs.length * h * w * c);
  imgs.forEach((img, b) => {
    const base = b * h * w * c;
    if (!img.alpha) {
      data.set(img.data, base);
      return;
    }
    const k = img.channels;
    for (let p = 0; p < h * w; p++) {
      for (let j = 0; j < k; j++) data[base + p * c + j] = img.data[p * k + j]!;
      data[base + p * c + k] = img.alpha[p]!;
    }
  });
  return rank === 3 ? tf.tensor3d(data, [h, w, c]) : tf.tensor4d(data, [imgs.length, h, w, c]);
}

export function createUpscaler(opts: UpscalerOptions = {}): Promise<Upscaler> {
  return Upscaler.create(opts);
}

// ---------------------------------------------------------------------------------------------
// One-shot calls, with the most recent upscalers kept warm.

const MAX_SHARED = 2;

interface SharedEntry {
  upscaler: Promise<Upscaler>;
  /** Calls using it now; an evicted entry is disposed when the last one finishes. */
  users: number;
  evicted: boolean;
}
const shared = new Map<string, SharedEntry>();

function sharedKey(opts: UpscalerOptions): string {
  return JSON.stringify([sourceKey(opts), opts.engine ?? DEFAULT_ENGINE, opts.threads ?? null, opts.onnxMode ?? null]);
}

function release(e: SharedEntry): Promise<void> {
  return e.upscaler.then((u) => u.dispose(), () => undefined);
}

function acquire(opts: UpscalerOptions): SharedEntry {
  const key = sharedKey(opts);
  let e = shared.get(key);
  if (e) {
    shared.delete(key);
  } else {
    const entry: SharedEntry = { upscaler: Upscaler.create({ ...opts, tileSize: undefined, overlap: undefined }), users: 0, evicted: false };
    // A failed load is not cached: the next call tries again (the file may have been fixed).
    entry.upscaler.catch(() => {
      if (shared.get(key) === entry) shared.delete(key);
    });
    e = entry;
  }
  shared.set(key, e);
  e.users++;
  while (shared.size > MAX_SHARED) {
    const [oldKey, old] = shared.entries().next().value!;
    shared.delete(oldKey);
    old.evicted = true;
    if (old.users === 0) void release(old);
  }
  return e;
}

/** Frees the upscalers that one-shot `upscale()` calls keep warm (after calls in progress end). */
export async function releaseUpscalers(): Promise<void> {
  const all = [...shared.values()];
  shared.clear();
  for (const e of all) e.evicted = true;
  await Promise.all(all.filter((e) => e.users === 0).map(release));
}

type Opts<O> = UpscalerOptions & O;

export function upscale(input: tf.Tensor4D, opts?: Opts<TensorRunOptions>): Promise<tf.Tensor4D>;
export function upscale(input: tf.Tensor3D, opts?: Opts<TensorRunOptions>): Promise<tf.Tensor3D>;
export function upscale(input: string | Uint8Array | Image, opts: Opts<TensorRunOptions & { output: 'tensor' }>): Promise<tf.Tensor3D>;
export function upscale(input: UpscaleInput, opts: Opts<PixelsRunOptions>): Promise<Image>;
export function upscale(input: UpscaleInput, opts: Opts<EncodeRunOptions & { output: 'buffer' }>): Promise<Buffer>;
export function upscale(input: string | Uint8Array, opts?: Opts<EncodeRunOptions>): Promise<Buffer>;
export function upscale(input: Image, opts?: Opts<RunOptions & { output?: 'pixels' }>): Promise<Image>;
export async function upscale(input: UpscaleInput, opts: Opts<AnyRunOptions> = {}): Promise<Buffer | Image | tf.Tensor> {
  const e = acquire(opts);
  try {
    const up = await e.upscaler;
    return await (up.upscale as (i: UpscaleInput, o: AnyRunOptions) => Promise<Buffer | Image | tf.Tensor>).call(up, input, opts);
  } finally {
    e.users--;
    if (e.evicted && e.users === 0) void release(e);
  }
}
