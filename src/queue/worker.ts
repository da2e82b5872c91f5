// A queue worker: takes jobs from Redis and runs them (processors.ts), `concurrency` at a time.
// Start one or more per machine; every machine needs the same Redis URL and the same view of the
// shared storage the batch's paths name.
//
// A worker that dies (SIGKILL, power loss) stops renewing the locks of its jobs; after
// `stallSeconds` another worker's stalled-job check (BullMQ) puts them back in the queue, and
// they run again from the start. A job that stalls its worker more than twice is failed (so an
// input that kills workers, e.g. by running out of memory, cannot take down every machine).
//
// close() lets running jobs finish; abandon() stops at once: running jobs are abandoned without
// being marked failed, and return to the queue through the same stalled-job check.
import sharp from 'sharp';
import { Queue, Worker, UnrecoverableError, type Job } from 'bullmq';
import { SrError } from '../util/errors.js';
import type { ModelSpec } from '../inference/model_source.js';
import type { EngineName } from '../inference/engine.js';
import { connectionOptions, KEY_PREFIX, openQueue, QUEUE_NAME, redisOf, type RedisTarget } from './connection.js';
import { jobLabel, plainReason, processJob, type JobResult } from './processors.js';
import { UpscalerPool } from './upscaler_pool.js';
import type { JobData } from './jobs.js';

export interface WorkerOptions {
  target: RedisTarget;
  /** Jobs run at once (default 1). */
  concurrency?: number;
  /** ONNX Runtime threads in all, shared by the running jobs (default: one per concurrent job). */
  threads?: number;
  /** Seconds without a lock renewal after which a job counts as stalled (default 30). */
  stallSeconds?: number;
  ffmpeg?: string;
  /** Load this model before taking any job. */
  preload?: { spec: ModelSpec; engine: EngineName };
  /** One line per event (job started, done, failed, Redis trouble). */
  log?: (line: string) => void;
}

export const MAX_STALLS = 2;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export class QueueWorker {
  private constructor(
    private readonly worker: Worker<JobData, JobResult>,
    private readonly queue: Queue,
    private readonly upscalers: UpscalerPool,
    private readonly stopNow: AbortController,
    private readonly unwinding: { count: number },
    /** Resolves when the worker has stopped taking jobs and closed its connections. */
    readonly finished: Promise<void>,
  ) {}

  static async start(o: WorkerOptions): Promise<QueueWorker> {
    const concurrency = o.concurrency ?? 1;
    const threads = o.threads ?? concurrency;
    const stallMs = Math.round((o.stallSeconds ?? 30) * 1000);
    const log = o.log ?? (() => undefined);
    // Fail now, in one line, if Redis is not there; from here on the connections reconnect.
    await (await openQueue(o.target)).close();
    // libvips (decode, encode) gets the same thread budget as the model.
    sharp.concurrency(threads);
    const upscalers = new UpscalerPool(threads);
    if (o.preload) (await upscalers.acquire(o.preload.spec, o.preload.engine)).release();

    const queue = new Queue(QUEUE_NAME, { connection: connectionOptions(o.target, false), prefix: KEY_PREFIX });
    const stopNow = new AbortController();
    /** Jobs whose processor has not returned or been abandoned yet. */
    const unwinding = { count: 0 };
    let lastRedisError = '';
    let lastRedisErrorAt = 0;
    const redisTrouble = (err: Error) => {
      // Reconnecting is automatic; say so once per distinct message (or every 30 s), not per retry.
      if (err.message === lastRedisError && Date.now() - lastRedisErrorAt < 30_000) return;
      lastRedisError = err.message;
      lastRedisErrorAt = Date.now();
      log(`Redis at ${o.target.label}: ${err.message} (retrying)`);
    };
    queue.on('error', redisTrouble);
    const ctx = { queue, redis: await redisOf(queue), upscalers, stop: stopNow.signal, cancelPollMs: 2000, ...(o.ffmpeg ? { ffmpeg: o.ffmpeg } : {}) };

    const worker = new Worker<JobData, JobResult>(
      QUEUE_NAME,
      async (job) => {
        unwinding.count += 1;
        let abandoned = false;
        try {
          return await processJob(ctx, job);
        } catch (err) {
          // Stopping at once: leave the job to the stalled-job check rather than fail a try.
          if (stopNow.signal.aborted) {
            abandoned = true;
            unwinding.count -= 1;
            return new Promise<never>(() => undefined);
          }
          if (!(err instanceof SrError || err instanceof UnrecoverableError)) log(`error in ${jobLabel(job.data)}: ${(err as Error).stack ?? String(err)}`);
          throw err;
        } finally {
          if (!abandoned) unwinding.count -= 1;
        }
      },
      {
        connection: connectionOptions(o.target, false),
        prefix: KEY_PREFIX,
        concurrency,
        lockDuration: stallMs,
        stalledInterval: stallMs,
        maxStalledCount: MAX_STALLS,
        autorun: false,
      },
    );
    const tries = (job: Job<JobData>) => `try ${job.attemptsMade + 1} of ${job.opts.attempts ?? 1}`;
    worker.on('active', (job) => log(`start ${job.data.kind} ${jobLabel(job.data)} (job ${job.id}, ${tries(job)})`));
    worker.on('completed', (job, r) => {
      const took = job.finishedOn && job.processedOn ? ` in ${seconds(job.finishedOn - job.processedOn)}` : '';
      log(r.skipped ? `skip ${jobLabel(job.data)}: ${r.skipped} (job ${job.id})` : `done ${jobLabel(job.data)} -> ${r.output}${took} (job ${job.id})`);
    });
    worker.on('failed', (job, err) => {
      if (!job) return;
      const max = job.opts.attempts ?? 1;
      const final = err instanceof UnrecoverableError || err.name === 'UnrecoverableError' || job.attemptsMade >= max;
      log(`fail ${jobLabel(job.data)}: ${plainReason(job.data, err.message)} (job ${job.id}, try ${job.attemptsMade} of ${max}; ${final ? 'gave up' : 'will retry'})`);
    });
    worker.on('stalled', (id) => log(`stalled job ${id}: its worker stopped renewing the lock; back in the queue`));
    worker.on('error', redisTrouble);
    const finished = worker.run().then(
      () => undefined,
      (err: unknown) => {
        log(`worker stopped: ${(err as Error).message}`);
      },
    );
    await worker.waitUntilReady();
    return new QueueWorker(worker, queue, upscalers, stopNow, unwinding, finished);
  }

  /**
   * Stops taking jobs and waits for the running ones to finish, then closes the connections.
   * Resolves false when Redis did not answer within a few seconds after the jobs were done (the
   * connections are dropped then, and may keep the process alive: exit it).
   */
  async close(): Promise<boolean> {
    const closing = this.worker.close().then(() => this.finished);
    while (this.unwinding.count > 0) await sleep(100);
    const answered = await Promise.race([closing.then(() => true, () => true), sleep(5000).then(() => false)]);
    if (!answered) for (const c of [this.worker, this.queue]) c.disconnect().catch(() => undefined);
    await Promise.all([Promise.race([this.queue.close().catch(() => undefined), sleep(2000)]), this.upscalers.dispose()]);
    return answered;
  }

  /**
   * Stops at once, also after close() began: running jobs stop where they are (their temporary
   * files are removed) and are abandoned, not failed, so they return to the queue when their
   * locks lapse. Resolves when they have let go (at most a few seconds); the process should exit
   * then, since the abandoned jobs never settle.
   */
  async abandon(): Promise<void> {
    this.stopNow.abort();
    void this.worker.close(true).catch(() => undefined);
    const t0 = Date.now();
    while (this.unwinding.count > 0 && Date.now() - t0 < 3000) await sleep(50);
  }
}
