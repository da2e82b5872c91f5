import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { initBackend } from '../../src/tfjs/backend.js';
import { registerUpscaleCommand } from '../../src/cli/commands/upscale.js';
import { registerEvalCommand } from '../../src/cli/commands/eval.js';
import { loadImage } from '../../src/io/image.js';
import { writeTextureImage } from '../helpers/images.js';
import { writeTestModel } from '../helpers/sr_models.js';
import { hugePngHeader } from '../io/png_fixture.js';
import { spawn } from 'node:child_process';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('srgan-upcli-');
let weights: string;
before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  weights = await writeTestModel(join(dir, 'g.safetensors'), { blocks: 1, channels: 8, seed: 4 });
});

async function run(args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  let code = 0;
  const program = new Command().exitOverride();
  registerUpscaleCommand(program, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) }, setExitCode: (c) => (code = c) });
  try {
    await program.parseAsync(['node', 'srgan', 'upscale', ...args, '--model', weights, '--no-progress']);
  } catch (e) {
    return { out, err: err + `thrown: ${(e as Error).message}\n`, code: 1 };
  }
  return { out, err, code };
}

/** Temp files a failed or interrupted atomic write would leave behind. */
function temps(folder: string): string[] {
  return readdirSync(folder, { recursive: true }).map(String).filter((f) => /(^|\/)\.tmp-/.test(f));
}

test('one file: <name>_x4.<ext> next to it, then no overwrite without --force', async () => {
  const sub = join(dir, 'single');
  mkdirSync(sub);
  const input = join(sub, 'photo.jpg');
  await sharp(Buffer.alloc(30 * 22 * 3, 90), { raw: { width: 30, height: 22, channels: 3 } }).jpeg().toFile(input);
  const r = await run([input, '--tile', '16', '--overlap', '4']);
  assert.equal(r.code, 0, r.err);
  const output = join(sub, 'photo_x4.jpg');
  assert.deepEqual((await sharp(output).metadata()).format, 'jpeg');
  const img = await loadImage(output);
  assert.deepEqual([img.width, img.height], [120, 88]);
  assert.match(r.out, /upscaled 1 of 1 file x4 .* 0\.01 MP out in \d+\.\d s/);

  const before = readFileSync(output);
  const again = await run([input]);
  assert.equal(again.code, 1);
  assert.match(again.err, /photo_x4\.jpg exists; refusing to overwrite it \(use --force\)/);
  assert.deepEqual(readFileSync(output), before);
  const forced = await run([input, '--force', '--format', 'png', '-o', output]);
  assert.equal(forced.code, 0, forced.err);
  assert.equal((await sharp(output).metadata()).format, 'png');
  // an output path naming the input is refused too
  const self = await run([input, '-o', input]);
  assert.equal(self.code, 1);
  assert.match(self.err, /is an input; refusing to overwrite it/);
  assert.deepEqual(temps(sub), []);
});

test('a folder with a corrupt file: the others are done, the bad one reported, exit code 1', async () => {
  const folder = join(dir, 'photos');
  mkdirSync(folder);
  await writeTextureImage(join(folder, 'a.png'), 24, 20, 1);
  await writeTextureImage(join(folder, 'b.png'), 20, 24, 2);
  const png = readFileSync(join(folder, 'a.png'));
  writeFileSync(join(folder, 'broken.png'), png.subarray(0, Math.floor(png.length / 2)));
  writeFileSync(join(folder, 'notes.txt'), 'not an image');
  // a grey image with transparency comes back grey with transparency
  const ga = Buffer.alloc(16 * 16 * 2);
  for (let i = 0; i < 256; i++) ga.set([i, i < 128 ? 0 : 255], 2 * i);
  await sharp(ga, { raw: { width: 16, height: 16, channels: 2 } }).toColourspace('b-w').png().toFile(join(folder, 'c.png'));

  const r = await run([folder]);
  assert.equal(r.code, 1);
  assert.match(r.err, /error: .*broken\.png: corrupt or truncated/);
  assert.doesNotMatch(r.err, /notes\.txt/);
  assert.match(r.out, /upscaled 3 of 4 files .*, 1 failed/);
  const outDir = `${folder}_x4`;
  assert.deepEqual(readdirSync(outDir).sort(), ['a.png', 'b.png', 'c.png']);
  const c = await loadImage(join(outDir, 'c.png'));
  assert.equal(c.channels, 1);
  assert.ok(c.alpha && c.alpha[0] === 0 && c.alpha[64 * 64 - 1] === 1);
  assert.deepEqual(temps(folder), []);
  assert.deepEqual(temps(outDir), []);
});

test('globs and lists of files, into -o folder; missing and non-image inputs are reported', async () => {
  const src = join(dir, 'globbed');
  mkdirSync(src);
  await writeTextureImage(join(src, 'x1.png'), 16, 16, 3);
  await writeTextureImage(join(src, 'x2.png'), 16, 16, 4);
  writeFileSync(join(src, 'fake.png'), 'hello');
  const out = join(dir, 'globbed-out');
  const r = await run([join(src, 'x*.png'), join(src, 'fake.png'), join(src, 'missing.png'), '-o', out, '--format', 'webp', '--engine', 'tfjs']);
  assert.equal(r.code, 1);
  assert.match(r.err, /missing\.png: no such file or folder/);
  assert.match(r.err, /fake\.png: not an image in a supported format/);
  assert.deepEqual(readdirSync(out).sort(), ['x1.webp', 'x2.webp']);
  assert.ok(!existsSync(join(out, 'fake.webp')));

  const none = await run([join(src, '*.gif')]);
  assert.equal(none.code, 1);
  assert.match(none.err, /no image files match this pattern/);
});

test('bad options and a missing shipped model fail with clear messages', async () => {
  const input = join(dir, 'opt.png');
  await writeTextureImage(input, 16, 16, 5);
  const program = () => {
    const p = new Command().exitOverride();
    registerUpscaleCommand(p, { out: { write: () => true }, err: { write: () => true }, setExitCode: () => undefined });
    return p;
  };
  await assert.rejects(program().parseAsync(['node', 'srgan', 'upscale', input, '--model', 'srgan', '--scale', '8']), /shipped model 'srgan' x8 is not installed/);
  await assert.rejects(program().parseAsync(['node', 'srgan', 'upscale', input, '--model', 'esrgan']), /unknown model 'esrgan': use srresnet or srgan/);
  await assert.rejects(program().parseAsync(['node', 'srgan', 'upscale', input, '--alpha', '2']), /--alpha must be a number from 0 to 1/);
  await assert.rejects(program().parseAsync(['node', 'srgan', 'upscale', input, '--alpha', '0.5', '--model', weights]), /cannot be combined with --model/);
  await assert.rejects(program().parseAsync(['node', 'srgan', 'upscale', input, '--model', weights, '--tile', '32', '--overlap', '16']), /at least 3x the overlap/);
  await assert.rejects(program().parseAsync(['node', 'srgan', 'upscale', input, '--model', weights, '--engine', 'webgpu']), /unknown engine 'webgpu'/);
  await assert.rejects(program().parseAsync(['node', 'srgan', 'upscale', input, '--model', weights, '--format', 'bmp']), /--format must be one of png, jpeg, webp, tiff/);
});

test('srgan eval --methods takes a weights file', async () => {
  const data = join(dir, 'evalset');
  mkdirSync(data);
  await writeTextureImage(join(data, 'e.png'), 32, 24, 6);
  copyFileSync(weights, join(dir, 'tiny.safetensors'));
  let out = '';
  const program = new Command().exitOverride();
  registerEvalCommand(program, { out: { write: (s: string) => (out += s) }, err: { write: () => true } });
  await program.parseAsync(['node', 'srgan', 'eval', '--data', data, '--methods', `bicubic,${join(dir, 'tiny.safetensors')}`, '--out', join(dir, 'eval-out')]);
  assert.match(out, /e\.png\s+\d+\.\d\d \/ [\d.]+\s+-?\d+\.\d\d \/ [-\d.]+/);
});

test('an output over the limit is refused from the header, at once, naming the limit and its flag', async () => {
  const sub = join(dir, 'limits');
  mkdirSync(sub);
  // 10000x10000 passes the 100 MP input limit; x4 it would be 40000x40000 (V8 cannot even hold it)
  const huge = join(sub, 'huge.png');
  writeFileSync(huge, hugePngHeader(10000, 10000));
  const t0 = performance.now();
  const r = await run([huge]);
  const ms = performance.now() - t0;
  assert.equal(r.code, 1);
  assert.match(r.err, /huge\.png: x4 of 10000x10000 would be 40000x40000 \(1600\.0 MP\), over the 400\.0 MP limit for outputs; refusing it \(raise it with --max-output-pixels <MP>/);
  assert.ok(ms < 1000, `refused after ${ms.toFixed(0)} ms`);
  // the input limit names its flag too; raising the output limit lets the header check pass
  writeFileSync(join(sub, 'wide.png'), hugePngHeader(30000, 20000));
  assert.match((await run([join(sub, 'wide.png')])).err, /30000x20000 image \(600\.0 MP\) is over the 100\.0 MP limit for inputs; .*--max-pixels <MP>/);
  const raised = await run([huge, '--max-output-pixels', '2000', '--max-pixels', '100']);
  assert.doesNotMatch(raised.err, /over the .* limit/);
  assert.match(raised.err, /huge\.png: corrupt or truncated/, 'the header check passed; the (fake) pixel data did not');
  // a format's own limit is checked the same way
  await writeTextureImage(join(sub, 'long.png'), 4200, 8, 1);
  assert.match((await run([join(sub, 'long.png'), '--format', 'webp'])).err, /a 16800x32 image is over WEBP's 16383 px a side; write PNG or TIFF/);
  assert.deepEqual(readdirSync(sub).sort(), ['huge.png', 'long.png', 'wide.png']);
});

test('-o naming one file with several inputs is an error, and nothing is made', async () => {
  const sub = join(dir, 'one-out');
  mkdirSync(sub);
  await writeTextureImage(join(sub, 'a.png'), 16, 16, 1);
  await writeTextureImage(join(sub, 'b.png'), 16, 16, 2);
  for (const inputs of [[join(sub, 'a.png'), join(sub, 'b.png')], [sub]]) {
    const r = await run([...inputs, '-o', join(sub, 'one.png')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /-o .*one\.png names one image file, but there (are 2 inputs|is a folder of 2 images); give a folder for the outputs \(e\.g\. -o .*one\/\)/);
  }
  assert.deepEqual(readdirSync(sub).sort(), ['a.png', 'b.png']);
});

test('a 16-bit input gives 16-bit PNG and TIFF (8-bit JPEG); an animated GIF says only its first frame is used', async () => {
  const sub = join(dir, 'depth');
  mkdirSync(sub);
  const w = 20;
  const h = 14;
  const deep = new Uint16Array(w * h * 3);
  for (let i = 0; i < deep.length; i++) deep[i] = (i * 40503) % 65536;
  await sharp(Buffer.from(deep.buffer), { raw: { width: w, height: h, channels: 3 } }).toColourspace('rgb16').png().toFile(join(sub, 'deep.png'));
  for (const [format, depth] of [['png', 'ushort'], ['tiff', 'ushort'], ['jpeg', 'uchar']] as const) {
    const r = await run([join(sub, 'deep.png'), '-o', join(sub, `out-${format}/`), '--format', format]);
    assert.equal(r.code, 0, r.err);
    const out = join(sub, `out-${format}`, readdirSync(join(sub, `out-${format}`))[0]!);
    assert.equal((await sharp(out).metadata()).depth, depth, format);
    if (format === 'png') {
      // real 16-bit samples, not 8-bit ones widened (those are all multiples of 257)
      const px = await sharp(out).toColourspace('rgb16').raw({ depth: 'ushort' }).toBuffer();
      const v = new Uint16Array(px.buffer, px.byteOffset, px.length / 2);
      assert.ok(v.some((x) => x % 257 !== 0));
    }
  }
  const frame = Buffer.alloc(12 * 36 * 4, 255);
  for (let i = 0; i < frame.length; i += 4) frame[i] = (i * 7) % 251; // frames that differ
  await sharp(frame, { raw: { width: 12, height: 36, channels: 4, pageHeight: 12 } }).gif().toFile(join(sub, 'anim.gif'));
  const g = await run([join(sub, 'anim.gif')]);
  assert.equal(g.code, 0, g.err);
  assert.match(g.err, /warning: .*anim\.gif: animated gif with 3 frames; only the first is used/);
  assert.deepEqual(await sharp(join(sub, 'anim_x4.png')).metadata().then((m) => [m.width, m.height]), [48, 48]);
});

test('Ctrl-C during a folder upscale says which files were done and which were not, and exits 130', async () => {
  const folder = join(dir, 'many');
  mkdirSync(folder);
  const n = 24; // enough that the batch cannot finish between two looks at the output folder
  for (let i = 0; i < n; i++) await writeTextureImage(join(folder, `p${String(i).padStart(2, '0')}.png`), 220, 200, 40 + i);
  const outDir = `${folder}_x4`;
  const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
  const child = spawn(process.execPath, [cli, 'upscale', folder, '--model', weights, '--no-progress'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = new Promise<number | null>((res) => child.once('exit', (c) => res(c)));
  const pngs = () => (existsSync(outDir) ? readdirSync(outDir).filter((n) => n.endsWith('.png')) : []);
  for (const t0 = Date.now(); pngs().length === 0; ) {
    assert.ok(Date.now() - t0 < 60_000, 'no output after a minute');
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill('SIGINT');
  assert.equal(await code, 130, err);
  const made = pngs().sort();
  assert.ok(made.length >= 1 && made.length < n, `${made.length} outputs`);
  const m = new RegExp(`interrupted: (\\d+) of ${n} files done, (\\d+) not done\n`).exec(err);
  assert.ok(m, err);
  assert.equal(Number(m[1]), made.length);
  assert.equal(Number(m[1]) + Number(m[2]), n);
  for (const f of made) assert.match(err, new RegExp(`done: +.*${f} -> .*many_x4/${f}\n`));
  assert.match(err, /not done: .*p\d\d\.png \(stopped in the middle; nothing written\)\n/);
  assert.equal((err.match(/^not done: /gm) ?? []).length, n - made.length);
  assert.deepEqual(temps(outDir), []);
});
