// Training options: defaults, a config file (JSON or YAML), then command-line flags over it,
// resolved and validated once into an immutable value that is written into the run folder.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { SrError, closest } from '../util/errors.js';
import type { ContentLoss } from '../losses/perceptual.js';
import { ENGINES, type EngineName } from './engine.js';
import { dataFolders } from '../data/folders.js';
import { getObjective } from './objectives.js';

export type TrainMode = 'srresnet' | 'srgan' | 'sosr' | 'tosr' | 'recognizer';

/** The video modes of Zhang, Liu & Xiong (ICCV 2019): pairs of frames with their HR flow. */
export function isVideoMode(mode: TrainMode): mode is 'sosr' | 'tosr' {
  return mode === 'sosr' || mode === 'tosr';
}

export interface TrainOptions {
  mode: TrainMode;
  data: string;
  out: string;
  val?: string;
  scale: number;
  steps: number;
  batch: number;
  patch: number;
  /** Piecewise-constant learning rate: [[fromStep, rate], ...] sorted by step. */
  lrSchedule: Array<[number, number]>;
  beta1: number;
  workers: number;
  accumulate: number;
  seed: number;
  blocks: number;
  channels: number;
  discChannels: number;
  content: ContentLoss;
  vggWeights?: string;
  advWeight: number;
  init?: string;
  /** How a generator without --init starts: 'interpolate' (SRResNet as a linear interpolator) or 'random'. */
  genInit: GenInit;
  logEvery: number;
  valEvery: number;
  ckptEvery: number;
  keepCheckpoints: number;
  dataWorkers: number;
  /** tosr: lambda, the weight of the two temporal terms */
  temporalWeight: number;
  /** sosr: eps, how much a static pixel still counts (see src/video/samples.ts motionWeights) */
  motionEps: number;
  /** sosr/tosr: frames decoded from the start of each training video */
  videoFrames: number;
  /** What computes the gradients: ONNX Runtime's native kernels, or TF.js (the reference). */
  engine: EngineName;
  /** onnx: intra-op threads per replica (workers x threads should match the cores). */
  threads: number;
  /** recognizer: L, the flow fields stacked for the temporal stream */
  stack: number;
}

export const GEN_INITS = ['interpolate', 'random'] as const;
export type GenInit = (typeof GEN_INITS)[number];

export function defaults(mode: TrainMode): TrainOptions {
  return {
    mode,
    data: '',
    out: '',
    scale: 4,
    steps: mode === 'srgan' ? 200_000 : 1_000_000,
    batch: 16,
    patch: 96,
    // The paper: SRResNet 1e-4 throughout; SRGAN 1e-4 for 1e5 steps, then 1e-5.
    lrSchedule: mode === 'srgan' ? [[0, 1e-4], [100_000, 1e-5]] : [[0, 1e-4]],
    beta1: 0.9,
    workers: availableParallelism(),
    accumulate: 1,
    seed: 1,
    blocks: 16,
    channels: 64,
    discChannels: 64,
    content: 'mse',
    advWeight: 1e-3,
    genInit: 'interpolate',
    logEvery: 10,
    valEvery: 500,
    ckptEvery: 200,
    keepCheckpoints: 3,
    dataWorkers: 1,
    temporalWeight: 1,
    motionEps: 0.1,
    videoFrames: 32,
    engine: 'onnx',
    threads: 1,
    stack: 4,
    // The recognizer is a small CNN on whole frames: --patch is the frame side, --channels the
    // first layer's width of each stream, and Adam's usual 1e-3 suits it.
    ...(mode === 'recognizer' ? { patch: 64, channels: 16, steps: 2000, lrSchedule: [[0, 1e-3]] as Array<[number, number]> } : {}),
  };
}

/** "1e-4@0,1e-5@100000" -> [[0, 1e-4], [100000, 1e-5]]: entries in increasing step order, from step 0. */
export function parseSchedule(text: string): Array<[number, number]> {
  const parts = text.split(',').map((p) => p.trim());
  const out = parts.map((p): [number, number] => {
    if (!p) throw new SrError(`learning-rate schedule '${text}' has an empty entry (a stray comma); write entries like 1e-4@0,1e-5@100000`);
    const m = /^([0-9.eE+-]+)@(\d+)$/.exec(p);
    if (!m) throw new SrError(`learning-rate schedule entry '${p}' should look like 1e-4@0 (rate@step)`);
    const rate = Number(m[1]);
    if (!(rate > 0) || !Number.isFinite(rate)) throw new SrError(`learning rate '${m[1]}' in the schedule must be a positive number`);
    return [Number(m[2]), rate];
  });
  if (out[0]![0] !== 0) throw new SrError(`the learning-rate schedule '${text}' must start at step 0 (e.g. 1e-4@0,1e-5@100000)`);
  for (let i = 1; i < out.length; i++) {
    const [prev, cur] = [out[i - 1]![0], out[i]![0]];
    if (cur === prev) throw new SrError(`the learning-rate schedule '${text}' names step ${cur} twice`);
    if (cur < prev) throw new SrError(`the learning-rate schedule '${text}' must list its steps in increasing order (${cur} comes after ${prev})`);
  }
  return out;
}

export function learningRateAt(schedule: ReadonlyArray<[number, number]>, step: number): number {
  let lr = schedule[0]![1];
  for (const [from, rate] of schedule) if (step >= from) lr = rate;
  return lr;
}

export function readConfigFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new SrError(`config file not found: ${path}`);
  const text = readFileSync(path, 'utf8');
  try {
    const v = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a mapping');
    return v as Record<string, unknown>;
  } catch (err) {
    throw new SrError(`config file ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(err as Error).message}`);
  }
}

const NUMBER_FIELDS = ['scale', 'steps', 'batch', 'patch', 'beta1', 'workers', 'accumulate', 'seed', 'blocks', 'channels', 'discChannels', 'advWeight', 'logEvery', 'valEvery', 'ckptEvery', 'keepCheckpoints', 'dataWorkers', 'temporalWeight', 'motionEps', 'videoFrames', 'threads', 'stack'] as const;
const STRING_FIELDS = ['data', 'out', 'val', 'vggWeights', 'init', 'genInit', 'content', 'mode', 'engine'] as const;

/**
 * Merges layers of settings (later wins) into validated options. Accepted keys are the
 * TrainOptions fields, plus `lr` (a constant rate) and `lrSchedule` as text or pairs.
 */
export function resolveOptions(mode: TrainMode, ...layers: Array<Record<string, unknown>>): TrainOptions {
  const o: TrainOptions = defaults(mode);
  const known = new Set<string>([...NUMBER_FIELDS, ...STRING_FIELDS, 'lr', 'lrSchedule']);
  for (const layer of layers) {
    for (const [key, raw] of Object.entries(layer)) {
      if (raw === undefined) continue;
      if (!known.has(key)) {
        const hint = closest(key, [...known]);
        throw new SrError(`unknown training option '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
      }
      if ((NUMBER_FIELDS as readonly string[]).includes(key)) {
        const n = typeof raw === 'string' ? Number(raw) : raw;
        if (typeof n !== 'number' || !Number.isFinite(n)) throw new SrError(`option ${key} must be a number, got ${JSON.stringify(raw)}`);
        (o as unknown as Record<string, number>)[key] = n;
      } else if (key === 'lr') {
        const n = Number(raw);
        if (!(n > 0)) throw new SrError(`option lr must be a positive number, got ${JSON.stringify(raw)}`);
        o.lrSchedule = [[0, n]];
      } else if (key === 'lrSchedule') {
        o.lrSchedule = typeof raw === 'string' ? parseSchedule(raw) : parseSchedule((raw as Array<[number, number]>).map(([s, r]) => `${r}@${s}`).join(','));
      } else {
        if (typeof raw !== 'string') throw new SrError(`option ${key} must be text, got ${JSON.stringify(raw)}`);
        (o as unknown as Record<string, string>)[key] = raw;
      }
    }
  }
  o.mode = mode;
  // Default workers: as many as there are cores, but a number the batch splits evenly over (16
  // images on 3 or 6 cores would otherwise be an error nobody asked for).
  const given = (k: string) => layers.some((l) => l[k] !== undefined);
  // TF.js's WASM backend runs one thread, so there every core gets a replica; on ONNX Runtime the
  // objective says which of replicas or intra-op threads measured faster for it.
  if (!given('workers')) {
    const perCore = o.engine === 'tfjs' || getObjective(mode).cores === 'workers';
    let w = perCore ? Math.max(1, Math.min(availableParallelism(), o.batch)) : 1;
    while (w > 1 && o.batch % (w * o.accumulate) !== 0) w -= 1;
    o.workers = w;
  }
  if (!given('threads')) o.threads = Math.max(1, Math.floor(availableParallelism() / o.workers));
  return validate(o);
}

function validate(o: TrainOptions): TrainOptions {
  const intPos = (k: keyof TrainOptions, min = 1) => {
    const v = o[k] as number;
    if (!Number.isInteger(v) || v < min) throw new SrError(`option ${k} must be a whole number >= ${min}, got ${v}`);
  };
  (['steps', 'batch', 'patch', 'workers', 'accumulate', 'blocks', 'channels', 'discChannels', 'logEvery', 'valEvery', 'ckptEvery', 'keepCheckpoints', 'dataWorkers'] as const).forEach((k) => intPos(k));
  intPos('seed', 0);
  if (![2, 4, 8].includes(o.scale)) throw new SrError(`--scale must be 2, 4 or 8, got ${o.scale}`);
  if (!o.data) throw new SrError('--data <folder of HR training images> is required');
  if (!o.out) throw new SrError('--out <run folder> is required');
  for (const dir of dataFolders(o.data)) if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new SrError(`--data ${dir}: no such folder`);
  if (o.val && (!existsSync(o.val) || !statSync(o.val).isDirectory())) throw new SrError(`--val ${o.val}: no such folder`);
  if (o.patch % o.scale !== 0) throw new SrError(`--patch ${o.patch} must be a multiple of --scale ${o.scale}`);
  const shards = o.workers * o.accumulate;
  if (o.batch % shards !== 0) throw new SrError(`--batch ${o.batch} must divide evenly into ${o.workers} worker(s) x ${o.accumulate} micro-batch(es)`);
  if (o.beta1 < 0 || o.beta1 >= 1) throw new SrError(`--beta1 must be in [0, 1), got ${o.beta1}`);
  if (!['mse', 'vgg22', 'vgg54'].includes(o.content)) throw new SrError(`--content must be mse, vgg22 or vgg54, got '${o.content}'`);
  if (o.mode === 'srresnet' && o.content !== 'mse') throw new SrError('SRResNet is trained with the MSE content loss; VGG losses are for `train srgan`');
  if (isVideoMode(o.mode) && o.content !== 'mse') throw new SrError(`train ${o.mode} uses its own pixel losses; VGG content losses are for \`train srgan\``);
  if (!(o.temporalWeight >= 0)) throw new SrError(`--temporal-weight must be >= 0, got ${o.temporalWeight}`);
  if (!(o.motionEps > 0)) throw new SrError(`--motion-eps must be > 0 (static pixels must still count), got ${o.motionEps}`);
  intPos('videoFrames', 2);
  intPos('stack');
  if (o.mode === 'recognizer' && o.videoFrames < o.stack + 1) throw new SrError(`--video-frames ${o.videoFrames} leaves no room for --stack ${o.stack} (needs at least ${o.stack + 1})`);
  if (o.content !== 'mse') {
    if (!o.vggWeights) {
      throw new SrError(
        `--content ${o.content} needs VGG19 ImageNet weights: pass --vgg-weights <file>. Keras publishes them as ` +
          `'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5' (keras.applications.VGG19(include_top=False) downloads it ` +
          `into ~/.keras/models/); a TF.js layers-model folder (model.json + shards) converted from it works too. ` +
          `Nothing is downloaded for you.`,
      );
    }
    if (!existsSync(o.vggWeights)) throw new SrError(`--vgg-weights ${o.vggWeights}: file not found`);
  }
  if (!ENGINES.includes(o.engine)) throw new SrError(`--engine must be ${ENGINES.join(' or ')}, got '${o.engine}'`);
  intPos('threads');
  if (!GEN_INITS.includes(o.genInit)) throw new SrError(`--gen-init must be ${GEN_INITS.join(' or ')}, got '${o.genInit}'`);
  if (o.init && !existsSync(o.init)) throw new SrError(`--init ${o.init}: weights file not found`);
  if (o.advWeight < 0) throw new SrError(`--adv-weight must be >= 0, got ${o.advWeight}`);
  return Object.freeze({ ...o, lrSchedule: o.lrSchedule.map((p) => [...p] as [number, number]) });
}
