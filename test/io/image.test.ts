import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { SrError } from '../../src/util/errors.js';
import { loadImage, loadImage8, saveImage, encodeImage, imageSize } from '../../src/io/image.js';
import { toUint8, fromUint8, quantize8, type Image } from '../../src/image/image.js';
import { makePng, hugePngHeader } from './png_fixture.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('srgan-image-');

function file(name: string, data: Uint8Array | string): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

async function rejectsNaming(p: Promise<unknown>, path: string, what: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof SrError, `expected SrError, got ${String(err)}`);
    assert.ok(err.message.includes(path), `message should name ${path}: ${err.message}`);
    assert.match(err.message, what);
    return true;
  });
}

describe('loadImage layouts', () => {
  test('8-bit RGB PNG gives exact k/255 values', async () => {
    const samples = [0, 1, 2, 127, 128, 255, 10, 20, 30, 40, 50, 60];
    const p = file('rgb8.png', makePng({ width: 2, height: 2, colorType: 2, bitDepth: 8, samples }));
    const img = await loadImage(p);
    assert.equal(img.width, 2);
    assert.equal(img.height, 2);
    assert.equal(img.channels, 3);
    assert.equal(img.alpha, undefined);
    assert.deepEqual(Array.from(toUint8(img.data)), samples);
  });

  test('grey stays one channel', async () => {
    const samples = [0, 50, 100, 150, 200, 255];
    const img = await loadImage(file('grey8.png', makePng({ width: 3, height: 2, colorType: 0, bitDepth: 8, samples })));
    assert.equal(img.channels, 1);
    assert.deepEqual(Array.from(toUint8(img.data)), samples);
  });

  test('16-bit grey keeps 16-bit precision', async () => {
    const samples = [1, 1001, 2001, 30001, 65534, 65535];
    const img = await loadImage(file('grey16.png', makePng({ width: 3, height: 2, colorType: 0, bitDepth: 16, samples })));
    assert.equal(img.channels, 1);
    samples.forEach((v, i) => assert.ok(Math.abs(img.data[i]! * 65535 - v) < 0.01, `sample ${i}: ${img.data[i]! * 65535} vs ${v}`));
    // 1001/65535 is not on the 8-bit grid: an 8-bit decode would have moved it by ~0.1%
    assert.ok(Math.abs(img.data[1]! - 1001 / 65535) < 1e-7);
  });

  test('16-bit RGB keeps precision', async () => {
    const samples = Array.from({ length: 12 }, (_, i) => i * 5000 + 7);
    const img = await loadImage(file('rgb16.png', makePng({ width: 2, height: 2, colorType: 2, bitDepth: 16, samples })));
    assert.equal(img.channels, 3);
    samples.forEach((v, i) => assert.ok(Math.abs(img.data[i]! * 65535 - v) < 0.01));
  });

  test('grey + alpha (16-bit) gives one channel and alpha', async () => {
    const samples = [1000, 65535, 2000, 30000, 3000, 0, 4000, 12345];
    const img = await loadImage(file('ga16.png', makePng({ width: 2, height: 2, colorType: 4, bitDepth: 16, samples })));
    assert.equal(img.channels, 1);
    assert.ok(img.alpha);
    for (let p = 0; p < 4; p++) {
      assert.ok(Math.abs(img.data[p]! * 65535 - samples[2 * p]!) < 0.01);
      assert.ok(Math.abs(img.alpha[p]! * 65535 - samples[2 * p + 1]!) < 0.01);
    }
  });

  test('RGBA gives RGB and separate alpha', async () => {
    const samples = [10, 20, 30, 255, 40, 50, 60, 128, 70, 80, 90, 0, 1, 2, 3, 4];
    const img = await loadImage(file('rgba.png', makePng({ width: 2, height: 2, colorType: 6, bitDepth: 8, samples })));
    assert.equal(img.channels, 3);
    assert.deepEqual(Array.from(toUint8(img.data)), [10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3]);
    assert.deepEqual(Array.from(toUint8(img.alpha!)), [255, 128, 0, 4]);
  });

  test('palette with transparency expands to RGB + alpha', async () => {
    const img = await loadImage(
      file(
        'pal.png',
        makePng({
          width: 2,
          height: 1,
          colorType: 3,
          bitDepth: 8,
          samples: [0, 1],
          palette: [
            [255, 0, 0],
            [0, 0, 255],
          ],
          transparency: [255, 64],
        }),
      ),
    );
    assert.equal(img.channels, 3);
    assert.deepEqual(Array.from(toUint8(img.data)), [255, 0, 0, 0, 0, 255]);
    assert.deepEqual(Array.from(toUint8(img.alpha!)), [255, 64]);
  });

  test('EXIF orientation is applied', async () => {
    // left half white, right half black; orientation 6 = rotate 90 degrees clockwise to display,
    // so the left column ends up on top.
    const w = 32;
    const h = 16;
    const raw = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) raw.fill(255, (y * w + x) * 3, (y * w + x) * 3 + 3);
    const p = join(dir, 'o6.jpg');
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(p);
    const img = await loadImage(p);
    assert.equal(img.width, h);
    assert.equal(img.height, w);
    assert.ok(img.data[(4 * img.width + 8) * 3]! > 0.9, 'top is white');
    assert.ok(img.data[(28 * img.width + 8) * 3]! < 0.1, 'bottom is black');
    assert.deepEqual(await imageSize(p), { width: h, height: w });
  });

  test('JPEG, WebP, TIFF and GIF (first frame) decode', async () => {
    const w = 8;
    const h = 6;
    const frame = (v: number) => Buffer.alloc(w * h * 3, v);
    const src = () => sharp(frame(200), { raw: { width: w, height: h, channels: 3 } });
    await src().jpeg({ quality: 100 }).toFile(join(dir, 'a.jpg'));
    await src().webp({ lossless: true }).toFile(join(dir, 'a.webp'));
    await src().tiff({ compression: 'deflate' }).toFile(join(dir, 'a.tif'));
    await sharp(Buffer.concat([frame(200), frame(30)]), { raw: { width: w, height: 2 * h, channels: 3, pageHeight: h } })
      .gif()
      .toFile(join(dir, 'a.gif'));
    for (const name of ['a.jpg', 'a.webp', 'a.tif', 'a.gif']) {
      const img = await loadImage(join(dir, name));
      assert.equal(img.width, w, name);
      assert.equal(img.height, h, name);
      assert.equal(img.channels, 3, name);
      assert.equal(img.alpha, undefined, `${name}: opaque image has no alpha`);
      for (const v of toUint8(img.data)) assert.ok(Math.abs(v - 200) <= 2, `${name}: ${v}`);
    }
  });

  test('loadImage8 gives the same samples as uint8, 16-bit rounded', async () => {
    const p = file('g16b.png', makePng({ width: 2, height: 1, colorType: 0, bitDepth: 16, samples: [257 * 100, 257 * 200 + 128] }));
    const img = await loadImage8(p);
    assert.equal(img.channels, 1);
    assert.deepEqual(Array.from(img.data), [100, 200]);
  });
});

describe('loadImage rejects bad files with an SrError naming them', () => {
  test('missing file', async () => {
    const p = join(dir, 'nope.png');
    await rejectsNaming(loadImage(p), p, /no such file/);
  });

  test('empty file', async () => {
    const p = file('empty.png', '');
    await rejectsNaming(loadImage(p), p, /empty file/);
  });

  test('text file named .png', async () => {
    const p = file('text.png', 'hello, I am not a picture\n'.repeat(20));
    await rejectsNaming(loadImage(p), p, /not an image/);
  });

  test('truncated PNG', async () => {
    const raw = Buffer.alloc(64 * 64 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919) & 255;
    const full = await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).png().toBuffer();
    const p = file('trunc.png', full.subarray(0, Math.floor(full.length / 2)));
    await rejectsNaming(loadImage(p), p, /corrupt or truncated|unreadable/);
  });

  test('truncated JPEG', async () => {
    const raw = Buffer.alloc(64 * 64 * 3);
    for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919) & 255;
    const full = await sharp(raw, { raw: { width: 64, height: 64, channels: 3 } }).jpeg().toBuffer();
    const p = file('trunc.jpg', full.subarray(0, Math.floor(full.length / 2)));
    await rejectsNaming(loadImage(p), p, /corrupt or truncated|unreadable/);
  });

  test('image over the pixel limit is refused before decoding', async () => {
    const p = file('huge.png', hugePngHeader(30000, 20000));
    await rejectsNaming(loadImage(p), p, /30000x20000 .*over the 100\.0 MP limit/);
    const small = file('small.png', makePng({ width: 40, height: 30, colorType: 0, bitDepth: 8, samples: new Array(1200).fill(9) }));
    await rejectsNaming(loadImage(small, { maxPixels: 1000 }), small, /over the/);
  });

  test('a buffer is named by the given name', async () => {
    await rejectsNaming(loadImage(Buffer.from('junk'), { name: 'upload.png' }), 'upload.png', /not an image/);
  });
});

describe('saving', () => {
  const rgb: Image = { width: 3, height: 2, channels: 3, data: fromUint8(Uint8Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 250, 251, 255])) };

  test('PNG, TIFF and lossless-enough JPEG/WebP round trips', async () => {
    for (const ext of ['png', 'tif']) {
      const p = join(dir, `rt.${ext}`);
      await saveImage(rgb, p);
      const back = await loadImage(p);
      assert.deepEqual(Array.from(toUint8(back.data)), Array.from(toUint8(rgb.data)), ext);
    }
    for (const ext of ['jpg', 'webp']) {
      const p = join(dir, `rt.${ext}`);
      await saveImage(rgb, p, { quality: 100 });
      const back = await loadImage(p);
      assert.equal(back.width, 3);
      assert.equal(back.channels, 3);
    }
  });

  test('grey stays grey, alpha is kept in PNG', async () => {
    const grey: Image = { width: 2, height: 2, channels: 1, data: fromUint8(Uint8Array.from([0, 85, 170, 255])), alpha: fromUint8(Uint8Array.from([255, 0, 128, 255])) };
    const p = join(dir, 'ga.png');
    await saveImage(grey, p);
    const meta = await sharp(p).metadata();
    assert.equal(meta.channels, 2);
    const back = await loadImage(p);
    assert.equal(back.channels, 1);
    assert.deepEqual(Array.from(toUint8(back.data)), [0, 85, 170, 255]);
    assert.deepEqual(Array.from(toUint8(back.alpha!)), [255, 0, 128, 255]);
  });

  test('16-bit PNG keeps precision', async () => {
    const img: Image = { width: 2, height: 1, channels: 1, data: Float32Array.from([1001 / 65535, 40000 / 65535]) };
    const p = join(dir, 'g16out.png');
    await saveImage(img, p, { bitDepth: 16 });
    const back = await loadImage(p);
    assert.ok(Math.abs(back.data[0]! * 65535 - 1001) < 0.01);
    assert.ok(Math.abs(back.data[1]! * 65535 - 40000) < 0.01);
  });

  test('encodeImage gives a buffer sharp can read', async () => {
    const buf = await encodeImage(rgb, 'webp', { quality: 90 });
    assert.equal((await sharp(buf).metadata()).format, 'webp');
  });

  test('saves are atomic: no temp files, existing file intact on failure', async () => {
    const sub = join(dir, 'atomic');
    mkdirSync(sub);
    const target = join(sub, 'out.png');
    await saveImage(rgb, target);
    const before = readFileSync(target);
    assert.deepEqual(readdirSync(sub), ['out.png']);

    const broken = { ...rgb, data: new Float32Array(5) };
    await assert.rejects(saveImage(broken, target), (e: unknown) => e instanceof SrError && /data has 5 values/.test(e.message));
    assert.deepEqual(readFileSync(target), before);

    // a write that fails at the rename (the target is a non-empty folder) leaves no temp file
    const asDir = join(sub, 'taken.png');
    mkdirSync(asDir);
    writeFileSync(join(asDir, 'x'), 'x');
    await assert.rejects(saveImage(rgb, asDir), (e: unknown) => e instanceof SrError && e.message.includes(asDir));
    assert.deepEqual(readdirSync(sub).sort(), ['out.png', 'taken.png']);
    assert.deepEqual(readFileSync(target), before);
  });

  test('unknown extension is an SrError', async () => {
    await assert.rejects(saveImage(rgb, join(dir, 'x.bmp')), (e: unknown) => e instanceof SrError && /\.bmp/.test(e.message));
  });
});

test('8-bit conversion rounds half up and saturates', () => {
  assert.deepEqual(Array.from(toUint8([0, 1, 0.5, -0.2, 1.7, NaN, 100.4 / 255, 100.6 / 255])), [0, 255, 128, 0, 255, 0, 100, 101]);
  assert.equal(quantize8(0.5), 128);
  assert.equal(quantize8(-1), 0);
  assert.equal(quantize8(2), 255);
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(toUint8(fromUint8(all)), all);
});
