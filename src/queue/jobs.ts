// The jobs a batch becomes, and their ids. Ids are derived from the batch id and the item's
// position, never random, so that adding a job twice (a retried add, two segments that finish
// together and both queue the join) is a no-op in BullMQ, and status can find every job.
//
//   <batch>-<i>          photo i
//   <batch>-<i>-s<k>     segment k of video i
//   <batch>-<i>-join     the join of video i (queued when its last segment is done)
import type { JobsOptions } from 'bullmq';
import type { ImageFormat } from '../io/image.js';
import type { ModelSpec } from '../inference/model_source.js';
import type { EngineName } from '../inference/engine.js';
import type { BatchOptions, BatchRecord, VideoItem } from './batch.js';

interface JobBase {
  batch: string;
  /** Position of the item in the batch. */
  item: number;
}

export interface ImageJobData extends JobBase {
  kind: 'image';
  input: string;
  output: string;
  format: ImageFormat;
  quality: number;
  model: ModelSpec;
  engine: EngineName;
  tileSize: number;
  overlap: number;
  force: boolean;
}

export interface SegmentJobData extends JobBase {
  kind: 'segment';
  /** The whole video (for messages). */
  video: string;
  index: number;
  count: number;
  input: string;
  output: string;
  rate: string;
  model: ModelSpec;
  engine: EngineName;
  tileSize: number;
  overlap: number;
  codec?: string;
  crf?: number;
  preset?: string;
}

export interface JoinJobData extends JobBase {
  kind: 'join';
  /** The original video (its audio is copied). */
  source: string;
  output: string;
  parts: string[];
  partsDir: string;
  rate: string;
  frames?: number;
  force: boolean;
}

export type JobData = ImageJobData | SegmentJobData | JoinJobData;

export interface JobSpec {
  name: JobData['kind'];
  data: JobData;
  opts: JobsOptions;
}

export function imageJobId(batch: string, item: number): string {
  return `${batch}-${item}`;
}
export function segmentJobId(batch: string, item: number, index: number): string {
  return `${batch}-${item}-s${index}`;
}
export function joinJobId(batch: string, item: number): string {
  return `${batch}-${item}-join`;
}

function jobOptions(o: BatchOptions, jobId: string): JobsOptions {
  // Jobs stay in Redis when done or failed: status reads them, retry re-queues the failed ones.
  return { jobId, attempts: o.attempts, backoff: { type: 'exponential', delay: o.backoffMs }, removeOnComplete: false, removeOnFail: false };
}

/** The photo job, or the segment jobs of a video (the join comes later: see joinJob). */
export function itemJobs(b: Pick<BatchRecord, 'id' | 'options' | 'items'>, i: number): JobSpec[] {
  const it = b.items[i]!;
  const o = b.options;
  if (it.kind === 'image') {
    const data: ImageJobData = {
      kind: 'image',
      batch: b.id,
      item: i,
      input: it.input,
      output: it.output,
      format: it.format,
      quality: o.quality,
      model: o.model,
      engine: o.engine,
      tileSize: o.tileSize,
      overlap: o.overlap,
      force: o.force,
    };
    return [{ name: 'image', data, opts: jobOptions(o, imageJobId(b.id, i)) }];
  }
  return it.sources.map((input, k) => {
    const data: SegmentJobData = {
      kind: 'segment',
      batch: b.id,
      item: i,
      video: it.input,
      index: k,
      count: it.sources.length,
      input,
      output: it.upscaled[k]!,
      rate: it.rate,
      model: o.model,
      engine: o.engine,
      tileSize: o.tileSize,
      overlap: o.overlap,
      ...(o.codec !== undefined ? { codec: o.codec } : {}),
      ...(o.crf !== undefined ? { crf: o.crf } : {}),
      ...(o.preset !== undefined ? { preset: o.preset } : {}),
    };
    return { name: 'segment' as const, data, opts: jobOptions(o, segmentJobId(b.id, i, k)) };
  });
}

export function joinJob(batch: string, options: BatchOptions, i: number, it: VideoItem): JobSpec {
  const data: JoinJobData = {
    kind: 'join',
    batch,
    item: i,
    source: it.input,
    output: it.output,
    parts: it.upscaled,
    partsDir: it.parts,
    rate: it.rate,
    ...(it.frames !== undefined ? { frames: it.frames } : {}),
    force: options.force,
  };
  return { name: 'join', data, opts: jobOptions(options, joinJobId(batch, i)) };
}

/** Every job id of an item, in order: the photo, or the segments then the join. */
export function itemJobIds(batch: string, i: number, it: BatchRecord['items'][number]): string[] {
  if (it.kind === 'image') return [imageJobId(batch, i)];
  return [...it.sources.map((_, k) => segmentJobId(batch, i, k)), joinJobId(batch, i)];
}
