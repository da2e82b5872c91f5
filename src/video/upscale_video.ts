// `srgan video`: decode -> upscale every frame -> encode, as a stream.
//
//   ffmpeg (decoder) --RGB24 pipe--> bounded queue --> frame upscaler --> ffmpeg (encoder) --> temp file
//
// Memory does not depend on the video's length: the queue holds at most `queue` decoded frames,
// the decoder is paused by pipe back-pressure while the queue is full, and the encoder's stdin
// applies the same back-pressure on the way out. Audio streams are copied from the input file by
// the encoder without re-encoding; the frame rate is the input's, and every decoded frame is
// written once, so the frame count is kept too. The result goes to a temporary name in the
// output's folder and is renamed into place only when ffmpeg has finished it: a failure or an
// interrupt leaves no partial output.
import { mkdir, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SrError } from '../util/errors.js';
import { tempPathFor, sweepStaleTemps } from '../util/atomic.js';
import type { Image } from '../image/image.js';
import { findFfmpeg, probeVideo, decodeFrames, FrameEncoder, outputContainer, checkAudioFits, type VideoInfo, type FfmpegTools } from './ffmpeg.js';
import { BoundedQueue } from './queue.js';
import { checkMethodScale, type Method } from '../inference/methods.js';

export interface UpscaleVideoOptions {
  input: string;
  output: string;
  /** what upscales each frame (inference/methods.ts) */
  method: Method;
  /** upscaling factor (default: the method's own, else 4) */
  scale?: number;
  /** ffmpeg binary (default: $SRGAN_FFMPEG, then PATH) */
  ffmpeg?: string;
  codec?: string;
  crf?: number;
  preset?: string;
  /** decoded frames waiting for the upscaler, at most (default 4) */
  queue?: number;
  /** replace an existing output file */
  overwrite?: boolean;
  /** frame rate to write, as rational text (default: the input's); a segment cut from a longer video keeps the whole video's */
  rate?: string;
  signal?: AbortSignal;
  /** after the probe, before the first frame */
  onStart?: (info: VideoInfo, tools: FfmpegTools) => void;
  onFrame?: (done: number, total: number | undefined) => void;
}

export interface UpscaleVideoResult {
  info: VideoInfo;
  frames: number;
  seconds: number;
  outWidth: number;
  outHeight: number;
  /** most decoded frames held at once */
  maxQueued: number;
}

export function rgb24ToImage(rgb: Uint8Array, width: number, height: number): Image {
  const data = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i++) data[i] = rgb[i]! / 255;
  return { width, height, channels: 3, data };
}

export function imageToRgb24(img: Image): Uint8Array {
  const n = img.width * img.height;
  const out = new Uint8Array(n * 3);
  const d = img.data;
  const put = (i: number, v: number) => {
    const q = Math.floor(v * 255 + 0.5);
    out[i] = q < 0 ? 0 : q > 255 ? 255 : q;
  };
  if (img.channels === 3) for (let i = 0; i < n * 3; i++) put(i, d[i]!);
  else for (let p = 0; p < n; p++) put(3 * p, d[p]!), (out[3 * p + 1] = out[3 * p]!), (out[3 * p + 2] = out[3 * p]!);
  return out;
}

export async function upscaleVideo(o: UpscaleVideoOptions): Promise<UpscaleVideoResult> {
  const t0 = performance.now();
  const s = o.scale ?? o.method.scale ?? 4;
  checkMethodScale(o.method, s);
  const output = resolve(o.output);
  outputContainer(output);
  if (resolve(o.input) === output) throw new SrError(`the output ${o.output} is the input; choose another name`);
  if (existsSync(output) && !o.overwrite) throw new SrError(`${o.output} exists; add --force to replace it`);
  const tools = await findFfmpeg(o.ffmpeg);
  const info = await probeVideo(tools, o.input);
  checkAudioFits(output, info.audio.map((a) => a.codec));
  const outWidth = info.width * s;
  const outHeight = info.height * s;
  // As `upscale` does: a missing output folder is made (once the input is known to be good).
  await mkdir(dirname(output), { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw new SrError(`${o.output}: cannot make the folder ${dirname(output)} (${err.code ?? err.message})`, { cause: err });
  });
  sweepStaleTemps(dirname(output));
  o.onStart?.(info, tools);

  const queue = new BoundedQueue<Uint8Array>(o.queue ?? 4);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const tmp = tempPathFor(output, { keepExtension: true }); // some ffmpeg muxers check the extension
  const encoder = new FrameEncoder(tools, tmp, output, {
    width: outWidth,
    height: outHeight,
    fpsText: o.rate ?? info.fpsText,
    ...(info.audio.length ? { audioFrom: info.path } : {}),
    ...(o.codec ? { codec: o.codec } : {}),
    ...(o.crf !== undefined ? { crf: o.crf } : {}),
    ...(o.preset ? { preset: o.preset } : {}),
  });
  let frames = 0;
  try {
    const producer = (async () => {
      try {
        for await (const frame of decodeFrames(tools, info, { signal: stop.signal })) await queue.push(frame);
        queue.close();
      } catch (err) {
        queue.fail(err as Error);
      }
    })();
    try {
      for (;;) {
        if (o.signal?.aborted) throw new SrError('interrupted; no output written');
        const rgb = await queue.shift();
        if (!rgb) break;
        const up = await o.method.run(rgb24ToImage(rgb, info.width, info.height), { scale: s, signal: stop.signal });
        if (up.width !== outWidth || up.height !== outHeight) throw new Error(`upscaler returned ${up.width}x${up.height}, expected ${outWidth}x${outHeight}`);
        await encoder.write(imageToRgb24(up));
        frames += 1;
        o.onFrame?.(frames, info.frames);
      }
    } catch (err) {
      stop.abort();
      queue.fail(err as Error);
      throw err;
    } finally {
      await producer;
    }
    await encoder.finish();
    await rename(tmp, output);
  } catch (err) {
    await encoder.abort();
    await rm(tmp, { force: true });
    if (o.signal?.aborted) throw new SrError('interrupted; no output written');
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
  return { info, frames, seconds: (performance.now() - t0) / 1000, outWidth, outHeight, maxQueued: queue.highWater };
}
