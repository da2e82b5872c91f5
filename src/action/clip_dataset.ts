// Training batches for `train recognizer`: samples of the training videos of an action dataset
// (layout.ts), made in worker threads on the shared stream (data/worker_stream.ts). Videos are
// drawn by epoch, each once per epoch in a seeded order, at a seeded frame position, so the
// state to resume exactly is the number of batches served.
import { basename } from 'node:path';
import { SrError } from '../util/errors.js';
import { Rng, hash32 } from '../util/random.js';
import { WorkerStream } from '../data/worker_stream.js';
import { sampleChannels } from './clip.js';
import { readActionLayout, type ActionLayout } from './layout.js';
import type { ClipSampleSpec, ClipWorkerInit } from './clip_worker.js';

export interface ClipDatasetOptions {
  dir: string;
  /** frame side the recognizer sees */
  size: number;
  /** L, flow fields per sample */
  stack: number;
  batch: number;
  seed?: number;
  workers?: number;
  /** frames decoded from the start of each video */
  maxFrames?: number;
  state?: ClipDatasetState;
}

export interface ClipDatasetState {
  version: 1;
  kind: 'clips';
  seed: number;
  batchesServed: number;
  size: number;
  stack: number;
  batch: number;
  fingerprint: number;
}

export interface ClipBatch {
  /** [batch, size, size, 3 + 2L] */
  x: Float32Array;
  /** one-hot [batch, classes] */
  labels: Float32Array;
  batch: number;
  size: number;
  channels: number;
  classes: number;
  index: number;
}

export class ClipDataset {
  private readonly stream: WorkerStream<ClipSampleSpec>;

  private constructor(
    readonly layout: ActionLayout,
    private readonly o: { size: number; stack: number; batch: number; seed: number; maxFrames: number },
    private readonly fingerprint: number,
    workers: number,
  ) {
    const clips = layout.train;
    this.stream = new WorkerStream<ClipSampleSpec>({
      name: 'clip',
      url: new URL('./clip_worker.js', import.meta.url),
      workerData: (owned) => ({
        clips: Object.fromEntries(owned.map((i) => [i, [clips[i]!.path, clips[i]!.label]])),
        size: o.size,
        stack: o.stack,
        classes: layout.classes.length,
        maxFrames: o.maxFrames,
      }) satisfies ClipWorkerInit,
      workers,
      prefetch: Math.max(2, workers + 1),
      items: clips.length,
      batch: o.batch,
      seed: o.seed,
      sizes: [o.size * o.size * sampleChannels(o.stack), layout.classes.length],
      sample: (g, clip, slot) => {
        const rng = new Rng(hash32(o.seed, 0xc11b, g));
        return { slot, clip, at: rng.next(), mirror: rng.next() < 0.5 };
      },
    });
  }

  static async open(opts: ClipDatasetOptions): Promise<ClipDataset> {
    const layout = readActionLayout(opts.dir);
    const seed = (opts.seed ?? 0) >>> 0;
    if (!(Number.isInteger(opts.stack) && opts.stack >= 1)) throw new SrError(`--stack must be a whole number >= 1, got ${opts.stack}`);
    const maxFrames = opts.maxFrames ?? 32;
    if (maxFrames < opts.stack + 1) throw new SrError(`--video-frames ${maxFrames} leaves no room for a stack of ${opts.stack} flows (needs ${opts.stack + 1})`);
    const fingerprint = hash32(layout.classes.length, layout.train.length, ...layout.train.map((c) => hash32(c.label, ...Buffer.from(basename(c.path)))));
    const ds = new ClipDataset(layout, { size: opts.size, stack: opts.stack, batch: opts.batch, seed, maxFrames }, fingerprint, opts.workers ?? 1);
    if (opts.state) ds.restore(opts.state);
    ds.stream.start();
    return ds;
  }

  get classes(): number {
    return this.layout.classes.length;
  }

  async next(): Promise<ClipBatch> {
    const { index, buffers } = await this.stream.next();
    const { size, stack, batch } = this.o;
    return { x: buffers[0]!, labels: buffers[1]!, batch, size, channels: sampleChannels(stack), classes: this.classes, index };
  }

  state(): ClipDatasetState {
    const { seed, size, stack, batch } = this.o;
    return { version: 1, kind: 'clips', seed, batchesServed: this.stream.position, size, stack, batch, fingerprint: this.fingerprint };
  }

  restore(s: ClipDatasetState): void {
    if (s?.version !== 1 || s.kind !== 'clips') throw new SrError('cannot resume: the saved data state is not a clip stream');
    const bad: string[] = [];
    if (s.seed !== this.o.seed) bad.push(`seed ${s.seed} vs ${this.o.seed}`);
    if (s.size !== this.o.size || s.stack !== this.o.stack) bad.push(`frame size or stack differ (${s.size}/${s.stack} vs ${this.o.size}/${this.o.stack})`);
    if (s.fingerprint !== this.fingerprint) bad.push('the training videos differ (names or labels)');
    if (bad.length) throw new SrError(`cannot resume the clip stream: ${bad.join('; ')}`);
    this.stream.seek(s.batchesServed, s.batch);
  }

  close(): Promise<void> {
    return this.stream.close();
  }
}
