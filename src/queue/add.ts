// `queue add`: turn files, folders, globs and videos into one batch of jobs.
//
// Order matters for "nothing half-done": everything that can be checked is checked before the first
// write (inputs, model, output names, ffmpeg, the videos' headers, and Redis itself, which the
// caller has already connected to). Then videos are cut into segments on the shared storage, the
// batch record is written, and all jobs are queued in one transaction. If anything fails before
// that transaction, the segments and the record are removed again; after it, the batch is live.
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import type { Queue } from 'bullmq';
import { SrError } from '../util/errors.js';
import type { ImageFormat } from '../io/image.js';
import { loadModelSource, SHIPPED_MODELS, type ModelSpec } from '../inference/model_source.js';
import { isInterpolation } from '../inference/methods.js';
import { checkAudioFits, findFfmpeg, probeVideo, type VideoInfo } from '../video/ffmpeg.js';
import { deleteBatch, newBatchId, saveBatch, setBatchFields, type BatchItem, type BatchOptions, type BatchRecord } from './batch.js';
import { itemJobs } from './jobs.js';
import { redisOf } from './connection.js';
import { collectQueueInputs, planOutputs, type PlannedOutput } from './plan.js';
import { splitVideo } from './segments.js';

export const PARTS_FOLDER = '.srgan-parts';
export const DEFAULT_SEGMENT_SECONDS = 10;

export interface AddRequest {
  inputs: string[];
  out: string;
  options: BatchOptions;
  /** Photos: output format (default: each input's own). */
  format?: ImageFormat;
  /** Videos: about how long each segment is (cut at the next keyframe). */
  segmentSeconds?: number;
  ffmpeg?: string;
  /** Called as each video has been cut. */
  onVideo?: (input: string, segments: number) => void;
}

export interface AddResult {
  batch: BatchRecord;
  /** Jobs queued now (a video's join is queued later, by its last segment). */
  jobs: number;
}

/** Model files become absolute paths (workers run elsewhere); names of shipped models stay names. */
export function sharedModelSpec(spec: ModelSpec): ModelSpec {
  const norm = (m: string) => ((SHIPPED_MODELS as readonly string[]).includes(m) || isInterpolation(m) ? m : resolve(m));
  return {
    ...spec,
    ...(spec.model !== undefined ? { model: norm(spec.model) } : {}),
    ...(spec.blend !== undefined ? { blend: [norm(spec.blend[0]), norm(spec.blend[1])] as const } : {}),
  };
}

async function checkModel(spec: ModelSpec, plans: PlannedOutput[]): Promise<void> {
  const photos = plans.some((p) => p.input.kind === 'image');
  const videos = plans.some((p) => p.input.kind === 'video');
  if (isInterpolation(spec.model)) {
    if (photos) throw new SrError(`--model ${spec.model} is for videos only (photos need a learned model: srresnet, srgan or a weights file); nothing was queued`);
    return;
  }
  if (videos && spec.alpha !== undefined) throw new SrError('--alpha blends models for photos only; videos take one --model; nothing was queued');
  await loadModelSource(spec); // a bad model fails here, before any work is queued
}

interface Cleanup {
  dirs: string[];
}

async function cutVideos(req: AddRequest, batch: string, plans: PlannedOutput[], infos: Map<string, VideoInfo>, cleanup: Cleanup): Promise<BatchItem[]> {
  const items: BatchItem[] = [];
  const tools = infos.size ? await findFfmpeg(req.ffmpeg) : null;
  const out = resolve(req.out);
  for (const [i, p] of plans.entries()) {
    if (p.input.kind === 'image') {
      items.push({ kind: 'image', input: p.input.path, output: p.output, format: p.format! });
      continue;
    }
    for (const dir of [out, join(out, PARTS_FOLDER)]) {
      if (!existsSync(dir)) {
        await mkdir(dir);
        cleanup.dirs.push(dir);
      }
    }
    const parts = join(out, PARTS_FOLDER, `${batch}-${i}`);
    await mkdir(parts);
    cleanup.dirs.push(parts);
    const info = infos.get(p.input.path)!;
    const sources = await splitVideo(tools!, info, parts, req.segmentSeconds ?? DEFAULT_SEGMENT_SECONDS);
    req.onVideo?.(p.input.path, sources.length);
    const ext = extname(p.output);
    items.push({
      kind: 'video',
      input: p.input.path,
      output: p.output,
      parts,
      sources,
      upscaled: sources.map((_, k) => join(parts, `up-${String(k).padStart(5, '0')}${ext}`)),
      rate: info.fpsText,
      ...(info.framesExact && info.frames !== undefined ? { frames: info.frames } : {}),
    });
  }
  return items;
}

async function undo(cleanup: Cleanup): Promise<void> {
  for (const dir of cleanup.dirs.reverse()) {
    // Folders made here: parts folders go with their contents; the others only if empty.
    if (dir.includes(`${PARTS_FOLDER}/`)) await rm(dir, { recursive: true, force: true });
    else await rmdir(dir).catch(() => undefined);
  }
}

/** Queues a batch on `queue` (connected). SrError, with nothing queued or left behind, for bad requests. */
export async function addBatch(queue: Queue, req: AddRequest): Promise<AddResult> {
  const seg = req.segmentSeconds ?? DEFAULT_SEGMENT_SECONDS;
  if (!(Number.isFinite(seg) && seg > 0)) throw new SrError(`--segment must be a positive number of seconds, got ${seg}`);
  const inputs = await collectQueueInputs(req.inputs);
  const plans = planOutputs(inputs, req.out, req.format, req.options.force);
  const options: BatchOptions = { ...req.options, model: sharedModelSpec(req.options.model) };
  await checkModel(options.model, plans);
  // Video headers (and ffmpeg itself) are checked before anything is written.
  const infos = new Map<string, VideoInfo>();
  const videoPlans = plans.filter((p) => p.input.kind === 'video');
  if (videoPlans.length) {
    const tools = await findFfmpeg(req.ffmpeg);
    for (const p of videoPlans) {
      const info = await probeVideo(tools, p.input.path);
      checkAudioFits(p.output, info.audio.map((a) => a.codec));
      infos.set(p.input.path, info);
    }
  }

  const redis = await redisOf(queue);
  const id = newBatchId();
  const cleanup: Cleanup = { dirs: [] };
  let saved = false;
  let live = false;
  try {
    const items = await cutVideos(req, id, plans, infos, cleanup);
    const batch: BatchRecord = { id, created: Date.now(), out: resolve(req.out), options, items, state: 'adding', cancelled: false };
    await saveBatch(redis, batch);
    saved = true;
    const jobs = items.flatMap((_, i) => itemJobs(batch, i));
    await queue.addBulk(jobs); // one transaction: all of them or none
    live = true;
    await setBatchFields(redis, id, { state: 'queued' });
    return { batch: { ...batch, state: 'queued' }, jobs: jobs.length };
  } catch (err) {
    if (live) throw new SrError(`batch ${id} was queued, but marking it complete failed (${(err as Error).message}); srgan queue retry ${id} completes it`, { cause: err });
    if (saved) await deleteBatch(redis, id, plans.length).catch(() => undefined);
    await undo(cleanup);
    throw err;
  }
}
