// Queue throughput (not a test): photos through `srgan queue` with 1 and with 2 single-threaded
// workers, against plain upscaling of the same photos with the same single-threaded engine.
//
//   plain      one Upscaler (ONNX Runtime, 1 thread) in this process, upscaleFile() per photo:
//              what `srgan upscale --threads 1` does per file, without process start-up
//   1 worker   one `srgan queue worker --threads 1 --preload <model>` process; the batch is timed
//              from `queue add` (in this process) until status says finished
//   2 workers  two such processes
// Workers are started (and their model loaded) before the clock starts, and stopped after each
// run; a throwaway redis-server runs on a loopback port. Configurations alternate within each
// round and medians over rounds are reported, so a machine busy with other work slows all alike.
// Per-job overhead of the queue = (1-worker seconds per photo) - (plain seconds per photo).
//
//   npm run build && node dist/bench/queue.js [--photos 24] [--size 96] [--rounds 3] [--model srresnet]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/tfjs/backend.js';
import { loadModelSource } from '../src/inference/model_source.js';
import { Upscaler, upscaleFile } from '../src/inference/upscale.js';
import { openQueue, parseRedisUrl, redisOf } from '../src/queue/connection.js';
import { addBatch } from '../src/queue/add.js';
import { loadBatch } from '../src/queue/batch.js';
import { batchStatus } from '../src/queue/status.js';
import { DEFAULT_OVERLAP, DEFAULT_TILE } from '../src/inference/tiling.js';
import { makeImageFolder } from '../test/helpers/images.js';
import { startRedis } from '../test/queue/redis_server.js';
import { WorkerProcess } from '../test/queue/cli.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const photos = Number(arg('photos', '24'));
const size = Number(arg('size', '96'));
const rounds = Number(arg('rounds', '3'));
const model = arg('model', 'srresnet');

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const loadAtStart = loadavg().map((x) => x.toFixed(1)).join(' ');
await initBackend({ backend: 'wasm', quiet: true });
const root = mkdtempSync(join(tmpdir(), 'srgan-bench-queue-'));
const input = await makeImageFolder(join(root, 'in'), photos, size, size, 1);
const files = Array.from({ length: photos }, (_, i) => join(input, `img${i}.png`));
const redis = await startRedis();
const target = parseRedisUrl(redis.url);

async function plain(out: string): Promise<number> {
  const up = await Upscaler.fromSource(await loadModelSource({ model }), { engine: 'onnx', threads: 1 });
  try {
    await upscaleFile(up, files[0]!, join(out, 'warm.png'), { format: 'png' }); // load and warm, untimed
    const t0 = performance.now();
    for (const f of files) await upscaleFile(up, f, join(out, f.split('/').pop()!), { format: 'png' });
    return (performance.now() - t0) / 1000;
  } finally {
    await up.dispose();
  }
}

async function queued(workerCount: number, out: string): Promise<{ seconds: number; busy: number }> {
  const workers = Array.from({ length: workerCount }, () => new WorkerProcess(redis.url, ['--threads', '1', '--preload', model]));
  try {
    await Promise.all(workers.map((w) => w.waitFor(/ready on/, 120_000)));
    const queue = await openQueue(target);
    try {
      const t0 = performance.now();
      const { batch } = await addBatch(queue, {
        inputs: [input],
        out,
        options: { model: { model }, engine: 'onnx', tileSize: DEFAULT_TILE, overlap: DEFAULT_OVERLAP, quality: 95, force: false, attempts: 3, backoffMs: 1000 },
      });
      const redisCmds = await redisOf(queue);
      for (;;) {
        const st = await batchStatus(queue, await loadBatch(redisCmds, batch.id, target));
        if (st.finished) {
          if (st.counts.done !== photos) throw new Error(`batch ended with ${JSON.stringify(st.counts)}`);
          const seconds = (performance.now() - t0) / 1000;
          // Time the workers spent inside jobs (from BullMQ's records), summed over jobs.
          const busy = st.jobs.reduce((a, j) => a + (j.finishedAt! - j.startedAt!) / 1000, 0);
          return { seconds, busy };
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await queue.close();
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}

const results: Record<string, number[]> = { plain: [], q1: [], q2: [], busy1: [] };
try {
  for (let r = 0; r < rounds; r++) {
    const order = [['plain', 0], ['q1', 1], ['q2', 2]] as const;
    for (let k = 0; k < order.length; k++) {
      const [name, n] = order[(k + r) % order.length]!;
      const out = join(root, `out-${name}-${r}`);
      if (n === 0) results['plain']!.push(await plain(out));
      else {
        const q = await queued(n, out);
        results[name]!.push(q.seconds);
        if (n === 1) results['busy1']!.push(q.busy);
      }
      console.error(`round ${r + 1} ${name}: ${results[name]!.at(-1)!.toFixed(2)} s`);
    }
  }
  const p = median(results['plain']!);
  const q1 = median(results['q1']!);
  const q2 = median(results['q2']!);
  const busy1 = median(results['busy1']!);
  const load = loadavg().map((x) => x.toFixed(1)).join(' ');
  console.log(`${photos} photos ${size}x${size} -> x4 with ${model}, ONNX Runtime 1 thread per worker, ${rounds} rounds (medians); load average ${loadAtStart} at the start, ${load} at the end`);
  const line = (label: string, secs: number, extra = '') =>
    console.log(`${label.padEnd(28)}${secs.toFixed(2).padStart(7)} s  ${(photos / secs).toFixed(2)} photos/s  ${((1000 * secs) / photos).toFixed(0)} ms/photo${extra}`);
  line('plain upscale (in process)', p);
  line('queue, 1 worker', q1, `  (${((1000 * busy1) / photos).toFixed(0)} in jobs, ${((1000 * (q1 - busy1)) / photos).toFixed(0)} between jobs)`);
  line('queue, 2 workers', q2, `  (${(q1 / q2).toFixed(2)}x 1 worker)`);
  console.log(`${'queue overhead per job'.padEnd(28)}${((1000 * (q1 - p)) / photos).toFixed(0).padStart(7)} ms (1 worker - plain, wall); ${((1000 * (q1 - busy1)) / photos).toFixed(0)} ms of worker time between jobs (fetch, lock, completion)`);
} finally {
  await redis.stop();
  rmSync(root, { recursive: true, force: true });
}
