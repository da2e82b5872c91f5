// Training batches for `train sosr` and `train tosr`: pairs of consecutive frames with their HR
// flow, made ahead of time in worker threads (see samples.ts for the layout).
//
// Sources are the files of the data folder: photos, from which sequences are synthesised with
// smooth camera motion and a moving object (exact flow, synth.ts), and videos, whose first
// `videoFrames` frames are decoded with ffmpeg and whose flow is estimated on the HR frames
// (Farneback). Like PatchDataset, every sample is a pure function of (seed, sample number):
// sources are drawn by epoch, each once per epoch in a seeded order, and the state needed to
// resume exactly is the number of batches served.
import { dataFolders } from '../data/folders.js';
import { availableParallelism } from 'node:os';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { SrError } from '../util/errors.js';
import { DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, imageSize } from '../io/image.js';
import { hash32 } from '../util/random.js';
import { WorkerStream } from '../data/worker_stream.js';
import { findFfmpeg, probeVideo } from './ffmpeg.js';
import { AUX_CHANNELS, FRAMES_PER_SAMPLE, type VideoMode } from './samples.js';
import type { SynthOptions } from './synth.js';
import type { SequenceSampleSpec, SequenceWorkerInit, SourceSpec } from './sequence_worker.js';

export const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mkv', '.mov', '.avi', '.webm', '.mpg', '.mpeg', '.ts', '.y4m', '.ogv']);

export interface SequenceDatasetOptions {
  dir: string;
  mode: VideoMode;
  scale: number;
  /** HR patch side, a multiple of scale */
  patch: number;
  batch: number;
  seed?: number;
  workers?: number;
  /** frames decoded from the start of each video (default 32) */
  videoFrames?: number;
  /** SoSR's eps (see motionWeights) */
  eps?: number;
  synth?: SynthOptions;
  ffmpeg?: string;
  state?: SequenceDatasetState;
  onWarning?: (message: string) => void;
}

export interface SequenceDatasetState {
  version: 1;
  kind: 'sequences';
  seed: number;
  batchesServed: number;
  mode: VideoMode;
  scale: number;
  patch: number;
  batch: number;
  fingerprint: number;
}

export interface SequenceBatch {
  /** [batch, frames, l, l, 3] in [0, 1] */
  lr: Float32Array;
  /** [batch, frames, P, P, 3] in [-1, 1] */
  hr: Float32Array;
  /** [batch, P, P, auxChannels] */
  aux: Float32Array;
  batch: number;
  frames: number;
  auxChannels: number;
  lrSize: number;
  hrSize: number;
  index: number;
}

async function listSources(dir: string): Promise<SourceSpec[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new SrError(`cannot read the training folder ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such folder' : (err as Error).message}`);
  }
  const out: SourceSpec[] = [];
  for (const n of names.sort()) {
    if (n.startsWith('.')) continue;
    const ext = extname(n).toLowerCase();
    const kind = IMAGE_EXTENSIONS.has(ext) ? 'image' : VIDEO_EXTENSIONS.has(ext) ? 'video' : null;
    if (!kind) continue;
    const p = join(dir, n);
    if ((await stat(p).catch(() => undefined))?.isFile()) out.push({ path: p, kind });
  }
  if (out.length === 0) throw new SrError(`no photos or videos in ${dir} (looked for ${[...IMAGE_EXTENSIONS, ...VIDEO_EXTENSIONS].join(', ')})`);
  return out;
}

export class SequenceDataset {
  private readonly stream: WorkerStream<SequenceSampleSpec>;

  private constructor(
    private readonly o: Required<Pick<SequenceDatasetOptions, 'mode' | 'scale' | 'patch' | 'batch'>> & { seed: number },
    readonly sources: readonly SourceSpec[],
    private readonly fingerprint: number,
    workers: number,
    init: Omit<SequenceWorkerInit, 'sources'>,
    private readonly warn: (message: string) => void,
  ) {
    const { mode, scale, patch, batch, seed } = o;
    const l = patch / scale;
    const frames = FRAMES_PER_SAMPLE[mode];
    this.stream = new WorkerStream<SequenceSampleSpec>({
      name: 'sequence',
      url: new URL('./sequence_worker.js', import.meta.url),
      workerData: (owned) => ({ ...init, sources: Object.fromEntries(owned.map((i) => [i, sources[i]!])) }) satisfies SequenceWorkerInit,
      workers,
      prefetch: Math.max(2, workers + 1),
      items: sources.length,
      batch,
      seed,
      sizes: [frames * l * l * 3, frames * patch * patch * 3, patch * patch * AUX_CHANNELS[mode]],
      sample: (g, source, slot) => ({ slot, source, seed: hash32(seed, 0x5e9, g) }),
    });
  }

  static async open(opts: SequenceDatasetOptions): Promise<SequenceDataset> {
    const { mode, scale, patch, batch } = opts;
    const seed = (opts.seed ?? 0) >>> 0;
    if (!(Number.isInteger(patch) && patch > 0 && patch % scale === 0)) throw new SrError(`HR patch ${patch} must be a positive multiple of the scale ${scale}`);
    const warn = opts.onWarning ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
    const all = (await Promise.all(dataFolders(opts.dir).map((d) => listSources(d)))).flat();
    // A synthetic frame is the patch plus a margin for the LR filter, and the camera moves.
    const need = patch + 6 * scale + 16;
    const sources: SourceSpec[] = [];
    const sizes: number[] = [];
    let tools: Awaited<ReturnType<typeof findFfmpeg>> | null = null;
    for (const s of all) {
      let w: number;
      let h: number;
      let min: number;
      if (s.kind === 'image') {
        ({ width: w, height: h } = await imageSize(s.path));
        min = need;
      } else {
        tools ??= await findFfmpeg(opts.ffmpeg);
        ({ width: w, height: h } = await probeVideo(tools, s.path));
        min = patch;
      }
      if (w < min || h < min) {
        warn(`skipping ${s.path}: ${w}x${h} is too small for ${patch}x${patch} training patches (needs ${min}x${min})`);
        continue;
      }
      sources.push(s);
      sizes.push(w, h);
    }
    if (sources.length === 0) throw new SrError(`nothing in ${opts.dir} is large enough for ${patch}x${patch} patches`);
    const fingerprint = hash32(sources.length, ...sources.map((s) => hash32(...Buffer.from(basename(s.path)))), ...sizes);
    const nWorkers = opts.workers ?? Math.max(1, Math.min(2, availableParallelism() - 1));
    const init = {
      mode,
      scale,
      patch,
      eps: opts.eps ?? 0.1,
      videoFrames: opts.videoFrames ?? 32,
      maxPixels: DEFAULT_MAX_PIXELS,
      synth: opts.synth ?? {},
      ...(opts.ffmpeg ? { ffmpeg: opts.ffmpeg } : {}),
    };
    const ds = new SequenceDataset({ mode, scale, patch, batch, seed }, sources, fingerprint, nWorkers, init, warn);
    if (opts.state) ds.restore(opts.state);
    ds.stream.start();
    return ds;
  }

  get lrSize(): number {
    return this.o.patch / this.o.scale;
  }

  async next(): Promise<SequenceBatch> {
    const { mode, patch, batch, scale } = this.o;
    const { index, buffers } = await this.stream.next();
    const [lr, hr, aux] = buffers as [Float32Array, Float32Array, Float32Array];
    return { lr, hr, aux, batch, frames: FRAMES_PER_SAMPLE[mode], auxChannels: AUX_CHANNELS[mode], lrSize: patch / scale, hrSize: patch, index };
  }

  state(): SequenceDatasetState {
    const { mode, scale, patch, batch, seed } = this.o;
    return { version: 1, kind: 'sequences', seed, batchesServed: this.stream.position, mode, scale, patch, batch, fingerprint: this.fingerprint };
  }

  restore(s: SequenceDatasetState): void {
    const { mode, scale, patch, batch, seed } = this.o;
    if (s?.version !== 1 || s.kind !== 'sequences') throw new SrError('cannot resume: the saved data state is not a sequence stream');
    const bad: string[] = [];
    if (s.seed !== seed) bad.push(`seed ${s.seed} vs ${seed}`);
    if (s.mode !== mode) bad.push(`mode ${s.mode} vs ${mode}`);
    if (s.scale !== scale) bad.push(`scale ${s.scale} vs ${scale}`);
    if (s.fingerprint !== this.fingerprint) bad.push('the source files differ (names or sizes)');
    if (bad.length) throw new SrError(`cannot resume the sequence stream: ${bad.join('; ')}`);
    // As for patches: the source order and per-sample seeds do not depend on the patch or batch
    // size, so changing them on resume continues the stream rather than failing.
    if (s.patch !== patch) this.warn(`continuing the source order of a run saved with ${s.patch}px patches with ${patch}px patches`);
    if (s.batch !== batch) this.warn(`continuing a stream saved with batches of ${s.batch} with batches of ${batch}`);
    this.stream.seek(s.batchesServed, s.batch);
  }

  close(): Promise<void> {
    return this.stream.close();
  }

  /** Source of each sample of batch `index`, and its seed. */
  recipe(index: number): SequenceSampleSpec[] {
    return this.stream.recipe(index).map((r) => r.spec);
  }
}
