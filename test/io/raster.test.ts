// Rasters: float rows to stored samples, in memory or in the TIFF that large outputs are
// assembled in; sharp (libvips) must read that file back sample for sample.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { RasterWriter, toRaster, type Raster } from '../../src/io/raster.js';
import { loadImage } from '../../src/io/image.js';
import { testTempDir } from '../helpers/tmp.js';

test('rows written in bands to a file read back through sharp exactly as the in-memory raster', async (t) => {
  const dir = testTempDir(t, 'srgan-raster-');
  const w = 37;
  const h = 23;
  for (const colour of [1, 3] as const) {
    for (const withAlpha of [false, true]) {
      for (const bits of [8, 16] as const) {
        const data = new Float32Array(w * h * colour).map((_, i) => ((i * 7919) % 1000) / 999);
        const alpha = withAlpha ? new Float32Array(w * h).map((_, i) => (i % 13) / 12) : undefined;
        const whole: Raster = toRaster(w, h, colour, data, alpha, bits);
        const file = join(dir, `r${colour}${withAlpha}${bits}.tif`);
        const writer = await RasterWriter.toFile(file, w, h, whole.channels, bits);
        // uneven bands, as the tiler hands them over
        for (const [y0, y1] of [[0, 5], [5, 6], [6, 17], [17, 23]] as const) {
          await writer.put(y0, y1 - y0, data.subarray(y0 * w * colour, y1 * w * colour), alpha?.subarray(y0 * w, y1 * w));
        }
        const done = await writer.finish();
        assert.ok('file' in done);
        const what = `${colour} colour, alpha ${withAlpha}, ${bits} bits`;
        const meta = await sharp(file).metadata();
        assert.deepEqual([meta.width, meta.height, meta.channels, meta.depth, meta.hasAlpha], [w, h, whole.channels, bits === 16 ? 'ushort' : 'uchar', withAlpha], what);
        // read with the project's own loader (grey stays grey, alpha apart), as stored integers
        const img = await loadImage(file);
        const max = bits === 16 ? 65535 : 255;
        const back = toRaster(w, h, img.channels, img.data.map((v) => v * max).map(Math.round).map((v) => v / max), img.alpha, bits);
        assert.equal(img.bitDepth, bits === 16 ? 16 : undefined, what);
        assert.deepEqual(Array.from(back.data), Array.from(whole.data), what);
      }
    }
  }
});

test('samples are rounded half up and saturated; NaN is 0; missing alpha is opaque', () => {
  const r = toRaster(5, 1, 1, Float32Array.from([-0.5, 0.5 / 255, 1.5 / 255, 2, NaN]), undefined, 8);
  assert.deepEqual(Array.from(r.data), [0, 1, 2, 255, 0]);
  const m = RasterWriter.inMemory(2, 1, 2, 16);
  void m.put(0, 1, Float32Array.from([0, 1]));
  return m.finish().then((done) => assert.deepEqual(Array.from((done as Raster).data), [0, 65535, 65535, 65535]));
});
