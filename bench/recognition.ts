// Issue 18's experiment (not a test): does video SR help a two-stream action recognizer, and
// which stream does each method help? For each seed: make a synthetic action set from the
// training photos, train the recognizer on the HR clips, then score the test clips degraded x4
// and upscaled by bicubic, the shipped SRResNet, and SoSR / ToSR fine-tuned from it (on sequences
// synthesised from the training photos, never from Set5/Set14; trained once, shared by seeds).
//
//   npm run build && node dist/bench/recognition.js [--out runs/recognition] [--seeds 1,2]
//     [--clips 30] [--frames 16] [--size 64] [--rec-steps 1200] [--sr-steps 600]
//
// The defaults are the README's runs B and C together (about 25 minutes on two shared cores).
//
// The recognizer's rate drops tenfold for the last quarter, so that the batch-norm moving
// averages settle on the final weights (with a constant rate they trail them, and the spatial
// stream's test accuracy suffered). Finished steps are reused (a run folder with its final weights, a set with its split lists).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../src/tfjs/backend.js';
import { resolveOptions } from '../src/train/options.js';
import { train } from '../src/train/trainer.js';
import { makeActions } from '../src/action/synth_actions.js';
import { evaluateRecognition, formatRecognitionTable, recognitionPlot, SCORES, type RecognitionResult } from '../src/action/eval_recognition.js';

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const out = arg('out', 'runs/recognition');
const seeds = arg('seeds', '1,2').split(',').map(Number);
const clips = Number(arg('clips', '30'));
const frames = Number(arg('frames', '16'));
const size = Number(arg('size', '64'));
const recSteps = Number(arg('rec-steps', '1200'));
const srSteps = Number(arg('sr-steps', '600'));
const photos = arg('photos', '../shared/data/train/bsds200');
const shipped = 'models/srresnet-x4.safetensors';
const backend = await initBackend({ backend: 'wasm', quiet: true });
mkdirSync(out, { recursive: true });
const times: Record<string, number> = {};
const timed = async <T>(what: string, f: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const r = await f();
  times[what] = (times[what] ?? 0) + (performance.now() - t0) / 1000;
  return r;
};
const quiet = { backend, quiet: true };
const runTrain = async (mode: 'sosr' | 'tosr' | 'recognizer', dir: string, file: string, o: Record<string, unknown>) => {
  if (existsSync(join(dir, file))) return;
  process.stderr.write(`train ${mode} -> ${dir}\n`);
  await train(resolveOptions(mode, { out: dir, workers: 1, logEvery: 50, ckptEvery: 200, ...o }), { ...quiet, resume: existsSync(join(dir, 'checkpoints')) });
};

// SoSR / ToSR: the full shipped SRResNet (16 blocks, 64 channels) fine-tuned with each loss.
const sr = { data: photos, init: shipped, steps: srSteps, patch: 48, batch: 4, lr: 5e-5, seed: 1 };
await timed('sosr fine-tune', () => runTrain('sosr', join(out, 'sosr'), 'generator.safetensors', sr));
await timed('tosr fine-tune', () => runTrain('tosr', join(out, 'tosr'), 'generator.safetensors', sr));

const results: RecognitionResult[] = [];
for (const seed of seeds) {
  const set = join(out, `set-${seed}`);
  if (!existsSync(join(set, 'testlist01.txt'))) await timed('make sets', () => makeActions({ out: set, photos, seed, clipsPerClass: clips, frames, size }));
  const rec = join(out, `recognizer-${seed}`);
  await timed('train recognizers', () => runTrain('recognizer', rec, 'recognizer.safetensors', { data: set, steps: recSteps, batch: 16, patch: size, videoFrames: frames, seed, lrSchedule: `2e-3@0,2e-4@${Math.round(0.75 * recSteps)}` }));
  process.stderr.write(`eval-recognition seed ${seed}\n`);
  const r = await timed('evaluate', () =>
    evaluateRecognition({
      data: set,
      recognizer: rec,
      scale: 4,
      methods: [
        { name: 'hr', spec: 'hr' },
        { name: 'bicubic', spec: 'bicubic' },
        { name: 'srresnet', spec: shipped },
        { name: 'sosr', spec: join(out, 'sosr', 'generator.safetensors') },
        { name: 'tosr', spec: join(out, 'tosr', 'generator.safetensors') },
      ],
    }),
  );
  writeFileSync(join(out, `results-${seed}.json`), JSON.stringify(r, null, 2));
  writeFileSync(join(out, `recognition-${seed}.svg`), recognitionPlot(r));
  process.stdout.write(`seed ${seed}: ${formatRecognitionTable(r)}`);
  results.push(r);
}

// Mean over seeds, per method and score, with the per-seed values.
const methods = results[0]!.methods;
const lines = [`mean over seeds ${seeds.join(', ')} (${results.map((r) => r.videos).join(' + ')} test videos, ${clips} clips per class, ${frames} frames of ${size}x${size})`];
lines.push(`${'method'.padEnd(9)}  ${SCORES.map((s) => s.padStart(18)).join('  ')}`);
for (const m of methods) {
  const cells = SCORES.map((s) => {
    const v = results.map((r) => 100 * r.accuracy[m]![s]);
    return `${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(1)}% (${v.map((x) => x.toFixed(0)).join('/')})`.padStart(18);
  });
  lines.push(`${m.padEnd(9)}  ${cells.join('  ')}`);
}
lines.push(`times (s): ${Object.entries(times).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
process.stdout.write(lines.join('\n') + '\n');
writeFileSync(join(out, 'summary.txt'), lines.join('\n') + '\n');
