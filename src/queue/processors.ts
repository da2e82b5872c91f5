// What a worker does with each kind of job. Every job is idempotent: its output path is fixed in
// the job, it is written under a temporary name and renamed, and a job that finds its own output
// already there (an earlier attempt finished the file, then its worker died before BullMQ heard of
// it) does not write it again. Temporary files of a dead attempt are removed first.
//
//   image    the photo, through the same upscaleFile() as `srgan upscale` (same bytes)
//   segment  one cut of a video, through `srgan video`'s pipeline at the video's frame rate; the
//            segment that completes the set queues the join
//   join     the upscaled segments in order, plus the original's audio, into the output
import { existsSync } from 'node:fs';
import { rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import { upscaleFile } from '../inference/upscale.js';
import { findFfmpeg } from '../video/ffmpeg.js';
import { upscaleVideo } from '../video/upscale_video.js';
import { isInterpolation, resolveMethod, upscalerMethod } from '../inference/methods.js';
import { batchStopped, isSegmentDone, loadBatchItem, segmentDone } from './batch.js';
import { joinJob, type ImageJobData, type JobData, type JoinJobData, type SegmentJobData } from './jobs.js';
import { joinSegments } from './segments.js';
import { removeStaleTemps } from './temps.js';
import type { RedisCommands } from './connection.js';
import type { UpscalerPool } from './upscaler_pool.js';

export interface JobResult {
  output: string;
  /** Set when nothing had to be written: why. */
  skipped?: string;
  frames?: number;
  width?: number;
  height?: number;
}

export interface ProcessContext {
  queue: Queue;
  redis: RedisCommands;
  upscalers: UpscalerPool;
  ffmpeg?: string;
  /** Aborted when the worker is told to stop at once. */
  stop: AbortSignal;
  /** How often a long job looks whether its batch was cancelled (ms). */
  cancelPollMs: number;
}

/** How a job is named in logs and status lines. */
export function jobLabel(d: JobData): string {
  if (d.kind === 'image') return d.input;
  if (d.kind === 'segment') return `${d.video} (segment ${d.index + 1} of ${d.count})`;
  return `${d.source} (joining ${d.parts.length} segments)`;
}

/** A failure message without the file name the label already gives (the image reader starts its messages with it). */
export function plainReason(d: JobData, message: string): string {
  const file = d.kind === 'join' ? d.source : d.input;
  return message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
}

const ALREADY = 'the output was already written by an earlier attempt';

async function checkBatch(ctx: ProcessContext, batch: string): Promise<void> {
  const stopped = await batchStopped(ctx.redis, batch);
  if (stopped === 'cancelled') throw new UnrecoverableError('the batch was cancelled');
  if (stopped === 'gone') throw new UnrecoverableError('the batch record is gone from Redis');
}

/** An AbortSignal that fires when the worker stops at once or the batch is cancelled. */
function jobSignal(ctx: ProcessContext, batch: string): { signal: AbortSignal; done(): void } {
  const c = new AbortController();
  const onStop = () => c.abort(new Error('the worker was stopped'));
  ctx.stop.addEventListener('abort', onStop, { once: true });
  const timer = setInterval(() => {
    batchStopped(ctx.redis, batch)
      .then((s) => s && c.abort(new UnrecoverableError(s === 'cancelled' ? 'the batch was cancelled' : 'the batch record is gone from Redis')))
      .catch(() => undefined); // Redis away for a moment: look again next time
  }, ctx.cancelPollMs);
  timer.unref();
  return {
    signal: c.signal,
    done: () => {
      clearInterval(timer);
      ctx.stop.removeEventListener('abort', onStop);
    },
  };
}

async function processImage(ctx: ProcessContext, d: ImageJobData, signal: AbortSignal): Promise<JobResult> {
  await removeStaleTemps(d.output);
  if (!d.force && existsSync(d.output)) return { output: d.output, skipped: ALREADY };
  const lease = await ctx.upscalers.acquire(d.model, d.engine);
  try {
    const r = await upscaleFile(lease.upscaler, d.input, d.output, { format: d.format, quality: d.quality, tileSize: d.tileSize, overlap: d.overlap, signal });
    return { output: d.output, width: r.output.width, height: r.output.height };
  } finally {
    lease.release();
  }
}

async function processSegment(ctx: ProcessContext, job: Job, d: SegmentJobData, signal: AbortSignal): Promise<JobResult> {
  let result: JobResult = { output: d.output, skipped: ALREADY };
  if (!(await isSegmentDone(ctx.redis, d.batch, d.item, d.index))) {
    await removeStaleTemps(d.output);
    if (!existsSync(d.output)) {
      const model = d.model.model ?? '';
      const lease = isInterpolation(model) ? null : await ctx.upscalers.acquire(d.model, d.engine);
      const method = lease ? upscalerMethod(lease.upscaler, { tileSize: d.tileSize, overlap: d.overlap }) : await resolveMethod(model);
      let lastReport = 0;
      try {
        const r = await upscaleVideo({
          input: d.input,
          output: d.output,
          method,
          ...(d.model.scale !== undefined ? { scale: d.model.scale } : {}),
          rate: d.rate,
          overwrite: true, // a stale complete file of a dead attempt cannot be here: it was checked above
          signal,
          ...(ctx.ffmpeg ? { ffmpeg: ctx.ffmpeg } : {}),
          ...(d.codec ? { codec: d.codec } : {}),
          ...(d.crf !== undefined ? { crf: d.crf } : {}),
          ...(d.preset ? { preset: d.preset } : {}),
          onFrame: (done, total) => {
            if (Date.now() - lastReport < 1000) return;
            lastReport = Date.now();
            job.updateProgress({ frames: done, ...(total !== undefined ? { total } : {}) }).catch(() => undefined);
          },
        });
        result = { output: d.output, frames: r.frames, width: r.outWidth, height: r.outHeight };
      } finally {
        if (lease) lease.release();
        else await method.dispose?.();
      }
    }
  }
  // The segment that completes the set queues the join; the id makes a second add a no-op.
  if ((await segmentDone(ctx.redis, d.batch, d.item, d.index)) >= d.count) {
    const b = await loadBatchItem(ctx.redis, d.batch, d.item);
    if (b?.item.kind === 'video') {
      const j = joinJob(d.batch, b.options, d.item, b.item);
      await ctx.queue.add(j.name, j.data, j.opts);
    }
  }
  return result;
}

async function processJoin(ctx: ProcessContext, d: JoinJobData): Promise<JobResult> {
  await removeStaleTemps(d.output);
  const partsLeft = existsSync(d.partsDir);
  let result: JobResult = { output: d.output, skipped: ALREADY };
  // Done before: the output is there and (unless it was to replace an old file) the parts are gone.
  if (!(existsSync(d.output) && (!d.force || !partsLeft))) {
    const tools = await findFfmpeg(ctx.ffmpeg);
    const frames = await joinSegments({ tools, parts: d.parts, source: d.source, output: d.output, rate: d.rate, workDir: d.partsDir, ...(d.frames !== undefined ? { frames: d.frames } : {}) });
    result = { output: d.output, frames };
  }
  await rm(d.partsDir, { recursive: true, force: true });
  await rmdir(dirname(d.partsDir)).catch(() => undefined); // the batch's other videos may still use it
  return result;
}

/** Runs one job. Errors fail the attempt (BullMQ retries it with backoff up to the job's attempts). */
export async function processJob(ctx: ProcessContext, job: Job<JobData, JobResult>): Promise<JobResult> {
  const d = job.data;
  await checkBatch(ctx, d.batch);
  const s = jobSignal(ctx, d.batch);
  try {
    if (d.kind === 'image') return await processImage(ctx, d, s.signal);
    if (d.kind === 'segment') return await processSegment(ctx, job, d, s.signal);
    return await processJoin(ctx, d);
  } catch (err) {
    // A cancelled batch is not worth retrying.
    if (s.signal.reason instanceof UnrecoverableError) throw s.signal.reason;
    throw err;
  } finally {
    s.done();
  }
}
