// Video in and out through the ffmpeg command-line tools (a real ffmpeg: Debian's `ffmpeg`
// package in CI, installed by .ci/run). Frames travel as raw RGB24 through pipes: the decoder
// writes them to its stdout, the encoder reads them on its stdin. Nothing is held in memory
// beyond what a caller keeps, and pipe back-pressure stops the decoder while the caller is busy.
//
// Where ffmpeg comes from, in order: an explicit path (`--ffmpeg`), $SRGAN_FFMPEG, then `ffmpeg`
// on PATH; ffprobe is looked up next to it the same way ($SRGAN_FFPROBE overrides).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { SrError } from '../util/errors.js';

export const FFMPEG_ENV_VAR = 'SRGAN_FFMPEG';
export const FFPROBE_ENV_VAR = 'SRGAN_FFPROBE';
const INSTALL_HINT = 'install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) or point --ffmpeg / $SRGAN_FFMPEG at the binary';

export interface FfmpegTools {
  ffmpeg: string;
  ffprobe: string;
  /** e.g. "5.1.9-0+deb12u1" */
  version: string;
  /** major, minor of the version when it parses (git builds give [0, 0]) */
  release: [number, number];
}

export interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a tool to its end, collecting stdout (bytes) and stderr (text). */
export function run(cmd: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

function missing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'EACCES';
}

const toolsCache = new Map<string, Promise<FfmpegTools>>();

/** Finds and checks ffmpeg and ffprobe; SrError with an install hint when they are missing. */
export function findFfmpeg(explicit?: string): Promise<FfmpegTools> {
  const ffmpeg = explicit ?? process.env[FFMPEG_ENV_VAR] ?? 'ffmpeg';
  const ffprobe =
    process.env[FFPROBE_ENV_VAR] ??
    (ffmpeg.includes('/') || ffmpeg.includes('\\') ? join(dirname(ffmpeg), basename(ffmpeg).replace(/ffmpeg/i, 'ffprobe')) : 'ffprobe');
  const key = `${ffmpeg}\0${ffprobe}\0${process.env['PATH'] ?? ''}`;
  let p = toolsCache.get(key);
  if (!p) {
    p = checkTools(ffmpeg, ffprobe);
    toolsCache.set(key, p);
    p.catch(() => toolsCache.delete(key));
  }
  return p;
}

async function checkTools(ffmpeg: string, ffprobe: string): Promise<FfmpegTools> {
  let r: RunResult;
  try {
    r = await run(ffmpeg, ['-hide_banner', '-version']);
  } catch (err) {
    if (missing(err)) throw new SrError(`ffmpeg not found ('${ffmpeg}'): ${INSTALL_HINT}`, { cause: err });
    throw new SrError(`cannot run ffmpeg ('${ffmpeg}'): ${(err as Error).message}`, { cause: err });
  }
  const m = /ffmpeg version (\S+)/.exec(r.stdout.toString());
  if (r.code !== 0 || !m) throw new SrError(`'${ffmpeg}' does not behave like ffmpeg (-version exited ${r.code}): ${INSTALL_HINT}`);
  try {
    const p = await run(ffprobe, ['-version']);
    if (p.code !== 0) throw new Error(`exit ${p.code}`);
  } catch (err) {
    throw new SrError(`ffprobe not found next to ffmpeg ('${ffprobe}'): it ships with ffmpeg; ${INSTALL_HINT}, or set $${FFPROBE_ENV_VAR}`, { cause: err });
  }
  const rel = /^n?(\d+)\.(\d+)/.exec(m[1]!);
  return { ffmpeg, ffprobe, version: m[1]!, release: rel ? [Number(rel[1]), Number(rel[2])] : [0, 0] };
}

export interface VideoInfo {
  path: string;
  /** frame size as decoded (after the rotation ffmpeg applies by default) */
  width: number;
  height: number;
  /** frame rate as ffmpeg's rational text (e.g. "30000/1001") and as a number */
  fpsText: string;
  fps: number;
  /** frame count from the container, or estimated from duration x rate; undefined if neither is known */
  frames?: number;
  framesExact: boolean;
  duration?: number;
  codec: string;
  container: string;
  audio: Array<{ codec: string; channels?: number; sampleRate?: number }>;
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  codec_tag_string?: string;
  width?: number;
  height?: number;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  nb_frames?: string;
  duration?: string;
  channels?: number;
  sample_rate?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number }>;
}

/** The last `n` non-empty lines of a tool's stderr, joined with ' | ' (for one-line errors). */
export function lastLines(text: string, n = 3): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.slice(-n).join(' | ');
}

function parseRate(r: string | undefined): number {
  if (!r) return NaN;
  const [a, b] = r.split('/').map(Number);
  return b ? a! / b : a!;
}

const ISO_BMFF = new Set(['ftyp', 'styp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pdin', 'moof', 'sidx', 'uuid']);

/**
 * For MP4/MOV (ISO base media) files: where the file ends inside a box, i.e. it was cut short.
 * A top-level box declares its size in its first bytes, so a truncated download or copy shows as a
 * box that runs past the end of the file. null for other containers or a file that adds up.
 */
export function isoTruncation(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(16);
    let off = 0;
    for (let boxes = 0; off < size && boxes < 100_000; boxes++) {
      const n = readSync(fd, head, 0, 16, off);
      const type = head.toString('latin1', 4, 8);
      if (n < 8 || !/^[\x20-\x7e]{4}$/.test(type)) return boxes > 0 && n < 8 ? `it ends ${size - off} bytes into a box header` : null;
      if (boxes === 0 && !ISO_BMFF.has(type)) return null; // not an MP4/MOV file
      let len = head.readUInt32BE(0);
      if (len === 1) {
        if (n < 16) return `it ends inside the header of its '${type}' box`;
        len = Number(head.readBigUInt64BE(8));
      } else if (len === 0) {
        return null; // the last box runs to the end of the file by definition
      }
      if (len < 8) return null; // not a box structure we understand; let ffmpeg judge
      if (off + len > size) return `it ends ${size - off} bytes into its '${type}' box, which declares ${len} bytes`;
      off += len;
    }
    return null;
  } finally {
    closeSync(fd);
  }
}

function truncated(path: string, why: string): SrError {
  return new SrError(`${path}: truncated or corrupt video: ${why} (an incomplete download or copy?)`);
}

/** Reads the container and stream headers; SrError naming the file for anything unusable. */
export async function probeVideo(tools: FfmpegTools, path: string): Promise<VideoInfo> {
  if (!existsSync(path)) throw new SrError(`${path}: no such file`);
  if (statSync(path).isDirectory()) throw new SrError(`${path}: is a folder, not a video file`);
  if (statSync(path).size === 0) throw new SrError(`${path}: empty file (0 bytes), not a video`);
  // A cut-short MP4 can probe as a stream without a codec; say what it is before ffprobe guesses.
  const cut = isoTruncation(path);
  if (cut) throw truncated(path, cut);
  const r = await run(tools.ffprobe, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path]);
  if (r.code !== 0) throw new SrError(`${path}: not a readable video (corrupt, or a format ffmpeg does not know): ${lastLines(r.stderr) || `ffprobe exited ${r.code}`}`);
  let j: { streams?: ProbeStream[]; format?: { format_name?: string; duration?: string } };
  try {
    j = JSON.parse(r.stdout.toString());
  } catch {
    throw new SrError(`${path}: ffprobe gave no readable description of the file`);
  }
  const streams = j.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  const container = j.format?.format_name ?? 'unknown';
  if (!video) throw new SrError(`${path}: no video stream (${container} file with ${streams.map((s) => s.codec_type).join(', ') || 'no streams'})`);
  const codec = video.codec_name ?? 'unknown';
  if (codec === 'unknown' || codec === 'none') {
    // A stream that names no codec at all (tag 0, no size) lost its description: the file is
    // damaged. One with a tag ffmpeg does not know is a codec it lacks.
    if (!video.width && /^(\[0\]){4}$|^0x0+$/.test(video.codec_tag_string ?? '[0][0][0][0]')) throw truncated(path, 'its video stream has no codec description');
    throw new SrError(`${path}: unsupported video codec (${video.codec_tag_string ?? video.tags?.['handler_name'] ?? 'tag not recognised by ffmpeg'}); ffmpeg cannot decode it`);
  }
  if (!(video.width && video.height)) throw new SrError(`${path}: the video stream gives no frame size`);
  // ffmpeg rotates frames upright while decoding; the frames we get are then transposed.
  const rotation = Number(video.side_data_list?.find((s) => s.rotation !== undefined)?.rotation ?? video.tags?.['rotate'] ?? 0);
  const quarter = Math.abs(Math.round(rotation / 90)) % 2 === 1;
  const width = quarter ? video.height : video.width;
  const height = quarter ? video.width : video.height;
  let fpsText = video.r_frame_rate ?? '';
  let fps = parseRate(fpsText);
  if (!(fps > 0 && fps < 1000)) {
    fpsText = video.avg_frame_rate ?? '';
    fps = parseRate(fpsText);
  }
  if (!(fps > 0 && fps < 1000)) throw new SrError(`${path}: the video stream has no usable frame rate (${video.r_frame_rate ?? '?'})`);
  const duration = Number(video.duration ?? j.format?.duration);
  const nb = Number(video.nb_frames);
  const frames = Number.isInteger(nb) && nb > 0 ? nb : Number.isFinite(duration) && duration > 0 ? Math.round(duration * fps) : undefined;
  return {
    path,
    width,
    height,
    fpsText,
    fps,
    ...(frames !== undefined ? { frames } : {}),
    framesExact: Number.isInteger(nb) && nb > 0,
    ...(Number.isFinite(duration) ? { duration } : {}),
    codec,
    container,
    audio: streams
      .filter((s) => s.codec_type === 'audio')
      .map((s) => ({ codec: s.codec_name ?? 'unknown', ...(s.channels ? { channels: s.channels } : {}), ...(s.sample_rate ? { sampleRate: Number(s.sample_rate) } : {}) })),
  };
}

/** Keeps every decoded frame once, in order: no frame-rate conversion drops or duplicates any. */
function passthroughArgs(tools: FfmpegTools): string[] {
  const [maj, min] = tools.release;
  return maj > 5 || (maj === 5 && min >= 1) ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'];
}

export interface DecodeOptions {
  signal?: AbortSignal;
  /** Stop after this many frames. */
  maxFrames?: number;
}

/**
 * Decodes the video's frames as RGB24 (width*height*3 bytes each), one at a time: the next frame
 * is read from ffmpeg only when the caller asks for it. The process is killed if the caller stops
 * early. SrError with ffmpeg's own words if decoding fails.
 */
export async function* decodeFrames(tools: FfmpegTools, info: VideoInfo, opts: DecodeOptions = {}): AsyncGenerator<Uint8Array> {
  const frameBytes = info.width * info.height * 3;
  const args = ['-nostdin', '-hide_banner', '-v', 'error', '-i', info.path, '-map', '0:v:0', ...passthroughArgs(tools), '-f', 'rawvideo', '-pix_fmt', 'rgb24'];
  if (opts.maxFrames !== undefined) args.push('-frames:v', String(opts.maxFrames));
  args.push('pipe:1');
  const child = spawn(tools.ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8192);
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  exited.catch(() => undefined);
  const onAbort = () => child.kill('SIGKILL');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let finished = false;
  let count = 0;
  try {
    let frame = new Uint8Array(frameBytes);
    let filled = 0;
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      let off = 0;
      while (off < chunk.length) {
        const take = Math.min(frameBytes - filled, chunk.length - off);
        frame.set(chunk.subarray(off, off + take), filled);
        filled += take;
        off += take;
        if (filled === frameBytes) {
          count += 1;
          yield frame;
          frame = new Uint8Array(frameBytes);
          filled = 0;
        }
      }
    }
    let code: number | null;
    try {
      code = await exited;
    } catch (err) {
      throw new SrError(`cannot run ffmpeg to decode ${info.path}: ${(err as Error).message}`, { cause: err });
    }
    if (opts.signal?.aborted) throw new SrError('stopped');
    if (code !== 0) throw new SrError(`${info.path}: decoding failed after ${count} frame(s): ${lastLines(stderr) || `ffmpeg exited ${code}`}`);
    if (filled !== 0) throw new SrError(`${info.path}: the decoder stopped in the middle of frame ${count + 1}`);
    if (count === 0) throw new SrError(`${info.path}: no frame could be decoded (corrupt data or an unsupported codec${stderr ? `: ${lastLines(stderr)}` : ''})`);
    if (/error|invalid|corrupt/i.test(stderr) && info.framesExact && info.frames !== undefined && count < info.frames && opts.maxFrames === undefined) {
      throw new SrError(`${info.path}: corrupt video: decoded ${count} of ${info.frames} frames (${lastLines(stderr)})`);
    }
    finished = true;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    if (!finished) {
      if (child.exitCode === null) child.kill('SIGKILL');
      // Wait until it is reaped, so a caller that sees the error sees no ffmpeg left behind
      // (CI once caught it <defunct> between the kill and Node's wait).
      await exited.catch(() => undefined);
    }
  }
}

/** Containers the encoder writes, by output file extension. */
const CONTAINERS: Record<string, { format: string; codec: string; extra: string[] }> = {
  '.mp4': { format: 'mp4', codec: 'libx264', extra: ['-movflags', '+faststart'] },
  '.m4v': { format: 'mp4', codec: 'libx264', extra: ['-movflags', '+faststart'] },
  '.mov': { format: 'mov', codec: 'libx264', extra: ['-movflags', '+faststart'] },
  '.mkv': { format: 'matroska', codec: 'libx264', extra: [] },
  '.webm': { format: 'webm', codec: 'libvpx-vp9', extra: [] },
  '.avi': { format: 'avi', codec: 'mpeg4', extra: [] },
};

export function outputContainer(path: string): { format: string; codec: string; extra: string[] } {
  const c = CONTAINERS[extname(path).toLowerCase()];
  if (!c) throw new SrError(`${path}: unsupported output type '${extname(path) || '(none)'}'; use ${Object.keys(CONTAINERS).join(', ')}`);
  return c;
}

/**
 * Audio is copied, never re-encoded, so the output container must be able to hold the input's
 * audio codec. The common mismatches are caught here, before any work; Matroska holds anything.
 */
export function checkAudioFits(path: string, audioCodecs: readonly string[]): void {
  const { format } = outputContainer(path);
  const bad =
    format === 'webm'
      ? audioCodecs.filter((c) => c !== 'opus' && c !== 'vorbis')
      : format === 'mp4'
        ? audioCodecs.filter((c) => c.startsWith('pcm_'))
        : [];
  if (bad.length) throw new SrError(`${path}: the input's ${bad.join(', ')} audio cannot be copied into a ${extname(path)} file; use .mkv (holds any audio)`);
}

export interface EncodeOptions {
  width: number;
  height: number;
  /** rational frame rate, copied from the input */
  fpsText: string;
  /** the original file, whose audio streams (and metadata) are copied without re-encoding */
  audioFrom?: string;
  /** video encoder (default by container: libx264, libvpx-vp9 for .webm, mpeg4 for .avi) */
  codec?: string;
  /** quality for libx264 / libvpx-vp9 (constant rate factor, default 18 / 30) */
  crf?: number;
  preset?: string;
}

/**
 * An ffmpeg process encoding RGB24 frames from its stdin into `tempPath`. The caller renames the
 * file into place after finish(); abort() kills the process and deletes the file.
 */
export class FrameEncoder {
  private readonly child: ChildProcessWithoutNullStreams;
  private stderr = '';
  private readonly exited: Promise<number | null>;
  private failed: Error | null = null;
  private readonly frameBytes: number;
  frames = 0;

  constructor(tools: FfmpegTools, readonly tempPath: string, readonly target: string, o: EncodeOptions) {
    const c = outputContainer(target);
    const codec = o.codec ?? c.codec;
    const quality = codec === 'libx264' || codec === 'libx265' ? ['-crf', String(o.crf ?? 18), '-preset', o.preset ?? 'medium'] : codec === 'libvpx-vp9' ? ['-crf', String(o.crf ?? 30), '-b:v', '0'] : ['-q:v', '2'];
    this.frameBytes = o.width * o.height * 3;
    const args = ['-nostdin', '-hide_banner', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`, '-framerate', o.fpsText, '-i', 'pipe:0'];
    if (o.audioFrom) args.push('-i', o.audioFrom, '-map', '0:v:0', '-map', '1:a?', '-c:a', 'copy', '-map_metadata', '1');
    else args.push('-map', '0:v:0');
    // yuv420p is what players accept everywhere; SR output sizes are always even.
    args.push('-c:v', codec, ...quality, '-pix_fmt', 'yuv420p', ...c.extra, '-f', c.format, tempPath);
    this.child = spawn(tools.ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-8192);
    });
    this.child.stdout.resume();
    // EPIPE when ffmpeg has died: the exit code and stderr tell the real story.
    this.child.stdin.on('error', (err) => (this.failed ??= err));
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code) => resolve(code));
    });
    this.exited.catch(() => undefined);
  }

  private async failure(): Promise<SrError> {
    let code: number | null = null;
    try {
      code = await Promise.race([this.exited, new Promise<null>((r) => setTimeout(() => r(null), 5000).unref())]);
    } catch (err) {
      return new SrError(`cannot run ffmpeg to encode ${this.target}: ${(err as Error).message}`, { cause: err });
    }
    const audio = /codec not currently supported in container|could not find tag for codec/i.test(this.stderr)
      ? ` (the input's audio codec cannot be copied into a ${extname(this.target)} file; try .mkv)`
      : '';
    return new SrError(`${this.target}: encoding failed${audio}: ${lastLines(this.stderr) || (code !== null ? `ffmpeg exited ${code}` : this.failed?.message ?? 'ffmpeg stopped')}`);
  }

  /** Queues one frame; resolves when ffmpeg has room for more (pipe back-pressure). */
  async write(rgb: Uint8Array): Promise<void> {
    if (rgb.length !== this.frameBytes) throw new Error(`encoder: frame of ${rgb.length} bytes, expected ${this.frameBytes}`);
    if (this.failed || this.child.exitCode !== null) throw await this.failure();
    const ok = this.child.stdin.write(rgb);
    this.frames += 1;
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.child.stdin.off('drain', done);
          this.child.off('close', done);
          resolve();
        };
        this.child.stdin.on('drain', done);
        this.child.on('close', done);
      });
      if (this.failed || this.child.exitCode !== null) throw await this.failure();
    }
  }

  /** Closes the input and waits for ffmpeg to finish the file. */
  async finish(): Promise<void> {
    this.child.stdin.end();
    let code: number | null;
    try {
      code = await this.exited;
    } catch (err) {
      throw new SrError(`cannot run ffmpeg to encode ${this.target}: ${(err as Error).message}`, { cause: err });
    }
    if (code !== 0) throw await this.failure();
  }

  async abort(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
    try {
      await this.exited;
    } catch {
      /* it never started */
    }
    await rm(this.tempPath, { force: true });
  }
}
