// What goes wrong around the queue, and how it is said: Redis URLs that cannot work, a Redis that
// is not running (every command fails in one line and nothing is written), Redis going away under
// a busy worker (the output is whole or absent, the worker waits for Redis), unknown batch ids,
// inputs that cannot be queued. Plus the pure pieces: temporary-file names, the join's list.
// The parts that need a server skip, with a message, where redis-server is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SrError } from '../../src/util/errors.js';
import { parseRedisUrl, redisTarget } from '../../src/queue/connection.js';
import { tempPathFor, tempPattern } from '../../src/util/atomic.js';
import { concatList, startMicros } from '../../src/queue/segments.js';
import { writeTextureImage } from '../helpers/images.js';
import { loadImage } from '../../src/io/image.js';
import { NO_REDIS, startRedis, type RedisServer } from './redis_server.js';
import { srgan, WorkerProcess } from './cli.js';
import { tempDir } from '../helpers/tmp.js';

const skip = NO_REDIS;
const root = tempDir('srgan-queue-errors-');
let redis: RedisServer;

before(async () => {
  mkdirSync(join(root, 'photos'));
  for (let i = 0; i < 2; i++) await writeTextureImage(join(root, 'photos', `p${i}.png`), 24, 24, i);
  await writeTextureImage(join(root, 'large.png'), 256, 192, 7);
  writeFileSync(join(root, 'clip.mp4'), 'not looked at: Redis is checked first');
  if (!skip) redis = await startRedis();
});

after(async () => {
  if (!skip) await redis.stop();
});

/** One line on stderr, `error: ...`, exit code 1, and nothing on stdout. */
function failsWith(args: string[], pattern: RegExp, env: NodeJS.ProcessEnv = {}): void {
  const r = srgan(args, env);
  assert.equal(r.status, 1, `${args.join(' ')}\n${r.stdout}${r.stderr}`);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: [^\n]*\n$/, r.stderr);
  assert.match(r.stderr, pattern);
}

test('Redis URLs that cannot work are refused in one line, from the flag or the environment', () => {
  const t = parseRedisUrl('redis://user:secret@cache.local:6380/2');
  assert.deepEqual([t.host, t.port, t.db, t.username, t.password, t.tls], ['cache.local', 6380, 2, 'user', 'secret', false]);
  assert.equal(t.label, 'redis://user:***@cache.local:6380/2');
  assert.equal(parseRedisUrl('rediss://[::1]').port, 6379);
  assert.equal(parseRedisUrl('rediss://[::1]').host, '::1');
  assert.equal(redisTarget(undefined, {}).label, 'redis://127.0.0.1:6379');
  assert.equal(redisTarget(undefined, { SRGAN_REDIS_URL: 'redis://q:7000' }).label, 'redis://q:7000');
  const bad: Array<[string, RegExp]> = [
    ['http://localhost:6379', /scheme 'http' is not redis or rediss/],
    ['localhost:6379', /scheme 'localhost' is not redis or rediss/],
    ['127.0.0.1', /no redis:\/\/ scheme/],
    ['redis://', /no host/],
    ['redis://host:port', /the host or port is malformed/],
    ['redis://host:70000', /the host or port is malformed/],
    ['redis://host:6379/cache', /'\/cache' is not a database number/],
    ['redis://host:6379?db=1', /query strings/],
  ];
  for (const [url, why] of bad) {
    assert.throws(() => parseRedisUrl(url), (e: unknown) => e instanceof SrError && why.test(e.message) && e.message.includes('use redis://host:port'), url);
  }
  failsWith(['queue', 'status', 'x', '--redis', 'http://localhost'], /^error: --redis 'http:\/\/localhost' is not a usable Redis URL \(scheme 'http' is not redis or rediss\): use redis:\/\/host:port/);
  failsWith(['queue', 'worker'], /^error: \$SRGAN_REDIS_URL 'redis:\/\/h:x' is not a usable Redis URL/, { SRGAN_REDIS_URL: 'redis://h:x' });
});

test('with Redis stopped every command fails in one line and nothing is written', { skip }, async () => {
  const down = await startRedis();
  await down.stop();
  const url = down.url;
  const why = new RegExp(`^error: cannot reach Redis at redis://127\\.0\\.0\\.1:${down.port} \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${down.port}\\): start redis-server there, or point --redis / \\$SRGAN_REDIS_URL at a running one\\n$`);
  const out = join(root, 'out-down');
  failsWith(['queue', 'add', join(root, 'photos'), join(root, 'clip.mp4'), '--out', out, '--redis', url], why);
  assert.equal(existsSync(out), false);
  failsWith(['queue', 'status', 'abc', '--redis', url], why);
  failsWith(['queue', 'status', '--redis', url], why);
  failsWith(['queue', 'retry', 'abc', '--redis', url], why);
  failsWith(['queue', 'cancel', 'abc', '--redis', url], why);
  const t0 = Date.now();
  failsWith(['queue', 'worker', '--redis', url], why, {});
  assert.ok(Date.now() - t0 < 20_000, 'the worker took too long to give up');
});

test('Redis going away under a busy worker: the output is whole, nothing half-written; the worker waits for Redis', { skip }, async () => {
  const server = await startRedis();
  const w = new WorkerProcess(server.url, ['--stall-timeout', '2']);
  try {
    await w.waitFor(/ready on/);
    const out = join(root, 'out-away');
    const add = srgan(['queue', 'add', join(root, 'large.png'), '--out', out, '--model', 'srresnet', '--redis', server.url]);
    assert.equal(add.status, 0, add.stderr);
    await w.waitFor(/start image/);
    await server.stop();
    await w.waitFor(/Redis at redis:\/\/127\.0\.0\.1:\d+: .* \(retrying\)/);
    // The job ran on: its output is complete (it decodes, at full size), with no temporary file.
    const deadline = Date.now() + 60_000;
    while (!existsSync(join(out, 'large.png')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(readdirSync(out), ['large.png']);
    const img = await loadImage(join(out, 'large.png'));
    assert.deepEqual([img.width, img.height], [1024, 768]);
    assert.equal(w.child.exitCode, null, 'the worker should wait for Redis, not exit');
    // Ctrl-C still stops it, without waiting for Redis for ever.
    assert.equal(await w.stop(), 0);
    assert.match(w.log, /does not answer; stopped without it\n.*worker stopped\n$/);
  } finally {
    w.child.kill('SIGKILL');
    await server.stop(); // an assertion failing before the stop above would leave it running
  }
});

test('unknown batch ids are named, with the batches there are', { skip }, () => {
  const at = redis.url.replace(/\./g, '\\.');
  failsWith(['queue', 'status', 'nope', '--redis', redis.url], new RegExp(`^error: no batch 'nope' at ${at} \\(there are no batches there; add one with srgan queue add\\)\\n$`));
  const add = srgan(['queue', 'add', join(root, 'photos'), '--out', join(root, 'out-ids'), '--model', 'srresnet', '--redis', redis.url]);
  assert.equal(add.status, 0, add.stderr);
  const id = add.stdout.trim();
  const typo = id.slice(0, -1) + (id.endsWith('0') ? '1' : '0');
  for (const cmd of ['status', 'retry', 'cancel']) {
    failsWith(['queue', cmd, typo, '--redis', redis.url], new RegExp(`^error: no batch '${typo}' at ${at}; did you mean ${id}\\? \\(recent batches: ${id}\\)\\n$`));
  }
  const list = srgan(['queue', 'status', '--redis', redis.url]);
  assert.equal(list.status, 0);
  assert.match(list.stdout, new RegExp(`^${id} {2}\\[\\.{20}\\] {3}0% {2}0/2 done, 0 failed, 0 running, 2 waiting {2}ETA \\?\\n$`));
});

test('inputs that cannot be queued fail the whole add, and nothing is queued', { skip }, () => {
  const before = srgan(['queue', 'status', '--redis', redis.url]).stdout;
  const out = join(root, 'out-bad');
  const args = (...a: string[]) => ['queue', 'add', '--out', out, '--redis', redis.url, ...a];
  failsWith(args(join(root, 'photos'), join(root, 'missing.png')), /missing\.png: no such file or folder; nothing was queued\n$/);
  failsWith(args(join(root, 'photos', '*.jpg')), /\*\.jpg: no image or video files match this pattern; nothing was queued\n$/);
  writeFileSync(join(root, 'notes.txt'), 'text');
  failsWith(args(join(root, 'notes.txt'), join(root, 'nowhere')), /^error: 2 inputs cannot be queued \(.*notes\.txt: not an image or video file by its extension; .*nowhere: no such file or folder\); nothing was queued\n$/);
  failsWith(args(join(root, 'photos'), '--model', 'bicubic'), /^error: --model bicubic is for videos only \(photos need a learned model: srresnet, srgan or a weights file\); nothing was queued\n$/);
  failsWith(args(join(root, 'photos'), '--model', join(root, 'no-such-model.safetensors')), /no-such-model\.safetensors/);
  mkdirSync(out);
  writeFileSync(join(out, 'p1.png'), 'an older result');
  failsWith(args(join(root, 'photos')), /p1\.png exists \(use --force to replace it\); nothing was queued\n$/);
  assert.equal(srgan(['queue', 'status', '--redis', redis.url]).stdout, before);
});

test('temporary files of a dead writer are recognised by name, and only those', () => {
  const re = tempPattern('/x/out/photo.png');
  assert.ok(re.test('.tmp-photo.png-1234-0a1b2c3d')); // src/util/atomic.ts
  assert.ok(!re.test('.tmp-photo.png.png-1234-0a1b2c3d'));
  assert.ok(!re.test('photo.png'));
  assert.ok(re.test('.tmp-photo.png-1234-0a1b2c3d.tif')); // a large output assembled in bands
  const v = tempPattern('/x/out/clip.mp4');
  assert.ok(v.test('.tmp-clip-99-deadbeef.mp4')); // src/video/upscale_video.ts, the join
  assert.ok(!v.test('.tmp-clip-b-99-deadbeef.mp4'));
  // every name the one temp-name helper gives is recognised
  for (const opts of [{}, { keepExtension: true }, { extension: '.tif' }]) {
    for (const target of ['/x/out/photo.png', '/x/out/clip.mp4']) {
      const name = tempPathFor(target, opts).split('/').pop()!;
      assert.ok(tempPattern(target).test(name), `${name} for ${target}`);
      assert.ok(!tempPattern('/x/out/other.png').test(name));
    }
  }
});

test("the join's list gives every segment its exact duration, rounded once from the frame count", () => {
  assert.equal(startMicros(30000, '30000/1001'), 1_001_000_000n);
  assert.equal(startMicros(7, '30000/1001'), 233_567n); // 233566.67 us
  assert.equal(startMicros(3, '25'), 120_000n);
  const list = concatList([{ path: "/p/it's.mp4", frames: 7 }, { path: '/p/b.mp4', frames: 7 }, { path: '/p/c.mp4', frames: 1 }], '30000/1001');
  assert.equal(list, "ffconcat version 1.0\nfile '/p/it'\\''s.mp4'\nduration 0.233567\nfile '/p/b.mp4'\nduration 0.233566\nfile '/p/c.mp4'\nduration 0.033367\n");
});
