// Shipping a training run: its newest checkpoint (or a chosen one) as a float16 generator plus a
// model card that says how it was made and what it measures. The card's figures are computed here, by the
// evaluation protocol, from the float16 file that ships.
import { mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadModel, saveModel } from '../models/weights.js';
// loadModel builds the generator by its registered architecture name.
import '../models/index.js';
import { evaluateWithNiqe } from '../eval/protocol.js';
import { resolveMethods } from '../inference/methods.js';
import { generatorMethod } from '../inference/tfjs_runner.js';
import { writeFileAtomic } from '../util/atomic.js';
import { packageVersion } from '../util/package_info.js';
import { readInitLegs, summarizeRun } from './run_dir.js';
import { recalibrateOnTrainingData } from './precise_bn.js';
import { earlierLegs, modelCard, thisLeg, type CardMeasurement } from './model_card.js';

export interface PackageRunOptions {
  run: string;
  /** the float16 weights file; the card goes next to it as .md */
  out: string;
  /** HR benchmark folders to measure on */
  eval?: string[];
  title?: string;
  /** precise BN over this many training batches (0: keep the moving averages) */
  bnBatches?: number;
  /** images for precise BN (default: the run's --data) */
  bnData?: string;
  /**
   * Ship the trained weights rather than their average (--ema): on SRGAN the average smooths
   * away the texture the GAN is for (see the README's SRGAN section).
   */
  lastIterate?: boolean;
  /** the checkpoint of this step rather than the newest */
  step?: number;
  /** the command as typed, for the card */
  packagedWith: string;
  onProgress?: (message: string) => void;
}

export interface PackagedRun {
  weights: string;
  card: string;
  measured: CardMeasurement[];
}

export const cardPathFor = (weights: string): string => weights.replace(/\.safetensors$/, '') + '.md';

export async function packageRun(o: PackageRunOptions): Promise<PackagedRun> {
  const say = o.onProgress ?? (() => {});
  const card = cardPathFor(o.out);
  mkdirSync(dirname(o.out), { recursive: true });
  const run = summarizeRun(o.run, { lastIterate: o.lastIterate === true, ...(o.step !== undefined ? { step: o.step } : {}) });
  const c = run.config;
  // Read before anything is written: o.out may be the very file the run started from.
  const legs = [...(readInitLegs(o.run) ?? earlierLegs(c['init'])), thisLeg(run)];
  const { model, config } = loadModel(run.weights);
  // Off by default: on the SRResNet x4 run it moved Set5 by +0.27 dB at step 1600 and -0.12 dB
  // at step 2500, so the training's own moving averages are a fine default.
  let bn: { batches: number; batch: number; patch: number; data: string } | null = null;
  if (o.bnBatches) {
    const data = o.bnData ?? String(c['data']);
    const batch = Number(c['batch']);
    const patch = Number(c['patch']);
    const layers = await recalibrateOnTrainingData(model, {
      batches: o.bnBatches, data, scale: Number(c['scale']), batch, patch,
      onProgress: (done, total) => {
        if (done % 20 === 0 || done === total) say(`batch-norm statistics ${done}/${total}`);
      },
    });
    if (layers) bn = { batches: o.bnBatches, batch, patch, data };
  }
  await saveModel(model, config, o.out, {
    dtype: 'float16',
    metadata: { step: String(run.step), trainSeconds: run.trainSeconds.toFixed(0), mode: String(c['mode']), data: String(c['data']), legs: JSON.stringify(legs) },
  });
  model.dispose();
  // Measure what ships: the float16 file, not the float32 checkpoint.
  const shipped = loadModel(o.out);
  const scale = Number(config['scale']);
  const measured: CardMeasurement[] = [];
  try {
    for (const dir of o.eval ?? []) {
      const methods = [...(await resolveMethods('bicubic')), generatorMethod('model', shipped.model)];
      // NIQE too (where the images allow it): for a GAN, texture is what the card must show, and
      // the sub-pixel grid, the artefact that comes with it.
      const r = await evaluateWithNiqe(
        { dir, scale, methods, metrics: ['psnr', 'ssim', 'grid'], onStart: (f, i, n) => say(`eval ${basename(dir)} ${i + 1}/${n} ${basename(f)}`) },
        (why) => say(`${basename(dir)}: no NIQE (${why})`),
      );
      const ref = r.referenceMean;
      measured.push({
        set: basename(dir), scale, bicubic: r.mean['bicubic']!, model: r.mean['model']!,
        ...(ref?.niqe !== undefined ? { hrNiqe: ref.niqe } : {}), ...(ref?.grid !== undefined ? { hrGrid: ref.grid } : {}),
      });
    }
  } finally {
    shipped.model.dispose();
  }
  const text = modelCard({
    title: o.title ?? basename(o.out), generator: config, weightsFile: basename(o.out), version: packageVersion(),
    packagedWith: o.packagedWith, legs, run, bn, rows: measured,
  });
  await writeFileAtomic(card, text);
  return { weights: o.out, card, measured };
}
