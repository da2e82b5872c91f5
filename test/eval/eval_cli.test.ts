import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, mkdirSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { SrError } from '../../src/util/errors.js';
import { registerEvalCommand } from '../../src/cli/commands/eval.js';
import { loadImage } from '../../src/io/image.js';

let dir: string;
let data: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'srgan-eval-'));
  data = join(dir, 'Tiny');
  mkdirSync(data);
  // one colour image and one grey one, sizes not multiples of 4 (mod-crop is exercised)
  const w = 50;
  const h = 42;
  const rgb = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    rgb[(y * w + x) * 3] = (x * 5) & 255;
    rgb[(y * w + x) * 3 + 1] = (y * 6) & 255;
    rgb[(y * w + x) * 3 + 2] = ((x ^ y) * 9) & 255;
  }
  await sharp(rgb, { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(data, 'a.png'));
  const grey = Buffer.alloc(45 * 45);
  for (let i = 0; i < grey.length; i++) grey[i] = (i * 37) & 255;
  await sharp(grey, { raw: { width: 45, height: 45, channels: 1 } }).toColourspace('b-w').png().toFile(join(data, 'b.png'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const program = new Command().exitOverride();
  registerEvalCommand(program, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } });
  await program.parseAsync(['node', 'srgan', 'eval', ...args]);
  return { out, err };
}

test('srgan eval writes the table, JSON, CSV, SR images and labelled comparison sheets', async () => {
  const outDir = join(dir, 'out');
  const { out, err } = await run(['--data', data, '--scale', '4', '--methods', 'nearest,bicubic', '--out', outDir, '--save']);
  assert.match(out, /Tiny x4: PSNR \(dB\) \/ SSIM on Y/);
  assert.match(out, /a\.png\s+\d+\.\d\d \/ 0\.\d{4}\s+\d+\.\d\d \/ 0\.\d{4}/);
  assert.match(out, /mean\s+\d+\.\d\d \/ 0\.\d{4}/);
  assert.match(err, /\[1\/2\] a\.png/);
  assert.match(err, /\[2\/2\] b\.png/);

  const json = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8'));
  assert.equal(json.scale, 4);
  assert.deepEqual(json.methods, ['nearest', 'bicubic']);
  assert.equal(json.images.length, 2);
  assert.equal(json.images[1].channels, 1);
  assert.deepEqual([json.images[0].width, json.images[0].height], [48, 40]);
  assert.ok(json.mean.bicubic.psnr > json.mean.nearest.psnr - 5);
  const csv = readFileSync(join(outDir, 'results.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'image,method,scale,psnr,ssim,seconds');
  assert.equal(csv.length, 1 + 2 * 2 + 2);

  const sr = await loadImage(join(outDir, 'bicubic', 'a.png'));
  assert.deepEqual([sr.width, sr.height, sr.channels], [48, 40, 3]);
  assert.equal((await loadImage(join(outDir, 'nearest', 'b.png'))).channels, 1);
  assert.deepEqual(readdirSync(join(outDir, 'sheets')).sort(), ['a.png', 'b.png']);

  // the sheet: overview + HR + 2 methods side by side, captions drawn in dark pixels below
  const sheet = await loadImage(join(outDir, 'sheets', 'a.png'));
  const side = 32 * 8; // crop 32 (minimum), zoom 8
  assert.equal(sheet.width, 8 + 4 * (side + 8));
  const captionTop = 8 + side + 8;
  for (let panel = 0; panel < 4; panel++) {
    let dark = 0;
    for (let y = captionTop; y < sheet.height; y++) {
      for (let x = 8 + panel * (side + 8); x < 8 + panel * (side + 8) + side; x++) if (sheet.data[(y * sheet.width + x) * 3]! < 0.2) dark++;
    }
    assert.ok(dark > 100, `caption of panel ${panel} has text (${dark} dark pixels)`);
  }
  assert.ok(!existsSync(join(outDir, 'sheets', '.tmp')), 'no temp files');
});

test('srgan eval --methods bicubic,foo fails with the known methods listed', async () => {
  await assert.rejects(
    run(['--data', data, '--methods', 'bicubic,foo', '--out', join(dir, 'x')]),
    (e: unknown) => e instanceof SrError && /unknown method 'foo'.*known methods: nearest, bicubic/.test(e.message),
  );
  await assert.rejects(run(['--data', join(dir, 'missing'), '--out', join(dir, 'y')]), (e: unknown) => e instanceof SrError && /no such folder/.test(e.message));
  await assert.rejects(run(['--data', data, '--scale', '2.5']), /--scale must be an integer/);
});
