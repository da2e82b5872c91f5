// The training loop shared by `train srresnet`, `train srgan` and the video modes `train sosr` /
// `train tosr`: data stream, replicas, logging, validation, plots and checkpoints. The video modes
// train on pairs of frames with their HR flow (src/video/sequence_dataset.ts) instead of patches.
// Everything a run writes lives in its run folder (run_dir.ts), and besides:
//
//   curves.svg/.png  loss and validation curves, refreshed at every validation
//   samples/         SR output of the first validation image at each validation
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { assertFastBackend, currentBackend, type BackendName } from '../tfjs/backend.js';
import { resolveConfig, type ModelConfig } from '../models/registry.js';
import '../models/index.js';
import { assignArrays, saveModel } from '../models/weights.js';
import { readSafetensors } from '../models/safetensors.js';
import { PatchDataset, type PatchDatasetState } from '../data/patch_dataset.js';
import { SequenceDataset, type SequenceDatasetState } from '../video/sequence_dataset.js';
import { ClipDataset, type ClipDatasetState } from '../action/clip_dataset.js';
import { readActionLayout } from '../action/layout.js';
import { evaluate, evaluateWithNiqe, type ImageOutcome } from '../eval/protocol.js';
import type { MetricName } from '../eval/metrics.js';
import { generatorMethod } from '../inference/tfjs_runner.js';
import { createSession, sessionMethod } from '../inference/onnx_session.js';
import { exportOnnx } from '../inference/onnx_export.js';
import { saveImage } from '../io/image.js';
import { writeFileAtomic } from '../util/atomic.js';
import { SrError } from '../util/errors.js';
import { plotSvg, type Series } from '../util/svg_plot.js';
import { ReplicaPool } from './pool.js';
import { seededInit } from './init.js';
import { saveCheckpoint, loadResumable } from './checkpoint.js';
import { RunLog, checkRunFolder, finalGeneratorPath, writeInitLegs, writeRunConfig, type LogEntry } from './run_dir.js';
import { earlierLegs } from './model_card.js';
import { TRAIN_FIELDS, defaults, stepRate, type TrainOptions } from './options.js';
import { WeightAverage } from './ema.js';
import { getObjective } from './objectives.js';
import type { ReplicaSetup, Losses, Shard } from './replica.js';
import { ProgressReporter } from '../util/progress.js';

export type { LogEntry } from './run_dir.js';

export interface TrainRunOptions {
  resume?: boolean;
  /** Stops after the current step, with a checkpoint (Ctrl-C). */
  signal?: AbortSignal;
  backend: BackendName;
  /** Progress bar on stderr (default: when stderr is a terminal); otherwise a line per log step. */
  progress?: boolean;
  quiet?: boolean;
}

export interface TrainResult {
  step: number;
  interrupted: boolean;
  seconds: number;
  lastLosses?: Losses;
  lastVal?: { psnr: number; ssim: number; step: number };
  log: LogEntry[];
}

export function modelConfigs(o: TrainOptions): { g: ModelConfig; d?: ModelConfig } {
  if (o.mode === 'recognizer') return { g: resolveConfig({ type: 'two-stream', classes: readActionLayout(o.data).classes.length, stack: o.stack, channels: o.channels }) };
  const g = resolveConfig({ type: 'srresnet', scale: o.scale, blocks: o.blocks, channels: o.channels });
  if (!getObjective(o.mode).phases.includes('d')) return { g };
  return { g, d: resolveConfig({ type: 'srgan-discriminator', size: o.patch, channels: o.discChannels, antialias: o.discAntialias === 'blur' }) };
}

async function writePlot(runDir: string, log: LogEntry[], mode: string): Promise<void> {
  const lossNames = [...new Set(log.flatMap((e) => (e.losses ? Object.keys(e.losses) : [])))].filter((k) => !(k === 'g_total' && mode === 'srresnet')); // there it equals 'pixel'
  const lossSeries: Series[] = lossNames.map((k) => ({ name: k, points: log.filter((e) => e.losses?.[k] !== undefined).map((e) => [e.step, e.losses![k]!]) }));
  const vals = log.filter((e) => e.val);
  const niqes = vals.filter((e) => e.val!.niqe !== undefined);
  const grids = vals.filter((e) => e.val!.grid !== undefined);
  const svg = plotSvg([
    { title: 'Training losses', xLabel: 'step', yLabel: 'loss', series: lossSeries, logY: true },
    { title: 'Validation (Y-channel PSNR, evaluation protocol)', xLabel: 'step', yLabel: 'PSNR (dB)', series: [{ name: 'PSNR', points: vals.map((e) => [e.step, e.val!.psnr]) }] },
    { title: 'Validation SSIM', xLabel: 'step', yLabel: 'SSIM', series: [{ name: 'SSIM', points: vals.map((e) => [e.step, e.val!.ssim]) }] },
    ...(niqes.length ? [{ title: 'Validation NIQE (lower = more natural)', xLabel: 'step', yLabel: 'NIQE', series: [{ name: 'NIQE', points: niqes.map((e): [number, number] => [e.step, e.val!.niqe!]) }] }] : []),
    ...(grids.length
      ? [{
          title: 'Validation sub-pixel grid (checkerboard), HR for reference', xLabel: 'step', yLabel: 'grid (8-bit levels)',
          series: [
            { name: 'model', points: grids.map((e): [number, number] => [e.step, e.val!.grid!]) },
            { name: 'HR', points: grids.map((e): [number, number] => [e.step, e.val!.hrGrid!]) },
          ],
        }]
      : []),
  ]);
  await writeFileAtomic(join(runDir, 'curves.svg'), svg);
  await writeFileAtomic(join(runDir, 'curves.png'), await sharp(Buffer.from(svg)).png().toBuffer());
}

export async function train(o: TrainOptions, run: TrainRunOptions): Promise<TrainResult> {
  assertFastBackend('training');
  const say = (m: string) => {
    if (!run.quiet) process.stderr.write(`${m}\n`);
  };
  checkRunFolder(o.out, run.resume === true);
  // Loaded before anything in the folder changes, so a run that cannot resume is left as it was.
  const resumed = run.resume ? loadResumable(o.out, say) : null;
  mkdirSync(o.out, { recursive: true });
  await writeRunConfig(o.out, { ...o, backend: currentBackend() }, resumed?.content.state.step, {
    startedWith: defaults(o.mode) as unknown as Record<string, unknown>,
    sitting: Object.entries(TRAIN_FIELDS).filter(([, f]) => f.onResume === 'session').map(([k]) => k),
  });

  const configs = modelConfigs(o);
  const objective = getObjective(o.mode);
  const setup: ReplicaSetup = {
    mode: o.mode,
    generator: configs.g,
    ...(configs.d ? { discriminator: configs.d } : {}),
    content: o.content,
    pixelLoss: o.pixelLoss,
    ...(o.vggWeights ? { vggWeights: o.vggWeights } : {}),
    advWeight: o.advWeight,
    ...(o.gridWeight > 0 ? { grid: { weight: o.gridWeight, period: o.gridPeriod || o.scale } } : {}),
    beta1: o.beta1,
    ...(o.mode === 'tosr' ? { temporalWeight: o.temporalWeight } : {}),
    engine: o.engine,
    threads: o.threads,
  };
  const pool = await ReplicaPool.create(setup, { workers: o.workers, accumulate: o.accumulate, backend: run.backend });
  let ds: PatchDataset | SequenceDataset | ClipDataset | null = null;
  try {
    let step = 0;
    let trainSeconds = 0;
    let dataState: PatchDatasetState | SequenceDatasetState | ClipDatasetState | undefined;
    if (resumed) {
      const c = resumed.content;
      pool.local.loadState({ ...c, optStep: c.state.optStep }, resumed.dir);
      step = c.state.step;
      trainSeconds = c.state.trainSeconds;
      dataState = c.state.data as PatchDatasetState | SequenceDatasetState | ClipDatasetState;
      say(`resuming ${o.out} from step ${step}`);
    } else {
      seededInit(pool.local.g.model, o.seed, { interpolate: o.genInit === 'interpolate' && configs.g.type === 'srresnet' });
      if (pool.local.d) seededInit(pool.local.d.model, o.seed + 1);
      if (o.init) {
        const { tensors, metadata } = readSafetensors(o.init);
        const cfg = metadata['config'] ? JSON.parse(metadata['config']) : null;
        if (cfg && JSON.stringify(resolveConfig(cfg)) !== JSON.stringify(configs.g)) {
          throw new SrError(`--init ${o.init} holds a ${JSON.stringify(cfg)} generator, but this run trains ${JSON.stringify(configs.g)}`);
        }
        assignArrays(pool.local.g.model, tensors, o.init);
        await writeInitLegs(o.out, earlierLegs(o.init));
        say(`generator initialised from ${o.init}`);
      } else if (o.mode === 'srgan') {
        say('warning: training SRGAN from random weights; the paper starts from a trained SRResNet (--init)');
      }
      pool.local.pullModels();
    }
    await pool.broadcastState();
    const ema = o.ema > 0 ? new WeightAverage(pool.local.g.state, o.ema) : null;
    if (ema && resumed) {
      const saved = resumed.content.gEma;
      ema.load(saved ? new Map(saved.map((a) => [a.name, a])) : null, resumed.dir);
      if (!saved) say('starting the weight average (--ema) from the checkpoint\'s weights');
    }
    // The network that is validated and shipped: the average where the run keeps one.
    const pushShipped = () => {
      pool.local.syncModels();
      if (ema) pool.local.g.state.push(pool.local.g.model, ema.values);
    };

    const runLog = await RunLog.open(o.out, resumed ? step : undefined);
    const log = runLog.entries;
    const record = (e: LogEntry) => runLog.record(e);

    ds = objective.data === 'clips'
      ? await ClipDataset.open({
          dir: o.data,
          size: o.patch,
          stack: o.stack,
          batch: o.batch,
          seed: o.seed,
          workers: o.dataWorkers,
          maxFrames: o.videoFrames,
          ...(dataState ? { state: dataState as ClipDatasetState } : {}),
        })
      : objective.data === 'sequences'
      ? await SequenceDataset.open({
          dir: o.data,
          mode: o.mode as 'sosr' | 'tosr',
          scale: o.scale,
          patch: o.patch,
          batch: o.batch,
          seed: o.seed,
          workers: o.dataWorkers,
          eps: o.motionEps,
          videoFrames: o.videoFrames,
          ...(dataState ? { state: dataState as SequenceDatasetState } : {}),
          onWarning: (m) => say(`warning: ${m}`),
        })
      : await PatchDataset.open({ dir: o.data, scale: o.scale, hrPatch: o.patch, batch: o.batch, seed: o.seed, workers: o.dataWorkers, ...(dataState ? { state: dataState as PatchDatasetState } : {}), onWarning: (m) => say(`warning: ${m}`) });
    let lastVal: { psnr: number; ssim: number; step: number } | undefined;
    // A GAN is watched for texture as well as distortion; NIQE needs images of a few 96 px blocks,
    // so a validation set too small for it is validated without it (said once).
    let withNiqe = objective.phases.includes('d');
    const validate = async () => {
      if (!o.val) return;
      pushShipped();
      // On the ONNX engine the generator is validated on ONNX Runtime too (exported with its
      // batch norms folded): it is the faster inference engine as well (bench/upscale_engines.ts).
      const session = o.engine === 'onnx' ? await createSession(exportOnnx(pool.local.g.model, { config: configs.g }).bytes, o.threads) : null;
      const method = session ? sessionMethod('model', session) : generatorMethod('model', pool.local.g.model);
      let first = true;
      const opts = {
        dir: o.val,
        scale: o.scale,
        methods: [method],
        // A GAN is watched for the checkerboard its training tends to grow, too (eval/grid.ts).
        metrics: objective.phases.includes('d') ? (['psnr', 'ssim', 'grid'] as MetricName[]) : undefined,
        onImage: async (img: ImageOutcome) => {
          if (!first) return;
          first = false;
          mkdirSync(join(o.out, 'samples'), { recursive: true });
          await saveImage(img.outputs.get('model')!, join(o.out, 'samples', `step-${String(step).padStart(8, '0')}.png`));
        },
      };
      const noNiqe = (reason: string) => {
        withNiqe = false;
        say(`warning: validation without NIQE (${reason})`);
      };
      const r = await (withNiqe ? evaluateWithNiqe(opts, noNiqe) : evaluate(opts)).finally(async () => {
        await session?.release();
        // The reference engine mirrors the model: give it back the weights being trained.
        if (ema) pool.local.syncModels();
      });
      const m = r.mean['model']!;
      lastVal = { psnr: m.psnr, ssim: m.ssim, step };
      const noReference = { ...(m.niqe !== undefined ? { niqe: m.niqe } : {}), ...(m.grid !== undefined ? { grid: m.grid, hrGrid: r.referenceMean!.grid! } : {}) };
      record({ step, time: new Date().toISOString(), val: { psnr: m.psnr, ssim: m.ssim, ...noReference, images: r.images.length } });
      await writePlot(o.out, log, o.mode);
    };
    let savedStep = resumed ? step : -1;
    const checkpoint = async (data: unknown = ds!.state()) => {
      const s = pool.local.state();
      savedStep = step;
      await saveCheckpoint(
        o.out,
        {
          state: { step, optStep: s.optStep, data, trainSeconds },
          g: s.g,
          ...(ema ? { gEma: ema.arrays().map((a) => ({ ...a, data: a.data.slice() })) } : {}),
          ...(s.d ? { d: s.d } : {}),
          opt: s.opt,
          gConfig: configs.g,
          ...(configs.d ? { dConfig: configs.d } : {}),
        },
        o.keepCheckpoints,
      );
    };

    if (step === 0) await validate();
    const progress = new ProgressReporter({ total: o.steps, start: step, enabled: !run.quiet, bar: run.progress ?? process.stderr.isTTY === true, label: `train ${o.mode}` });
    let lastLosses: Losses | undefined;
    let windowStart = performance.now();
    let windowSteps = 0;
    let interrupted = false;
    while (step < o.steps) {
      if (run.signal?.aborted) {
        interrupted = true;
        break;
      }
      // A step whose data is already prefetched never leaves the microtask queue, so without this
      // a Ctrl-C (a macrotask) would wait for the next file write, i.e. the next checkpoint.
      await new Promise((resolve) => setImmediate(resolve));
      const t0 = performance.now();
      const dataBefore = ds.state();
      const b = await ds.next();
      let batch: Shard;
      if ('labels' in b) {
        // a clip batch: no images, the recognizer's input and labels (see the objective's feed)
        batch = { lr: new Float32Array(0), hr: new Float32Array(0), n: b.batch, lrSize: b.size, hrSize: b.size, aux: b.x, auxChannels: b.channels, labels: b.labels, classes: b.classes };
      } else {
        batch = { lr: b.lr, hr: b.hr, n: b.batch, lrSize: b.lrSize, hrSize: b.hrSize };
        if ('aux' in b) Object.assign(batch, { frames: b.frames, aux: b.aux, auxChannels: b.auxChannels });
      }
      const rate = stepRate(o, step);
      const losses: Losses = {};
      try {
        for (const phase of objective.phases) Object.assign(losses, await pool.step(phase, batch, rate));
      } catch (err) {
        // Rank 0 applies an update only after every replica's gradient arrived, so its state is
        // still that of the last completed step: keep it, with the data stream before this batch.
        const saved = step > savedStep && step > 0;
        if (saved) await checkpoint(dataBefore);
        const resume = saved ? `; checkpoint of step ${step} saved, continue with --resume` : '';
        // A worker's failure and errors meant for people read as one line; anything else is a
        // bug and keeps its stack (after the checkpoint above is safe).
        if (err instanceof SrError || (err instanceof Error && /^training worker \d+ (failed|exited)/.test(err.message))) {
          throw new SrError(`training stopped at step ${step + 1}: ${(err as Error).message}${resume}`, { cause: err });
        }
        if (saved) say(`training stopped at step ${step + 1}${resume}`);
        throw err;
      }
      for (const [k, v] of Object.entries(losses)) {
        if (!Number.isFinite(v)) throw new SrError(`training diverged at step ${step + 1}: loss '${k}' is ${v}; lower the learning rate or check the data`);
      }
      ema?.update();
      step += 1;
      trainSeconds += (performance.now() - t0) / 1000;
      windowSteps += 1;
      lastLosses = losses;
      progress.update(step, losses);
      if (step % o.logEvery === 0 || step === o.steps) {
        const secs = (performance.now() - windowStart) / 1000;
        record({
          step,
          time: new Date().toISOString(),
          lr: rate,
          losses,
          samplesPerSec: (windowSteps * o.batch) / secs,
          tensors: tf.memory().numTensors,
          rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
        });
        windowStart = performance.now();
        windowSteps = 0;
      }
      if (step % o.valEvery === 0 || step === o.steps) await validate();
      if (step % o.ckptEvery === 0 || step === o.steps) await checkpoint();
    }
    if (interrupted && step % o.ckptEvery !== 0) await checkpoint();
    progress.stop();
    const finalPath = objective.modelFile ? join(o.out, objective.modelFile) : finalGeneratorPath(o.out);
    if (!interrupted) {
      pushShipped();
      await saveModel(pool.local.g.model, configs.g, finalPath, {
        metadata: {
          step: String(step), mode: o.mode, trainSeconds: trainSeconds.toFixed(0), data: o.data,
          // what a recognizer's user needs to feed it: class names and frame side
          ...(ds instanceof ClipDataset ? { classes: JSON.stringify(ds.layout.classes), size: String(o.patch) } : {}),
        },
      });
    }
    if (log.length) await writePlot(o.out, log, o.mode);
    say(interrupted ? `stopped at step ${step}; checkpoint saved, continue with --resume` : `finished ${step} steps; weights in ${finalPath}`);
    return { step, interrupted, seconds: trainSeconds, ...(lastLosses ? { lastLosses } : {}), ...(lastVal ? { lastVal } : {}), log };
  } finally {
    await ds?.close();
    await pool.close();
  }
}
