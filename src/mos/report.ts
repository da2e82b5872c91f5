// `srgan mos report`: MOS per method with spread and confidence interval, pairwise Mann-Whitney U
// tests, a distribution figure in the manner of the SRGAN paper's Fig. 5, and CSV/JSON exports.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { SrError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { packageVersion } from '../util/package_info.js';
import type { RatingRow } from './db.js';
import { openStudy } from './study.js';
import { SCALE_LABELS } from './pages.js';
import { holm, mannWhitneyU, summarize, type MannWhitney, type Summary } from './stats.js';

export interface MethodStats extends Summary {
  method: string;
}

export interface PairStats extends MannWhitney {
  a: string;
  b: string;
  /** Holm-Bonferroni adjusted over all pairs */
  pHolm: number;
}

export interface MosReport {
  tool: string;
  date: string;
  dataset: string;
  scale: number;
  raters: number;
  ratings: number;
  methods: MethodStats[];
  pairs: PairStats[];
  notes: string[];
}

export const NOTES = [
  'MOS: mean of all ratings of a method (every rater, every image); SD is the sample standard deviation (n - 1).',
  '95% CI: mean +- t(0.975, n - 1) * SD / sqrt(n), Student t.',
  'Pairwise: two-sided Mann-Whitney U test on the two methods\' ratings, normal approximation with tie correction and continuity correction ' +
    "(as R's wilcox.test(exact = FALSE, correct = TRUE)); r = rank-biserial correlation, positive when the first method is rated higher; " +
    'p_holm: Holm-Bonferroni over all pairs. Ratings by one rater are treated as independent, as in the paper.',
];

/** The report from a list of ratings; `methods` fixes the order (methods without ratings are kept). */
export function computeReport(ratings: readonly RatingRow[], methods: readonly string[], info: { dataset: string; scale: number }): MosReport {
  const by = new Map<string, number[]>(methods.map((m) => [m, []]));
  for (const r of ratings) {
    if (!by.has(r.method)) by.set(r.method, []); // a method the manifest does not list still counts
    by.get(r.method)!.push(r.score);
  }
  const names = [...by.keys()];
  const stats = names.map((m) => ({ method: m, ...summarize(by.get(m)!) }));
  const pairs: Array<Omit<PairStats, 'pHolm'>> = [];
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) pairs.push({ a: names[i]!, b: names[j]!, ...mannWhitneyU(by.get(names[i]!)!, by.get(names[j]!)!) });
  }
  const adj = holm(pairs.map((p) => p.p));
  return {
    tool: `srgan-js ${packageVersion()}`,
    date: new Date().toISOString(),
    dataset: info.dataset,
    scale: info.scale,
    raters: new Set(ratings.map((r) => r.rater_id)).size,
    ratings: ratings.length,
    methods: stats,
    pairs: pairs.map((p, k) => ({ ...p, pHolm: adj[k]! })),
    notes: NOTES,
  };
}

const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : '-');
const f3 = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '-');
function fp(p: number): string {
  if (!Number.isFinite(p)) return '-';
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

export function formatReport(r: MosReport): string {
  const w = Math.max(8, ...r.methods.map((m) => m.method.length));
  const lines = [`MOS study ${r.dataset} x${r.scale}: ${r.ratings} ratings from ${r.raters} raters (scores 1 bad .. 5 excellent)`, ''];
  lines.push(`${'method'.padEnd(w)}  ${'n'.padStart(5)}  ${'MOS'.padStart(5)}  ${'SD'.padStart(5)}  ${'95% CI'.padStart(13)}   ${'1'.padStart(4)} ${'2'.padStart(4)} ${'3'.padStart(4)} ${'4'.padStart(4)} ${'5'.padStart(4)}`);
  for (const m of r.methods) {
    const ci = Number.isFinite(m.ciLow) ? `${f2(m.ciLow)}..${f2(m.ciHigh)}` : '-';
    lines.push(`${m.method.padEnd(w)}  ${String(m.n).padStart(5)}  ${f2(m.mean).padStart(5)}  ${f2(m.sd).padStart(5)}  ${ci.padStart(13)}   ${m.counts.map((c) => String(c).padStart(4)).join(' ')}`);
  }
  if (r.pairs.length > 0) {
    lines.push('', 'Pairwise two-sided Mann-Whitney U (normal approximation, tie- and continuity-corrected):');
    const pw = Math.max(...r.pairs.map((p) => `${p.a} vs ${p.b}`.length));
    lines.push(`${'pair'.padEnd(pw)}  ${'U'.padStart(9)}  ${'z'.padStart(7)}  ${'p'.padStart(8)}  ${'p_holm'.padStart(8)}  ${'r'.padStart(6)}`);
    for (const p of r.pairs) {
      const star = p.pHolm < 0.05 ? ' *' : '';
      lines.push(`${`${p.a} vs ${p.b}`.padEnd(pw)}  ${(Number.isFinite(p.u) ? p.u.toFixed(1) : '-').padStart(9)}  ${f2(p.z).padStart(7)}  ${fp(p.p).padStart(8)}  ${fp(p.pHolm).padStart(8)}  ${f3(p.r).padStart(6)}${star}`);
    }
    lines.push('(* significant at 0.05 after Holm-Bonferroni)');
  }
  return lines.join('\n') + '\n';
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function summaryCsv(r: MosReport): string {
  const rows = ['method,n,mos,sd,ci95_low,ci95_high,n1,n2,n3,n4,n5'];
  const num = (v: number, d: number) => (Number.isFinite(v) ? v.toFixed(d) : '');
  for (const m of r.methods) rows.push([csvField(m.method), m.n, num(m.mean, 4), num(m.sd, 4), num(m.ciLow, 4), num(m.ciHigh, 4), ...m.counts].join(','));
  return rows.join('\n') + '\n';
}

export function pairsCsv(r: MosReport): string {
  const rows = ['method_a,method_b,n_a,n_b,u,z,p,p_holm,rank_biserial'];
  const num = (v: number) => (Number.isFinite(v) ? String(Number(v.toPrecision(8))) : '');
  for (const p of r.pairs) rows.push([csvField(p.a), csvField(p.b), p.n1, p.n2, num(p.u), num(p.z), num(p.p), num(p.pHolm), num(p.r)].join(','));
  return rows.join('\n') + '\n';
}

export function ratingsCsv(ratings: readonly RatingRow[]): string {
  const rows = ['rater,image,method,item,score,rated_at'];
  for (const r of ratings) rows.push([r.rater_id, csvField(r.image), csvField(r.method), r.item_id, r.score, r.rated_at].join(','));
  return rows.join('\n') + '\n';
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Fig. 5 of the paper, redrawn: one column per method, one cell per score 1..5 whose shade is the
 * share of that method's ratings with that score (printed in the cell), the MOS as a red marker
 * with its 95% interval as a bar.
 */
export function distributionSvg(r: MosReport): string {
  const colW = 96;
  const cellH = 64;
  const left = 110;
  const top = 56;
  const width = Math.max(left + r.methods.length * colW + 30, 640);
  const plotH = 5 * cellH;
  const height = top + plotH + 74;
  const y = (score: number) => top + (5 - score + 0.5) * cellH; // centre of score's cell
  const parts: string[] = [];
  parts.push(`<text x="${left}" y="24" font-size="16" font-weight="bold">MOS ratings, ${esc(r.dataset)} x${r.scale}: ${r.ratings} ratings, ${r.raters} raters</text>`);
  parts.push(`<text x="${left}" y="44" font-size="12" fill="#444">shade and label: share of each score; red: MOS with 95% CI</text>`);
  for (let s = 1; s <= 5; s++) {
    parts.push(`<text x="${left - 10}" y="${y(s) + 4}" font-size="13" text-anchor="end">${s} ${SCALE_LABELS[s - 1]}</text>`);
  }
  r.methods.forEach((m, i) => {
    const x0 = left + i * colW;
    for (let s = 1; s <= 5; s++) {
      const share = m.n > 0 ? m.counts[s - 1]! / m.n : 0;
      // light grey (no ratings) to dark blue (all ratings)
      const c = (a: number, b: number) => Math.round(a + (b - a) * share);
      const fill = `rgb(${c(242, 8)},${c(242, 48)},${c(242, 107)})`;
      const yTop = top + (5 - s) * cellH;
      parts.push(`<rect x="${x0 + 4}" y="${yTop}" width="${colW - 8}" height="${cellH}" fill="${fill}" stroke="#fff"/>`);
      if (share > 0) parts.push(`<text x="${x0 + colW / 2}" y="${yTop + cellH / 2 + 4}" font-size="12" text-anchor="middle" fill="${share > 0.5 ? '#fff' : '#222'}">${Math.round(share * 100)}%</text>`);
    }
    if (m.n > 0) {
      const cx = x0 + colW / 2 + 26;
      if (Number.isFinite(m.ciLow)) {
        const lo = y(Math.max(1, Math.min(5, m.ciLow)));
        const hi = y(Math.max(1, Math.min(5, m.ciHigh)));
        parts.push(`<line x1="${cx}" y1="${lo}" x2="${cx}" y2="${hi}" stroke="#d00" stroke-width="2"/>`);
        parts.push(`<line x1="${cx - 5}" y1="${lo}" x2="${cx + 5}" y2="${lo}" stroke="#d00" stroke-width="2"/>`);
        parts.push(`<line x1="${cx - 5}" y1="${hi}" x2="${cx + 5}" y2="${hi}" stroke="#d00" stroke-width="2"/>`);
      }
      const my = y(m.mean);
      parts.push(`<path d="M${cx},${my - 7}L${cx + 7},${my}L${cx},${my + 7}L${cx - 7},${my}Z" fill="#e00" stroke="#600"/>`);
    }
    parts.push(`<text x="${x0 + colW / 2}" y="${top + plotH + 22}" font-size="13" text-anchor="middle" font-weight="bold">${esc(m.method)}</text>`);
    parts.push(`<text x="${x0 + colW / 2}" y="${top + plotH + 40}" font-size="12" text-anchor="middle">MOS ${f2(m.mean)}</text>`);
    parts.push(`<text x="${x0 + colW / 2}" y="${top + plotH + 56}" font-size="11" text-anchor="middle" fill="#555">n=${m.n}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Arial, sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}

export interface ReportFiles {
  report: MosReport;
  dir: string;
  files: string[];
}

/** Reads the study's ratings and writes report.json, the CSVs and the figure (SVG and PNG) to `outDir`. */
export async function writeReport(studyDir: string, outDir?: string): Promise<ReportFiles> {
  const study = await openStudy(studyDir);
  let ratings: RatingRow[];
  try {
    ratings = study.db.ratings();
  } finally {
    study.db.close();
  }
  if (ratings.length === 0) throw new SrError(`${study.dir}: no ratings yet; share the link from 'srgan mos serve' with raters first`);
  const report = computeReport(ratings, study.manifest.methods, { dataset: study.manifest.dataset, scale: study.manifest.scale });
  const dir = outDir ?? join(study.dir, 'report');
  await mkdir(dir, { recursive: true });
  const svg = distributionSvg(report);
  let png: Buffer;
  try {
    png = await sharp(Buffer.from(svg)).png().toBuffer();
  } catch (err) {
    throw new SrError(`cannot render the distribution figure: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const out: Array<[string, string | Uint8Array]> = [
    ['report.json', JSON.stringify(report, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n'],
    ['summary.csv', summaryCsv(report)],
    ['pairwise.csv', pairsCsv(report)],
    ['ratings.csv', ratingsCsv(ratings)],
    ['distribution.svg', svg],
    ['distribution.png', png],
  ];
  for (const [name, data] of out) await writeFileAtomic(join(dir, name), data);
  return { report, dir, files: out.map(([n]) => join(dir, n)) };
}
