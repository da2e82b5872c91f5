// Worker side of ClipDataset: decodes the clips it owns once, with their flows, and cuts samples
// (RGB frame t and the L flows from t) on request. The sample position comes from the main
// thread, so results do not depend on which worker made what.
import { parentPort, workerData } from 'node:worker_threads';
import { answerJob, type StreamJob } from '../data/worker_stream.js';
import { clipOf, readClipFrames, sampleChannels, writeSample, type Clip } from './clip.js';

export interface ClipWorkerInit {
  /** global clip index -> [path, label], for the clips this worker owns */
  clips: Record<number, [string, number]>;
  size: number;
  stack: number;
  classes: number;
  maxFrames: number;
}

export interface ClipSampleSpec {
  slot: number;
  clip: number;
  /** fraction in [0, 1) picking the first frame among those with L flows after them */
  at: number;
  /** mirrored left to right */
  mirror: boolean;
}

const init = workerData as ClipWorkerInit;
const cache = new Map<number, Promise<Clip>>();

function clip(i: number): Promise<Clip> {
  let p = cache.get(i);
  if (!p) {
    const [path] = init.clips[i]!;
    p = readClipFrames(path, init.size, { maxFrames: init.maxFrames, minFrames: init.stack + 1 }).then(clipOf);
    cache.set(i, p);
    p.catch(() => cache.delete(i));
  }
  return p;
}

const sizes = [init.size * init.size * sampleChannels(init.stack), init.classes];
let chain: Promise<void> = Promise.resolve();
parentPort!.on('message', (m: StreamJob<ClipSampleSpec>) => {
  chain = chain.then(() =>
    answerJob((r, t) => parentPort!.postMessage(r, t), m, sizes, async (spec, [x, labels], i) => {
      const c = await clip(spec.clip);
      const t = Math.floor(spec.at * (c.frames.length - init.stack));
      writeSample(c, t, init.stack, x!, i * sizes[0]!, spec.mirror);
      labels![i * init.classes + init.clips[spec.clip]![1]] = 1;
    }),
  );
});
