// Worker side of PatchDataset: decodes the images it owns once, keeps them as uint8 (HR
// mod-cropped, and its protocol LR), and cuts, transforms and scales patches on request. All
// randomness stays on the main thread, so results do not depend on which worker ran what.
import { parentPort, workerData } from 'node:worker_threads';
import { loadImage8 } from '../io/image.js';
import type { Image8 } from '../image/image.js';
import { imresize8 } from '../image/resize.js';
import { modcrop } from '../image/degrade.js';
import { answerJob, type StreamJob } from './worker_stream.js';

export interface WorkerInit {
  /** global image index -> path, for the images this worker owns */
  files: Record<number, string>;
  scale: number;
  hrPatch: number;
  maxPixels: number;
}

export interface SampleSpec {
  /** position in the batch */
  slot: number;
  image: number;
  /** top-left of the LR crop, in the LR of the mod-cropped HR */
  x: number;
  y: number;
  /** dihedral transform 0..7: bit 0 mirrors columns, bit 1 mirrors rows, bit 2 transposes */
  t: number;
}

export type ToWorker = StreamJob<SampleSpec> | { type: 'warm'; order: number[] };

interface Entry {
  /** RGB, mod-cropped */
  hr: Uint8Array;
  hrW: number;
  lr: Uint8Array;
  lrW: number;
}

const init = workerData as WorkerInit;
const cache = new Map<number, Promise<Entry>>();

function toRgb(img: Image8): Uint8Array {
  if (img.channels === 3) return img.data;
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = img.data[p]!;
  return out;
}

async function decode(index: number): Promise<Entry> {
  const path = init.files[index];
  if (path === undefined) throw new Error(`image ${index} is not owned by this worker`);
  const img = await loadImage8(path, { maxPixels: init.maxPixels });
  const s = init.scale;
  const hr8 = modcrop(img, s);
  const w = hr8.width;
  // The same LR as the benchmark protocol (MATLAB bicubic on uint8, rounded), made once for the
  // whole image so that patches carry no border effects of their own; grey is resized before it
  // is expanded, which gives the same values for a third of the work.
  const lr8 = imresize8(hr8, { scale: 1 / s }, 'bicubic');
  return { hr: toRgb(hr8), hrW: w, lr: toRgb(lr8), lrW: lr8.width };
}

function entry(index: number): Promise<Entry> {
  let p = cache.get(index);
  if (!p) {
    p = decode(index);
    cache.set(index, p);
    // a failed decode is not cached, so a transient error can be retried
    p.catch(() => cache.delete(index));
  }
  return p;
}

// Copies a square patch with the dihedral transform applied, scaled to [lo, lo + span].
function cut(src: Uint8Array, srcW: number, x0: number, y0: number, size: number, t: number, dst: Float32Array, off: number, lo: number, span: number): void {
  const k = span / 255;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let a = t & 4 ? x : y;
      let b = t & 4 ? y : x;
      if (t & 1) b = size - 1 - b;
      if (t & 2) a = size - 1 - a;
      const s = ((y0 + a) * srcW + (x0 + b)) * 3;
      const d = off + (y * size + x) * 3;
      dst[d] = lo + src[s]! * k;
      dst[d + 1] = lo + src[s + 1]! * k;
      dst[d + 2] = lo + src[s + 2]! * k;
    }
  }
}

// Batches are made one at a time in the order asked, so the first one is not slowed down by
// the decoding of the ones queued behind it; within a batch all decodes start at once (sharp
// decodes on libuv threads while this thread resizes the ones already decoded).
const jobs: StreamJob<SampleSpec>[] = [];
let running = false;
let idleWaiters: (() => void)[] = [];

function makeBatch(job: StreamJob<SampleSpec>): Promise<void> {
  const s = init.scale;
  const hrP = init.hrPatch;
  const lrP = hrP / s;
  // all decodes of the batch start at once; the first failure is reported by answerJob
  const entries = job.samples.map((sm) => entry(sm.image));
  for (const e of entries) e.catch(() => undefined);
  return answerJob((m, t) => parentPort!.postMessage(m, t), job, [lrP * lrP * 3, hrP * hrP * 3], async (sm, [lr, hr], i) => {
    const e = await entries[i]!;
    // LR in [0, 1]; HR in [-1, 1] as in the SRGAN paper
    cut(e.lr, e.lrW, sm.x, sm.y, lrP, sm.t, lr!, i * lrP * lrP * 3, 0, 1);
    cut(e.hr, e.hrW, sm.x * s, sm.y * s, hrP, sm.t, hr!, i * hrP * hrP * 3, -1, 2);
  });
}

async function runJobs(): Promise<void> {
  running = true;
  while (jobs.length > 0) {
    const j = jobs.shift()!;
    await makeBatch(j);
  }
  running = false;
  const waiters = idleWaiters;
  idleWaiters = [];
  for (const f of waiters) f();
}

// Decodes the remaining owned images, in the order batches will first need them, whenever no
// batch is waiting, so that the first epoch stalls as little as decoding speed allows. Two at a
// time: one decoding on a libuv thread while the other is resized here.
async function warm(order: number[]): Promise<void> {
  const todo = order.filter((i) => init.files[i] !== undefined);
  let next = 0;
  const lane = async () => {
    while (next < todo.length) {
      while (running) await new Promise<void>((r) => idleWaiters.push(r));
      const i = todo[next++]!;
      try {
        await entry(i);
      } catch {
        // reported when a batch needs the image
      }
    }
  };
  await Promise.all([lane(), lane()]);
}

parentPort!.on('message', (m: ToWorker) => {
  if (m.type === 'batch') {
    jobs.push(m);
    if (!running) void runJobs();
  } else if (m.type === 'warm') {
    void warm(m.order);
  }
});
