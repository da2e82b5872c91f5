// The model card that ships with a packaged run (`srgan package-model`): how the weights were
// made, every training leg included, and what they measure. The figures come from the caller,
// measured on the file that ships; nothing here is typed in by hand.
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { readSafetensors } from '../models/safetensors.js';
import { commandLine } from './options.js';
import type { RunSummary } from './run_dir.js';

/**
 * The legs behind a run's `--init` weights, so a card records every leg of a model trained over
 * several sessions: from the weights' metadata ('legs', written by package-model), or for files
 * packaged before that, the "How it was trained" list of the card next to them.
 */
export function earlierLegs(init: unknown): string[] {
  if (typeof init !== 'string' || !existsSync(init)) return [];
  const meta = readSafetensors(init).metadata;
  if (meta['legs']) return JSON.parse(meta['legs']) as string[];
  const card = init.replace(/\.safetensors$/, '') + '.md';
  if (!existsSync(card)) return [`- Initialised from \`${init}\`, whose training is not recorded with it.`];
  const m = /## How it was trained\n\n([\s\S]*?)\n\n## /.exec(readFileSync(card, 'utf8'));
  return m ? [m[1]!.trim()] : [`- Initialised from \`${init}\`; its card (${basename(card)}) has no training section.`];
}

const hours = (s: number) => `${(s / 3600).toFixed(2)} h`;

/** The card's account of the run being packaged. */
export function thisLeg(run: RunSummary): string {
  const c = run.config;
  return [
    `- Command: \`${commandLine(c)}\` (resumed with \`--resume\` as needed; the run's resolved options are below).`,
    ...run.resumes.map(
      (r) => `- Resumed at step ${r.step} with changed options: ${Object.entries(r.changed).map(([k, [a, b]]) => `${k} ${JSON.stringify(a)} -> ${JSON.stringify(b)}`).join(', ')}.`,
    ),
    `- Steps: ${run.step} of ${String(c['steps'])} planned, batch ${String(c['batch'])}, ${String(c['patch'])} px HR crops; training time ${hours(run.trainSeconds)} (sum of step times) on the ${String(c['engine'] ?? 'tfjs')} engine (TF.js backend ${String(c['backend'] ?? 'wasm')}).`,
    `- Data: \`${String(c['data'])}\`${c['init'] ? `; generator initialised from \`${String(c['init'])}\`` : ''}.`,
    `- Source checkpoint: ${run.weights} (step ${run.step}).`,
  ].join('\n');
}

/** One row of the card's table: PSNR / SSIM (and NIQE, lower = more natural) of bicubic and of the model on one benchmark set. */
export interface CardMeasurement {
  set: string;
  scale: number;
  bicubic: { psnr: number; ssim: number; niqe?: number };
  model: { psnr: number; ssim: number; niqe?: number; grid?: number };
  /** NIQE of the HR images themselves */
  hrNiqe?: number;
  /** the sub-pixel grid (eval/grid.ts) of the HR images themselves, for reference */
  hrGrid?: number;
}

export interface ModelCardInput {
  title: string;
  /** the shipped generator's config */
  generator: Record<string, unknown>;
  weightsFile: string;
  version: string;
  /** the command that packaged it, as typed */
  packagedWith: string;
  /** oldest first; the last is this run */
  legs: string[];
  run: RunSummary;
  /** precise BN, when it was done */
  bn: { batches: number; batch: number; patch: number; data: string } | null;
  rows: CardMeasurement[];
}

export function measurementRow(r: CardMeasurement): string {
  const gain = r.model.psnr - r.bicubic.psnr;
  const f3 = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(3));
  return `| ${r.set} x${r.scale} | ${r.bicubic.psnr.toFixed(2)} / ${r.bicubic.ssim.toFixed(4)} | ${r.model.psnr.toFixed(2)} / ${r.model.ssim.toFixed(4)} | ${(gain >= 0 ? '+' : '') + gain.toFixed(2)} dB | ${f3(r.bicubic.niqe)} / ${f3(r.model.niqe)} / ${f3(r.hrNiqe)} | ${f3(r.model.grid)} / ${f3(r.hrGrid)} |`;
}

export function modelCard(m: ModelCardInput): string {
  const legs = m.legs;
  return [
    `# ${m.title}`,
    '',
    `Generator \`${JSON.stringify(m.generator)}\`, float16 weights (${m.weightsFile}), packaged by srgan-js ${m.version} with`,
    `\`${m.packagedWith}\`.`,
    '',
    '## How it was trained',
    '',
    ...(legs.length > 1 ? legs.flatMap((l, i) => [`### Leg ${i + 1}${i === legs.length - 1 ? ' (this run)' : ''}`, '', l, '']) : [legs[0]!, '']),
    m.bn
      ? `- Batch-norm statistics re-estimated with the final weights (precise BN): the mean over ${m.bn.batches} batches of ${m.bn.batch} ${m.bn.patch} px crops from \`${m.bn.data}\` of each layer's batch mean and variance, replacing the training's moving averages.`
      : '- Batch-norm statistics: the moving averages kept during training.',
    '',
    '## Measured (evaluation protocol: MATLAB bicubic LR, Y channel, border = scale; on the float16 weights)',
    '',
    m.rows.length
      ? '| set | bicubic PSNR / SSIM | this model PSNR / SSIM | gain | NIQE: bicubic / this model / HR (lower = more natural) | sub-pixel grid: this model / HR (8-bit levels) |\n| --- | --- | --- | --- | --- | --- |\n' +
        m.rows.map(measurementRow).join('\n')
      : '(no --eval folders given)',
    '',
    '## Resolved training options',
    '',
    '```json',
    JSON.stringify(m.run.config, null, 2),
    '```',
    '',
  ].join('\n');
}
