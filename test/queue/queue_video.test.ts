// Videos through `srgan queue` on a real Redis: each is cut at keyframes into segments that run
// as separate jobs (two at a time here), then joined in order with the audio copied; the result
// keeps the input's frame count and frame rate, as `srgan video` does. An MP4 (cut into .mov
// segments) and a Matroska file (cut into .mkv) go through one batch. Skipped, with a message,
// where redis-server or ffmpeg is not installed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findFfmpeg, probeVideo, type FfmpegTools } from '../../src/video/ffmpeg.js';
import { initBackend } from '../../src/tfjs/backend.js';
import { writeTestModel } from '../helpers/sr_models.js';
import { runFfmpeg, countFrames } from '../helpers/ffmpeg.js';
import { NO_REDIS, startRedis, type RedisServer } from './redis_server.js';
import { srgan, srganAsync, WorkerProcess } from './cli.js';
import { tempDir } from '../helpers/tmp.js';

const tools: FfmpegTools | null = await findFfmpeg().catch(() => null);
const skip = NO_REDIS || (tools ? false : 'ffmpeg is not installed here (apt-get install ffmpeg; CI installs it in .ci/run)');
const FRAMES = 24;
const RATE = '30000/1001';
let redis: RedisServer;
let worker: WorkerProcess | null = null;
let model: string;
// Registered before tempDir(), so that the worker writing there stops before the folder goes:
// after hooks run in the order they are registered.
after(async () => {
  await worker?.stop();
  if (!skip) await redis.stop();
});
const root = tempDir('srgan-queue-video-');

function ff(args: string[]): void {
  runFfmpeg(tools!, args);
}

before(async () => {
  if (skip) return;
  redis = await startRedis();
  await initBackend({ backend: 'wasm', quiet: true });
  model = await writeTestModel(join(root, 'g-x2.safetensors'), { scale: 2, blocks: 1, channels: 8 });
  mkdirSync(join(root, 'in'));
  // A keyframe every 6 frames, so 0.2 s segments give four of them; B-frames, and AAC audio.
  ff(['-f', 'lavfi', '-i', `testsrc2=size=40x32:rate=${RATE}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=22050', '-frames:v', String(FRAMES), '-t', '1',
    '-c:v', 'libx264', '-g', '6', '-keyint_min', '6', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', join(root, 'in', 'clip.mp4')]);
  ff(['-i', join(root, 'in', 'clip.mp4'), '-c', 'copy', join(root, 'in', 'other.mkv')]);
  worker = new WorkerProcess(redis.url, ['--concurrency', '2', '--stall-timeout', '2']);
});

test('a video cut into segments, upscaled in parallel and joined keeps its frame count, rate and audio', { skip }, async () => {
  const out = join(root, 'out');
  const add = srgan(['queue', 'add', join(root, 'in'), '--out', out, '--model', model, '--segment', '0.2', '--redis', redis.url]);
  assert.equal(add.status, 0, add.stderr);
  assert.match(add.stderr, /clip\.mp4: cut into 4 segments\n/);
  assert.match(add.stderr, /other\.mkv: cut into 4 segments\n/);
  assert.match(add.stderr, /: 0 photos, 2 videos \(8 jobs\) -> /);
  const id = add.stdout.trim();
  const parts = readdirSync(join(out, '.srgan-parts')).sort();
  assert.deepEqual(parts, [`${id}-0`, `${id}-1`]);
  assert.deepEqual(readdirSync(join(out, '.srgan-parts', `${id}-0`)).sort(), ['src-00000.mov', 'src-00001.mov', 'src-00002.mov', 'src-00003.mov']);
  assert.deepEqual(readdirSync(join(out, '.srgan-parts', `${id}-1`)).sort(), ['src-00000.mkv', 'src-00001.mkv', 'src-00002.mkv', 'src-00003.mkv']);

  const st = await srganAsync(['queue', 'status', id, '--wait', '--interval', '0.2', '--redis', redis.url]);
  assert.equal(st.status, 0, st.stdout + st.stderr + worker!.log);
  assert.match(st.stdout, /: 0 photos, 2 videos in 8 segments -> /);
  assert.match(st.stdout, /10\/10 done, 0 failed, 0 running, 0 waiting/);
  // Two segments ran at the same time.
  assert.match(worker!.log, /start segment \S+ \(segment \d of 4\).*\n.*start segment /);

  for (const name of ['clip.mp4', 'other.mkv']) {
    const path = join(out, name);
    const info = await probeVideo(tools!, path);
    assert.deepEqual([info.width, info.height], [80, 64]);
    assert.equal(info.fpsText, RATE, name);
    assert.equal(countFrames(tools!, path), FRAMES, name);
    assert.deepEqual(info.audio.map((a) => [a.codec, a.sampleRate]), [['aac', 22050]], name);
  }
  // The segments are gone, and nothing else was left.
  assert.deepEqual(readdirSync(out).sort(), ['clip.mp4', 'other.mkv']);
  assert.equal(existsSync(join(out, '.srgan-parts')), false);
});
