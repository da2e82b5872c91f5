// Worker side of SequenceDataset: keeps the sources it owns decoded (photos as 8-bit RGB; videos
// as their first frames, with the protocol LR of each and, once needed, the HR flows of each
// neighbouring pair) and cuts samples on request. All randomness comes from the per-sample seed
// sent by the main thread, so results do not depend on which worker made what.
import { parentPort, workerData } from 'node:worker_threads';
import { loadImage8 } from '../io/image.js';
import type { Image8 } from '../image/image.js';
import { imresize8 } from '../image/resize.js';
import { Rng } from '../util/random.js';
import { opticalFlow, flowMagnitude, validFlowMask } from './flow.js';
import { findFfmpeg, probeVideo, decodeFrames } from './ffmpeg.js';
import { cutSample, synthSample, motionWeights, AUX_CHANNELS, FRAMES_PER_SAMPLE, type FramePair, type VideoMode } from './samples.js';
import type { SynthOptions } from './synth.js';
import { answerJob, type StreamJob } from '../data/worker_stream.js';

export interface SourceSpec {
  path: string;
  kind: 'image' | 'video';
}

export interface SequenceWorkerInit {
  /** global source index -> source, for the sources this worker owns */
  sources: Record<number, SourceSpec>;
  mode: VideoMode;
  scale: number;
  patch: number;
  eps: number;
  videoFrames: number;
  maxPixels: number;
  synth: SynthOptions;
  ffmpeg?: string;
}

export interface SequenceSampleSpec {
  slot: number;
  source: number;
  seed: number;
}


const init = workerData as SequenceWorkerInit;

function toRgb(img: Image8): Image8 {
  if (img.channels === 3) return { width: img.width, height: img.height, channels: 3, data: img.data };
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  for (let p = 0; p < n; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = img.data[p]!;
  return { width: img.width, height: img.height, channels: 3, data: out };
}

function modcrop(img: Image8, s: number): Image8 {
  const w = img.width - (img.width % s);
  const h = img.height - (img.height % s);
  if (w === img.width && h === img.height) return img;
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(y * img.width * 3, (y * img.width + w) * 3), y * w * 3);
  return { width: w, height: h, channels: 3, data: out };
}

interface VideoEntry {
  hr: Image8[];
  lr: Image8[];
  pairs: Map<number, Promise<{ pair: FramePair; weights: Float32Array; valid: Uint8Array }>>;
}

const photos = new Map<number, Promise<Image8>>();
const videos = new Map<number, Promise<VideoEntry>>();

function photo(i: number): Promise<Image8> {
  let p = photos.get(i);
  if (!p) {
    p = loadImage8(init.sources[i]!.path, { maxPixels: init.maxPixels }).then(toRgb);
    photos.set(i, p);
    p.catch(() => photos.delete(i));
  }
  return p;
}

async function decodeVideo(path: string): Promise<VideoEntry> {
  const tools = await findFfmpeg(init.ffmpeg);
  const info = await probeVideo(tools, path);
  const hr: Image8[] = [];
  for await (const rgb of decodeFrames(tools, info, { maxFrames: init.videoFrames })) {
    hr.push(modcrop({ width: info.width, height: info.height, channels: 3, data: rgb }, init.scale));
  }
  if (hr.length < 2) throw new Error(`${path}: a training video needs at least 2 frames, it has ${hr.length}`);
  return { hr, lr: hr.map((f) => imresize8(f, { scale: 1 / init.scale }, 'bicubic')), pairs: new Map() };
}

function video(i: number): Promise<VideoEntry> {
  let p = videos.get(i);
  if (!p) {
    p = decodeVideo(init.sources[i]!.path);
    videos.set(i, p);
    p.catch(() => videos.delete(i));
  }
  return p;
}

/** Frames t-1 and t of a video with their flows, computed on the whole HR frames once. */
function pairOf(v: VideoEntry, t: number): Promise<{ pair: FramePair; weights: Float32Array; valid: Uint8Array }> {
  let p = v.pairs.get(t);
  if (!p) {
    p = (async () => {
      const [a, b] = [v.hr[t - 1]!, v.hr[t]!];
      const forward = await opticalFlow(a, b);
      const backward = await opticalFlow(b, a);
      return {
        pair: { hr: [a, b], lr: [v.lr[t - 1]!, v.lr[t]!], forward, backward },
        weights: motionWeights(flowMagnitude(backward), init.eps),
        valid: validFlowMask(forward, backward),
      };
    })();
    v.pairs.set(t, p);
    p.catch(() => v.pairs.delete(t));
  }
  return p;
}

async function makeSample(spec: SequenceSampleSpec): Promise<ReturnType<typeof synthSample>> {
  const rng = new Rng(spec.seed);
  const rand = () => rng.next();
  const src = init.sources[spec.source]!;
  if (src.kind === 'image') return synthSample(init.mode, await photo(spec.source), init.scale, init.patch, rand, { ...init.synth, eps: init.eps });
  const v = await video(spec.source);
  const t = 1 + Math.floor(rand() * (v.hr.length - 1));
  const { pair, weights, valid } = await pairOf(v, t);
  const s = init.scale;
  const x0 = s * Math.floor(rand() * ((pair.hr[1].width - init.patch) / s + 1));
  const y0 = s * Math.floor(rand() * ((pair.hr[1].height - init.patch) / s + 1));
  return cutSample(init.mode, pair, s, init.patch, x0, y0, { eps: init.eps, frameWeights: weights, frameValid: valid });
}

function makeBatch(job: StreamJob<SequenceSampleSpec>): Promise<void> {
  const l = init.patch / init.scale;
  const f = FRAMES_PER_SAMPLE[init.mode];
  const sizes = [f * l * l * 3, f * init.patch * init.patch * 3, init.patch * init.patch * AUX_CHANNELS[init.mode]];
  return answerJob((m, t) => parentPort!.postMessage(m, t), job, sizes, async (spec, [lr, hr, aux], i) => {
    const s = await makeSample(spec);
    lr!.set(s.lr, i * sizes[0]!);
    hr!.set(s.hr, i * sizes[1]!);
    aux!.set(s.aux, i * sizes[2]!);
  });
}

// One batch at a time, in the order asked.
let chain: Promise<void> = Promise.resolve();
parentPort!.on('message', (m: StreamJob<SequenceSampleSpec>) => {
  if (m.type === 'batch') chain = chain.then(() => makeBatch(m));
});
