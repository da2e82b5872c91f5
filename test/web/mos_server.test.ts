// The MOS server without a browser: refused requests (bad scores, unknown ids, paths that try to
// leave the study, oversized bodies) change nothing, and ratings survive a SIGKILLed server.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import sharp from 'sharp';
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SrError } from '../../src/util/errors.js';
import { serveStudy, type MosServer } from '../../src/mos/server.js';
import { StudyDb } from '../../src/mos/db.js';
import type { StudyManifest } from '../../src/mos/study.js';
import { form, makeStudy, raw, runMos } from './mos_helpers.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('srgan-mos-');
let study: string;
let manifest: StudyManifest;

before(async () => {
  study = await makeStudy(dir);
  manifest = JSON.parse(readFileSync(join(study, 'study.json'), 'utf8')) as StudyManifest;
});

/** Everything a request could change: the database's rows and every file but SQLite's WAL pair. */
function snapshot(): string {
  const db = StudyDb.open(join(study, 'ratings.sqlite'));
  let rows: string;
  try {
    rows = JSON.stringify([db.db.prepare('SELECT * FROM raters ORDER BY id').all(), db.ratings(), db.items()]);
  } finally {
    db.close();
  }
  const files: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p, `${rel}${n}/`);
      else if (!/ratings\.sqlite(-wal|-shm)?$/.test(n)) files.push(`${rel}${n}:${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(study, '');
  return rows + '\n' + files.join('\n');
}

test('mos create makes opaque ids, refuses to overwrite, and names unknown methods', async () => {
  assert.deepEqual(manifest.methods, ['nearest', 'bicubic', 'hr']);
  const studyItems = manifest.items.filter((i) => i.role === 'study');
  assert.equal(studyItems.length, 6);
  for (const it of manifest.items) {
    assert.match(it.id, /^[0-9a-f]{16}$/);
    assert.equal(it.file, `images/${it.id}.png`);
  }
  assert.deepEqual(readdirSync(join(study, 'images')).sort(), manifest.items.map((i) => `${i.id}.png`).sort());
  assert.deepEqual(readdirSync(dir).sort(), ['calibration', 'photos', 'study'], 'no temporary folder left');
  const cal = ['--calibration', join(dir, 'calibration')];
  await assert.rejects(runMos(['create', '--data', join(dir, 'photos'), '--methods', 'nearest', '--out', study, ...cal]), (e: unknown) => e instanceof SrError && /already exists/.test(e.message));
  await assert.rejects(runMos(['create', '--data', join(dir, 'photos'), '--methods', 'nearest,bicubc', '--out', join(dir, 'x'), ...cal]), /unknown method 'bicubc' \(did you mean 'bicubic'\?\)/);
  await assert.rejects(runMos(['report', study]), /no ratings yet/);
  assert.deepEqual(readdirSync(dir).sort(), ['calibration', 'photos', 'study']);
});

test('mos create calibrates with an image from outside the study set, never one of its images', async () => {
  const photos = join(dir, 'photos');
  assert.equal(manifest.calibration.image, 'img0.png');
  const calibrated = manifest.items.filter((i) => i.role !== 'study');
  assert.deepEqual(calibrated.map((i) => [i.image, i.method]), [['img0.png', 'nearest'], ['img0.png', 'hr']]);
  // the calibration image really is the third texture, not the study's img0.png
  assert.notEqual(readFileSync(join(study, `images/${manifest.calibration.high}.png`)).toString('hex'), readFileSync(join(study, `images/${studyItemOf('img0.png')}.png`)).toString('hex'));
  const out = join(dir, 'refused');
  // a study image by path, and the same pixels under another name and another PNG encoding
  await assert.rejects(runMos(['create', '--data', photos, '--methods', 'nearest', '--out', out, '--calibration', join(photos, 'img1.png')]), /--calibration .*img1\.png is the study image img1\.png/);
  const copy = join(dir, 'copy-of-img0.png');
  await sharp(join(photos, 'img0.png')).png({ compressionLevel: 1 }).toFile(copy);
  await assert.rejects(runMos(['create', '--data', photos, '--methods', 'nearest', '--out', out, '--calibration', copy]), /copy-of-img0\.png is the study image img0\.png/);
  await assert.rejects(runMos(['create', '--data', photos, '--methods', 'nearest', '--out', out]), /required option '--calibration/);
  assert.ok(!existsSync(out));
  rmSync(copy);
});

function studyItemOf(image: string): string {
  return manifest.items.find((i) => i.role === 'study' && i.image === image && i.method === 'hr')!.id;
}

test('POST /start is bounded per client address and in total; a refused start makes no rater', async () => {
  const start = (port: number) => raw(port, 'POST', '/start', { headers: { Accept: 'application/json' } });
  const raters = () => {
    const db = StudyDb.open(join(study, 'ratings.sqlite'));
    try {
      return db.counts().raters;
    } finally {
      db.close();
    }
  };
  const before = raters();
  let s = await serveStudy(study, { port: 0, maxRatersPerClient: 2 });
  try {
    const port = Number(new URL(s.url).port);
    assert.deepEqual([(await start(port)).status, (await start(port)).status], [201, 201]);
    const third = await start(port);
    assert.equal(third.status, 429);
    assert.match(JSON.parse(third.body).error, /too many new raters from your address \(2 an hour\)/);
  } finally {
    await s.close();
  }
  assert.equal(raters(), before + 2);
  s = await serveStudy(study, { port: 0, maxRaters: before + 3 });
  try {
    const port = Number(new URL(s.url).port);
    assert.equal((await start(port)).status, 201);
    const full = await start(port);
    assert.equal(full.status, 429);
    assert.match(JSON.parse(full.body).error, new RegExp(`already has its ${before + 3} raters`));
  } finally {
    await s.close();
  }
  assert.equal(raters(), before + 3);
});

test('refused requests are refused and write nothing', async () => {
  const s: MosServer = await serveStudy(study, { port: 0 });
  try {
    const port = Number(new URL(s.url).port);
    const start = await raw(port, 'POST', '/start', { headers: { Accept: 'application/json' } });
    assert.equal(start.status, 201);
    const { token } = JSON.parse(start.body) as { token: string };
    const studyItem = manifest.items.find((i) => i.role === 'study')!;
    const before = snapshot();

    const refused: Array<[string, number, Promise<{ status: number; body: string }>]> = [
      ['score 9', 400, raw(port, 'POST', '/rate', form({ r: token, item: studyItem.id, score: '9' }))],
      ['score 0', 400, raw(port, 'POST', '/rate', form({ r: token, item: studyItem.id, score: '0' }))],
      ['score 3.5', 400, raw(port, 'POST', '/rate', form({ r: token, item: studyItem.id, score: '3.5' }))],
      ['score missing', 400, raw(port, 'POST', '/rate', form({ r: token, item: studyItem.id }))],
      ['unknown image id', 404, raw(port, 'POST', '/rate', form({ r: token, item: '0123456789abcdef', score: '3' }))],
      ['path as image id', 404, raw(port, 'POST', '/rate', form({ r: token, item: '../study.json', score: '3' }))],
      ['calibration image', 404, raw(port, 'POST', '/rate', form({ r: token, item: manifest.calibration.low, score: '1' }))],
      ['unknown rater', 403, raw(port, 'POST', '/rate', form({ r: 'f'.repeat(32), item: studyItem.id, score: '3' }))],
      ['no rater', 403, raw(port, 'POST', '/rate', form({ item: studyItem.id, score: '3' }))],
      ['not a form', 415, raw(port, 'POST', '/rate', { headers: { 'Content-Type': 'text/plain' }, body: `r=${token}&item=${studyItem.id}&score=3` })],
      ['bad JSON', 400, raw(port, 'POST', '/rate', { headers: { 'Content-Type': 'application/json' }, body: '{"r":' })],
      ['oversized body (declared)', 413, raw(port, 'POST', '/rate', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `r=${token}&item=${studyItem.id}&score=3&pad=${'x'.repeat(200_000)}` })],
      ['oversized body (chunked)', 413, raw(port, 'POST', '/rate', { headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Transfer-Encoding': 'chunked' }, body: `r=${token}&item=${studyItem.id}&score=3&pad=${'x'.repeat(200_000)}` })],
      ['oversized /start', 413, raw(port, 'POST', '/start', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'x'.repeat(100_000) })],
      ['../ in image path', 404, raw(port, 'GET', '/img/../study.json')],
      ['encoded ../', 404, raw(port, 'GET', '/img/..%2Fstudy.json')],
      ['encoded ../ to the database', 404, raw(port, 'GET', '/img/%2e%2e%2fratings.sqlite')],
      ['../ at the root', 404, raw(port, 'GET', '/../../etc/passwd')],
      ['the manifest', 404, raw(port, 'GET', '/study.json')],
      ['the images folder', 404, raw(port, 'GET', `/images/${studyItem.id}.png`)],
      ['id with a suffix', 404, raw(port, 'GET', `/img/${studyItem.id}.png`)],
      ['unknown resume token', 404, raw(port, 'GET', `/r/${'0'.repeat(32)}`)],
      ['other method', 405, raw(port, 'DELETE', '/rate')],
    ];
    for (const [what, status, p] of refused) {
      const r = await p;
      assert.equal(r.status, status, `${what}: ${r.status} ${r.body.slice(0, 200)}`);
    }
    assert.equal(snapshot(), before, 'refused requests left the database and the folder as they were');

    // The one good request does write, once; the same rating again is a conflict.
    const ok = await raw(port, 'POST', '/rate', form({ r: token, item: studyItem.id, score: '4' }));
    assert.equal(ok.status, 200, ok.body);
    assert.equal(JSON.parse(ok.body).rated, 1);
    const again = await raw(port, 'POST', '/rate', form({ r: token, item: studyItem.id, score: '5' }));
    assert.equal(again.status, 409);
    const img = await raw(port, 'GET', `/img/${studyItem.id}`);
    assert.equal(img.status, 200);
    assert.equal(img.headers['content-type'], 'image/png');
    const db = StudyDb.open(join(study, 'ratings.sqlite'));
    try {
      assert.deepEqual(db.ratings().map((r) => [r.item_id, r.method, r.score]), [[studyItem.id, studyItem.method, 4]]);
    } finally {
      db.close();
    }
  } finally {
    await s.close();
  }
});

test('ratings survive a SIGKILLed server, and the rater resumes where they left', async () => {
  const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
  const startServer = async () => {
    const child = spawn(process.execPath, [cli, 'mos', 'serve', study, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /raters open (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]!);
      });
      child.on('exit', (code) => reject(new Error(`server exited (${code}): ${out}`)));
    });
    return { child, port: Number(new URL(url).port) };
  };
  const kill = (child: ReturnType<typeof spawn>) =>
    new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });

  let srv = await startServer();
  const start = await raw(srv.port, 'POST', '/start', { headers: { Accept: 'application/json' } });
  const { token } = JSON.parse(start.body) as { token: string };
  const rated: string[] = [];
  for (let i = 0; i < 2; i++) {
    const page = await raw(srv.port, 'GET', `/?r=${token}`);
    const id = /\/img\/([0-9a-f]{16})/.exec(page.body)![1]!;
    const r = await raw(srv.port, 'POST', '/rate', form({ r: token, item: id, score: String(i + 2) }));
    assert.equal(r.status, 200);
    rated.push(id);
  }
  await kill(srv.child); // no clean shutdown: whatever was acknowledged must be on disk

  srv = await startServer();
  try {
    const page = await raw(srv.port, 'GET', '/', { headers: { Cookie: `mos_rater=${token}` } });
    assert.match(page.body, /Image 3 of 6/);
    const next = /\/img\/([0-9a-f]{16})/.exec(page.body)![1]!;
    assert.ok(!rated.includes(next), 'the next image is one not rated yet');
  } finally {
    await kill(srv.child);
  }
  const db = StudyDb.open(join(study, 'ratings.sqlite'));
  try {
    const mine = db.ratings().filter((r) => rated.includes(r.item_id) && r.rater_id === db.raterByToken(token)!.id);
    assert.deepEqual(mine.map((r) => r.score).sort(), [2, 3]);
  } finally {
    db.close();
  }
});
