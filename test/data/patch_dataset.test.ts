import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { SrError } from '../../src/util/errors.js';
import { PatchDataset, type PatchBatch } from '../../src/data/patch_dataset.js';
import { loadImage8 } from '../../src/io/image.js';
import type { Image8 } from '../../src/image/image.js';
import { imresize8 } from '../../src/image/resize.js';
import { modcrop } from '../../src/image/degrade.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('srgan-patches-');
let data: string;
const SCALE = 4;
const HR = 32;
const LR = HR / SCALE;

function pattern(w: number, h: number, c: number, seed: number): Buffer {
  const b = Buffer.alloc(w * h * c);
  let s = seed;
  for (let i = 0; i < b.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    b[i] = ((i % (w * c)) * 3 + Math.floor(i / (w * c)) * 5 + (s >>> 28)) & 255;
  }
  return b;
}

before(async () => {
  data = join(dir, 'train');
  mkdirSync(data);
  const rgb = async (name: string, w: number, h: number, seed: number) =>
    sharp(pattern(w, h, 3, seed), { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(data, name));
  await rgb('a.png', 70, 50, 1);
  await rgb('b.png', 64, 64, 2);
  await rgb('c.png', 90, 61, 3);
  await sharp(pattern(48, 40, 3, 4), { raw: { width: 48, height: 40, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(data, 'd.jpg'));
  await sharp(pattern(60, 52, 1, 5), { raw: { width: 60, height: 52, channels: 1 } }).toColourspace('b-w').png().toFile(join(data, 'e-grey.png'));
  await rgb('f-tiny.png', 20, 40, 6);
});

async function take(ds: PatchDataset, n: number): Promise<PatchBatch[]> {
  const out: PatchBatch[] = [];
  for (let i = 0; i < n; i++) out.push(await ds.next());
  return out;
}

function sameBatches(a: PatchBatch[], b: PatchBatch[]): void {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => {
    assert.deepEqual(x.samples, b[i]!.samples);
    assert.deepEqual(x.lr, b[i]!.lr);
    assert.deepEqual(x.hr, b[i]!.hr);
  });
}

/** The patch the dataset should have cut, computed here from the file, the protocol and the transform. */
function expectedPatch(src: Image8, x0: number, y0: number, size: number, t: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let a = t & 4 ? x : y;
      let b = t & 4 ? y : x;
      if (t & 1) b = size - 1 - b;
      if (t & 2) a = size - 1 - a;
      const p = (y0 + a) * src.width + (x0 + b);
      for (let c = 0; c < 3; c++) out.push(src.data[p * src.channels + (src.channels === 1 ? 0 : c)]!);
    }
  }
  return out;
}

test('batches: shapes, ranges, and every patch equals the protocol LR/HR crop with its transform', async () => {
  const warnings: string[] = [];
  const ds = await PatchDataset.open({ dir: data, scale: SCALE, hrPatch: HR, batch: 5, seed: 3, workers: 2, onWarning: (m) => warnings.push(m) });
  try {
    assert.equal(ds.images.length, 5);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /skipping .*f-tiny\.png: 20x40 is smaller than the 32x32 HR patch/);
    const refs = new Map<string, { hr: Image8; lr: Image8 }>();
    const transforms = new Set<number>();
    for (const b of await take(ds, 6)) {
      assert.equal(b.batch, 5);
      assert.equal(b.lrSize, LR);
      assert.equal(b.hrSize, HR);
      assert.equal(b.lr.length, 5 * LR * LR * 3);
      assert.equal(b.hr.length, 5 * HR * HR * 3);
      for (const v of b.lr) assert.ok(v >= 0 && v <= 1);
      for (const v of b.hr) assert.ok(v >= -1 && v <= 1);
      for (let i = 0; i < b.samples.length; i++) {
        const s = b.samples[i]!;
        transforms.add(s.transform);
        let ref = refs.get(s.file);
        if (!ref) {
          const img = await loadImage8(s.file);
          const hr = modcrop(img, SCALE);
          ref = { hr, lr: imresize8(hr, { scale: 1 / SCALE }) };
          refs.set(s.file, ref);
        }
        assert.equal(s.x % SCALE, 0);
        assert.equal(s.y % SCALE, 0);
        const lrWant = expectedPatch(ref.lr, s.x / SCALE, s.y / SCALE, LR, s.transform);
        const hrWant = expectedPatch(ref.hr, s.x, s.y, HR, s.transform);
        const lrGot = Array.from(b.lr.subarray(i * LR * LR * 3, (i + 1) * LR * LR * 3), (v) => Math.round(v * 255));
        const hrGot = Array.from(b.hr.subarray(i * HR * HR * 3, (i + 1) * HR * HR * 3), (v) => Math.round((v + 1) * 127.5));
        assert.deepEqual(lrGot, lrWant, `LR patch of ${s.file}`);
        assert.deepEqual(hrGot, hrWant, `HR patch of ${s.file}`);
      }
    }
    assert.ok(transforms.size >= 5, `flips and rotations are drawn (${[...transforms]})`);
  } finally {
    await ds.close();
  }
});

test('the stream depends only on the seed: same with 1 or 2 workers, other seeds differ', async () => {
  const a = await PatchDataset.open({ dir: data, scale: SCALE, hrPatch: HR, batch: 4, seed: 11, workers: 1, onWarning: () => {} });
  const b = await PatchDataset.open({ dir: data, scale: SCALE, hrPatch: HR, batch: 4, seed: 11, workers: 2, prefetch: 5, onWarning: () => {} });
  const c = await PatchDataset.open({ dir: data, scale: SCALE, hrPatch: HR, batch: 4, seed: 12, workers: 1, onWarning: () => {} });
  try {
    const ba = await take(a, 4);
    sameBatches(ba, await take(b, 4));
    const bc = await take(c, 4);
    assert.notDeepEqual(
      ba.map((x) => x.samples),
      bc.map((x) => x.samples),
    );
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

test('each epoch uses every image once', async () => {
  const ds = await PatchDataset.open({ dir: data, scale: SCALE, hrPatch: HR, batch: 5, seed: 2, workers: 1, onWarning: () => {} });
  try {
    const [e1, e2] = await take(ds, 2);
    for (const b of [e1!, e2!]) assert.equal(new Set(b.samples.map((s) => s.file)).size, 5);
  } finally {
    await ds.close();
  }
});

test('state() resumes exactly, through open({state}) and restore(), after a JSON round trip', async () => {
  const opts = { dir: data, scale: SCALE, hrPatch: HR, batch: 3, seed: 99, workers: 1, onWarning: () => {} };
  const a = await PatchDataset.open(opts);
  try {
    await take(a, 3);
    const saved = JSON.parse(JSON.stringify(a.state()));
    assert.equal(saved.batchesServed, 3);
    const rest = await take(a, 3);
    assert.deepEqual(
      rest.map((b) => b.index),
      [3, 4, 5],
    );
    const b = await PatchDataset.open({ ...opts, workers: 2, state: saved });
    try {
      sameBatches(await take(b, 3), rest);
    } finally {
      await b.close();
    }
    a.restore(saved);
    sameBatches(await take(a, 3), rest);
    assert.throws(() => a.restore({ ...saved, seed: 1 }), (e: unknown) => e instanceof SrError && /seed 1 vs 99/.test(e.message));
    assert.throws(() => a.restore({ ...saved, fingerprint: 5 }), /image set differs/);
  } finally {
    await a.close();
  }
  await assert.rejects(a.next(), /after close/);
});

test('a new patch or batch size continues the saved image order with a warning', async () => {
  const warnings: string[] = [];
  const base = { dir: data, scale: SCALE, batch: 2, seed: 7, workers: 1 };
  // 40 and 32 px leave the same images usable (f-tiny is skipped by both), so the set matches.
  const big = await PatchDataset.open({ ...base, hrPatch: 40, onWarning: () => {} });
  let saved;
  let next;
  try {
    await take(big, 2);
    saved = JSON.parse(JSON.stringify(big.state()));
    next = (await take(big, 1))[0]!;
  } finally {
    await big.close();
  }
  const small = await PatchDataset.open({ ...base, hrPatch: HR, state: saved, onWarning: (m) => warnings.push(m) });
  try {
    const b = (await take(small, 1))[0]!;
    assert.equal(b.index, 2);
    assert.equal(b.hrSize, HR);
    assert.equal(b.hr.length, 2 * HR * HR * 3);
    assert.deepEqual(
      b.samples.map((i) => i.file),
      next.samples.map((i) => i.file),
    );
    assert.match(warnings.join('\n'), /saved with 40px HR patches with 32px patches/);
  } finally {
    await small.close();
  }
  // Batches of 4 after batches of 2: the next batch starts at the first sample not yet served.
  const wide = await PatchDataset.open({ ...base, batch: 4, hrPatch: 40, state: saved, onWarning: (m) => warnings.push(m) });
  try {
    const b = (await take(wide, 1))[0]!;
    assert.equal(b.batch, 4);
    assert.deepEqual(
      b.samples.slice(0, 2).map((i) => [i.file, i.x, i.y, i.transform]),
      next.samples.map((i) => [i.file, i.x, i.y, i.transform]),
    );
    assert.match(warnings.at(-1)!, /saved with batches of 2 with batches of 4, from sample 4/);
  } finally {
    await wide.close();
  }
});

test('prefetching: a consumer that works between calls does not wait', async (t) => {
  const ds = await PatchDataset.open({ dir: data, scale: SCALE, hrPatch: HR, batch: 8, seed: 1, workers: 1, onWarning: () => {} });
  try {
    await ds.next(); // cold start: decodes
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 20)); // the "training step"
      const t0 = performance.now();
      await ds.next();
      waits.push(performance.now() - t0);
    }
    waits.sort((x, y) => x - y);
    const median = waits[5]!;
    t.diagnostic(`wait in next() with 20 ms of work between calls: median ${median.toFixed(2)} ms, max ${waits[9]!.toFixed(2)} ms`);
    assert.ok(median < 5, `median wait ${median} ms`);
  } finally {
    await ds.close();
  }
});

test('bad folders and options are SrErrors', async () => {
  await assert.rejects(PatchDataset.open({ dir: join(dir, 'nope'), scale: 4 }), (e: unknown) => e instanceof SrError && /no such folder/.test(e.message));
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(PatchDataset.open({ dir: empty, scale: 4 }), /no images in/);
  await assert.rejects(PatchDataset.open({ dir: data, scale: 4, hrPatch: 30 }), /multiple of the scale 4/);
  await assert.rejects(PatchDataset.open({ dir: data, scale: 4, hrPatch: 256, onWarning: () => {} }), /no image in .* is at least 256x256/);
  const broken = join(dir, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'x.png'), 'not a png');
  await assert.rejects(PatchDataset.open({ dir: broken, scale: 4 }), (e: unknown) => e instanceof SrError && e.message.includes(join(broken, 'x.png')));
});

test('--data a,b reads the images of both folders, in the order given', async () => {
  const second = join(dir, 'second');
  mkdirSync(second, { recursive: true });
  await sharp(pattern(64, 64, 3, 9), { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(join(second, 'z.png'));
  const one = await PatchDataset.open({ dir: data, scale: SCALE, hrPatch: HR, batch: 2, seed: 1, workers: 1, onWarning: () => {} });
  const both = await PatchDataset.open({ dir: `${data},${second}`, scale: SCALE, hrPatch: HR, batch: 2, seed: 1, workers: 1, onWarning: () => {} });
  assert.equal(both.images.length, one.images.length + 1);
  assert.equal(both.images.at(-1)!.path, join(second, 'z.png'));
  await one.close();
  await both.close();
});
