// `srgan queue add | worker | status | retry | cancel`: batches of photos and videos on a Redis
// job queue (BullMQ), run by workers on any number of machines. See src/queue/ and the README
// section "Batches across machines".
import type { Command } from 'commander';
import { withDefaults, type Io } from '../io.js';
import type { Queue } from 'bullmq';
import { initBackend, type BackendRequest } from '../../tfjs/backend.js';
import { checkEngineName, DEFAULT_ENGINE } from '../../inference/engine.js';
import { redisOf, redisTarget, withQueue, type RedisTarget } from '../../queue/connection.js';
import { addBatch, DEFAULT_SEGMENT_SECONDS } from '../../queue/add.js';
import { listBatchIds, loadBatch, type BatchRecord } from '../../queue/batch.js';
import { batchStatus, formatStatus, progressLine, type BatchStatus } from '../../queue/status.js';
import { cancelBatch, retryBatch } from '../../queue/control.js';
import { QueueWorker } from '../../queue/worker.js';
import { addModelOptions, modelSettingsFromFlags, modelSpecFromFlags, type ModelFlags } from './upscale.js';
import { parseNumber } from '../parse.js';

interface AddFlags extends ModelFlags {
  out: string;
  redis?: string;
  codec?: string;
  crf?: string;
  preset?: string;
  segment: string;
  attempts: string;
  backoff: string;
  ffmpeg?: string;
  force?: boolean;
}

interface WorkerFlags {
  redis?: string;
  concurrency: string;
  threads?: string;
  stallTimeout: string;
  preload?: string;
  engine: string;
  ffmpeg?: string;
}

const seconds = (v: string, flag: string, min: number) => parseNumber(v, flag, { min, unit: 'seconds' });

const REDIS_HELP = 'Redis URL, redis://host:port (default $SRGAN_REDIS_URL, else redis://127.0.0.1:6379)';

function registerAdd(queue: Command, io: Io): void {
  const cmd = queue
    .command('add')
    .description('queue photos and videos for the workers; prints the batch id (inputs and --out must be on storage every worker sees)')
    .argument('<inputs...>', 'image or video files, folders (their images and videos) or globs')
    .requiredOption('--out <dir>', 'output folder (shared): <stem>.<ext> for each input, as srgan upscale -o <dir>/ names them')
    .option('--redis <url>', REDIS_HELP);
  addModelOptions(cmd, 'srresnet, srgan, a .safetensors / .onnx file (on the shared storage), or for videos bicubic / bilinear / nearest (default srgan)')
    .option('--codec <name>', 'videos: ffmpeg encoder (default as srgan video: libx264, libvpx-vp9 for .webm, mpeg4 for .avi)')
    .option('--crf <n>', 'videos: constant rate factor for libx264 / libvpx-vp9')
    .option('--preset <name>', 'videos: libx264 preset')
    .option('--segment <s>', 'videos: seconds per segment (cut at the next keyframe); segments are upscaled in parallel', String(DEFAULT_SEGMENT_SECONDS))
    .option('--attempts <n>', 'tries per job before it is reported failed', '3')
    .option('--backoff <s>', 'seconds before the first retry (doubling after each)', '5')
    .option('--ffmpeg <path>', 'ffmpeg binary for cutting videos (default $SRGAN_FFMPEG, then PATH)')
    .option('--force', 'replace outputs that exist now')
    .action(async (inputs: string[], flags: AddFlags) => {
      const t = redisTarget(flags.redis);
      const { spec, engine, tileSize, overlap, quality, format } = modelSettingsFromFlags(flags);
      const options = {
        model: spec,
        engine,
        tileSize,
        overlap,
        quality,
        ...(flags.codec ? { codec: flags.codec } : {}),
        ...(flags.crf !== undefined ? { crf: parseNumber(flags.crf, '--crf', { int: true, min: 0, max: 63 }) } : {}),
        ...(flags.preset ? { preset: flags.preset } : {}),
        force: flags.force === true,
        attempts: parseNumber(flags.attempts, '--attempts', { int: true, min: 1, max: 100 }),
        backoffMs: Math.round(seconds(flags.backoff, '--backoff', 0) * 1000),
      };
      const segmentSeconds = seconds(flags.segment, '--segment', 0.01);
      const r = await withQueue(t, (q) =>
        addBatch(q, {
          inputs,
          out: flags.out,
          options,
          ...(format ? { format } : {}),
          segmentSeconds,
          ...(flags.ffmpeg ? { ffmpeg: flags.ffmpeg } : {}),
          onVideo: (input, n) => io.err.write(`${input}: cut into ${n} segment${n === 1 ? '' : 's'}\n`),
        }),
      );
      const b = r.batch;
      const photos = b.items.filter((i) => i.kind === 'image').length;
      const videos = b.items.length - photos;
      io.err.write(
        `batch ${b.id}: ${photos} photo${photos === 1 ? '' : 's'}${videos ? `, ${videos} video${videos === 1 ? '' : 's'}` : ''} (${r.jobs} jobs) -> ${b.out} on ${t.label}; ` +
          `follow it with: srgan queue status ${b.id} --wait\n`,
      );
      io.out.write(`${b.id}\n`);
    });
}

function registerWorker(queue: Command, program: Command, io: Io): void {
  queue
    .command('worker')
    .description('run jobs from the queue until Ctrl-C (start one or more per machine; same Redis URL and shared storage everywhere)')
    .option('--redis <url>', REDIS_HELP)
    .option('--concurrency <n>', 'jobs run at once', '1')
    .option('--threads <n>', 'ONNX Runtime threads in all (default: one per concurrent job, each single-threaded)')
    .option('--stall-timeout <s>', 'seconds without a sign of life after which a job of a dead worker is run again', '30')
    .option('--preload <model>', 'load this model before taking jobs (jobs may still name others)')
    .option('--engine <name>', 'engine for --preload', DEFAULT_ENGINE)
    .option('--ffmpeg <path>', 'ffmpeg binary for video jobs (default $SRGAN_FFMPEG, then PATH)')
    .action(async (flags: WorkerFlags) => {
      const t = redisTarget(flags.redis);
      const concurrency = parseNumber(flags.concurrency, '--concurrency', { int: true, min: 1, max: 256 });
      const threads = flags.threads === undefined ? concurrency : parseNumber(flags.threads, '--threads', { int: true, min: 1, max: 256 });
      const stallSeconds = seconds(flags.stallTimeout, '--stall-timeout', 1);
      const engine = checkEngineName(flags.engine);
      await initBackend({ backend: program.opts()['backend'] as BackendRequest | undefined, quiet: true });
      const log = (line: string) => io.out.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
      const w = await QueueWorker.start({
        target: t,
        concurrency,
        threads,
        stallSeconds,
        log,
        ...(flags.ffmpeg ? { ffmpeg: flags.ffmpeg } : {}),
        ...(flags.preload ? { preload: { spec: modelSpecFromFlags({ model: flags.preload }), engine } } : {}),
      });
      log(
        `worker ${process.pid} ready on ${t.label}: ${concurrency} job${concurrency === 1 ? '' : 's'} at a time, ${threads} ONNX thread${threads === 1 ? '' : 's'}; ` +
          'Ctrl-C stops after the running jobs, twice stops now',
      );
      let signals = 0;
      const stopped = new Promise<void>((resolve) => {
        const onSignal = () => {
          signals += 1;
          if (signals === 1) {
            log('stopping: finishing the running jobs (Ctrl-C again to stop now; they go back to the queue)');
            w.close().then((answered) => {
              if (!answered) log(`Redis at ${t.label} does not answer; stopped without it`);
              resolve();
            }, resolve);
          } else {
            log('stopping now; the running jobs go back to the queue');
            w.abandon().then(() => process.exit(130));
          }
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      await stopped;
      log('worker stopped');
      // A connection still trying to reach a Redis that went away would keep the process alive.
      process.exit(0);
    });
}

async function watch(t: RedisTarget, id: string, intervalMs: number, err: Io['err']): Promise<BatchStatus> {
  let last = '';
  const tty = process.stderr.isTTY === true;
  for (;;) {
    const st = await withBatch(t, id, batchStatus);
    const line = progressLine(st);
    if (tty) err.write(`\r${line}\x1b[K`);
    else if (line.replace(/ {2}[\d.]+ jobs\/s.*$/, '') !== last) err.write(`${line}\n`);
    last = line.replace(/ {2}[\d.]+ jobs\/s.*$/, '');
    if (st.finished) {
      if (tty) err.write('\n');
      return st;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function registerStatus(queue: Command, io: Io): void {
  queue
    .command('status')
    .description('progress of a batch (done, failed, running, waiting) with a bar and an ETA; failed items with their reasons. Without a batch: the recent batches')
    .argument('[batch]', 'batch id printed by queue add')
    .option('--redis <url>', REDIS_HELP)
    .option('--json', 'print the status as JSON (every job, its state, tries and reason)')
    .option('--wait', 'follow the batch until nothing runs or waits; exit code 1 if a job failed')
    .option('--interval <s>', 'seconds between looks with --wait', '1')
    .action(async (id: string | undefined, flags: { redis?: string; json?: boolean; wait?: boolean; interval: string }) => {
      const t = redisTarget(flags.redis);
      const interval = seconds(flags.interval, '--interval', 0.05);
      if (id === undefined) {
        const lines = await withQueue(t, async (q) => {
          const redis = await redisOf(q);
          const out: string[] = [];
          for (const b of await listBatchIds(redis, 20)) out.push(progressLine(await batchStatus(q, await loadBatch(redis, b, t)), 20).replace(/^/, `${b}  `));
          return out;
        });
        io.out.write(lines.length ? lines.join('\n') + '\n' : `no batches at ${t.label}\n`);
        return;
      }
      const st = flags.wait ? await watch(t, id, interval * 1000, io.err) : await withBatch(t, id, batchStatus);
      io.out.write(flags.json ? JSON.stringify(st, null, 2) + '\n' : formatStatus(st));
      if (flags.wait && st.counts.failed + st.counts.blocked + st.counts.missing > 0) io.setExitCode(1);
    });
}

/** Loads batch `id` and hands it to `fn` on a connected queue. */
function withBatch<T>(t: RedisTarget, id: string, fn: (q: Queue, b: BatchRecord) => Promise<T>): Promise<T> {
  return withQueue(t, async (q) => fn(q, await loadBatch(await redisOf(q), id, t)));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

const CONTROLS: Array<{ name: string; description: string; run: (q: Queue, b: BatchRecord) => Promise<string> }> = [
  {
    name: 'retry',
    description: 'put the failed (and cancelled) jobs of a batch back in the queue, with fresh tries',
    run: async (q, b) => {
      const r = await retryBatch(q, b);
      return r.retried + r.requeued === 0 ? `batch ${b.id}: nothing to retry (no job failed or is missing)` : `batch ${b.id}: ${plural(r.retried, 'failed job')} retried, ${r.requeued} queued again`;
    },
  },
  {
    name: 'cancel',
    description: 'remove the queued jobs of a batch; running video segments stop within seconds, outputs written stay (retry continues it)',
    run: async (q, b) => {
      const r = await cancelBatch(q, b);
      return `batch ${b.id} cancelled: ${plural(r.removed, 'queued job')} removed, ${r.running} running (they stop or finish), ${r.done} done before`;
    },
  },
];

function registerControl(queue: Command, io: Io): void {
  for (const c of CONTROLS) {
    queue
      .command(c.name)
      .description(c.description)
      .argument('<batch>', 'batch id')
      .option('--redis <url>', REDIS_HELP)
      .action(async (id: string, flags: { redis?: string }) => {
        io.out.write(`${await withBatch(redisTarget(flags.redis), id, c.run)}\n`);
      });
  }
}

export function registerQueueCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  const queue = program
    .command('queue')
    .description('batches of photos and videos on a Redis job queue (BullMQ), upscaled by workers on one or many machines');
  registerAdd(queue, io);
  registerWorker(queue, program, io);
  registerStatus(queue, io);
  registerControl(queue, io);
}
