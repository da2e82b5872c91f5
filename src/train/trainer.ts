// The training loop shared by `train srresnet`, `train srgan` and the video modes `train sosr` /
// `train tosr`: data stream, replicas, logging, validation, plots and checkpoints. The video modes
// train on pairs of frames with their HR flow (src/video/sequence_dataset.ts) instead of patches.
// Everything a run writes lives in its run folder:
//
//   config.json      the resolved options (flags over config file over defaults)
//   log.jsonl        one JSON object per logged step and per validation
//   curves.svg/.png  loss and validation curves, refreshed at every validation
//   samples/         SR output of the first validation image at each validation
//   checkpoints/     see checkpoint.ts; `--resume` continues from the newest complete one
//   generator.safetensors  the final generator (float32), loadable by `upscale --model`
import * as tf from '@tensorflow/tfjs-core';
import { mkdirSync, existsSync, readFileSync, appendFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import sharp from 'sharp';
import { assertFastBackend, currentBackend, type BackendName } from '../engine/backend.js';
import { resolveConfig, type ModelConfig } from '../models/registry.js';
import '../models/index.js';
import { assignArrays, saveModel } from '../models/weights.js';
import { readSafetensors } from '../models/safetensors.js';
import { PatchDataset, type PatchDatasetState } from '../data/patch_dataset.js';
import { SequenceDataset, type SequenceDatasetState } from '../video/sequence_dataset.js';
import { ClipDataset, type ClipDatasetState } from '../action/clip_dataset.js';
import { readActionLayout } from '../action/layout.js';
import { evaluate } from '../eval/protocol.js';
import { generatorMethod } from '../inference/tfjs_runner.js';
import { createSession, sessionMethod } from '../inference/onnx_session.js';
import { exportOnnx } from '../inference/onnx_export.js';
import { saveImage } from '../io/image.js';
import { writeFileAtomic } from '../util/atomic.js';
import { SrError } from '../util/errors.js';
import { plotSvg, type Series } from '../util/svg_plot.js';
import { ReplicaPool } from './pool.js';
import { seededInit } from './init.js';
import { saveCheckpoint, latestCheckpoint, loadResumable } from './checkpoint.js';
import { learningRateAt, type TrainOptions } from './options.js';
import { getObjective } from './objectives.js';
import type { ReplicaSetup, Losses, Shard } from './replica.js';
import { ProgressReporter } from '../util/progress.js';

export interface LogEntry {
  step: number;
  time: string;
  lr?: number;
  losses?: Losses;
  samplesPerSec?: number;
  tensors?: number;
  rssMB?: number;
  val?: { psnr: number; ssim: number; images: number };
}

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
  return { g, d: resolveConfig({ type: 'srgan-discriminator', size: o.patch, channels: o.discChannels }) };
}

function readLog(path: string, upTo: number): LogEntry[] {
  if (!existsSync(path)) return [];
  const out: LogEntry[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as LogEntry;
      if (e.step <= upTo) out.push(e);
    } catch {
      // A line cut short by a kill: everything after it belongs to steps being redone.
      break;
    }
  }
  return out;
}

async function writePlot(runDir: string, log: LogEntry[], mode: string): Promise<void> {
  const lossNames = [...new Set(log.flatMap((e) => (e.losses ? Object.keys(e.losses) : [])))].filter((k) => !(k === 'g_total' && mode === 'srresnet')); // there it equals 'pixel'
  const lossSeries: Series[] = lossNames.map((k) => ({ name: k, points: log.filter((e) => e.losses?.[k] !== undefined).map((e) => [e.step, e.losses![k]!]) }));
  const vals = log.filter((e) => e.val);
  const svg = plotSvg([
    { title: 'Training losses', xLabel: 'step', yLabel: 'loss', series: lossSeries, logY: true },
    { title: 'Validation (Y-channel PSNR, evaluation protocol)', xLabel: 'step', yLabel: 'PSNR (dB)', series: [{ name: 'PSNR', points: vals.map((e) => [e.step, e.val!.psnr]) }] },
    { title: 'Validation SSIM', xLabel: 'step', yLabel: 'SSIM', series: [{ name: 'SSIM', points: vals.map((e) => [e.step, e.val!.ssim]) }] },
  ]);
  await writeFileAtomic(join(runDir, 'curves.svg'), svg);
  await writeFileAtomic(join(runDir, 'curves.png'), await sharp(Buffer.from(svg)).png().toBuffer());
}

/**
 * config.json holds the options of the latest (re)start; a resume that changes options (a smaller
 * patch, a new learning rate) appends what changed to resumes.jsonl, so a model card can tell the
 * whole history of a run rather than only its last leg.
 */
function recordOptionChanges(runDir: string, config: Record<string, unknown>, step: number): void {
  const path = join(runDir, 'config.json');
  if (!existsSync(path)) return;
  const before = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  const changed: Record<string, [unknown, unknown]> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(config)])) {
    if (JSON.stringify(before[key]) !== JSON.stringify(config[key])) changed[key] = [before[key] ?? null, config[key] ?? null];
  }
  if (Object.keys(changed).length === 0) return;
  appendFileSync(join(runDir, 'resumes.jsonl'), JSON.stringify({ step, time: new Date().toISOString(), changed }) + '\n');
}

export async function train(o: TrainOptions, run: TrainRunOptions): Promise<TrainResult> {
  assertFastBackend('training');
  const say = (m: string) => {
    if (!run.quiet) process.stderr.write(`${m}\n`);
  };
  const newest = existsSync(o.out) ? latestCheckpoint(o.out) : null;
  if (newest && !run.resume) {
    throw new SrError(`${o.out} already holds a run (checkpoints/${basename(newest)}); add --resume to continue it, or choose another --out`);
  }
  if (run.resume && !newest) {
    const what = !existsSync(o.out) ? 'does not exist' : existsSync(join(o.out, 'config.json')) ? 'holds no complete checkpoint' : 'is not a training run folder';
    throw new SrError(`--resume: ${o.out} ${what}, so there is nothing to continue; start a new run without --resume`);
  }
  // Loaded before anything in the folder changes, so a run that cannot resume is left as it was.
  const resumed = run.resume ? loadResumable(o.out, say) : null;
  mkdirSync(o.out, { recursive: true });
  const logPath = join(o.out, 'log.jsonl');
  const config = { ...o, backend: currentBackend() };
  if (resumed) recordOptionChanges(o.out, config, resumed.content.state.step);
  await writeFileAtomic(join(o.out, 'config.json'), JSON.stringify(config, null, 2));

  const configs = modelConfigs(o);
  const objective = getObjective(o.mode);
  const setup: ReplicaSetup = {
    mode: o.mode,
    generator: configs.g,
    ...(configs.d ? { discriminator: configs.d } : {}),
    content: o.content,
    ...(o.vggWeights ? { vggWeights: o.vggWeights } : {}),
    advWeight: o.advWeight,
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
        say(`generator initialised from ${o.init}`);
      } else if (o.mode === 'srgan') {
        say('warning: training SRGAN from random weights; the paper starts from a trained SRResNet (--init)');
      }
      pool.local.pullModels();
    }
    await pool.broadcastState();

    const log = resumed ? readLog(logPath, step) : [];
    await writeFileAtomic(logPath, log.map((e) => JSON.stringify(e) + '\n').join(''));
    const record = (e: LogEntry) => {
      log.push(e);
      appendFileSync(logPath, JSON.stringify(e) + '\n');
    };

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
    const validate = async () => {
      if (!o.val) return;
      pool.local.syncModels();
      // On the ONNX engine the generator is validated on ONNX Runtime too (exported with its
      // batch norms folded): it is the faster inference engine as well (bench/upscale_engines.ts).
      const session = o.engine === 'onnx' ? await createSession(exportOnnx(pool.local.g.model, { config: configs.g }).bytes, o.threads) : null;
      const method = session ? sessionMethod('model', session) : generatorMethod('model', pool.local.g.model);
      let first = true;
      const r = await evaluate({
        dir: o.val,
        scale: o.scale,
        methods: [method],
        onImage: async (img) => {
          if (!first) return;
          first = false;
          mkdirSync(join(o.out, 'samples'), { recursive: true });
          await saveImage(img.outputs.get('model')!, join(o.out, 'samples', `step-${String(step).padStart(8, '0')}.png`));
        },
      }).finally(() => session?.release());
      const m = r.mean['model']!;
      lastVal = { psnr: m.psnr, ssim: m.ssim, step };
      record({ step, time: new Date().toISOString(), val: { psnr: m.psnr, ssim: m.ssim, images: r.images.length } });
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
      const rate = learningRateAt(o.lrSchedule, step);
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
    if (!interrupted) {
      pool.local.syncModels();
      await saveModel(pool.local.g.model, configs.g, join(o.out, objective.modelFile ?? 'generator.safetensors'), {
        metadata: {
          step: String(step), mode: o.mode, trainSeconds: trainSeconds.toFixed(0), data: o.data,
          // what a recognizer's user needs to feed it: class names and frame side
          ...(ds instanceof ClipDataset ? { classes: JSON.stringify(ds.layout.classes), size: String(o.patch) } : {}),
        },
      });
    }
    if (log.length) await writePlot(o.out, log, o.mode);
    say(interrupted ? `stopped at step ${step}; checkpoint saved, continue with --resume` : `finished ${step} steps; weights in ${join(o.out, objective.modelFile ?? 'generator.safetensors')}`);
    return { step, interrupted, seconds: trainSeconds, ...(lastLosses ? { lastLosses } : {}), ...(lastVal ? { lastVal } : {}), log };
  } finally {
    await ds?.close();
    await pool.close();
  }
}
