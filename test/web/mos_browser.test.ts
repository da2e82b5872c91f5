// A short MOS session in Chromium: two raters, each calibrated, each rating every image in their
// own order, one of them interrupted by a server restart and resuming from their link; then the
// database rows and the report's numbers. Screenshots of the welcome and rating pages and the
// report figure go to $SRGAN_SCREENSHOTS (default <tmp>/srgan-screenshots).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { serveStudy, raterOrder, type MosServer } from '../../src/mos/server.js';
import { StudyDb } from '../../src/mos/db.js';
import type { StudyManifest } from '../../src/mos/study.js';
import { browserSkipReason, launchBrowser, screenshotDir } from './browser.js';
import { makeStudy, runMos } from './mos_helpers.js';
import { tempDir } from '../helpers/tmp.js';

const skip = browserSkipReason();
const dir = tempDir('srgan-mos-browser-');
let study: string;
let manifest: StudyManifest;
let browser: Browser | undefined;

before(async () => {
  if (skip) return;
  study = await makeStudy(dir);
  manifest = JSON.parse(readFileSync(join(study, 'study.json'), 'utf8')) as StudyManifest;
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// What each rater thinks of each method; the report must give back exactly these means.
const SCORES: Record<string, Record<string, number>> = {
  A: { nearest: 1, bicubic: 3, hr: 5 },
  B: { nearest: 2, bicubic: 3, hr: 4 },
};

const METHOD_WORDS = /nearest|bicubic|bilinear|srresnet|srgan|\bhr\b|original/i;

async function currentItem(page: Page): Promise<string> {
  const src = await page.getAttribute('#subject', 'src');
  const m = /^\/img\/([0-9a-f]{16})$/.exec(src ?? '');
  assert.ok(m, `image URL is an opaque id: ${src}`);
  return m[1]!;
}

/** Does `act` (a form submission) and waits until the page it redirects to has loaded. */
async function submitAndLoad(page: Page, act: () => Promise<unknown>): Promise<void> {
  const loaded = page.waitForEvent('load');
  await act();
  await loaded;
  assert.match(page.url(), /\/\?r=[0-9a-f]{32}$/);
}

/** Rates `count` images as rater `who`; returns the ids in the order shown. */
async function rate(page: Page, who: string, count: number, useKeys: boolean): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < count; i++) {
    const html = await page.content();
    assert.doesNotMatch(html.replace(/<style>[\s\S]*?<\/style>/, ''), METHOD_WORDS, 'no method named in the page');
    const id = await currentItem(page);
    seen.push(id);
    const method = manifest.items.find((it) => it.id === id)!.method;
    const score = SCORES[who]![method]!;
    await submitAndLoad(page, () => (useKeys ? page.keyboard.press(String(score)) : page.click(`button[name=score][value="${score}"]`)));
  }
  return seen;
}

test('two raters complete a MOS session; rows and report agree with what they clicked', { skip }, async () => {
  const shots = screenshotDir();
  let server: MosServer = await serveStudy(study, { port: 0 });
  const port = Number(new URL(server.url).port);
  const ctxA = await browser!.newContext({ viewport: { width: 1000, height: 760 } });
  const ctxB = await browser!.newContext({ viewport: { width: 1000, height: 760 } });
  try {
    const a = await ctxA.newPage();
    const b = await ctxB.newPage();

    // Calibration first: the score-1 and score-5 examples, by opaque id, then Start.
    await a.goto(server.url);
    const calib = await a.$$eval('.calib img', (imgs) => imgs.map((i) => [(i as HTMLImageElement).getAttribute('src'), (i as HTMLImageElement).naturalWidth]));
    assert.deepEqual(calib.map((c) => c[0]), [`/img/${manifest.calibration.low}`, `/img/${manifest.calibration.high}`]);
    assert.ok(calib.every((c) => Number(c[1]) > 0), 'calibration images load');
    assert.doesNotMatch((await a.content()).replace(/<style>[\s\S]*?<\/style>/, ''), METHOD_WORDS);
    await a.screenshot({ path: join(shots, 'mos-welcome.png'), fullPage: true });
    await submitAndLoad(a, () => a.click('#start'));
    await b.goto(server.url);
    await submitAndLoad(b, () => b.click('#start'));
    assert.match(await a.textContent('h1') ?? '', /Image 1 of 6/);
    await a.screenshot({ path: join(shots, 'mos-rate.png'), fullPage: true });

    const seenA = await rate(a, 'A', 3, false);
    const seenB = await rate(b, 'B', 2, true);

    // Restart the server on the same port: A resumes through the cookie, B from the resume link
    // in a fresh browser context (another device, no cookie).
    const link = /(http:\/\/\S+\/r\/[0-9a-f]{32})/.exec((await b.textContent('form')) ?? '')![1]!;
    await server.close();
    server = await serveStudy(study, { port });
    await a.goto(server.url);
    assert.match(await a.textContent('h1') ?? '', /Image 4 of 6/);
    seenA.push(...(await rate(a, 'A', 3, true)));
    assert.match(await a.textContent('#done') ?? '', /rated all 6 images/);
    const b2 = await (await browser!.newContext()).newPage();
    await b2.goto(link);
    assert.match(await b2.textContent('h1') ?? '', /Image 3 of 6/);
    seenB.push(...(await rate(b2, 'B', 4, false)));
    await b2.context().close();

    const db = StudyDb.open(join(study, 'ratings.sqlite'));
    let rows;
    try {
      const ra = db.db.prepare('SELECT id, token, seed FROM raters ORDER BY id').all() as Array<{ id: number; token: string; seed: number }>;
      assert.equal(ra.length, 2);
      const studyItems = db.items().filter((i) => i.role === 'study');
      // Each saw every item once, in the order their own seed gives.
      assert.deepEqual(seenA, raterOrder(studyItems, ra[0]!.seed).map((i) => i.id));
      assert.deepEqual(seenB, raterOrder(studyItems, ra[1]!.seed).map((i) => i.id));
      rows = db.ratings();
    } finally {
      db.close();
    }
    assert.equal(rows.length, 12);
    for (const r of rows) {
      const item = manifest.items.find((i) => i.id === r.item_id)!;
      assert.equal(r.method, item.method);
      assert.equal(r.image, item.image);
      assert.equal(r.score, SCORES[r.rater_id === 1 ? 'A' : 'B']![r.method]);
      assert.ok(!Number.isNaN(Date.parse(r.rated_at)));
    }

    // The report: MOS nearest (1,1,2,2) 1.5, bicubic (3,3,3,3) 3, hr (5,5,4,4) 4.5.
    const out = join(dir, 'report');
    const { out: table } = await runMos(['report', study, '--out', out]);
    assert.match(table, /12 ratings from 2 raters/);
    assert.match(table, /nearest\s+4\s+1\.50\s+0\.58\s+0\.58\.\.2\.42/);
    assert.match(table, /bicubic\s+4\s+3\.00\s+0\.00\s+3\.00\.\.3\.00/);
    assert.match(table, /hr\s+4\s+4\.50\s+0\.58\s+3\.58\.\.5\.42/);
    assert.match(table, /nearest vs hr\s+0\.0\s+-2\.22\s+0\.0265/); // SciPy: 0.026518721959430728
    const summary = readFileSync(join(out, 'summary.csv'), 'utf8').trim().split('\n');
    assert.equal(summary[0], 'method,n,mos,sd,ci95_low,ci95_high,n1,n2,n3,n4,n5');
    assert.equal(summary[1], 'nearest,4,1.5000,0.5774,0.5813,2.4187,2,2,0,0,0');
    assert.equal(summary[3], 'hr,4,4.5000,0.5774,3.5813,5.4187,0,0,0,2,2');
    assert.equal(readFileSync(join(out, 'ratings.csv'), 'utf8').trim().split('\n').length, 13);
    const pairs = readFileSync(join(out, 'pairwise.csv'), 'utf8');
    assert.match(pairs, /^nearest,bicubic,4,4,0,-2\.33853\d*,0\.019359467/m); // SciPy: 0.01935946732736835
    const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    assert.deepEqual(json.methods.map((m: { mean: number }) => m.mean), [1.5, 3, 4.5]);
    const png = await sharp(join(out, 'distribution.png')).metadata();
    assert.ok(png.width! > 300 && png.height! > 300);
    copyFileSync(join(out, 'distribution.png'), join(shots, 'mos-distribution.png'));
    assert.ok(existsSync(join(out, 'distribution.svg')));
  } finally {
    await ctxA.close();
    await ctxB.close();
    await server.close();
  }
});
