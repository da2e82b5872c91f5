// The one worker-fed batch stream under every training dataset (patches, video sequences,
// action clips). A dataset supplies only "what sample g is" (an item and a small spec, a pure
// function of the seed and g) and a worker that makes it; this module owns the rest: the seeded
// epoch order (each item once per epoch), prefetch, job ids, routing an item to the worker that
// owns it (item % workers, so each source is decoded once), failure, resume position and close.
import { Worker } from 'node:worker_threads';
import { SrError } from '../util/errors.js';
import { Rng, hash32 } from '../util/random.js';

/** What a stream sends a worker: the samples of one batch that the worker owns. */
export interface StreamJob<S> {
  type: 'batch';
  id: number;
  samples: S[];
}

/** What a worker answers: one buffer per output, its samples' floats back to back in job order. */
export type StreamReply =
  | { type: 'batch'; id: number; slots: number[]; buffers: ArrayBuffer[] }
  | { type: 'error'; id: number; message: string };

export interface WorkerStreamOptions<S extends { slot: number }> {
  /** for messages: 'patch', 'sequence', 'clip' */
  name: string;
  url: URL;
  /** workerData of worker w, given the items it owns */
  workerData: (owned: number[], w: number) => unknown;
  workers: number;
  prefetch: number;
  items: number;
  batch: number;
  seed: number;
  /** floats per sample of each reply buffer */
  sizes: readonly number[];
  /** the spec of global sample g, slot `slot`, drawn from item `item` */
  sample: (g: number, item: number, slot: number) => S;
}

export interface StreamBatch<S> {
  index: number;
  specs: S[];
  /** one array per output, [batch, ...sizes[k]] */
  buffers: Float32Array[];
}

interface Part {
  resolve: (v: { slots: number[]; buffers: ArrayBuffer[] }) => void;
  reject: (e: Error) => void;
}

export class WorkerStream<S extends { slot: number }> {
  readonly batch: number;
  readonly seed: number;
  private readonly workers: Worker[] = [];
  private readonly parts = new Map<number, Part>();
  private readonly perms = new Map<number, Int32Array>();
  private nextJob = 0;
  private queue: Array<{ index: number; promise: Promise<StreamBatch<S>> }> = [];
  private scheduled = 0;
  private served = 0;
  private closed = false;
  private failure: Error | undefined;

  constructor(private readonly o: WorkerStreamOptions<S>) {
    this.batch = o.batch;
    this.seed = o.seed >>> 0;
    for (let w = 0; w < o.workers; w++) {
      const owned: number[] = [];
      for (let i = w; i < o.items; i += o.workers) owned.push(i);
      const worker = new Worker(o.url, { workerData: o.workerData(owned, w) });
      worker.on('message', (m: StreamReply) => this.onMessage(m));
      worker.on('error', (err) => this.fail(new SrError(`${o.name} worker crashed: ${err.message}`, { cause: err })));
      worker.on('exit', (code) => {
        if (!this.closed) this.fail(new SrError(`${o.name} worker exited unexpectedly (code ${code})`));
      });
      // Idle workers must not keep a process alive that forgot close(); busy ones must, or an
      // awaited next() could see the process exit under it.
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** batches handed out by next() so far */
  get position(): number {
    return this.served;
  }

  /** The next batch; prepared in the background while the caller worked on the previous one. */
  async next(): Promise<StreamBatch<S>> {
    if (this.closed) throw new SrError(`${this.o.name} stream: next() after close()`);
    if (this.failure) throw this.failure;
    this.fill();
    const p = this.queue.shift()!;
    this.served = p.index + 1;
    this.fill();
    return p.promise;
  }

  /**
   * Continue after `batchesServed` batches of `savedBatch` samples. Samples are a pure function
   * of (seed, sample number), so another batch size resumes at the first sample not yet served.
   */
  seek(batchesServed: number, savedBatch = this.batch): void {
    if (this.closed) throw new SrError(`${this.o.name} stream: restore after close()`);
    if (!(Number.isInteger(batchesServed) && batchesServed >= 0)) throw new SrError(`invalid batchesServed ${batchesServed}`);
    const at = savedBatch === this.batch ? batchesServed : Math.ceil((batchesServed * savedBatch) / this.batch);
    // Batches already in flight belong to the old position; their results are dropped.
    for (const p of this.queue) p.promise.catch(() => undefined);
    this.queue = [];
    this.served = this.scheduled = at;
    this.fill();
  }

  /** Start preparing the first batches now rather than at the first next(). */
  start(): void {
    this.fill();
  }

  /** The same message to every worker (hints such as a warm-up order). */
  broadcast(message: unknown): void {
    for (const w of this.workers) w.postMessage(message);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.queue) p.promise.catch(() => undefined);
    this.queue = [];
    const err = new SrError(`${this.o.name} stream closed`);
    for (const part of this.parts.values()) part.reject(err);
    this.parts.clear();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  /** Items and specs of batch `index`: a pure function of the seed. */
  recipe(index: number): Array<{ item: number; spec: S }> {
    const n = this.o.items;
    return Array.from({ length: this.batch }, (_, slot) => {
      const g = index * this.batch + slot;
      const item = this.permutation(Math.floor(g / n))[g % n]!;
      return { item, spec: this.o.sample(g, item, slot) };
    });
  }

  /** The seeded order of the items in an epoch. */
  permutation(epoch: number): Int32Array {
    let p = this.perms.get(epoch);
    if (p) return p;
    const n = this.o.items;
    p = Int32Array.from({ length: n }, (_, i) => i);
    const rng = new Rng(hash32(this.seed, 0xe90c, epoch));
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    if (this.perms.size > 4) this.perms.delete(this.perms.keys().next().value!);
    this.perms.set(epoch, p);
    return p;
  }

  private fill(): void {
    while (!this.closed && this.queue.length < this.o.prefetch) {
      const index = this.scheduled++;
      const promise = this.build(index);
      promise.catch(() => undefined); // observed by next(); avoids unhandled rejections while queued
      this.queue.push({ index, promise });
    }
  }

  private async build(index: number): Promise<StreamBatch<S>> {
    const recipe = this.recipe(index);
    const byWorker = new Map<number, S[]>();
    for (const { item, spec } of recipe) {
      const w = item % this.workers.length;
      byWorker.set(w, [...(byWorker.get(w) ?? []), spec]);
    }
    const results = await Promise.all(
      [...byWorker].map(
        ([w, samples]) =>
          new Promise<{ slots: number[]; buffers: ArrayBuffer[] }>((resolve, reject) => {
            if (this.failure) return reject(this.failure);
            const id = this.nextJob++;
            this.parts.set(id, { resolve, reject });
            this.workers[w]!.ref();
            this.workers[w]!.postMessage({ type: 'batch', id, samples } satisfies StreamJob<S>);
          }),
      ),
    );
    const specs = recipe.map((r) => r.spec);
    if (results.length === 1 && results[0]!.slots.every((s, i) => s === i)) {
      // one worker made the whole batch, in slot order: its buffers are the batch (no copy; the
      // copy below costs the main thread a few ms per batch)
      return { index, specs, buffers: results[0]!.buffers.map((b) => new Float32Array(b)) };
    }
    const buffers = this.o.sizes.map((n) => new Float32Array(this.batch * n));
    for (const r of results) {
      r.buffers.forEach((b, k) => {
        const n = this.o.sizes[k]!;
        const src = new Float32Array(b);
        r.slots.forEach((slot, i) => buffers[k]!.set(src.subarray(i * n, (i + 1) * n), slot * n));
      });
    }
    return { index, specs, buffers };
  }

  private onMessage(m: StreamReply): void {
    const part = this.parts.get(m.id);
    if (!part) return;
    this.parts.delete(m.id);
    if (this.parts.size === 0) for (const w of this.workers) w.unref();
    if (m.type === 'batch') part.resolve({ slots: m.slots, buffers: m.buffers });
    else part.reject(new SrError(m.message));
  }

  private fail(err: Error): void {
    if (this.failure || this.closed) return;
    this.failure = err;
    for (const part of this.parts.values()) part.reject(err);
    this.parts.clear();
  }
}

/**
 * Worker side: makes the samples of a job into one Float32Array per output (`sizes` floats per
 * sample) and answers, or answers the error's message. `make` fills sample i of the job.
 */
export async function answerJob<S extends { slot: number }>(
  post: (m: StreamReply, transfer: ArrayBuffer[]) => void,
  job: StreamJob<S>,
  sizes: readonly number[],
  make: (spec: S, outs: Float32Array[], i: number) => Promise<void>,
): Promise<void> {
  try {
    const outs = sizes.map((n) => new Float32Array(job.samples.length * n));
    for (let i = 0; i < job.samples.length; i++) await make(job.samples[i]!, outs, i);
    const buffers = outs.map((o) => o.buffer as ArrayBuffer);
    post({ type: 'batch', id: job.id, slots: job.samples.map((s) => s.slot), buffers }, buffers);
  } catch (err) {
    post({ type: 'error', id: job.id, message: err instanceof Error ? err.message : String(err) }, []);
  }
}
