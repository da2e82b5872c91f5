// `queue status`: where every job of a batch stands, read from BullMQ's own job records.
//
//   done       completed (including jobs that found their output already written)
//   failed     gave up after its tries (or the batch was cancelled while it ran)
//   running    held by a worker now
//   waiting    queued, or waiting to be retried, or a join waiting for its segments
//   blocked    a join whose segments failed or were cancelled (retry the batch)
//   cancelled  removed from the queue by `queue cancel` before it ran
//   missing    never queued, or removed by hand (an interrupted add; `queue retry` queues it)
import type { Job, Queue } from 'bullmq';
import { fmtDuration } from '../util/progress.js';
import type { BatchRecord } from './batch.js';
import { itemJobIds } from './jobs.js';
import type { JobData } from './jobs.js';
import type { JobResult } from './processors.js';
import { jobLabel, plainReason } from './processors.js';

export const JOB_STATES = ['done', 'failed', 'running', 'waiting', 'blocked', 'cancelled', 'missing'] as const;
export type JobState = (typeof JOB_STATES)[number];

export interface JobStatus {
  id: string;
  item: number;
  /** The input (and segment) the job is about. */
  label: string;
  state: JobState;
  /** Tries used so far. */
  tries: number;
  /** Times the job was taken back from a worker that stopped answering. */
  stalls: number;
  reason?: string;
  skipped?: string;
  progress?: unknown;
  startedAt?: number;
  finishedAt?: number;
}

export interface BatchStatus {
  id: string;
  created: number;
  out: string;
  state: BatchRecord['state'];
  cancelled: boolean;
  photos: number;
  videos: number;
  segments: number;
  total: number;
  counts: Record<JobState, number>;
  /** No job is running or can still run. */
  finished: boolean;
  /** Jobs done per second since the first one started (undefined before one is done). */
  rate?: number;
  /** Seconds until the rest is done at that rate; seconds it took when finished. */
  etaSeconds?: number;
  elapsedSeconds?: number;
  jobs: JobStatus[];
}

const RUNNABLE: ReadonlySet<string> = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children', 'paused']);

function stateOf(s: string): JobState {
  if (s === 'completed') return 'done';
  if (s === 'failed') return 'failed';
  if (s === 'active') return 'running';
  return RUNNABLE.has(s) ? 'waiting' : 'missing';
}

async function readJob(queue: Queue, id: string): Promise<{ job: Job<JobData, JobResult> | undefined; state: string }> {
  const job = (await queue.getJob(id)) as Job<JobData, JobResult> | undefined;
  return { job, state: job ? await job.getState() : 'unknown' };
}

export async function batchStatus(queue: Queue, b: BatchRecord, now = Date.now()): Promise<BatchStatus> {
  const ids = b.items.flatMap((it, i) => itemJobIds(b.id, i, it).map((id) => ({ id, item: i })));
  const read: Array<Awaited<ReturnType<typeof readJob>>> = [];
  // Many small reads at once: ioredis pipelines them over the one connection.
  for (let k = 0; k < ids.length; k += 500) read.push(...(await Promise.all(ids.slice(k, k + 500).map(({ id }) => readJob(queue, id)))));
  const jobs: JobStatus[] = ids.map(({ id, item }, k) => {
    const { job, state } = read[k]!;
    const it = b.items[item]!;
    const isJoin = id.endsWith('-join');
    const label = job ? jobLabel(job.data) : it.kind === 'video' ? `${it.input} (${isJoin ? 'join' : `segment ${Number(id.split('-s').pop()) + 1} of ${it.sources.length}`})` : it.input;
    let s = stateOf(state);
    if (!job) s = b.cancelled ? 'cancelled' : isJoin ? 'waiting' : 'missing';
    return {
      id,
      item,
      label,
      state: s,
      tries: job?.attemptsMade ?? 0,
      stalls: job?.stalledCounter ?? 0,
      ...(job?.failedReason && s === 'failed' ? { reason: plainReason(job.data, job.failedReason) } : {}),
      ...(job?.returnvalue?.skipped ? { skipped: job.returnvalue.skipped } : {}),
      ...(s === 'running' && job?.progress ? { progress: job.progress } : {}),
      ...(job?.processedOn ? { startedAt: job.processedOn } : {}),
      ...(job?.finishedOn ? { finishedAt: job.finishedOn } : {}),
    };
  });
  // A join that has not been queued can only run when all its segments are done.
  jobs.forEach((j, k) => {
    if (!j.id.endsWith('-join') || j.state !== 'waiting' || read[k]!.job) return;
    const segs = jobs.filter((o) => o.item === j.item && o !== j);
    if (segs.some((o) => o.state === 'failed' || o.state === 'cancelled' || o.state === 'missing')) j.state = 'blocked';
  });
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
  for (const j of jobs) counts[j.state] += 1;
  const finished = counts.running === 0 && counts.waiting === 0;
  const started = jobs.filter((j) => (j.state === 'done' || j.state === 'running') && j.startedAt !== undefined).map((j) => j.startedAt!);
  const ended = jobs.filter((j) => j.state === 'done' && j.finishedAt !== undefined).map((j) => j.finishedAt!);
  const st: BatchStatus = {
    id: b.id,
    created: b.created,
    out: b.out,
    state: b.state,
    cancelled: b.cancelled,
    photos: b.items.filter((i) => i.kind === 'image').length,
    videos: b.items.filter((i) => i.kind === 'video').length,
    segments: b.items.reduce((a, i) => a + (i.kind === 'video' ? i.sources.length : 0), 0),
    total: jobs.length,
    counts,
    finished,
    jobs,
  };
  if (started.length && ended.length) {
    const t0 = Math.min(...started);
    const t1 = finished ? Math.max(...ended) : now;
    const secs = Math.max(t1 - t0, 1) / 1000;
    st.elapsedSeconds = secs;
    st.rate = counts.done / secs;
    st.etaSeconds = finished ? 0 : (counts.running + counts.waiting) / st.rate;
  }
  return st;
}

/** `[#####.....] 50%  6/12 done, 1 failed, 2 running, 3 waiting  1.20 jobs/s  ETA 5s` */
export function progressLine(st: BatchStatus, width = 30): string {
  const c = st.counts;
  const settled = c.done + c.failed + c.cancelled + c.blocked + c.missing;
  const fill = st.total ? Math.round((width * c.done) / st.total) : width;
  const bad = st.total ? Math.min(width - fill, Math.round((width * (settled - c.done)) / st.total)) : 0;
  const bar = '#'.repeat(fill) + 'x'.repeat(bad) + '.'.repeat(width - fill - bad);
  const pct = st.total ? Math.floor((100 * c.done) / st.total) : 100;
  const parts = [`${c.done}/${st.total} done`, `${c.failed} failed`, `${c.running} running`, `${c.waiting} waiting`];
  for (const s of ['blocked', 'cancelled', 'missing'] as const) if (c[s]) parts.push(`${c[s]} ${s}`);
  let tail = '';
  if (st.rate !== undefined) tail = st.finished ? `  took ${fmtDuration(st.elapsedSeconds!)} (${st.rate.toFixed(2)} jobs/s)` : `  ${st.rate.toFixed(2)} jobs/s  ETA ${fmtDuration(st.etaSeconds!)}`;
  else if (!st.finished) tail = '  ETA ?';
  return `[${bar}] ${String(pct).padStart(3)}%  ${parts.join(', ')}${tail}`;
}

/** The whole report: header, bar, then every failed job with its reason. */
export function formatStatus(st: BatchStatus): string {
  const what = [`${st.photos} photo${st.photos === 1 ? '' : 's'}`];
  if (st.videos) what.push(`${st.videos} video${st.videos === 1 ? '' : 's'} in ${st.segments} segments`);
  const flags = [st.cancelled ? 'cancelled' : '', st.state === 'adding' ? 'add interrupted: run queue retry to finish it' : ''].filter(Boolean);
  const lines = [`batch ${st.id}: ${what.join(', ')} -> ${st.out} (added ${new Date(st.created).toISOString().replace('T', ' ').slice(0, 19)} UTC${flags.length ? `; ${flags.join('; ')}` : ''})`];
  lines.push(progressLine(st));
  const failed = st.jobs.filter((j) => j.state === 'failed');
  if (failed.length) {
    lines.push(`failed (${failed.length}):`);
    for (const j of failed) lines.push(`  ${j.label}: ${j.reason ?? 'no reason recorded'} (${j.tries} ${j.tries === 1 ? 'try' : 'tries'})`);
  }
  const blocked = st.jobs.filter((j) => j.state === 'blocked' || j.state === 'missing');
  for (const j of blocked) lines.push(`  ${j.label}: ${j.state === 'blocked' ? 'waits for failed segments' : 'not in the queue'}`);
  if (failed.length || blocked.length) lines.push(`retry them: srgan queue retry ${st.id}`);
  return lines.join('\n') + '\n';
}
