// `srgan video` end to end with a real ffmpeg: a tiny test video made from ffmpeg's lavfi sources
// (test pattern + sine audio) goes through decode -> upscale -> encode; frame count, frame rate,
// size and the audio stream survive. Bad inputs fail with one clear line and leave no output and
// no temporary file behind. Skipped, with a message, where ffmpeg is not installed.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { findFfmpeg, probeVideo, type FfmpegTools } from '../../src/video/ffmpeg.js';
import { upscaleVideo } from '../../src/video/upscale_video.js';
import { resolveMethod, type Method } from '../../src/inference/methods.js';
import { BoundedQueue } from '../../src/video/queue.js';
import { initBackend } from '../../src/tfjs/backend.js';
import { SrError } from '../../src/util/errors.js';
import { writeTestModel } from '../helpers/sr_models.js';
import { runFfmpeg, countFrames } from '../helpers/ffmpeg.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('srgan-video-');
const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const NO_FFMPEG = 'ffmpeg is not installed here (apt-get install ffmpeg; CI installs it in .ci/run)';
const tools: FfmpegTools | null = await findFfmpeg().catch(() => null);
const skip = tools ? false : NO_FFMPEG;

const FRAMES = 14;
const RATE = '30000/1001';
const tiny = join(root, 'tiny.mp4');

function ff(args: string[]): void {
  runFfmpeg(tools!, args);
}

/** Nothing but `keep` in the folder: no output, no .tmp- leftovers. */
function onlyFiles(dir: string, keep: string[]): void {
  assert.deepEqual(readdirSync(dir).sort(), keep.slice().sort());
}

before(async () => {
  if (!tools) return;
  await initBackend({ backend: 'wasm', quiet: true });
  ff(['-f', 'lavfi', '-i', `testsrc2=size=40x32:rate=${RATE}`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=22050', '-frames:v', String(FRAMES), '-t', '1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-c:a', 'aac', tiny]);
});

test('round trip with a model: frame count, frame rate, size and audio survive', { skip }, async () => {
  const model = await writeTestModel(join(root, 'g.safetensors'), { scale: 2, blocks: 1, channels: 8 });
  const out = join(root, 'rt', 'tiny-x2.mp4');
  mkdirSync(join(root, 'rt'));
  const method = await resolveMethod(model, { engine: 'tfjs' });
  let last = 0;
  try {
    const r = await upscaleVideo({ input: tiny, output: out, method, queue: 2, onFrame: (d) => (last = d) });
    assert.equal(r.frames, FRAMES);
    assert.ok(r.maxQueued <= 2, `queue held ${r.maxQueued} frames`);
    // A model file has its own factor: another is refused before any work.
    await assert.rejects(upscaleVideo({ input: tiny, output: join(root, 'rt', 'x4.mp4'), method, scale: 4 }), /method '.*g\.safetensors' upscales x2, but x4 was asked for/);
    assert.ok(!existsSync(join(root, 'rt', 'x4.mp4')));
  } finally {
    await method.dispose?.();
  }
  assert.equal(last, FRAMES);
  const info = await probeVideo(tools!, out);
  assert.equal(info.width, 80);
  assert.equal(info.height, 64);
  assert.equal(info.fpsText, RATE);
  assert.equal(countFrames(tools!, out), FRAMES);
  assert.equal(info.audio.length, 1);
  assert.equal(info.audio[0]!.codec, 'aac');
  assert.equal(info.audio[0]!.sampleRate, 22050);
  onlyFiles(join(root, 'rt'), ['tiny-x2.mp4']);
});

test('the CLI: bicubic x4 into .mkv, one summary line; an existing output needs --force', { skip }, () => {
  const out = join(root, 'cli', 'tiny.mkv');
  mkdirSync(join(root, 'cli'));
  const args = [cli, 'video', tiny, '-o', out, '--model', 'bicubic', '--scale', '4', '--no-progress'];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^wrote .*tiny\\.mkv: ${FRAMES} frames, 160x128 at ${RATE} fps, audio copied in [0-9.]+ s \\([0-9.]+ frames/s\\)\\n$`));
  assert.match(r.stderr, /h264 40x32 at 30000\/1001 fps, 14 frames, audio aac \(copied\); x4 with bicubic; ffmpeg /);
  assert.equal(countFrames(tools!, out), FRAMES);
  const again = spawnSync(process.execPath, args, { encoding: 'utf8' });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /^error: .*tiny\.mkv exists; add --force to replace it\n$/);
  assert.equal(spawnSync(process.execPath, [...args, '--force'], { encoding: 'utf8' }).status, 0);
  onlyFiles(join(root, 'cli'), ['tiny.mkv']);
});

function failsCleanly(name: string, input: string, pattern: RegExp, extra: string[] = [], env: NodeJS.ProcessEnv = process.env, outName = 'out.mp4'): void {
  const dir = join(root, `bad-${name}`);
  mkdirSync(dir);
  const r = spawnSync(process.execPath, [cli, 'video', input, '-o', join(dir, outName), '--model', 'bicubic', '--scale', '2', '--no-progress', ...extra], { encoding: 'utf8', env });
  assert.equal(r.status, 1, r.stderr);
  // An information line about the input may come first; the error is the one last line.
  const lines = r.stderr.trimEnd().split('\n');
  assert.match(lines.at(-1)! + '\n', pattern);
  assert.equal(lines.filter((l) => l.startsWith('error:')).length, 1, r.stderr);
  onlyFiles(dir, []);
}

test('a corrupt file, an empty file and a missing file fail clearly with no output', { skip }, () => {
  const junk = join(root, 'junk.mp4');
  writeFileSync(junk, Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251)));
  failsCleanly('corrupt', junk, /^error: .*junk\.mp4: not a readable video \(corrupt, or a format ffmpeg does not know\)/);
  const empty = join(root, 'empty.mp4');
  writeFileSync(empty, '');
  failsCleanly('empty', empty, /^error: .*empty\.mp4: empty file \(0 bytes\), not a video\n$/);
  failsCleanly('missing', join(root, 'nope.mp4'), /^error: .*nope\.mp4: no such file\n$/);
});

test('an unsupported codec and a file without video fail clearly with no output', { skip }, () => {
  // An AVI whose codec tag ffmpeg does not know: readable container, undecodable stream.
  const avi = join(root, 'mpeg4.avi');
  ff(['-f', 'lavfi', '-i', 'testsrc2=size=32x24:rate=10', '-frames:v', '3', '-c:v', 'mpeg4', avi]);
  const bytes = readFileSync(avi);
  for (let i = bytes.indexOf('FMP4'); i >= 0; i = bytes.indexOf('FMP4', i + 1)) bytes.write('QQQQ', i);
  const weird = join(root, 'weird.avi');
  writeFileSync(weird, bytes);
  failsCleanly('codec', weird, /^error: .*weird\.avi: unsupported video codec/);
  const wav = join(root, 'tone.wav');
  ff(['-f', 'lavfi', '-i', 'sine=frequency=440', '-t', '0.2', wav]);
  failsCleanly('audio-only', wav, /^error: .*tone\.wav: no video stream \(wav file with audio\)\n$/);
  failsCleanly('out-type', tiny, /^error: .*out\.gif: unsupported output type '\.gif'/, [], process.env, 'out.gif');
});

// Needs no ffmpeg: ffmpeg is looked for before the input is read.
test('missing ffmpeg (empty PATH, or a wrong --ffmpeg) fails with an install hint and no output', () => {
  const emptyBin = join(root, 'empty-bin');
  mkdirSync(emptyBin);
  const input = join(root, 'some.mp4');
  writeFileSync(input, 'not read');
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: emptyBin };
  delete env['SRGAN_FFMPEG'];
  failsCleanly('no-path', input, /^error: ffmpeg not found \('ffmpeg'\): install ffmpeg \(Debian\/Ubuntu: apt-get install ffmpeg/, [], env);
  failsCleanly('wrong-flag', input, /^error: ffmpeg not found \('\/nonexistent\/ffmpeg'\)/, ['--ffmpeg', '/nonexistent/ffmpeg']);
});

test('a truncated MP4 is called truncated, not an unsupported codec', { skip }, () => {
  // cut inside the 'moov' box (codec description lost) and inside the media data
  const bytes = readFileSync(tiny);
  const moov = bytes.indexOf('moov') - 4;
  for (const [name, end] of [['in-moov', moov + 200], ['half', Math.floor(bytes.length / 2)]] as const) {
    const cut = join(root, `cut-${name}.mp4`);
    writeFileSync(cut, bytes.subarray(0, end));
    failsCleanly(`truncated-${name}`, cut, /^error: .*cut-.*\.mp4: truncated or corrupt video: it ends \d+ bytes into its '(moov|mdat)' box, which declares \d+ bytes/);
  }
});

test('a missing output folder is made, as upscale does', { skip }, () => {
  const out = join(root, 'made', 'for', 'it', 'tiny.mkv');
  const r = spawnSync(process.execPath, [cli, 'video', tiny, '-o', out, '--model', 'bicubic', '--scale', '2', '--no-progress'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(countFrames(tools!, out), FRAMES);
});

/** Resolves with what `probe` returns once it is truthy (polling), or fails after `ms`. */
async function waitFor<T>(probe: () => T | undefined, ms = 60_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a SIGKILLed run leaves a temporary file that the next run removes; Ctrl-C exits 130 and leaves nothing', { skip }, async () => {
  const dir = join(root, 'killed');
  mkdirSync(dir);
  const long = join(root, 'long.mp4');
  ff(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=30', '-frames:v', '600', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', long]);
  const args = [cli, 'video', long, '-o', join(dir, 'out.mp4'), '--model', 'bicubic', '--scale', '4', '--no-progress'];
  const temp = () => readdirSync(dir).find((n) => n.startsWith('.tmp-'));
  const exited = (c: ReturnType<typeof spawn>) => new Promise<number | null>((res) => c.once('exit', (code) => res(code)));

  const killed = spawn(process.execPath, args, { stdio: 'ignore' });
  const leftover = await waitFor(temp);
  killed.kill('SIGKILL');
  await exited(killed);
  assert.match(leftover, new RegExp(`^\\.tmp-out-${killed.pid}-[0-9a-f]{8}\\.mp4$`));
  assert.ok(existsSync(join(dir, leftover)), 'a killed process cannot clean up after itself');
  // the next run writing into that folder removes it (its writer is dead)
  const next = spawnSync(process.execPath, [cli, 'video', tiny, '-o', join(dir, 'next.mkv'), '--model', 'bicubic', '--scale', '2', '--no-progress'], { encoding: 'utf8' });
  assert.equal(next.status, 0, next.stderr);
  onlyFiles(dir, ['next.mkv']);

  const stopped = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  stopped.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(temp);
  stopped.kill('SIGINT');
  assert.equal(await exited(stopped), 130, err);
  assert.match(err, /interrupt: stopping and removing the unfinished output/);
  assert.match(err, /error: interrupted; no output written\n$/);
  onlyFiles(dir, ['next.mkv']);
});

test('audio the output container cannot hold is refused before any work', { skip }, () => {
  failsCleanly('webm-aac', tiny, /^error: .*out\.webm: the input's aac audio cannot be copied into a \.webm file; use \.mkv/, [], process.env, 'out.webm');
});

test('a failure after the encoder started leaves nothing', { skip }, () => {
  failsCleanly('encoder', tiny, /^error: .*out\.mp4: encoding failed: Unknown encoder 'no-such-codec'/, ['--codec', 'no-such-codec']);
});

test('an upscaler failing mid-video stops both ffmpeg processes and removes the partial file', { skip }, async () => {
  const dir = join(root, 'midway');
  mkdirSync(dir);
  let n = 0;
  const failing: Method = {
    name: 'failing',
    scale: 2,
    run: async (f) => {
      if (++n === 6) throw new SrError('boom at frame 6');
      return { width: f.width * 2, height: f.height * 2, channels: 3, data: new Float32Array(f.width * f.height * 12) };
    },
  };
  await assert.rejects(upscaleVideo({ input: tiny, output: join(dir, 'x.mp4'), method: failing }), /boom at frame 6/);
  onlyFiles(dir, []);
  const ps = spawnSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' });
  assert.ok(!/ffmpeg/.test(ps.stdout), `ffmpeg still running: ${ps.stdout}`);
  // An abort signal is the same path (Ctrl-C in the CLI).
  const ctl = new AbortController();
  const slow: Method = { ...failing, run: async (f, o) => (ctl.abort(), failing.run(f, o)) };
  n = -100;
  await assert.rejects(upscaleVideo({ input: tiny, output: join(dir, 'y.mp4'), method: slow, signal: ctl.signal }), /interrupted; no output written/);
  onlyFiles(dir, []);
  assert.ok(existsSync(tiny));
});

test('the bounded queue never holds more than its capacity and passes errors both ways', async () => {
  const q = new BoundedQueue<number>(3);
  const producer = (async () => {
    for (let i = 0; i < 50; i++) await q.push(i);
    q.close();
  })();
  const got: number[] = [];
  for (let v = await q.shift(); v !== undefined; v = await q.shift()) {
    got.push(v);
    if (v % 7 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  await producer;
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i));
  assert.equal(q.highWater, 3);
  const q2 = new BoundedQueue<number>(1);
  await q2.push(1);
  const blocked = q2.push(2);
  q2.fail(new Error('consumer died'));
  await assert.rejects(blocked, /consumer died/);
  await assert.rejects(q2.shift(), /consumer died/);
});
