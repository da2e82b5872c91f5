// `queue retry` and `queue cancel`.
//
// retry: failed jobs go back to the queue with a fresh count of tries; jobs that are not in the
// queue (cancelled, or never queued because an add was interrupted) are queued again under their
// own ids; a video whose segments are all done but whose join is missing gets its join. Jobs
// done stay done (their outputs exist). The batch is no longer cancelled.
//
// cancel: the batch is marked cancelled and its queued jobs are removed. A running photo job
// finishes; a running video segment stops within seconds (workers look at the mark while they
// run) and fails as cancelled. Outputs already written stay; a video's segments stay on the
// shared storage, so that a later retry continues where the batch stopped.
import type { Job, Queue } from 'bullmq';
import { redisOf } from './connection.js';
import { setBatchFields, type BatchRecord } from './batch.js';
import { itemJobs, joinJob, joinJobId } from './jobs.js';

export interface RetryResult {
  /** Failed jobs put back in the queue. */
  retried: number;
  /** Jobs that were not in the queue, queued again. */
  requeued: number;
}

async function retryOrAdd(queue: Queue, spec: { name: string; data: unknown; opts: { jobId?: string } }, r: RetryResult): Promise<string> {
  const job = (await queue.getJob(spec.opts.jobId!)) as Job | undefined;
  if (!job) {
    await queue.add(spec.name, spec.data, spec.opts);
    r.requeued += 1;
    return 'waiting';
  }
  const state = await job.getState();
  if (state === 'failed') {
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    r.retried += 1;
    return 'waiting';
  }
  return state;
}

export async function retryBatch(queue: Queue, b: BatchRecord): Promise<RetryResult> {
  const redis = await redisOf(queue);
  await setBatchFields(redis, b.id, { cancelled: false });
  const r: RetryResult = { retried: 0, requeued: 0 };
  for (const [i, it] of b.items.entries()) {
    const states: string[] = [];
    for (const spec of itemJobs(b, i)) states.push(await retryOrAdd(queue, spec, r));
    if (it.kind !== 'video') continue;
    const join = (await queue.getJob(joinJobId(b.id, i))) as Job | undefined;
    // A join that was never queued is queued by the last segment; if they are all done already, here.
    if (join || states.every((s) => s === 'completed')) await retryOrAdd(queue, joinJob(b.id, b.options, i, it), r);
  }
  await setBatchFields(redis, b.id, { state: 'queued' });
  return r;
}

export interface CancelResult {
  /** Queued jobs removed. */
  removed: number;
  /** Jobs held by workers now (they stop or finish on their own). */
  running: number;
  /** Jobs done before the cancel (their outputs stay). */
  done: number;
}

export async function cancelBatch(queue: Queue, b: BatchRecord): Promise<CancelResult> {
  await setBatchFields(await redisOf(queue), b.id, { cancelled: true });
  const r: CancelResult = { removed: 0, running: 0, done: 0 };
  for (const [i, it] of b.items.entries()) {
    const ids = itemJobs(b, i).map((s) => s.opts.jobId!);
    if (it.kind === 'video') ids.push(joinJobId(b.id, i));
    for (const id of ids) {
      const job = (await queue.getJob(id)) as Job | undefined;
      if (!job) continue;
      const state = await job.getState();
      if (state === 'completed') r.done += 1;
      else if (state === 'active') r.running += 1;
      else if (state !== 'failed') {
        try {
          await job.remove();
          r.removed += 1;
        } catch {
          r.running += 1; // a worker took it just now (it is locked); it will see the mark
        }
      }
    }
  }
  return r;
}
