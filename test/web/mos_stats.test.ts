// The MOS report's statistics against SciPy 1.17 (scipy.stats.t.ppf, scipy.special.erfc,
// scipy.stats.mannwhitneyu(method='asymptotic', use_continuity=True, alternative='two-sided')).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { erfc, holm, mannWhitneyU, studentTQuantile, summarize } from '../../src/mos/stats.js';
import { computeReport, formatReport } from '../../src/mos/report.js';
import { raterOrder } from '../../src/mos/server.js';
import type { ItemRow, RatingRow } from '../../src/mos/db.js';

const close = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b}`);

test('Student t quantiles and erfc match SciPy', () => {
  const t: Array<[number, number, number]> = [
    [0.975, 1, 12.706204736174694],
    [0.975, 3, 3.1824463052837078],
    [0.975, 4, 2.7764451051977934],
    [0.975, 10, 2.228138851986274],
    [0.975, 100, 1.9839715185235518],
    [0.995, 7, 3.4994832973504924],
  ];
  for (const [q, df, want] of t) close(studentTQuantile(q, df), want, 1e-9, `t(${q}, ${df})`);
  const e: Array<[number, number]> = [
    [0.1, 0.8875370839817152],
    [0.49, 0.48833173881147696],
    [0.7, 0.3221988061625817],
    [2.5, 0.00040695201744495886],
    [3.99, 1.6739211364520824e-8],
    [5.0, 1.5374597944280347e-12],
    [-1.3, 1.9340079449406524],
    [10, 2.0884875837625446e-45],
  ];
  for (const [x, want] of e) close(erfc(x), want, 1e-13, `erfc(${x})`);
});

test('Mann-Whitney U (tie- and continuity-corrected normal approximation) matches SciPy', () => {
  const cases: Array<[number[], number[], number, number]> = [
    [[1, 2, 2, 3, 3, 3, 4, 5, 5], [1, 1, 2, 2, 2, 3, 3, 4], 49.5, 0.19783338151367647],
    [[4, 5, 5, 4, 3, 5, 4, 4, 5, 5, 4, 3], [1, 2, 1, 1, 2, 1, 3, 1, 2], 107, 0.0001355128461512513],
    [[1, 1, 2, 2], [5, 5, 4, 4], 0, 0.026518721959430728],
    [[1, 1, 2, 2], [3, 3, 3, 3], 0, 0.01935946732736835],
    [Array.from({ length: 200 }, (_, i) => ((i * 7) % 5) + 1), Array.from({ length: 150 }, (_, i) => Math.min(5, ((i * 3) % 5) + 2)), 10200, 1.4933641145934487e-7],
  ];
  for (const [a, b, u, p] of cases) {
    const r = mannWhitneyU(a, b);
    assert.equal(r.u, u);
    close(r.p, p, 1e-9, `p of ${a.length} vs ${b.length}`);
    const rev = mannWhitneyU(b, a);
    assert.equal(rev.u, a.length * b.length - u);
    close(rev.p, p, 1e-12, 'symmetric p');
    assert.ok(Math.abs(rev.z + r.z) < 1e-12 && Math.abs(rev.r + r.r) < 1e-12);
  }
  assert.deepEqual(mannWhitneyU([3, 3], [3, 3, 3]).p, 1, 'all tied: no evidence');
  assert.ok(Number.isNaN(mannWhitneyU([], [1]).p));
});

test('summaries: mean, sample SD, t interval, counts; Holm adjustment', () => {
  const s = summarize([1, 1, 2, 2]);
  assert.equal(s.mean, 1.5);
  close(s.sd, 0.5773502691896257, 1e-12, 'sd');
  close(s.ciHigh - s.mean, 0.9186931155185393, 1e-9, 'ci half-width');
  assert.deepEqual(s.counts, [2, 2, 0, 0, 0]);
  const one = summarize([4]);
  assert.equal(one.mean, 4);
  assert.ok(Number.isNaN(one.sd) && Number.isNaN(one.ciLow));
  assert.deepEqual(holm([0.01, 0.04, 0.03]), [0.03, 0.06, 0.06]);
  assert.deepEqual(holm([0.5, NaN]), [0.5, NaN]);
});

test('report numbers and table from ratings', () => {
  const rows: RatingRow[] = [];
  const add = (rater: number, method: string, score: number, i: number) =>
    rows.push({ rater_id: rater, item_id: `${method}${i}`, image: `im${i}`, method, score, rated_at: '2026-01-01T00:00:00.000Z' });
  [1, 1, 2, 2].forEach((s, i) => add(1 + (i % 2), 'nearest', s, i));
  [3, 3, 3, 3].forEach((s, i) => add(1 + (i % 2), 'bicubic', s, i));
  [5, 5, 4, 4].forEach((s, i) => add(1 + (i % 2), 'hr', s, i));
  const r = computeReport(rows, ['nearest', 'bicubic', 'bilinear', 'hr'], { dataset: 'T', scale: 4 });
  assert.equal(r.raters, 2);
  assert.equal(r.ratings, 12);
  assert.deepEqual(r.methods.map((m) => [m.method, m.n, m.mean]), [['nearest', 4, 1.5], ['bicubic', 4, 3], ['bilinear', 0, NaN], ['hr', 4, 4.5]]);
  const nh = r.pairs.find((p) => p.a === 'nearest' && p.b === 'hr')!;
  close(nh.p, 0.026518721959430728, 1e-9, 'nearest vs hr');
  assert.equal(nh.r, -1);
  assert.equal(r.pairs.length, 6);
  const table = formatReport(r);
  assert.match(table, /nearest\s+4\s+1\.50\s+0\.58\s+0\.58\.\.2\.42\s+2\s+2\s+0\s+0\s+0/);
  assert.match(table, /bilinear\s+0\s+-/);
  assert.match(table, /nearest vs hr\s+0\.0\s+-2\.22\s+0\.0265/);
});

test('each rater gets a private, reproducible order of all items', () => {
  const items: ItemRow[] = Array.from({ length: 12 }, (_, i) => ({ id: i.toString(16).padStart(16, '0'), image: `im${i % 4}`, method: `m${i % 3}`, role: 'study', file: '' }));
  const a = raterOrder(items, 1).map((i) => i.id);
  const b = raterOrder(items, 2).map((i) => i.id);
  assert.deepEqual(raterOrder(items, 1).map((i) => i.id), a, 'same seed, same order');
  assert.notDeepEqual(a, b, 'another rater, another order');
  assert.deepEqual([...a].sort(), items.map((i) => i.id).sort(), 'a permutation');
});
