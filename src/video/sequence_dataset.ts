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
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { SrError } from '../util/errors.js';
import { DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, imageSize } from '../io/image.js';
import { hash32 } from '../data/patch_dataset.js';
import { Rng } from '../util/random.js';
import { findFfmpeg, probeVideo } from './ffmpeg.js';
import { AUX_CHANNELS, FRAMES_PER_SAMPLE, type VideoMode } from './samples.js';
import type { SynthOptions } from './synth.js';
import type { FromSequenceWorker, SequenceSampleSpec, SequenceWorkerInit, SourceSpec, ToSequenceWorker } from './sequence_worker.js';

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

interface Part {
  resolve: (v: { slots: number[]; lr: Float32Array; hr: Float32Array; aux: Float32Array }) => void;
  reject: (e: Error) => void;
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
  private readonly parts = new Map<number, Part>();
  private nextJob = 0;
  private queue: Array<{ index: number; promise: Promise<SequenceBatch> }> = [];
  private scheduled = 0;
  private served = 0;
  private closed = false;
  private failure: Error | undefined;
  private perms = new Map<number, Int32Array>();

  private constructor(
    private readonly o: Required<Pick<SequenceDatasetOptions, 'mode' | 'scale' | 'patch' | 'batch'>> & { seed: number },
    readonly sources: readonly SourceSpec[],
    private readonly fingerprint: number,
    private readonly workers: Worker[],
    private readonly prefetch: number,
  ) {}

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
    const url = new URL('./sequence_worker.js', import.meta.url);
    const workers: Worker[] = [];
    for (let w = 0; w < nWorkers; w++) {
      const owned: Record<number, SourceSpec> = {};
      sources.forEach((s, i) => {
        if (i % nWorkers === w) owned[i] = s;
      });
      const init: SequenceWorkerInit = {
        sources: owned,
        mode,
        scale,
        patch,
        eps: opts.eps ?? 0.1,
        videoFrames: opts.videoFrames ?? 32,
        maxPixels: DEFAULT_MAX_PIXELS,
        synth: opts.synth ?? {},
        ...(opts.ffmpeg ? { ffmpeg: opts.ffmpeg } : {}),
      };
      workers.push(new Worker(url, { workerData: init }));
    }
    const ds = new SequenceDataset({ mode, scale, patch, batch, seed }, sources, fingerprint, workers, Math.max(2, nWorkers + 1));
    for (const w of workers) {
      w.on('message', (m: FromSequenceWorker) => ds.onMessage(m));
      w.on('error', (err) => ds.fail(new SrError(`sequence worker crashed: ${err.message}`, { cause: err })));
      w.on('exit', (code) => {
        if (!ds.closed) ds.fail(new SrError(`sequence worker exited unexpectedly (code ${code})`));
      });
    }
    if (opts.state) ds.restore(opts.state);
    ds.fill();
    return ds;
  }

  get lrSize(): number {
    return this.o.patch / this.o.scale;
  }

  async next(): Promise<SequenceBatch> {
    if (this.closed) throw new SrError('SequenceDataset.next() after close()');
    if (this.failure) throw this.failure;
    this.fill();
    const p = this.queue.shift()!;
    this.served = p.index + 1;
    this.fill();
    return p.promise;
  }

  state(): SequenceDatasetState {
    const { mode, scale, patch, batch, seed } = this.o;
    return { version: 1, kind: 'sequences', seed, batchesServed: this.served, mode, scale, patch, batch, fingerprint: this.fingerprint };
  }

  restore(s: SequenceDatasetState): void {
    const { mode, scale, patch, batch, seed } = this.o;
    if (s?.version !== 1 || s.kind !== 'sequences') throw new SrError('cannot resume: the saved data state is not a sequence stream');
    const bad: string[] = [];
    if (s.seed !== seed) bad.push(`seed ${s.seed} vs ${seed}`);
    if (s.mode !== mode) bad.push(`mode ${s.mode} vs ${mode}`);
    if (s.scale !== scale || s.patch !== patch || s.batch !== batch) bad.push('scale, patch or batch differ');
    if (s.fingerprint !== this.fingerprint) bad.push('the source files differ (names or sizes)');
    if (bad.length) throw new SrError(`cannot resume the sequence stream: ${bad.join('; ')}`);
    for (const p of this.queue) p.promise.catch(() => undefined);
    this.queue = [];
    this.served = this.scheduled = s.batchesServed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.queue) p.promise.catch(() => undefined);
    this.queue = [];
    for (const part of this.parts.values()) part.reject(new SrError('SequenceDataset closed'));
    this.parts.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** Source of each sample of batch `index`, and its seed. */
  recipe(index: number): SequenceSampleSpec[] {
    const n = this.sources.length;
    return Array.from({ length: this.o.batch }, (_, slot) => {
      const g = index * this.o.batch + slot;
      return { slot, source: this.permutation(Math.floor(g / n))[g % n]!, seed: hash32(this.o.seed, 0x5e9, g) };
    });
  }

  private permutation(epoch: number): Int32Array {
    let p = this.perms.get(epoch);
    if (p) return p;
    const n = this.sources.length;
    p = Int32Array.from({ length: n }, (_, i) => i);
    const rng = new Rng(hash32(this.o.seed, 0xe90c, epoch));
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    if (this.perms.size > 4) this.perms.delete(this.perms.keys().next().value!);
    this.perms.set(epoch, p);
    return p;
  }

  private fill(): void {
    while (!this.closed && this.queue.length < this.prefetch) {
      const index = this.scheduled++;
      const promise = this.build(index);
      promise.catch(() => undefined);
      this.queue.push({ index, promise });
    }
  }

  private async build(index: number): Promise<SequenceBatch> {
    const { mode, patch, batch, scale } = this.o;
    const byWorker = new Map<number, SequenceSampleSpec[]>();
    for (const s of this.recipe(index)) {
      const w = s.source % this.workers.length;
      byWorker.set(w, [...(byWorker.get(w) ?? []), s]);
    }
    const results = await Promise.all(
      [...byWorker].map(
        ([w, samples]) =>
          new Promise<{ slots: number[]; lr: Float32Array; hr: Float32Array; aux: Float32Array }>((resolve, reject) => {
            if (this.failure) return reject(this.failure);
            const id = this.nextJob++;
            this.parts.set(id, { resolve, reject });
            this.workers[w]!.postMessage({ type: 'batch', id, samples } satisfies ToSequenceWorker);
          }),
      ),
    );
    const frames = FRAMES_PER_SAMPLE[mode];
    const auxChannels = AUX_CHANNELS[mode];
    const l = patch / scale;
    const lrN = frames * l * l * 3;
    const hrN = frames * patch * patch * 3;
    const auxN = patch * patch * auxChannels;
    const lr = new Float32Array(batch * lrN);
    const hr = new Float32Array(batch * hrN);
    const aux = new Float32Array(batch * auxN);
    for (const r of results) {
      r.slots.forEach((slot, i) => {
        lr.set(r.lr.subarray(i * lrN, (i + 1) * lrN), slot * lrN);
        hr.set(r.hr.subarray(i * hrN, (i + 1) * hrN), slot * hrN);
        aux.set(r.aux.subarray(i * auxN, (i + 1) * auxN), slot * auxN);
      });
    }
    return { lr, hr, aux, batch, frames, auxChannels, lrSize: l, hrSize: patch, index };
  }

  private onMessage(m: FromSequenceWorker): void {
    const part = this.parts.get(m.id);
    if (!part) return;
    this.parts.delete(m.id);
    if (m.type === 'batch') part.resolve({ slots: m.slots, lr: new Float32Array(m.lr), hr: new Float32Array(m.hr), aux: new Float32Array(m.aux) });
    else part.reject(new SrError(m.message));
  }

  private fail(err: Error): void {
    if (this.failure || this.closed) return;
    this.failure = err;
    for (const part of this.parts.values()) part.reject(err);
    this.parts.clear();
  }
}
