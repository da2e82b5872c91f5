// `srgan package-model`: turns a training run into a shippable model: the generator in float16
// plus a model card that says how it was made and what it measures. The card's figures are
// computed here, by the evaluation protocol, from the float16 file that ships, never typed in.
import type { Command } from 'commander';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import tf = require('@tensorflow/tfjs-core');
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../engine/backend.js';
import { PatchDataset } from '../../data/patch_dataset.js';
import { dataFolders } from '../../data/folders.js';
import { recalibrateBatchNorm } from '../../train/precise_bn.js';
import { loadModel, saveModel } from '../../models/weights.js';
import { readSafetensors } from '../../models/safetensors.js';
import { evaluate } from '../../eval/protocol.js';
import { resolveMethods } from '../../eval/methods.js';
import { generatorMethod } from '../../inference/tfjs_runner.js';
import { latestCheckpoint } from '../../train/checkpoint.js';
import { commandLine } from '../../train/options.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { SrError } from '../../util/errors.js';
import { packageVersion } from '../../util/package_info.js';

interface Flags {
  run: string;
  out: string;
  eval?: string;
  title?: string;
  force?: boolean;
  bnBatches: string;
  bnData?: string;
}

interface RunFacts {
  weights: string;
  step: number;
  trainSeconds: number;
  config: Record<string, unknown>;
  /** options changed on a resume, from resumes.jsonl (see trainer.ts), oldest first */
  resumes: { step: number; changed: Record<string, [unknown, unknown]> }[];
}

function runFacts(runDir: string): RunFacts {
  const cfgPath = join(runDir, 'config.json');
  if (!existsSync(cfgPath)) throw new SrError(`${runDir} is not a training run (no config.json)`);
  const config = JSON.parse(readFileSync(cfgPath, 'utf8')) as Record<string, unknown>;
  // The newest checkpoint is the reference: a finished run's final generator equals its last one.
  const ckpt = latestCheckpoint(runDir);
  if (!ckpt) throw new SrError(`${runDir} has no complete checkpoint yet`);
  const state = JSON.parse(readFileSync(join(ckpt, 'state.json'), 'utf8')) as { step: number; trainSeconds: number };
  const resumesPath = join(runDir, 'resumes.jsonl');
  const resumes = existsSync(resumesPath)
    ? readFileSync(resumesPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as RunFacts['resumes'][number])
    : [];
  return { weights: join(ckpt, 'generator.safetensors'), step: state.step, trainSeconds: state.trainSeconds, config, resumes };
}

/**
 * Optional precise BN before shipping (see train/precise_bn.ts), for runs whose moving averages
 * are noisy; the card says which statistics the shipped file holds.
 */
async function preciseBatchNorm(
  model: LayersModel,
  c: Record<string, unknown>,
  flags: Flags,
): Promise<{ batches: number; batch: number; patch: number; data: string } | null> {
  const batches = Number(flags.bnBatches);
  if (!(Number.isInteger(batches) && batches >= 0)) throw new SrError(`--bn-batches must be a whole number >= 0, got ${flags.bnBatches}`);
  if (batches === 0) return null;
  const data = flags.bnData ?? String(c['data']);
  if (!dataFolders(data).every((d) => existsSync(d))) {
    throw new SrError(`--bn-batches needs the training images to re-estimate batch-norm statistics, and ${data} is not there: pass --bn-data <folder> or --bn-batches 0`);
  }
  const batch = Number(c['batch']);
  const patch = Number(c['patch']);
  const ds = await PatchDataset.open({ dir: data, scale: Number(c['scale']), hrPatch: patch, batch, seed: 0x5eed, workers: 1, onWarning: () => {} });
  let current: tf.Tensor4D | null = null;
  try {
    const layers = await recalibrateBatchNorm(model, {
      batches,
      nextBatch: async () => {
        current?.dispose();
        const b = await ds.next();
        current = tf.tensor4d(b.lr, [b.batch, b.lrSize, b.lrSize, 3]);
        return current;
      },
      onProgress: (done, total) => {
        if (done % 20 === 0 || done === total) process.stderr.write(`batch-norm statistics ${done}/${total}\n`);
      },
    });
    return layers ? { batches, batch, patch, data } : null;
  } finally {
    (current as tf.Tensor4D | null)?.dispose();
    await ds.close();
  }
}

const hours = (s: number) => `${(s / 3600).toFixed(2)} h`;

/**
 * The legs behind a run's `--init` weights, so a card records every leg of a model trained over
 * several sessions: from the weights' metadata ('legs', written below), or for files packaged
 * before that, the "How it was trained" list of the card next to them.
 */
function earlierLegs(init: unknown): string[] {
  if (typeof init !== 'string' || !existsSync(init)) return [];
  const meta = readSafetensors(init).metadata;
  if (meta['legs']) return JSON.parse(meta['legs']) as string[];
  const card = init.replace(/\.safetensors$/, '') + '.md';
  if (!existsSync(card)) return [`- Initialised from \`${init}\`, whose training is not recorded with it.`];
  const m = /## How it was trained\n\n([\s\S]*?)\n\n## /.exec(readFileSync(card, 'utf8'));
  return m ? [m[1]!.trim()] : [`- Initialised from \`${init}\`; its card (${basename(card)}) has no training section.`];
}

export function registerPackageModelCommand(program: Command): void {
  program
    .command('package-model')
    .description('ship a training run: its newest checkpoint as a float16 generator plus a model card with protocol-measured PSNR/SSIM')
    .requiredOption('--run <dir>', 'training run folder (from srgan train)')
    .requiredOption('--out <file.safetensors>', 'where the float16 weights go; the card goes next to it as .md')
    .option('--eval <folders>', 'comma-separated HR benchmark folders to measure on (e.g. Set5,Set14 paths)')
    .option('--title <text>', 'model card title')
    // Off by default: on the SRResNet x4 run it moved Set5 by +0.27 dB at step 1600 and -0.12 dB
    // at step 2500, so the training's own moving averages are a fine default.
    .option('--bn-batches <n>', 're-estimate batch-norm statistics with the final weights over n training batches (precise BN; 0: keep the moving averages)', '0')
    .option('--bn-data <folder>', 'images for that re-estimate (default: the run\'s --data)')
    .option('--force', 'replace existing files')
    .action(async (flags: Flags) => {
      const out = resolve(flags.out);
      const card = out.replace(/\.safetensors$/, '') + '.md';
      for (const f of [out, card]) if (existsSync(f) && !flags.force) throw new SrError(`${f} exists; add --force to replace it`);
      await initBackend({ backend: program.opts()['backend'] });
      mkdirSync(dirname(out), { recursive: true });
      const facts = runFacts(flags.run);
      const c = facts.config;
      // Read before anything is written: --out may be the very file the run started from.
      const legs = earlierLegs(c['init']);
      const { model, config } = loadModel(facts.weights);
      const bn = await preciseBatchNorm(model, facts.config, flags);
      const thisLeg = [
        `- Command: \`${commandLine(c)}\` (resumed with \`--resume\` as needed; the run's resolved options are below).`,
        ...facts.resumes.map(
          (r) => `- Resumed at step ${r.step} with changed options: ${Object.entries(r.changed).map(([k, [a, b]]) => `${k} ${JSON.stringify(a)} -> ${JSON.stringify(b)}`).join(', ')}.`,
        ),
        `- Steps: ${facts.step} of ${String(c['steps'])} planned, batch ${String(c['batch'])}, ${String(c['patch'])} px HR crops; training time ${hours(facts.trainSeconds)} (sum of step times) on the ${String(c['engine'] ?? 'tfjs')} engine (TF.js backend ${String(c['backend'] ?? 'wasm')}).`,
        `- Data: \`${String(c['data'])}\`${c['init'] ? `; generator initialised from \`${String(c['init'])}\`` : ''}.`,
        `- Source checkpoint: ${facts.weights} (step ${facts.step}).`,
      ].join('\n');
      const allLegs = [...legs, thisLeg];
      await saveModel(model, config, out, {
        dtype: 'float16',
        metadata: { step: String(facts.step), trainSeconds: facts.trainSeconds.toFixed(0), mode: String(facts.config['mode']), data: String(facts.config['data']), legs: JSON.stringify(allLegs) },
      });
      model.dispose();
      // Measure what ships: the float16 file, not the float32 checkpoint.
      const shipped = loadModel(out);
      const scale = Number(config['scale']);
      const rows: string[] = [];
      for (const dir of (flags.eval ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
        const methods = [...(await resolveMethods('bicubic')), generatorMethod('model', shipped.model)];
        const r = await evaluate({ dir, scale, methods, onStart: (f, i, n) => process.stderr.write(`eval ${basename(dir)} ${i + 1}/${n} ${basename(f)}\n`) });
        const b = r.mean['bicubic']!;
        const m = r.mean['model']!;
        rows.push(`| ${basename(dir)} x${scale} | ${b.psnr.toFixed(2)} / ${b.ssim.toFixed(4)} | ${m.psnr.toFixed(2)} / ${m.ssim.toFixed(4)} | ${(m.psnr - b.psnr >= 0 ? '+' : '') + (m.psnr - b.psnr).toFixed(2)} dB |`);
      }
      shipped.model.dispose();
      const text = [
        `# ${flags.title ?? basename(out)}`,
        '',
        `Generator \`${JSON.stringify(config)}\`, float16 weights (${basename(out)}), packaged by srgan-js ${packageVersion()} with`,
        `\`srgan package-model --run ${flags.run} --out ${flags.out}${flags.eval ? ` --eval ${flags.eval}` : ''}\`.`,
        '',
        '## How it was trained',
        '',
        ...(allLegs.length > 1 ? allLegs.flatMap((l, i) => [`### Leg ${i + 1}${i === allLegs.length - 1 ? ' (this run)' : ''}`, '', l, '']) : [thisLeg, '']),
        bn
          ? `- Batch-norm statistics re-estimated with the final weights (precise BN): the mean over ${bn.batches} batches of ${bn.batch} ${bn.patch} px crops from \`${bn.data}\` of each layer's batch mean and variance, replacing the training's moving averages.`
          : '- Batch-norm statistics: the moving averages kept during training.',
        '',
        '## Measured (evaluation protocol: MATLAB bicubic LR, Y channel, border = scale; on the float16 weights)',
        '',
        rows.length ? '| set | bicubic PSNR / SSIM | this model PSNR / SSIM | gain |\n| --- | --- | --- | --- |\n' + rows.join('\n') : '(no --eval folders given)',
        '',
        '## Resolved training options',
        '',
        '```json',
        JSON.stringify(c, null, 2),
        '```',
        '',
      ].join('\n');
      await writeFileAtomic(card, text);
      process.stdout.write(`${out}\n${card}\n${rows.join('\n')}\n`);
    });
}
