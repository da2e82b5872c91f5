// A video as the two-stream recognizer sees it: its frames as square RGB of one size, and the
// Farneback flow between each pair of consecutive frames. A sample at frame t is the RGB frame t
// (spatial stream) and the flows t -> t+1 ... t+L-1 -> t+L (temporal stream), side by side in
// one [size, size, 3 + 2L] tensor: RGB in [0, 1], then u, v of each flow in pixels.
import { imageTo8, type Image, type Image8 } from '../image/image.js';
import { imresize8 } from '../image/resize.js';
import { SrError } from '../util/errors.js';
import { decodeFrames, findFfmpeg, probeVideo, type FfmpegTools } from '../video/ffmpeg.js';
import { opticalFlow, type Flow } from '../video/flow.js';

export interface Clip {
  frames: Image8[];
  flows: Flow[];
}

/** Centre square crop, resized (MATLAB bicubic) to size x size when it is another size. */
export function squareFrame(f: Image8, size: number): Image8 {
  const side = Math.min(f.width, f.height);
  let sq = f;
  if (f.width !== f.height) {
    const x0 = (f.width - side) >> 1;
    const y0 = (f.height - side) >> 1;
    const data = new Uint8Array(side * side * 3);
    for (let y = 0; y < side; y++) data.set(f.data.subarray(((y0 + y) * f.width + x0) * 3, ((y0 + y) * f.width + x0 + side) * 3), y * side * 3);
    sq = { width: side, height: side, channels: 3, data };
  }
  return side === size ? sq : imresize8(sq, { width: size, height: size }, 'bicubic');
}

/**
 * The first `maxFrames` frames of a video, square and `size` wide. A file ffmpeg cannot read is a
 * one-line SrError naming it; so is a video shorter than `minFrames`.
 */
export async function readClipFrames(path: string, size: number, o: { maxFrames: number; minFrames: number; tools?: FfmpegTools }): Promise<Image8[]> {
  const tools = o.tools ?? (await findFfmpeg());
  let frames: Image8[] = [];
  try {
    const info = await probeVideo(tools, path);
    for await (const rgb of decodeFrames(tools, info, { maxFrames: o.maxFrames })) {
      frames.push(squareFrame({ width: info.width, height: info.height, channels: 3, data: rgb }, size));
    }
  } catch (err) {
    const msg = (err as Error).message;
    throw new SrError(msg.includes(path) ? msg : `cannot read video ${path}: ${msg}`, { cause: err });
  }
  if (frames.length < o.minFrames) throw new SrError(`${path}: ${frames.length} frames, the recognizer needs at least ${o.minFrames} (stack + 1)`);
  frames = frames.slice(0, o.maxFrames);
  return frames;
}

/** Flow between each pair of consecutive frames (Farneback, the project's estimator). */
export async function clipFlows(frames: ReadonlyArray<Image8 | Image>): Promise<Flow[]> {
  const out: Flow[] = [];
  for (let t = 0; t + 1 < frames.length; t++) out.push(await opticalFlow(frames[t]!, frames[t + 1]!));
  return out;
}

export async function clipOf(frames: Image8[]): Promise<Clip> {
  return { frames, flows: await clipFlows(frames) };
}

/** Channels of a sample with a stack of L flows. */
export const sampleChannels = (stack: number): number => 3 + 2 * stack;

/**
 * Writes the sample at frame t into out[offset ...] ([size, size, 3 + 2L]); `mirror` flips it left
 * to right (the flows' x components change sign), the two-stream paper's training augmentation.
 */
export function writeSample(clip: Clip, t: number, stack: number, out: Float32Array, offset: number, mirror = false): void {
  const f = clip.frames[t]!;
  const n = f.width * f.height;
  const w = f.width;
  const c = sampleChannels(stack);
  if (t + stack > clip.flows.length) throw new Error(`sample at frame ${t} needs ${stack} flows, the clip has ${clip.flows.length}`);
  const sign = mirror ? -1 : 1;
  for (let q = 0; q < n; q++) {
    const p = mirror ? q - (q % w) + (w - 1 - (q % w)) : q;
    const o = offset + q * c;
    out[o] = f.data[3 * p]! / 255;
    out[o + 1] = f.data[3 * p + 1]! / 255;
    out[o + 2] = f.data[3 * p + 2]! / 255;
    for (let k = 0; k < stack; k++) {
      const fl = clip.flows[t + k]!;
      out[o + 3 + 2 * k] = sign * fl.u[p]!;
      out[o + 4 + 2 * k] = fl.v[p]!;
    }
  }
}

/** `count` sample positions spread evenly over the clip (the paper averages 25 per test video). */
export function samplePositions(frames: number, stack: number, count: number): number[] {
  const last = frames - 1 - stack;
  if (last < 0) return [];
  const k = Math.min(count, last + 1);
  return Array.from({ length: k }, (_, i) => (k === 1 ? Math.floor(last / 2) : Math.round((i * last) / (k - 1))));
}

/** Float frames (an upscaler's output) as 8-bit, as a decoded video frame would be. */
export const frame8 = (img: Image): Image8 => imageTo8(img);
