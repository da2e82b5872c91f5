// `srgan queue` on a real Redis (a redis-server of its own on a loopback port) with photos: two
// worker processes share a batch of 12; a worker SIGKILLed in the middle of a job loses nothing
// (another worker runs the job again once its lock lapses) and writes nothing twice; every output
// is byte-identical to what `srgan upscale` writes with the same model; a bad input is tried a
// bounded number of times, then reported with its reason; retry and cancel. Skipped, with a
// message, where redis-server is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeTextureImage } from '../helpers/images.js';
import { NO_REDIS, startRedis, type RedisServer } from './redis_server.js';
import { srgan, srganAsync, WorkerProcess } from './cli.js';
import { tempDir } from '../helpers/tmp.js';

const skip = NO_REDIS;
const MODEL = ['--model', 'srresnet'];
// A short lock and stall check, so a dead worker's job comes back within seconds (long enough
// that a worker slowed down by a busy machine still renews its locks in time).
const WORKER = ['--stall-timeout', '4'];
let redis: RedisServer;
const workers: WorkerProcess[] = [];
// Registered before tempDir(), so that the workers writing there stop before the folder goes:
// after hooks run in the order they are registered.
after(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  if (!skip) await redis.stop();
});
const root = tempDir('srgan-queue-photos-');

function startWorker(): WorkerProcess {
  const w = new WorkerProcess(redis.url, WORKER);
  workers.push(w);
  return w;
}

function add(args: string[]): string {
  const r = srgan(['queue', 'add', '--redis', redis.url, ...args]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^[0-9a-f]{10}\n$/);
  return r.stdout.trim();
}

async function waitForBatch(id: string): Promise<{ status: number | null; text: string }> {
  const r = await srganAsync(['queue', 'status', id, '--redis', redis.url, '--wait', '--interval', '0.2']);
  return { status: r.status, text: r.stdout };
}

interface JobJson {
  id: string;
  label: string;
  state: string;
  tries: number;
  stalls: number;
  reason?: string;
  skipped?: string;
}

function statusJson(id: string): { counts: Record<string, number>; jobs: JobJson[]; finished: boolean } {
  const r = srgan(['queue', 'status', id, '--redis', redis.url, '--json']);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

/** The folder holds exactly these files: no second copy, no temporary file. */
function exactly(dir: string, names: string[]): void {
  assert.deepEqual(readdirSync(dir).sort(), names.slice().sort());
}

before(async () => {
  if (skip) return;
  redis = await startRedis();
  mkdirSync(join(root, 'photos'));
  for (let i = 0; i < 12; i++) await writeTextureImage(join(root, 'photos', `p${String(i).padStart(2, '0')}.png`), 32, 32, 10 + i);
  // One large photo: its job runs long enough to be interrupted.
  mkdirSync(join(root, 'kill'));
  await writeTextureImage(join(root, 'kill', 'a-large.png'), 256, 192, 3);
  for (let i = 0; i < 3; i++) copyFileSync(join(root, 'photos', `p0${i}.png`), join(root, 'kill', `b${i}.png`));
  // What `srgan upscale` writes, for the byte comparison (one run for both folders).
  const r = srgan(['upscale', join(root, 'photos'), join(root, 'kill'), '-o', join(root, 'ref') + '/', ...MODEL, '--no-progress']);
  assert.equal(r.status, 0, r.stderr);
});

/** `out` holds an output for each input of `dir`, and nothing else, each byte for byte as srgan upscale wrote it. */
function sameAsUpscale(dir: string, out: string): void {
  const names = readdirSync(join(root, dir)).sort();
  exactly(out, names);
  for (const n of names) assert.ok(readFileSync(join(out, n)).equals(readFileSync(join(root, 'ref', n))), `${n} differs from srgan upscale's`);
}

test('2 workers process a batch of 12 photos; every output is byte-identical to srgan upscale', { skip }, async () => {
  const w1 = startWorker();
  const w2 = startWorker();
  await Promise.all([w1.waitFor(/ready on/), w2.waitFor(/ready on/)]);
  const out = join(root, 'out12');
  const id = add([join(root, 'photos'), '--out', out, ...MODEL]);
  const r = await waitForBatch(id);
  assert.equal(r.status, 0, r.text);
  assert.match(r.text, new RegExp(`^batch ${id}: 12 photos -> ${out} `));
  assert.match(r.text, /\[#{30}\] 100% {2}12\/12 done, 0 failed, 0 running, 0 waiting {2}took \d+s \([\d.]+ jobs\/s\)\n$/);
  sameAsUpscale('photos', out);
  // Both took part, and between them did every photo.
  const done = (w: WorkerProcess) => [...w.log.matchAll(/ done \S*(p\d\d\.png) -> /g)].map((m) => m[1]!);
  assert.ok(done(w1).length >= 1 && done(w2).length >= 1, `jobs per worker: ${done(w1).length}, ${done(w2).length}\n${w1.log}\n${w2.log}`);
  assert.equal(new Set([...done(w1), ...done(w2)]).size, 12);
});

test('a worker SIGKILLed mid-job: the job runs again on the other worker, each output exists once and matches srgan upscale', { skip }, async () => {
  const [w1, w2] = workers as [WorkerProcess, WorkerProcess];
  const out = join(root, 'out-kill');
  const id = add([join(root, 'kill'), '--out', out, ...MODEL]);
  // Kill whichever worker takes the large photo, as soon as it has started it.
  const started = await Promise.race([w1, w2].map((w) => w.waitFor(/start image \S*a-large\.png/).then(() => w)));
  await new Promise((r) => setTimeout(r, 300));
  started.child.kill('SIGKILL');
  assert.equal(await started.exited, null);
  assert.doesNotMatch(started.log, /done \S*a-large\.png/, 'the job finished before the kill; the test proves nothing');
  const other = started === w1 ? w2 : w1;
  const r = await waitForBatch(id);
  assert.equal(r.status, 0, r.text);
  await other.waitFor(/stalled job \S+-0\b/);
  await other.waitFor(/done \S*a-large\.png/);
  sameAsUpscale('kill', out);
  const st = statusJson(id);
  const large = st.jobs.find((j) => j.label.endsWith('a-large.png'))!;
  assert.equal(large.state, 'done');
  assert.equal(large.stalls, 1);
  workers.splice(workers.indexOf(started), 1);
});

test('Ctrl-C on a worker lets the running job finish, then the worker exits cleanly', { skip }, async () => {
  const w = workers[0]!;
  const out = join(root, 'out-ctrl-c');
  const id = add([join(root, 'kill', 'a-large.png'), '--out', out, ...MODEL]);
  await w.waitFor(/start image \S*a-large\.png \(job \w+-0,/);
  w.child.kill('SIGINT');
  assert.equal(await w.exited, 0);
  assert.match(w.log, /stopping: finishing the running jobs[^\n]*\n(.*\n)*.* done \S*a-large\.png -> [^\n]*\n(.*\n)*.* worker stopped\n$/);
  workers.splice(workers.indexOf(w), 1);
  assert.equal(statusJson(id).counts['done'], 1);
  exactly(out, ['a-large.png']);
  startWorker();
});

test('a bad input is tried --attempts times, then reported with its reason; retry runs it again', { skip }, async () => {
  const dir = join(root, 'bad');
  mkdirSync(dir);
  const good = readFileSync(join(root, 'photos', 'p05.png'));
  writeFileSync(join(dir, 'broken.png'), good.subarray(0, good.length >> 1));
  copyFileSync(join(root, 'photos', 'p06.png'), join(dir, 'fine.png'));
  const out = join(root, 'out-bad');
  const id = add([dir, '--out', out, ...MODEL, '--attempts', '2', '--backoff', '0.1']);
  const r = await waitForBatch(id);
  assert.equal(r.status, 1, r.text);
  assert.match(r.text, /1\/2 done, 1 failed, 0 running, 0 waiting/);
  assert.match(r.text, /\nfailed \(1\):\n {2}\S*broken\.png: corrupt or truncated png data[^\n]* \(2 tries\)\nretry them: srgan queue retry /);
  exactly(out, ['fine.png']);
  // The input is repaired; retry gives the job fresh tries.
  writeFileSync(join(dir, 'broken.png'), good);
  const again = srgan(['queue', 'retry', id, '--redis', redis.url]);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout, `batch ${id}: 1 failed job retried, 0 queued again\n`);
  assert.equal((await waitForBatch(id)).status, 0);
  exactly(out, ['broken.png', 'fine.png']);
  assert.equal(srgan(['queue', 'retry', id, '--redis', redis.url]).stdout, `batch ${id}: nothing to retry (no job failed or is missing)\n`);
});

test('cancel removes the queued jobs; retry queues them again; a job whose output an earlier attempt wrote does not write it again', { skip }, async () => {
  // No worker may take jobs while the batch is cancelled: stop them first.
  await Promise.all(workers.map((w) => w.stop()));
  for (const w of workers.splice(0)) assert.match(w.log, /worker stopped\n$/);
  const out = join(root, 'out-cancel');
  const id = add([join(root, 'photos', 'p0[0-3].png'), '--out', out, ...MODEL]);
  const c = srgan(['queue', 'cancel', id, '--redis', redis.url]);
  assert.equal(c.status, 0, c.stderr);
  assert.equal(c.stdout, `batch ${id} cancelled: 4 queued jobs removed, 0 running (they stop or finish), 0 done before\n`);
  const st = statusJson(id);
  assert.equal(st.counts['cancelled'], 4);
  assert.equal(st.finished, true);
  // As if earlier attempts had died: one after renaming its output into place, one while
  // writing (its temporary file is left).
  mkdirSync(out);
  writeFileSync(join(out, 'p00.png'), 'written by an earlier attempt');
  writeFileSync(join(out, '.tmp-p01.png-4242-0a1b2c3d'), 'half a file');
  const r = srgan(['queue', 'retry', id, '--redis', redis.url]);
  assert.equal(r.stdout, `batch ${id}: 0 failed jobs retried, 4 queued again\n`);
  startWorker();
  assert.equal((await waitForBatch(id)).status, 0);
  exactly(out, ['p00.png', 'p01.png', 'p02.png', 'p03.png']);
  // Not written twice: the job found its output and left it as it was.
  assert.equal(readFileSync(join(out, 'p00.png'), 'utf8'), 'written by an earlier attempt');
  assert.equal(statusJson(id).jobs.find((j) => j.label.endsWith('p00.png'))!.skipped, 'the output was already written by an earlier attempt');
  for (const n of ['p01.png', 'p02.png', 'p03.png']) assert.ok(readFileSync(join(out, n)).equals(readFileSync(join(root, 'ref', n))), n);
});
