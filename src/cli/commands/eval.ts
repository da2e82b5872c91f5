// `srgan eval`: the benchmark protocol over a folder of HR images, as a table, JSON and CSV, and
// optionally the SR images and paper-style comparison sheets.
import type { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { join, basename, resolve, parse } from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';
import { packageVersion } from '../../util/package_info.js';
import { saveImage } from '../../io/image.js';
import { evaluate, type EvalResult, type ImageOutcome } from '../../eval/protocol.js';
import { resolveMethods } from '../../eval/methods.js';
import { renderSheet, sheetPng } from '../../eval/comparison_sheet.js';
import { parseScale } from '../parse.js';
import { checkOutputFolder } from '../../util/out_dir.js';

interface EvalFlags {
  data: string;
  scale: string;
  methods: string;
  out?: string;
  save?: boolean;
  rgb?: boolean;
}

const fmtPsnr = (v: number) => (v === Infinity ? 'inf' : v.toFixed(2));
const fmtSsim = (v: number) => v.toFixed(4);

export function formatTable(r: EvalResult): string {
  const nameW = Math.max(8, ...r.images.map((i) => i.name.length));
  const colW = Math.max(16, ...r.methods.map((m) => m.length));
  const lines: string[] = [];
  lines.push(`${r.dataset} x${r.scale}: PSNR (dB) / SSIM on ${r.yOnly ? 'Y (grey images on grey)' : 'RGB'}, border ${r.border}`);
  lines.push('image'.padEnd(nameW) + r.methods.map((m) => '  ' + m.padStart(colW)).join(''));
  const cell = (s: { psnr: number; ssim: number }) => `${fmtPsnr(s.psnr)} / ${fmtSsim(s.ssim)}`.padStart(colW);
  for (const img of r.images) lines.push(img.name.padEnd(nameW) + r.methods.map((m) => '  ' + cell(img.scores[m]!)).join(''));
  lines.push('-'.repeat(nameW + r.methods.length * (colW + 2)));
  lines.push('mean'.padEnd(nameW) + r.methods.map((m) => '  ' + cell(r.mean[m]!)).join(''));
  return lines.join('\n') + '\n';
}

function csvField(s: string): string {
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function formatCsv(r: EvalResult): string {
  const rows = ['image,method,scale,psnr,ssim,seconds'];
  for (const img of r.images) {
    for (const m of r.methods) {
      const s = img.scores[m]!;
      rows.push([csvField(img.name), csvField(m), r.scale, s.psnr === Infinity ? 'inf' : s.psnr.toFixed(4), s.ssim.toFixed(6), img.seconds[m]!.toFixed(3)].join(','));
    }
  }
  for (const m of r.methods) {
    const s = r.mean[m]!;
    rows.push(['mean', csvField(m), r.scale, s.psnr === Infinity ? 'inf' : s.psnr.toFixed(4), s.ssim.toFixed(6), ''].join(','));
  }
  return rows.join('\n') + '\n';
}

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
      { image: o.hr, lines: ['HR', 'PSNR inf', 'SSIM 1'] },
      ...[...o.outputs].map(([m, img]) => ({
        image: img,
        lines: [m, `PSNR ${fmtPsnr(o.result.scores[m]!.psnr)} dB`, `SSIM ${fmtSsim(o.result.scores[m]!.ssim)}`],
      })),
    ],
  });
  const sheets = join(outDir, 'sheets');
  await mkdir(sheets, { recursive: true });
  await writeFileAtomic(join(sheets, `${stem}.png`), await sheetPng(sheet));
}

export interface EvalIo {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
}

/** `io` is for tests; the CLI writes to the process's stdout and stderr. */
export function registerEvalCommand(program: Command, io: EvalIo = { out: process.stdout, err: process.stderr }): void {
  program
    .command('eval')
    .description("score SR methods on a folder of HR images with the field's protocol (bicubic x1/s LR, Y channel, border = scale)")
    .requiredOption('--data <folder>', 'folder of HR images (e.g. ../shared/data/benchmark/Set5)')
    .option('--scale <n>', 'upscaling factor', '4')
    .option('--methods <list>', 'comma-separated methods (nearest, bicubic, bilinear, or models once registered)', 'bicubic')
    .option('--out <dir>', 'where results go (default ./eval-out/<dataset>-x<scale>)')
    .option('--save', 'also write the SR images and a comparison sheet per image')
    .option('--rgb', 'score R, G and B instead of Y')
    .action(async (flags: EvalFlags) => {
      const scale = parseScale(flags.scale);
      const dataset = basename(resolve(flags.data));
      const outDir = resolve(flags.out ?? join('eval-out', `${dataset}-x${scale}`));
      checkOutputFolder(outDir, '--out');
      const methods = await resolveMethods(flags.methods);
      const t0 = performance.now();
      const result = await evaluate({
        dir: flags.data,
        scale,
        methods,
        yOnly: !flags.rgb,
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
          ` with ${result.border} border pixels removed; SSIM 11x11 Gaussian sigma 1.5, K1 0.01, K2 0.03, valid`,
        ...result,
      };
      // Infinity (identical images) is not JSON; it is written as the string "inf".
      await writeFileAtomic(join(outDir, 'results.json'), JSON.stringify(json, (_k, v) => (v === Infinity ? 'inf' : v), 2) + '\n');
      await writeFileAtomic(join(outDir, 'results.csv'), formatCsv(result));
      io.out.write(formatTable(result));
      io.out.write(`results: ${join(outDir, 'results.json')}, ${join(outDir, 'results.csv')}${flags.save ? `; images and sheets in ${outDir}` : ''} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    });
}
