import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { SrError } from '../../src/util/errors.js';
import { registerEvalCommand } from '../../src/cli/commands/eval.js';
import { loadImage } from '../../src/io/image.js';
import { defaultNiqeModelPath } from '../../src/eval/niqe.js';
import { writeTextureImage } from '../helpers/images.js';
import { tempDir } from '../helpers/tmp.js';

const skipNiqe = existsSync(defaultNiqeModelPath()) ? false : `NIQE's pristine model not found at ${defaultNiqeModelPath()} (needs ../shared/data)`;

const dir = tempDir('srgan-eval-');
let data: string;
before(async () => {
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
  await assert.rejects(run(['--data', data, '--scale', '2.5']), /--scale must be a whole number from 2 to 8, got '2.5'/);
});

/** An SrError whose message is one line matching `re`. */
const oneLine = (re: RegExp) => (e: unknown) => e instanceof SrError && re.test(e.message) && !e.message.includes('\n');

test('srgan eval --metrics: unknown names and NIQE on images under 96x96 are one-line errors', { skip: skipNiqe }, async () => {
  await assert.rejects(run(['--data', data, '--metrics', 'psnr,niq', '--out', join(dir, 'm1')]), oneLine(/unknown metric 'niq' \(did you mean 'niqe'\?\); known metrics: psnr, ssim, niqe, grid/));
  await assert.rejects(run(['--data', data, '--metrics', 'niqe,niqe', '--out', join(dir, 'm2')]), oneLine(/metric 'niqe' is listed twice/));
  // a.png is 48x40 after mod-crop, 40x32 once the x4 border is removed
  await assert.rejects(
    run(['--data', data, '--metrics', 'psnr,ssim,niqe', '--out', join(dir, 'm3')]),
    oneLine(/NIQE of method 'bicubic' for a\.png: NIQE needs an image of at least 96x96 pixels .*this one is 40x32 after removing a 4-pixel border from 48x40/),
  );
});

test('srgan eval --alpha-sweep refuses bad alpha lists in one line, before any work', async () => {
  const cases: Array<[string, RegExp]> = [
    ['0,1.5', /--alpha-sweep: 1\.5 is outside 0\.\.1/],
    ['-0.1,0.5', /--alpha-sweep: -0\.1 is outside 0\.\.1/],
    ['0,abc', /--alpha-sweep: 'abc' is not a number/],
    ['0.5,0.50', /--alpha-sweep: 0\.50 is listed twice/],
    ['0,,1', /--alpha-sweep takes numbers from 0 to 1 separated by commas/],
    ['', /--alpha-sweep takes numbers from 0 to 1/],
  ];
  for (const [list, re] of cases) {
    const out = join(dir, `bad-${cases.findIndex((c) => c[0] === list)}`);
    await assert.rejects(run(['--data', data, '--alpha-sweep', list, '--out', out]), oneLine(re), list);
    assert.ok(!existsSync(out), `nothing written for '${list}'`);
  }
});

test('srgan eval --alpha-sweep writes the plane: one row per alpha, bicubic and HR, as CSV, SVG and PNG', { skip: skipNiqe }, async () => {
  const set = join(dir, 'Plane');
  mkdirSync(set);
  // 112x112: 104x104 once the x4 border is removed, one NIQE block
  await writeTextureImage(join(set, 'p.png'), 112, 112, 21);
  await writeTextureImage(join(set, 'q.png'), 112, 112, 22);
  const outDir = join(dir, 'plane-out');
  const { out } = await run(['--data', set, '--scale', '4', '--alpha-sweep', '1,0', '--out', outDir]);
  assert.match(out, /PSNR \(dB\) \/ SSIM \/ NIQE on Y/);
  assert.match(out, /bicubic\s+alpha=1\s+alpha=0\s+HR/);
  assert.match(out, /perception-distortion plane \(means over 2 images\)/);

  const csv = readFileSync(join(outDir, 'plane.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0], 'point,alpha,psnr,rmse,ssim,niqe');
  assert.deepEqual(csv.slice(1).map((l) => l.split(',').slice(0, 2).join(',')), ['alpha=0,0', 'alpha=1,1', 'bicubic,', 'HR,']);
  for (const line of csv.slice(1)) {
    const [name, , psnr, rmse, ssim, niqe] = line.split(',');
    assert.ok(Number(niqe) > 0 && Number.isFinite(Number(niqe)), `${name} NIQE ${niqe}`);
    if (name === 'HR') assert.deepEqual([psnr, rmse, ssim], ['inf', '0.0000', '1.000000']);
    else assert.ok(Number(psnr) > 15 && Number(rmse) > 0 && Number(ssim) > 0, line);
  }
  const svg = readFileSync(join(outDir, 'plane.svg'), 'utf8');
  for (const label of ['α=0 (', 'α=1 (', 'bicubic (', '>HR<', 'NIQE', 'RMSE']) assert.ok(svg.includes(label), `plot shows ${label}`);
  const png = await sharp(join(outDir, 'plane.png')).metadata();
  assert.equal(png.format, 'png');

  const json = JSON.parse(readFileSync(join(outDir, 'results.json'), 'utf8'));
  assert.deepEqual(json.metrics, ['psnr', 'ssim', 'niqe']);
  assert.equal(json.plane.length, 4);
  assert.ok(json.images[0].reference.niqe > 0);
  const rows = readFileSync(join(outDir, 'results.csv'), 'utf8').trim().split('\n');
  assert.equal(rows[0], 'image,method,scale,psnr,ssim,niqe,seconds');
  assert.equal(rows.length, 1 + 2 * 4 + 4, 'per image: 3 methods + HR; then the means');
  assert.ok(rows.some((r) => r.startsWith('mean,HR,4,inf,1.000000,')));
});
