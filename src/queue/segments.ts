// Videos across workers. A video is cut at keyframes into segments (ffmpeg's segment muxer, stream
// copy: no re-encoding, every packet in exactly one segment); each segment is upscaled by any
// worker through `srgan video`'s own pipeline (src/video/upscale_video.ts) at the whole video's
// frame rate; when the last one is done, one worker joins them in order (ffmpeg's concat demuxer,
// stream copy again) and copies the original's audio in.
//
// Timestamps: each upscaled segment starts at 0, and the concat demuxer places a segment after the
// previous one by its duration. Container durations are rounded (MP4 headers to the millisecond),
// which would shift every later frame by a little and change the measured frame rate, so the list
// states each duration: the exact time of the frames before it, rounded once to the microsecond
// from the cumulative frame count (errors never add up, and stay far below a tick).
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { SrError } from '../util/errors.js';
import { run, lastLines, outputContainer, type FfmpegTools, type VideoInfo } from '../video/ffmpeg.js';
import { sweepStaleTemps, tempPathFor } from '../util/atomic.js';

/** Files `queue add` takes as videos (anything else it is given must be an image). */
export const VIDEO_EXTENSIONS = new Set(['.mp4', '.m4v', '.mov', '.mkv', '.webm', '.avi', '.mpg', '.mpeg', '.ts', '.m2ts', '.wmv', '.flv']);

/** `<stem><ext>` of a video's output: its own container when the encoder writes it, else Matroska. */
export function videoOutputName(input: string): string {
  const ext = extname(input).toLowerCase();
  let writable = true;
  try {
    outputContainer(input);
  } catch {
    writable = false;
  }
  return basename(input, extname(input)) + (writable ? ext : '.mkv');
}

/**
 * Cuts the video stream into segments of about `seconds` (each starts at a keyframe) under `dir`,
 * which must exist. MP4/MOV sources are cut into .mov files (which keep a rotation flag), others
 * into Matroska (which holds any codec). Returns the files in order.
 */
export async function splitVideo(tools: FfmpegTools, info: VideoInfo, dir: string, seconds: number): Promise<string[]> {
  const mov = /\b(mov|mp4)\b/.test(info.container);
  const ext = mov ? '.mov' : '.mkv';
  const r = await run(tools.ffmpeg, [
    '-nostdin', '-hide_banner', '-v', 'error', '-i', info.path, '-map', '0:v:0', '-c', 'copy',
    '-f', 'segment', '-segment_time', String(seconds), '-reset_timestamps', '1', '-segment_format', mov ? 'mov' : 'matroska',
    join(dir, `src-%05d${ext}`),
  ]);
  if (r.code !== 0) throw new SrError(`${info.path}: cannot cut it into segments: ${lastLines(r.stderr) || `ffmpeg exited ${r.code}`}`);
  const files = (await readdir(dir)).filter((n) => /^src-\d{5}\.(mov|mkv)$/.test(n)).sort();
  if (files.length === 0) throw new SrError(`${info.path}: cutting it into segments gave no segment`);
  return files.map((n) => join(dir, n));
}

/** Video packets (= frames) in a file's first video stream, without decoding. */
export async function countVideoPackets(tools: FfmpegTools, path: string): Promise<number> {
  const r = await run(tools.ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-count_packets', '-show_entries', 'stream=nb_read_packets', '-of', 'csv=p=0', path]);
  const n = Number(r.stdout.toString().trim());
  if (r.code !== 0 || !Number.isInteger(n)) throw new SrError(`${path}: cannot count its frames: ${lastLines(r.stderr) || `ffprobe exited ${r.code}`}`);
  return n;
}

/** Microseconds from the start to frame `frames` at `rate` ("30000/1001", "25"), rounded once. */
export function startMicros(frames: number, rate: string): bigint {
  const [num, den] = rate.split('/').map((x) => BigInt(x)) as [bigint, bigint | undefined];
  const d = den ?? 1n;
  return (BigInt(frames) * d * 2_000_000n + num) / (2n * num);
}

function seconds(micros: bigint): string {
  return `${micros / 1_000_000n}.${String(micros % 1_000_000n).padStart(6, '0')}`;
}

/** The concat demuxer's list: every file with its exact duration. */
export function concatList(parts: ReadonlyArray<{ path: string; frames: number }>, rate: string): string {
  const lines = ['ffconcat version 1.0'];
  let before = 0;
  for (const p of parts) {
    const d = startMicros(before + p.frames, rate) - startMicros(before, rate);
    before += p.frames;
    lines.push(`file '${p.path.replace(/'/g, "'\\''")}'`, `duration ${seconds(d)}`);
  }
  return lines.join('\n') + '\n';
}

export interface JoinOptions {
  tools: FfmpegTools;
  /** Upscaled segments, in order. */
  parts: string[];
  /** The original video: its audio streams and metadata are copied. */
  source: string;
  output: string;
  rate: string;
  /** The frame count the result must have, when known. */
  frames?: number;
  /** Where the list file may be written (the parts folder). */
  workDir: string;
}

/** Joins the parts into `output` (temporary name, renamed when complete). Returns the frame count. */
export async function joinSegments(o: JoinOptions): Promise<number> {
  const counted = [];
  for (const path of o.parts) counted.push({ path, frames: await countVideoPackets(o.tools, path) });
  const frames = counted.reduce((a, p) => a + p.frames, 0);
  if (o.frames !== undefined && frames !== o.frames) {
    throw new SrError(`${o.source}: the upscaled segments hold ${frames} frames, the video has ${o.frames}; not joined`);
  }
  const list = join(o.workDir, 'concat.txt');
  await writeFile(list, concatList(counted, o.rate));
  const c = outputContainer(o.output);
  sweepStaleTemps(dirname(o.output));
  const tmp = tempPathFor(o.output, { keepExtension: true }); // ffmpeg's muxers check the extension
  const args = ['-nostdin', '-hide_banner', '-v', 'error', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-i', o.source];
  args.push('-map', '0:v:0', '-map', '1:a?', '-c', 'copy', '-map_metadata', '1', ...c.extra, '-f', c.format, tmp);
  try {
    const r = await run(o.tools.ffmpeg, args);
    if (r.code !== 0) throw new SrError(`${o.output}: joining ${o.parts.length} segments failed: ${lastLines(r.stderr) || `ffmpeg exited ${r.code}`}`);
    await rename(tmp, o.output);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return frames;
}
