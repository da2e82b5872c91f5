// `srgan package-model`: a training run as a shippable model (train/package_run.ts).
import type { Command } from 'commander';
import { withDefaults, type Io } from '../io.js';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { initBackend } from '../../tfjs/backend.js';
import { cardPathFor, packageRun } from '../../train/package_run.js';
import { measurementRow } from '../../train/model_card.js';
import { SrError } from '../../util/errors.js';
import { parseNumber } from '../parse.js';

interface Flags {
  run: string;
  out: string;
  eval?: string;
  title?: string;
  force?: boolean;
  bnBatches: string;
  bnData?: string;
  lastIterate?: boolean;
  step?: string;
}

export function registerPackageModelCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  program
    .command('package-model')
    .description('ship a training run: its newest checkpoint (or --step) as a float16 generator plus a model card with protocol-measured PSNR/SSIM, NIQE and the sub-pixel grid')
    .requiredOption('--run <dir>', 'training run folder (from srgan train)')
    .requiredOption('--out <file.safetensors>', 'where the float16 weights go; the card goes next to it as .md')
    .option('--eval <folders>', 'comma-separated HR benchmark folders to measure on (e.g. Set5,Set14 paths)')
    .option('--title <text>', 'model card title')
    .option('--bn-batches <n>', 're-estimate batch-norm statistics with the final weights over n training batches (precise BN; 0: keep the moving averages)', '0')
    .option('--bn-data <folder>', 'images for that re-estimate (default: the run\'s --data)')
    .option('--step <n>', 'ship the checkpoint of this step, one the run still keeps (default: the newest)')
    .option('--last-iterate', "ship the checkpoint's trained weights, not their average, in a run with --ema")
    .option('--force', 'replace existing files')
    .action(async (flags: Flags) => {
      const out = resolve(flags.out);
      for (const f of [out, cardPathFor(out)]) if (existsSync(f) && !flags.force) throw new SrError(`${f} exists; add --force to replace it`);
      const bnBatches = parseNumber(flags.bnBatches, '--bn-batches', { int: true, min: 0 });
      const step = flags.step === undefined ? undefined : parseNumber(flags.step, '--step', { int: true, min: 0 });
      await initBackend({ backend: program.opts()['backend'] });
      const r = await packageRun({
        run: flags.run,
        out,
        eval: (flags.eval ?? '').split(',').map((s) => s.trim()).filter(Boolean),
        ...(flags.title ? { title: flags.title } : {}),
        bnBatches,
        ...(flags.bnData ? { bnData: flags.bnData } : {}),
        lastIterate: flags.lastIterate === true,
        ...(step !== undefined ? { step } : {}),
        packagedWith: `srgan package-model --run ${flags.run} --out ${flags.out}${flags.eval ? ` --eval ${flags.eval}` : ''}${step !== undefined ? ` --step ${step}` : ''}${flags.lastIterate ? ' --last-iterate' : ''}`,
        onProgress: (m) => io.err.write(`${m}\n`),
      });
      io.out.write(`${r.weights}\n${r.card}\n${r.measured.map(measurementRow).join('\n')}\n`);
    });
}
