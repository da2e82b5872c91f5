// `srgan eval`: the benchmark protocol over a folder of HR images, as a table, JSON and CSV, and
// optionally the SR images and paper-style comparison sheets. `--metrics ...,niqe` adds the
// no-reference NIQE (of every output and of the HR); `--alpha-sweep` evaluates network
// interpolations between SRResNet and SRGAN and draws the perception-distortion plane.
import type { Command } from 'commander';
import { withDefaults, type Io } from '../io.js';
import { mkdir } from 'node:fs/promises';
import { join, basename, resolve, parse } from 'node:path';
import sharp from 'sharp';
import { writeFileAtomic } from '../../util/atomic.js';
import { packageVersion } from '../../util/package_info.js';
import { saveImage } from '../../io/image.js';
import { evaluate, type EvalResult, type ImageOutcome, type NoReference } from '../../eval/protocol.js';
import { resolveMethods, resolveMethod, disposeMethods, alphaMethodName, type Method } from '../../inference/methods.js';
import { parseMetrics, type MetricName, type Scores } from '../../eval/metrics.js';
import { planePoints, planeCsv, planeSvg, type PlanePoint } from '../../eval/plane.js';
import { renderSheet, sheetPng } from '../../eval/comparison_sheet.js';
import { parseScale, parseAlphaList } from '../parse.js';
import { checkOutputFolder } from '../../util/out_dir.js';

interface EvalFlags {
  data: string;
  scale: string;
  methods: string;
  out?: string;
  save?: boolean;
  rgb?: boolean;
  metrics: string;
  alphaSweep?: string;
}

const fmtPsnr = (v: number) => (v === Infinity ? 'inf' : v.toFixed(2));
const fmtSsim = (v: number) => v.toFixed(4);
const fmtNiqe = (v: number) => v.toFixed(3);
const fmtGrid = (v: number) => v.toFixed(3);

const METRIC_TITLE: Record<MetricName, string> = { psnr: 'PSNR (dB)', ssim: 'SSIM', niqe: 'NIQE', grid: 'grid' };

/** One metric of a Scores as table text, and as CSV text (more digits). */
function metricText(s: Scores, m: MetricName, csv = false): string {
  if (m === 'psnr') return s.psnr === Infinity ? 'inf' : csv ? s.psnr.toFixed(4) : fmtPsnr(s.psnr);
  if (m === 'ssim') return csv ? s.ssim.toFixed(6) : fmtSsim(s.ssim);
  if (m === 'grid') return s.grid === undefined ? '' : csv ? s.grid.toFixed(4) : fmtGrid(s.grid);
  return s.niqe === undefined ? '' : csv ? s.niqe.toFixed(4) : fmtNiqe(s.niqe);
}

/** The HR against itself: PSNR inf, SSIM 1, and its own no-reference scores. */
const hrScores = (ref: NoReference): Scores => ({ psnr: Infinity, ssim: 1, ...ref });

export function formatTable(r: EvalResult): string {
  // NIQE and grid are no-reference, so the HR has scores too: it gets a column as the reference.
  const withHr = r.referenceMean !== undefined;
  const columns = [...r.methods, ...(withHr ? ['HR'] : [])];
  const cell = (s: Scores) => r.metrics.map((m) => metricText(s, m)).join(' / ');
  const nameW = Math.max(8, ...r.images.map((i) => i.name.length));
  const colW = Math.max(r.metrics.length * 7 + 2, ...columns.map((m) => m.length));
  const lines: string[] = [];
  const on = r.yOnly ? 'Y (grey images on grey)' : `RGB${r.metrics.includes('niqe') || r.metrics.includes('grid') ? ' (NIQE and grid on Y)' : ''}`;
  lines.push(`${r.dataset} x${r.scale}: ${r.metrics.map((m) => METRIC_TITLE[m]).join(' / ')} on ${on}, border ${r.border}`);
  lines.push('image'.padEnd(nameW) + columns.map((m) => '  ' + m.padStart(colW)).join(''));
  const row = (name: string, scores: Record<string, Scores>, ref?: NoReference) =>
    name.padEnd(nameW) + r.methods.map((m) => '  ' + cell(scores[m]!).padStart(colW)).join('') + (withHr && ref ? '  ' + cell(hrScores(ref)).padStart(colW) : '');
  for (const img of r.images) lines.push(row(img.name, img.scores, img.reference));
  lines.push('-'.repeat(nameW + columns.length * (colW + 2)));
  lines.push(row('mean', r.mean, r.referenceMean));
  return lines.join('\n') + '\n';
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One row per image and method, then the means; with NIQE the HR's own rows (method 'HR') follow each group. */
export function formatCsv(r: EvalResult): string {
  const rows = [['image', 'method', 'scale', ...r.metrics, 'seconds'].join(',')];
  const row = (image: string, method: string, s: Scores, seconds: string) =>
    [csvField(image), csvField(method), r.scale, ...r.metrics.map((m) => metricText(s, m, true)), seconds].join(',');
  for (const img of r.images) {
    for (const m of r.methods) rows.push(row(img.name, m, img.scores[m]!, img.seconds[m]!.toFixed(3)));
    if (img.reference) rows.push(row(img.name, 'HR', hrScores(img.reference), ''));
  }
  for (const m of r.methods) rows.push(row('mean', m, r.mean[m]!, ''));
  if (r.referenceMean) rows.push(row('mean', 'HR', hrScores(r.referenceMean), ''));
  return rows.join('\n') + '\n';
}

/** The plane's points as a table for the terminal. */
export function formatPlane(points: readonly PlanePoint[]): string {
  const nameW = Math.max(10, ...points.map((p) => p.name.length));
  const lines = [`${'point'.padEnd(nameW)}  ${'PSNR'.padStart(7)}  ${'RMSE'.padStart(7)}  ${'SSIM'.padStart(6)}  ${'NIQE'.padStart(6)}`];
  for (const p of points) {
    lines.push(`${p.name.padEnd(nameW)}  ${fmtPsnr(p.psnr).padStart(7)}  ${p.rmse.toFixed(2).padStart(7)}  ${fmtSsim(p.ssim).padStart(6)}  ${fmtNiqe(p.niqe).padStart(6)}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * The methods of an alpha sweep: those of --methods, bicubic (a reference point of the plane) if
 * missing, and one blend per alpha. Returns the methods and the blends' names with their alphas.
 */
async function sweepMethods(methods: Method[], alphas: number[]): Promise<{ methods: Method[]; alphaOf: Map<string, number> }> {
  const out = [...methods];
  if (!out.some((m) => m.name === 'bicubic')) out.unshift(await resolveMethod('bicubic'));
  const alphaOf = new Map<string, number>();
  for (const a of alphas) {
    const name = alphaMethodName(a);
    alphaOf.set(name, a);
    if (!out.some((m) => m.name === name)) out.push(await resolveMethod(name));
  }
  return { methods: out, alphaOf };
}

const noReferenceLines = (s: NoReference): string[] => [
  ...(s.niqe !== undefined ? [`NIQE ${fmtNiqe(s.niqe)}`] : []),
  ...(s.grid !== undefined ? [`grid ${fmtGrid(s.grid)}`] : []),
];

async function saveOutputs(o: ImageOutcome, outDir: string, scale: number): Promise<void> {
  const stem = parse(o.result.name).name;
  for (const [method, img] of o.outputs) {
    const dir = join(outDir, method.replace(/[^A-Za-z0-9._-]/g, '_'));
    await mkdir(dir, { recursive: true });
    await saveImage(img, join(dir, `${stem}.png`));
  }
  const sheet = renderSheet({
    hr: o.hr,
    overviewLines: [o.result.name, `${o.hr.width}x${o.hr.height}, x${scale}`],
    panels: [
      { image: o.hr, lines: ['HR', 'PSNR inf', 'SSIM 1', ...noReferenceLines(o.result.reference ?? {})] },
      ...[...o.outputs].map(([m, img]) => {
        const s = o.result.scores[m]!;
        return { image: img, lines: [m, `PSNR ${fmtPsnr(s.psnr)} dB`, `SSIM ${fmtSsim(s.ssim)}`, ...noReferenceLines(s)] };
      }),
    ],
  });
  const sheets = join(outDir, 'sheets');
  await mkdir(sheets, { recursive: true });
  await writeFileAtomic(join(sheets, `${stem}.png`), await sheetPng(sheet));
}

export function registerEvalCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  program
    .command('eval')
    .description("score SR methods on a folder of HR images with the field's protocol (bicubic x1/s LR, Y channel, border = scale)")
    .requiredOption('--data <folder>', 'folder of HR images (e.g. ../shared/data/benchmark/Set5)')
    .option('--scale <n>', 'upscaling factor', '4')
    .option('--methods <list>', 'comma-separated methods: nearest, bicubic, bilinear, srresnet, srgan, alpha=<0..1>, or a .safetensors / .onnx file', 'bicubic')
    .option('--out <dir>', 'where results go (default ./eval-out/<dataset>-x<scale>)')
    .option('--save', 'also write the SR images and a comparison sheet per image')
    .option('--rgb', 'score R, G and B instead of Y')
    .option('--metrics <list>', 'comma-separated metrics: psnr, ssim, niqe (no-reference, lower = more natural), grid (strength of the sub-pixel checkerboard in 8-bit levels; the no-reference ones are also scored on the HR)', 'psnr,ssim')
    .option('--alpha-sweep <list>', 'network interpolation weights (0 = srresnet, 1 = srgan), e.g. 0,0.25,0.5,0.75,1: evaluates each blend with bicubic and HR and draws the perception-distortion plane (plane.csv, plane.svg, plane.png)')
    .action(async (flags: EvalFlags) => {
      const scale = parseScale(flags.scale);
      const metrics = parseMetrics(flags.metrics);
      const alphas = flags.alphaSweep === undefined ? undefined : parseAlphaList(flags.alphaSweep);
      const dataset = basename(resolve(flags.data));
      const outDir = resolve(flags.out ?? join('eval-out', `${dataset}-x${scale}`));
      checkOutputFolder(outDir, '--out');
      let methods = await resolveMethods(flags.methods);
      let alphaOf = new Map<string, number>();
      if (alphas) {
        ({ methods, alphaOf } = await sweepMethods(methods, alphas));
        // the plane's axes: distortion from PSNR, perception from NIQE
        for (const m of ['psnr', 'niqe'] as const) if (!metrics.includes(m)) metrics.push(m);
      }
      try {
        const t0 = performance.now();
        const result = await evaluate({
          dir: flags.data,
          scale,
          methods,
          yOnly: !flags.rgb,
          metrics,
          onStart: (file, i, total) => io.err.write(`[${i + 1}/${total}] ${basename(file)} ...`),
          onImage: async (o) => {
            if (flags.save) await saveOutputs(o, outDir, scale);
            const secs = Object.values(o.result.seconds).reduce((a, b) => a + b, 0);
            io.err.write(` ${o.result.width}x${o.result.height}, methods ${secs.toFixed(2)} s\n`);
          },
        });
        await mkdir(outDir, { recursive: true });
        const json = {
          tool: `srgan-js ${packageVersion()}`,
          date: new Date().toISOString(),
          protocol:
            'HR mod-cropped to a multiple of scale; LR = MATLAB-exact imresize(HR, 1/scale, bicubic) on uint8; ' +
            'outputs rounded to 8 bits; PSNR/SSIM on ' +
            (result.yOnly ? 'Y (BT.601, not rounded; grey images on their grey values)' : 'RGB') +
            ` with ${result.border} border pixels removed; SSIM 11x11 Gaussian sigma 1.5, K1 0.01, K2 0.03, valid` +
            (metrics.includes('niqe')
              ? `; NIQE (Mittal et al. 2013, the authors' pristine model) on Y rounded to integers (grey on grey), same border removed, 96x96 blocks; 'reference' is the HR's own`
              : '') +
            (metrics.includes('grid')
              ? `; grid: RMS over the scale x scale phases of the phase means of Y minus its 3x3 mean, in 8-bit levels, same border removed (src/eval/grid.ts)`
              : ''),
          ...result,
        };
        const plane = alphas ? planePoints(result, alphaOf) : undefined;
        if (plane) Object.assign(json, { plane });
        // Infinity (identical images) is not JSON; it is written as the string "inf".
        await writeFileAtomic(join(outDir, 'results.json'), JSON.stringify(json, (_k, v) => (v === Infinity ? 'inf' : v), 2) + '\n');
        await writeFileAtomic(join(outDir, 'results.csv'), formatCsv(result));
        io.out.write(formatTable(result));
        if (plane) {
          const svg = planeSvg(plane, `${result.dataset} x${scale}: perception-distortion plane (α: SRResNet→SRGAN network interpolation)`);
          await writeFileAtomic(join(outDir, 'plane.csv'), planeCsv(plane));
          await writeFileAtomic(join(outDir, 'plane.svg'), svg);
          await writeFileAtomic(join(outDir, 'plane.png'), await sharp(Buffer.from(svg)).png().toBuffer());
          io.out.write(`\nperception-distortion plane (means over ${result.images.length} images):\n${formatPlane(plane)}`);
          io.out.write(`plane: ${join(outDir, 'plane.csv')}, ${join(outDir, 'plane.svg')}, ${join(outDir, 'plane.png')}\n`);
        }
        io.out.write(`results: ${join(outDir, 'results.json')}, ${join(outDir, 'results.csv')}${flags.save ? `; images and sheets in ${outDir}` : ''} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
      } finally {
        await disposeMethods(methods);
      }
    });
}
