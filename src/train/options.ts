// Training options: defaults, a config file (JSON or YAML), then command-line flags over it,
// resolved and validated once into an immutable value that is written into the run folder.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parse as parseYaml } from 'yaml';
import { SrError, closest } from '../util/errors.js';
import { checkField } from '../models/registry.js';
import type { ContentLoss } from '../losses/perceptual.js';
import { PIXEL_LOSSES, type PixelLoss } from '../losses/pixel.js';
import { ENGINES, type EngineName } from './engine.js';
import { dataFolders } from '../data/folders.js';
import { getObjective } from './objectives.js';

export type TrainMode = 'srresnet' | 'srgan' | 'sosr' | 'tosr' | 'recognizer';

/** The video modes of Zhang, Liu & Xiong (ICCV 2019): pairs of frames with their HR flow. */
export function isVideoMode(mode: TrainMode): mode is 'sosr' | 'tosr' {
  return mode === 'sosr' || mode === 'tosr';
}

export const GEN_INITS = ['interpolate', 'random'] as const;
export type GenInit = (typeof GEN_INITS)[number];

export const LR_DECAYS = ['none', 'cosine'] as const;
export type LrDecay = (typeof LR_DECAYS)[number];

/**
 * What a `--resume` may do with an option: 'free' options take a new value from the flags or the
 * config file; 'fixed' ones are what the checkpoints were made with (the network, the start), so a
 * different value is an error; 'session' ones belong to this sitting, never read back from the run.
 */
export type OnResume = 'free' | 'fixed' | 'session';

/** One training option: everything the defaults, validation, flags and model card need to know. */
export interface TrainField<T> {
  /** The flag as commander reads it, e.g. '--log-every <n>'. */
  flag: string;
  /** 'schedule' is text like 1e-4@0,1e-5@100000 (parseSchedule); the others validate as models/registry.ts fields. */
  kind: 'int' | 'number' | 'string' | 'schedule';
  default: T | ((mode: TrainMode) => T);
  oneOf?: readonly (number | string)[];
  min?: number;
  max?: number;
  /** What a FieldSpec cannot say (an open bound, a file that must exist): the error text, or undefined. */
  check?: (v: NonNullable<T>) => string | undefined;
  required?: boolean;
  /** The `train` subcommands that take the flag; all when absent. */
  modes?: readonly TrainMode[];
  help: string | ((mode: TrainMode) => string);
  onResume: OnResume;
  /**
   * Written into the model card's command line (cli/commands/package_model.ts); 'changed': only
   * where the run set it to other than its default (options newer than most cards).
   */
  card?: boolean | 'changed';
  /** A flag that sets another option rather than its own (--lr sets the schedule). */
  sets?: (v: NonNullable<T>) => Partial<TrainOptions>;
}

const field = <T>(f: TrainField<T>): TrainField<T> => f;
export const DISC_ANTIALIAS = ['none', 'blur'] as const;
export type DiscAntialias = (typeof DISC_ANTIALIAS)[number];
const VIDEO_MODES = ['sosr', 'tosr'] as const;
/** The modes that train a super-resolution generator (not the recognizer). */
const SR_MODES = ['srresnet', 'srgan', 'sosr', 'tosr'] as const;
// The recognizer is a small CNN on whole frames: --patch is the frame side, --channels the first
// layer's width of each stream, and Adam's usual 1e-3 suits it.
const forRecognizer = <T>(m: TrainMode, sr: T, recognizer: T): T => (m === 'recognizer' ? recognizer : sr);
const notFound = (flag: string, what: string) => (p: string) => (existsSync(p) ? undefined : `${flag} ${p}: ${what}`);
const isFolder = (p: string) => existsSync(p) && statSync(p).isDirectory();

/**
 * Every training option, in the order of `srgan train --help`. Adding an option is adding a row
 * here (and reading it where it takes effect).
 */
export const TRAIN_FIELDS = {
  data: field<string>({
    flag: '--data <folder>', kind: 'string', default: '', required: true, onResume: 'free', card: true,
    help: (m) =>
      m === 'recognizer' ? 'action dataset: <class>/<video> folders, optionally with UCF101 split lists (classInd.txt, trainlist01.txt, testlist01.txt)'
      : isVideoMode(m) ? 'folder of HR photos (sequences are synthesised from them) and/or videos'
      : "folder of HR training images (several: 'a,b')",
    check: (d) => dataFolders(d).filter((dir) => !isFolder(dir)).map((dir) => `--data ${dir}: no such folder`)[0],
  }),
  out: field<string>({ flag: '--out <run folder>', kind: 'string', default: '', required: true, onResume: 'session', card: true, help: 'where checkpoints, logs, curves and samples go' }),
  val: field<string | undefined>({
    flag: '--val <folder>', kind: 'string', default: undefined, modes: SR_MODES, onResume: 'free', card: true,
    help: 'HR images for validation (PSNR/SSIM with the evaluation protocol)',
    check: (d) => (isFolder(d) ? undefined : `--val ${d}: no such folder`),
  }),
  scale: field<number>({ flag: '--scale <n>', kind: 'int', default: 4, oneOf: [2, 4, 8], modes: SR_MODES, onResume: 'fixed', card: true, help: 'upscaling factor: 2, 4 or 8 (default 4)' }),
  steps: field<number>({ flag: '--steps <n>', kind: 'int', min: 1, default: (m) => forRecognizer(m, m === 'srgan' ? 200_000 : 1_000_000, 2000), onResume: 'free', card: true, help: 'total training steps' }),
  batch: field<number>({ flag: '--batch <n>', kind: 'int', min: 1, default: 16, onResume: 'free', card: true, help: (m) => `${forRecognizer(m, 'images', 'clips')} per step (default 16)` }),
  patch: field<number>({
    flag: '--patch <n>', kind: 'int', min: 1, default: (m) => forRecognizer(m, 96, 64), onResume: 'free', card: true,
    help: (m) => forRecognizer(m, 'HR crop side (default 96)', 'frame side the recognizer sees; videos are centre-cropped square and resized (default 64)'),
  }),
  lr: field<number | undefined>({
    flag: '--lr <rate>', kind: 'number', default: undefined, onResume: 'free', help: (m) => `constant learning rate (default ${forRecognizer(m, '1e-4', '1e-3')})`,
    check: (r) => (r > 0 ? undefined : `--lr must be a positive number, got ${r}`),
    sets: (r) => ({ lrSchedule: [[0, r]] }),
  }),
  /** Piecewise-constant learning rate: [[fromStep, rate], ...] sorted by step. */
  lrSchedule: field<Array<[number, number]>>({
    flag: '--lr-schedule <list>', kind: 'schedule', onResume: 'free', card: true, help: "piecewise-constant rates, e.g. '1e-4@0,1e-5@100000'",
    // The paper: SRResNet 1e-4 throughout; SRGAN 1e-4 for 1e5 steps, then 1e-5.
    default: (m) => forRecognizer<Array<[number, number]>>(m, m === 'srgan' ? [[0, 1e-4], [100_000, 1e-5]] : [[0, 1e-4]], [[0, 1e-3]]),
  }),
  /** 'cosine': the schedule's rate annealed along a half cosine to 1% of it at --steps. */
  lrDecay: field<LrDecay>({
    flag: '--lr-decay <kind>', kind: 'string', oneOf: LR_DECAYS, default: 'none', onResume: 'free', card: 'changed',
    help: "'cosine': anneal the scheduled rate to 1% of it at --steps, fitting the schedule to the step budget; 'none' (default none)",
  }),
  beta1: field<number>({
    flag: '--beta1 <b>', kind: 'number', min: 0, default: 0.9, onResume: 'free', help: 'Adam beta1 (default 0.9)',
    check: (b) => (b < 1 ? undefined : `--beta1 must be in [0, 1), got ${b}`),
  }),
  /** What computes the gradients: ONNX Runtime's native kernels, or TF.js (the reference). */
  engine: field<EngineName>({
    flag: '--engine <name>', kind: 'string', oneOf: ENGINES, default: 'onnx', onResume: 'free',
    help: "what computes the gradients: 'onnx' (ONNX Runtime's native kernels) or 'tfjs' (the TF.js reference) (default onnx)",
  }),
  // What workers and threads default to depends on the others; resolveOptions works it out.
  workers: field<number>({ flag: '--workers <n>', kind: 'int', min: 1, default: () => availableParallelism(), onResume: 'free', card: true, help: 'data-parallel replicas, one per thread (default: one per core, except srgan on onnx: 1 with --threads = cores)' }),
  /** onnx: intra-op threads per replica (workers x threads should match the cores). */
  threads: field<number>({ flag: '--threads <n>', kind: 'int', min: 1, default: 1, onResume: 'free', help: 'onnx: threads of each replica (default: the cores divided by --workers)' }),
  accumulate: field<number>({ flag: '--accumulate <n>', kind: 'int', min: 1, default: 1, onResume: 'free', help: 'micro-batches per replica (default 1; 1 worker x 2 = 2 workers x 1)' }),
  seed: field<number>({ flag: '--seed <n>', kind: 'int', min: 0, default: 1, onResume: 'fixed', card: true, help: 'seed for weights and data (default 1)' }),
  /** How a generator without --init starts: 'interpolate' (SRResNet as a linear interpolator) or 'random'. */
  genInit: field<GenInit>({
    flag: '--gen-init <kind>', kind: 'string', oneOf: GEN_INITS, default: 'interpolate', modes: SR_MODES, onResume: 'fixed',
    help: "generator start without --init: 'interpolate' (SRResNet begins as linear x2 per stage) or 'random' (default interpolate)",
  }),
  blocks: field<number>({ flag: '--blocks <n>', kind: 'int', min: 1, default: 16, modes: SR_MODES, onResume: 'fixed', help: 'residual blocks of the generator (default 16)' }),
  channels: field<number>({
    flag: '--channels <n>', kind: 'int', min: 1, default: (m) => forRecognizer(m, 64, 16), onResume: 'fixed',
    help: (m) => forRecognizer(m, 'generator feature channels (default 64)', 'first-layer width of each stream (default 16)'),
  }),
  logEvery: field<number>({ flag: '--log-every <n>', kind: 'int', min: 1, default: 10, onResume: 'free', help: 'steps between log lines (default 10)' }),
  valEvery: field<number>({ flag: '--val-every <n>', kind: 'int', min: 1, default: 500, modes: SR_MODES, onResume: 'free', help: 'steps between validations (default 500)' }),
  ckptEvery: field<number>({ flag: '--ckpt-every <n>', kind: 'int', min: 1, default: 200, onResume: 'free', help: 'steps between checkpoints (default 200)' }),
  keepCheckpoints: field<number>({ flag: '--keep <n>', kind: 'int', min: 1, default: 3, onResume: 'session', help: 'checkpoints kept (default 3)' }),
  dataWorkers: field<number>({ flag: '--data-workers <n>', kind: 'int', min: 1, default: 1, onResume: 'free', help: 'threads decoding and cropping images (default 1)' }),
  init: field<string | undefined>({
    flag: '--init <weights>', kind: 'string', default: undefined, modes: SR_MODES, onResume: 'fixed', card: true,
    help: (m) =>
      m === 'srresnet' ? 'generator weights to start from (fine-tuning; default: seeded random weights)'
      : m === 'srgan' ? 'SRResNet weights to start the generator from (the paper does)'
      : 'generator weights to start from (e.g. a trained SRResNet)',
    check: notFound('--init', 'weights file not found'),
  }),
  /** The generator's pixel loss: the paper's MSE, or L1 (srresnet, and srgan with --content mse). */
  pixelLoss: field<PixelLoss>({
    flag: '--pixel-loss <kind>', kind: 'string', oneOf: PIXEL_LOSSES, default: 'mse', modes: ['srresnet', 'srgan'], onResume: 'free', card: 'changed',
    help: (m) => (m === 'srgan' ? 'with --content mse: the pixel term, mse or l1 (default mse)' : 'mse (the paper) or l1 (as BasicSR trains MSRResNet) (default mse)'),
  }),
  /** Decay of the generator's weight average (0: none); the average is validated and shipped. */
  ema: field<number>({
    flag: '--ema <decay>', kind: 'number', min: 0, default: 0, modes: SR_MODES, onResume: 'free', card: 'changed',
    help: 'keep an exponential moving average of the generator weights with this decay (e.g. 0.999); it is validated and shipped (default 0: none)',
    check: (d) => (d < 1 ? undefined : `--ema must be a decay in [0, 1) (0: no average; 0.999 is usual), got ${d}`),
  }),
  content: field<ContentLoss>({ flag: '--content <loss>', kind: 'string', oneOf: ['mse', 'vgg22', 'vgg54'], default: 'mse', modes: ['srgan'], onResume: 'fixed', card: true, help: 'content loss: mse, vgg22 or vgg54 (default mse)' }),
  vggWeights: field<string | undefined>({
    flag: '--vgg-weights <file>', kind: 'string', default: undefined, modes: ['srgan'], onResume: 'free',
    help: 'VGG19 ImageNet weights (Keras .h5 or TF.js folder) for vgg22/vgg54',
  }),
  advWeight: field<number>({ flag: '--adv-weight <w>', kind: 'number', min: 0, default: 1e-3, modes: ['srgan'], onResume: 'free', card: true, help: 'weight of the adversarial loss (default 1e-3)' }),
  discChannels: field<number>({ flag: '--disc-channels <n>', kind: 'int', min: 1, default: 64, modes: ['srgan'], onResume: 'fixed', help: 'discriminator base channels (default 64)' }),
  /**
   * 'blur': the discriminator blurs before each strided layer (models/discriminator.ts). The blur
   * has no weights, so a run that grew a checkerboard may resume with it.
   */
  discAntialias: field<DiscAntialias>({
    flag: '--disc-antialias <kind>', kind: 'string', oneOf: DISC_ANTIALIAS, default: 'none', modes: ['srgan'], onResume: 'free', card: 'changed',
    help: "'blur': low-pass the input of the discriminator's strided layers, against checkerboard artefacts (not in the paper) (default none)",
  }),
  /**
   * Extra weight on the period-s part of the generator's error (losses/grid.ts), against the
   * checkerboard. Free on resume: it is a loss weight, not a weight of a network.
   */
  gridWeight: field<number>({
    flag: '--grid-weight <w>', kind: 'number', min: 0, default: 0, modes: ['srgan'], onResume: 'free', card: 'changed',
    help: "penalise the error's sub-pixel grid (period --grid-period) this many times more than the content loss does, against checkerboard artefacts (not in the paper) (default 0: none)",
  }),
  /**
   * The penalty's period: the scale's sub-pixel grid, or a multiple of it, which also takes in
   * the longer periods (8, 16 at x4) that a discriminator's strides can hand the generator.
   */
  gridPeriod: field<number>({
    flag: '--grid-period <n>', kind: 'int', min: 0, default: 0, modes: ['srgan'], onResume: 'free', card: 'changed',
    help: 'with --grid-weight: the period penalised, a multiple of --scale that divides --patch; it takes in every period that divides it (default 0: the scale)',
  }),
  /** sosr/tosr: frames decoded from the start of each training video */
  videoFrames: field<number>({
    flag: '--video-frames <n>', kind: 'int', min: 2, default: 32, modes: [...VIDEO_MODES, 'recognizer'], onResume: 'free',
    help: (m) => forRecognizer(m, 'frames decoded from the start of each training video (default 32)', 'frames decoded from the start of each video (default 32)'),
  }),
  /** recognizer: L, the flow fields stacked for the temporal stream */
  stack: field<number>({ flag: '--stack <n>', kind: 'int', min: 1, default: 4, modes: ['recognizer'], onResume: 'fixed', card: true, help: 'L, flow fields stacked for the temporal stream (default 4; the paper: 10)' }),
  /** sosr: eps, how much a static pixel still counts (see src/video/samples.ts motionWeights) */
  motionEps: field<number>({
    flag: '--motion-eps <e>', kind: 'number', default: 0.1, modes: ['sosr'], onResume: 'free',
    help: 'how much static pixels still count: w = (eps + |f|/m) / mean(eps + |f|/m), m = max(mean |f|, 1 px) (default 0.1)',
    check: (e) => (e > 0 ? undefined : `--motion-eps must be > 0 (static pixels must still count), got ${e}`),
  }),
  /** tosr: lambda, the weight of the two temporal terms */
  temporalWeight: field<number>({ flag: '--temporal-weight <lambda>', kind: 'number', min: 0, default: 1, modes: ['tosr'], onResume: 'free', help: 'weight of the two temporal terms (default 1)' }),
};

type Fields = typeof TRAIN_FIELDS;
type ValueOf<F> = F extends TrainField<infer T> ? T : never;
export type TrainFieldName = keyof Fields;

/** The resolved options of a run, one member per row of TRAIN_FIELDS (--lr lands in lrSchedule). */
export type TrainOptions = { mode: TrainMode } & { [K in Exclude<TrainFieldName, 'lr'>]: ValueOf<Fields[K]> };

const fieldEntries = () => Object.entries(TRAIN_FIELDS) as Array<[TrainFieldName, TrainField<unknown>]>;
/** The option name first in a flag: '--log-every <n>' -> '--log-every'. */
export const flagName = (f: TrainField<unknown>): string => f.flag.split(' ')[0]!;
export const fieldHelp = (f: TrainField<unknown>, mode: TrainMode): string => (typeof f.help === 'function' ? f.help(mode) : f.help);
export const fieldApplies = (f: TrainField<unknown>, mode: TrainMode): boolean => !f.modes || f.modes.includes(mode);

export function defaults(mode: TrainMode): TrainOptions {
  const o: Record<string, unknown> = { mode };
  for (const [key, f] of fieldEntries()) if (!f.sets) o[key] = typeof f.default === 'function' ? (f.default as (m: TrainMode) => unknown)(mode) : f.default;
  return o as TrainOptions;
}

/** [[0, 1e-4], [100000, 1e-5]] -> "1e-4@0,1e-5@100000", as --lr-schedule takes it. */
export function scheduleText(schedule: ReadonlyArray<[number, number]>): string {
  return schedule.map(([step, rate]) => `${rate}@${step}`).join(',');
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

/** The rate of a step: the schedule's, annealed by --lr-decay over the run's step budget. */
export function stepRate(o: Pick<TrainOptions, 'lrSchedule' | 'lrDecay' | 'steps'>, step: number): number {
  const rate = learningRateAt(o.lrSchedule, step);
  if (o.lrDecay === 'none') return rate;
  // To 1% rather than 0, so the last steps of a budget still move the weights.
  const t = Math.min(step / o.steps, 1);
  return rate * (0.01 + 0.99 * 0.5 * (1 + Math.cos(Math.PI * t)));
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

/** A layer's value as the option holds it: numbers from flag text, schedules from their text form. */
function normalize(f: TrainField<unknown>, raw: unknown): unknown {
  if (f.kind === 'schedule') {
    return parseSchedule(typeof raw === 'string' ? raw : scheduleText(raw as Array<[number, number]>));
  }
  // Whole numbers and ranges are checked once the layers are merged, in validate().
  return checkField(flagName(f), { kind: f.kind === 'int' ? 'number' : f.kind }, raw);
}

function lookUp(key: string): [TrainFieldName, TrainField<unknown>] {
  const f = (TRAIN_FIELDS as Record<string, TrainField<unknown>>)[key];
  if (f) return [key as TrainFieldName, f];
  const hint = closest(key, Object.keys(TRAIN_FIELDS));
  throw new SrError(`unknown training option '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
}

/**
 * Merges layers of settings (later wins) into validated options. Accepted keys are the
 * TRAIN_FIELDS names (`lr`, a constant rate; `lrSchedule` as text or pairs).
 */
export function resolveOptions(mode: TrainMode, ...layers: Array<Record<string, unknown>>): TrainOptions {
  const o = defaults(mode) as unknown as Record<string, unknown>;
  for (const layer of layers) {
    for (const [key, raw] of Object.entries(layer)) {
      if (raw === undefined) continue;
      const [name, f] = lookUp(key);
      const v = normalize(f, raw) as NonNullable<unknown>;
      if (f.sets) {
        const msg = f.check?.(v);
        if (msg) throw new SrError(msg);
        Object.assign(o, f.sets(v));
      } else o[name] = v;
    }
  }
  o['mode'] = mode;
  const given = (k: string) => layers.some((l) => l[k] !== undefined);
  // Default workers: as many as there are cores, but a number the batch splits evenly over (16
  // images on 3 or 6 cores would otherwise be an error nobody asked for).
  // TF.js's WASM backend runs one thread, so there every core gets a replica; on ONNX Runtime the
  // objective says which of replicas or intra-op threads measured faster for it.
  if (!given('workers')) {
    const batch = o['batch'] as number;
    const accumulate = o['accumulate'] as number;
    const perCore = o['engine'] === 'tfjs' || getObjective(mode).cores === 'workers';
    let w = perCore ? Math.max(1, Math.min(availableParallelism(), batch)) : 1;
    while (w > 1 && batch % (w * accumulate) !== 0) w -= 1;
    o['workers'] = w;
  }
  if (!given('threads')) o['threads'] = Math.max(1, Math.floor(availableParallelism() / (o['workers'] as number)));
  return validate(o as unknown as TrainOptions);
}

/**
 * The options of a resumed run: its saved config.json under the layers given now, where a layer
 * may change only what TRAIN_FIELDS marks as free on a resume.
 */
export function resolveResumedOptions(mode: TrainMode, saved: Record<string, unknown>, ...layers: Array<Record<string, unknown>>): TrainOptions {
  const out = String(layers.map((l) => l['out']).filter(Boolean).at(-1) ?? saved['out']);
  if (saved['mode'] !== mode) throw new SrError(`${out} is a '${String(saved['mode'])}' run; resume it with 'train ${String(saved['mode'])}'`);
  const base: Record<string, unknown> = {};
  for (const [key, f] of fieldEntries()) if (f.onResume !== 'session' && saved[key] !== undefined) base[key] = saved[key];
  // A run saved before an option existed was started with its default.
  const started = { ...defaults(mode), ...base } as Record<string, unknown>;
  for (const layer of layers) {
    for (const [key, raw] of Object.entries(layer)) {
      if (raw === undefined) continue;
      const [name, f] = lookUp(key);
      if (f.onResume !== 'fixed') continue;
      const now = normalize(f, raw);
      if (JSON.stringify(now) !== JSON.stringify(started[name] ?? null)) {
        throw new SrError(`${flagName(f)} cannot change on --resume: ${out} was started with ${JSON.stringify(started[name] ?? null)}; start a new run to train with ${JSON.stringify(now)}`);
      }
    }
  }
  return resolveOptions(mode, base, ...layers);
}

/** `srgan train ...` with the options the table marks for the model card, as a card records a run. */
export function commandLine(c: Record<string, unknown>): string {
  const mode = c['mode'] as TrainMode;
  const parts = [`srgan train ${mode}`];
  for (const [key, f] of fieldEntries()) {
    const v = c[key];
    if (!f.card || !fieldApplies(f, mode) || v === undefined || v === null || v === '') continue;
    if (f.card === 'changed' && JSON.stringify(v) === JSON.stringify(defaults(mode)[key as keyof TrainOptions])) continue;
    const text = f.kind === 'schedule' ? scheduleText(v as Array<[number, number]>) : String(v);
    parts.push(`${flagName(f)} ${text}`);
  }
  return parts.join(' ');
}

function validate(o: TrainOptions): TrainOptions {
  const values = o as unknown as Record<string, unknown>;
  for (const [key, f] of fieldEntries()) {
    if (f.sets) continue;
    const v = values[key];
    if (v === undefined || v === null || v === '') {
      if (f.required) throw new SrError(`${f.flag} is required`);
      continue;
    }
    if (f.kind !== 'schedule') checkField(flagName(f), { ...f, kind: f.kind }, v);
    const msg = f.check?.(v);
    if (msg) throw new SrError(msg);
  }
  // What depends on more than one option.
  if (o.mode !== 'recognizer' && o.patch % o.scale !== 0) throw new SrError(`--patch ${o.patch} must be a multiple of --scale ${o.scale}`);
  if (o.mode === 'srgan' && o.gridPeriod > 0 && (o.gridPeriod % o.scale !== 0 || o.patch % o.gridPeriod !== 0)) {
    throw new SrError(`--grid-period ${o.gridPeriod} must be a multiple of --scale ${o.scale} that divides --patch ${o.patch}`);
  }
  const shards = o.workers * o.accumulate;
  if (o.batch % shards !== 0) throw new SrError(`--batch ${o.batch} must divide evenly into ${o.workers} worker(s) x ${o.accumulate} micro-batch(es)`);
  if (o.mode === 'srresnet' && o.content !== 'mse') throw new SrError('SRResNet is trained with the MSE content loss; VGG losses are for `train srgan`');
  if (isVideoMode(o.mode) && o.content !== 'mse') throw new SrError(`train ${o.mode} uses its own pixel losses; VGG content losses are for \`train srgan\``);
  if (o.mode === 'recognizer' && o.videoFrames < o.stack + 1) throw new SrError(`--video-frames ${o.videoFrames} leaves no room for --stack ${o.stack} (needs at least ${o.stack + 1})`);
  if (o.pixelLoss !== 'mse' && (isVideoMode(o.mode) || o.content !== 'mse')) {
    throw new SrError(`--pixel-loss ${o.pixelLoss} applies to train srresnet and to train srgan with --content mse; ${isVideoMode(o.mode) ? `train ${o.mode} weights its own MSE` : `--content ${o.content} has no pixel term`}`);
  }
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
  return Object.freeze({ ...o, lrSchedule: o.lrSchedule.map((p) => [...p] as [number, number]) });
}
