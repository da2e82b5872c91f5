// The ONNX Runtime engine. The generator is exported to ONNX in memory (cached per weights file,
// so a second upscaler for the same file skips the export) and run by onnxruntime-node's CPU
// provider, with no files written and nothing downloaded.
//
// Two ways to use the cores, both run in worker threads (onnxruntime-node's session.run() computes
// on the calling thread, so a session on the main thread would freeze it for a whole tile):
//   'workers' (default): one single-threaded session per core, each working on its own tile;
//   'session': one session with intraOpNumThreads = cores, splitting each operator across them.
// Measured with bench/upscale_engines.ts (SRResNet B16 C64, 256x256 -> 1024x1024, 4 tiles of
// 136x136, 5 alternating rounds, medians), on the 2-core development machine while a training
// run kept both cores busy:
//   2 workers x 1 thread 3.07 s, 1 session x 2 threads 3.32 s, 1 session x 1 thread 3.23 s;
//   a plain 2-worker busy loop took 2.0x as long as one there: no second core was free to gain.
// So the figures only say that neither choice loses under load. 'workers' is the default because
// independent work on 2 free cores was measured at ~2x on this machine before, the most that
// intra-op splitting (a synchronisation per operator) can match; its cost: an image of one tile
// (<= 192 px a side) runs on one core. Re-measure on a free machine with
//   node dist/bench/upscale_engines.js --engines onnx-workers,onnx-session,onnx-1thread
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { SrError } from '../util/errors.js';
import { initBackend } from '../tfjs/backend.js';
import { exportOnnx } from './onnx_export.js';
import { buildFromSource, type ModelSource, type WeightSource } from './model_source.js';
import { readPrebuilt } from './prebuilt_onnx.js';
import type { Engine } from './engine.js';

export type OnnxMode = 'workers' | 'session';

export const DEFAULT_ONNX_MODE: OnnxMode = 'workers';

export interface OnnxEngineOptions {
  threads?: number;
  mode?: OnnxMode;
}

const MAX_CACHED = 4;
const bytesCache = new Map<string, Uint8Array>();

/** The graph this engine runs for some weights (what the build's prebuilt graphs hold, too). */
export async function exportForEngine(src: WeightSource): Promise<Uint8Array> {
  await initBackend({ quiet: true });
  const model = buildFromSource(src);
  try {
    return exportOnnx(model, { config: src.config, preluAsDepthwise: true }).bytes;
  } finally {
    model.dispose();
  }
}

/**
 * The model as ONNX bytes: for a shipped model the graph the build exported (prebuilt_onnx.ts),
 * otherwise exported once per weights file (and alpha), then served from memory.
 */
export async function onnxBytesFor(src: ModelSource): Promise<Uint8Array> {
  if (src.kind === 'onnx') return src.bytes;
  const hit = bytesCache.get(src.key);
  if (hit) {
    bytesCache.delete(src.key);
    bytesCache.set(src.key, hit); // most recently used last
    return hit;
  }
  const bytes = (src.file && (await readPrebuilt(src.file))) || (await exportForEngine(src));
  bytesCache.set(src.key, bytes);
  while (bytesCache.size > MAX_CACHED) bytesCache.delete(bytesCache.keys().next().value!);
  return bytes;
}

export function clearOnnxCache(): void {
  bytesCache.clear();
}

function checkThreads(threads: number): number {
  if (!Number.isInteger(threads) || threads < 1 || threads > 256) throw new SrError(`threads must be a whole number from 1 to 256, got ${threads}`);
  return threads;
}

interface Pending {
  resolve: (out: Float32Array) => void;
  reject: (err: Error) => void;
}

class WorkerSlot {
  readonly pending = new Map<number, Pending>();
  dead: Error | null = null;
  constructor(readonly worker: Worker) {}
}

class WorkerEngine implements Engine {
  readonly name = 'onnx' as const;
  private nextId = 0;
  private disposed = false;

  private constructor(private readonly slots: WorkerSlot[], readonly scale: number) {}

  get concurrency(): number {
    return this.slots.length;
  }

  /**
   * Starts the workers at once and hands them the model when `model` resolves: loading ONNX
   * Runtime in the workers overlaps the export on this thread (a few tenths of a second of a
   * short run).
   */
  static async create(model: () => Promise<Uint8Array>, workers: number, threadsEach: number, scale: number): Promise<WorkerEngine> {
    const slots = Array.from({ length: workers }, () => new WorkerSlot(new Worker(new URL('./onnx_worker.js', import.meta.url), { workerData: { threads: threadsEach } })));
    const ready = slots.map(
      (slot, i) =>
        new Promise<void>((resolve, reject) => {
          const fail = (why: string) => reject(new SrError(`ONNX worker ${i + 1} could not start: ${why}`));
          slot.worker.once('error', (err) => fail(err.message));
          slot.worker.once('message', (msg: { type: string; error?: string }) => (msg.type === 'ready' ? resolve() : fail(msg.error ?? msg.type)));
        }),
    );
    ready.forEach((p) => p.catch(() => undefined)); // awaited below, after the model is sent
    try {
      const bytes = await model();
      for (const slot of slots) slot.worker.postMessage({ type: 'model', bytes });
      await Promise.all(ready);
    } catch (err) {
      await Promise.all(slots.map((s) => s.worker.terminate()));
      throw err;
    }
    const engine = new WorkerEngine(slots, scale);
    slots.forEach((slot, i) => {
      slot.worker.on('message', (msg: { type: string; id: number; out?: Float32Array; error?: string }) => {
        const p = slot.pending.get(msg.id);
        if (!p) return;
        slot.pending.delete(msg.id);
        engine.idle(slot);
        if (msg.type === 'done') p.resolve(msg.out!);
        else p.reject(new SrError(`ONNX Runtime failed on a tile: ${msg.error}`));
      });
      const die = (err: Error) => {
        slot.dead = err;
        for (const p of slot.pending.values()) p.reject(new SrError(`ONNX worker ${i + 1} stopped: ${err.message}`));
        slot.pending.clear();
      };
      slot.worker.on('error', die);
      slot.worker.on('exit', (code) => {
        if (!engine.disposed) die(new Error(`exited with code ${code}`));
      });
      // An idle pool must not keep the process alive; a busy one must (see idle()).
      slot.worker.unref();
    });
    return engine;
  }

  private idle(slot: WorkerSlot): void {
    if (slot.pending.size === 0) slot.worker.unref();
  }

  run(tile: Float32Array, height: number, width: number): Promise<Float32Array> {
    if (this.disposed) return Promise.reject(new SrError('this ONNX engine has been disposed'));
    if (tile.length !== height * width * 3) return Promise.reject(new SrError(`tile of ${tile.length} values does not match [1, ${height}, ${width}, 3]`));
    const live = this.slots.filter((s) => !s.dead);
    if (live.length === 0) return Promise.reject(new SrError(`every ONNX worker has stopped (${this.slots[0]!.dead!.message})`));
    const slot = live.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
    const id = this.nextId++;
    // The worker takes ownership of a copy, so the caller's buffer stays usable.
    const copy = tile.slice();
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.ref();
      slot.worker.postMessage({ type: 'run', id, tile: copy, height, width }, [copy.buffer]);
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of this.slots) {
      for (const p of s.pending.values()) p.reject(new SrError('the ONNX engine was disposed while a tile was running'));
      s.pending.clear();
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}

export async function createOnnxEngine(src: ModelSource, opts: OnnxEngineOptions = {}): Promise<Engine> {
  const threads = checkThreads(opts.threads ?? availableParallelism());
  const mode = opts.mode ?? DEFAULT_ONNX_MODE;
  if (mode !== 'workers' && mode !== 'session') throw new SrError(`unknown ONNX mode '${String(mode)}': use workers or session`);
  const model = () => onnxBytesFor(src);
  return mode === 'session' ? WorkerEngine.create(model, 1, threads, src.scale) : WorkerEngine.create(model, threads, 1, src.scale);
}
