// Checkpoints: everything needed to continue a run exactly. Each one is a folder written under a
// temporary name and renamed when complete (a rename is atomic), and `latest.json` is replaced
// atomically afterwards; a run killed at any moment resumes from the newest complete folder.
//
//   checkpoints/step-00001200/generator.safetensors      loadable by `upscale --model`
//   checkpoints/step-00001200/generator_ema.safetensors  the generator's weight average (--ema)
//   checkpoints/step-00001200/discriminator.safetensors  (srgan)
//   checkpoints/step-00001200/optimizer.safetensors      Adam moments, named G/<weight>/m ...
//   checkpoints/step-00001200/state.json                 step, optimizer steps, data stream state
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, existsSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, readSafetensors, type NamedArray } from '../models/safetensors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { FORMAT_TAG } from '../models/weights.js';
import type { ModelConfig } from '../models/registry.js';
import { SrError } from '../util/errors.js';

export interface CheckpointState {
  step: number;
  optStep: { g: number; d: number };
  data: unknown;
  /** Wall-clock seconds spent training so far (for the model card). */
  trainSeconds: number;
}

export interface CheckpointContent {
  state: CheckpointState;
  g: NamedArray[];
  /** The generator's weight average, when the run keeps one. */
  gEma?: NamedArray[];
  d?: NamedArray[];
  opt: NamedArray[];
  gConfig: ModelConfig;
  dConfig?: ModelConfig;
}

const name = (step: number) => `step-${String(step).padStart(8, '0')}`;

/** A checkpoint folder's generator, loadable like any weights file. */
export const checkpointGenerator = (dir: string): string => join(dir, 'generator.safetensors');

/** The generator a checkpoint ships: its weight average where it has one. */
export const EMA_FILE = 'generator_ema.safetensors';
export function shippedGenerator(dir: string): string {
  return existsSync(join(dir, EMA_FILE)) ? join(dir, EMA_FILE) : checkpointGenerator(dir);
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    fsyncSync(fd);
    closeSync(fd);
  } catch {
    /* not supported on every file system */
  }
}

export async function saveCheckpoint(runDir: string, c: CheckpointContent, keep: number): Promise<string> {
  const root = join(runDir, 'checkpoints');
  mkdirSync(root, { recursive: true });
  const final = join(root, name(c.state.step));
  const tmp = join(root, `.tmp-${name(c.state.step)}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  const meta = (config: ModelConfig) => ({ format: FORMAT_TAG, config: JSON.stringify(config), step: String(c.state.step) });
  await writeSafetensors(checkpointGenerator(tmp), c.g, meta(c.gConfig), 'float32');
  if (c.gEma) await writeSafetensors(join(tmp, EMA_FILE), c.gEma, meta(c.gConfig), 'float32');
  if (c.d && c.dConfig) await writeSafetensors(join(tmp, 'discriminator.safetensors'), c.d, meta(c.dConfig), 'float32');
  await writeSafetensors(join(tmp, 'optimizer.safetensors'), c.opt, { step: String(c.state.step) }, 'float32');
  await writeFileAtomic(join(tmp, 'state.json'), JSON.stringify(c.state, null, 1));
  fsyncDir(tmp);
  rmSync(final, { recursive: true, force: true });
  renameSync(tmp, final);
  fsyncDir(root);
  await writeFileAtomic(join(root, 'latest.json'), JSON.stringify({ step: c.state.step, dir: name(c.state.step) }));
  prune(root, keep);
  return final;
}

function completeSteps(root: string): number[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((f) => /^step-\d{8}$/.test(f) && existsSync(join(root, f, 'state.json')))
    .map((f) => Number(f.slice(5)))
    .sort((a, b) => a - b);
}

function prune(root: string, keep: number): void {
  const steps = completeSteps(root);
  for (const s of steps.slice(0, Math.max(0, steps.length - keep))) rmSync(join(root, name(s)), { recursive: true, force: true });
  // Leftovers of saves that were killed half-way.
  for (const f of readdirSync(root)) if (f.startsWith('.tmp-') && !f.endsWith(`-${process.pid}`)) rmSync(join(root, f), { recursive: true, force: true });
}

/**
 * Removes the half-written checkpoint folder of this process, for an exit in the middle of a
 * save (a second Ctrl-C). Synchronous, so it can run just before process.exit.
 */
export function abandonCheckpointSave(runDir: string): void {
  const root = join(runDir, 'checkpoints');
  if (!existsSync(root)) return;
  for (const f of readdirSync(root)) if (f.startsWith('.tmp-') && f.endsWith(`-${process.pid}`)) rmSync(join(root, f), { recursive: true, force: true });
}

/**
 * The newest checkpoint that loads and holds only finite numbers; a damaged one (a truncated or
 * overwritten file) is reported through `warn` and the one before it is tried.
 */
export function loadResumable(runDir: string, warn: (message: string) => void): { dir: string; content: ReturnType<typeof loadCheckpoint> } {
  const root = join(runDir, 'checkpoints');
  const steps = completeSteps(root).reverse();
  for (const [i, s] of steps.entries()) {
    const dir = join(root, name(s));
    try {
      const content = loadCheckpoint(dir);
      for (const a of [...content.g, ...(content.gEma ?? []), ...(content.d ?? []), ...content.opt]) {
        if (!a.data.every(Number.isFinite)) throw new Error(`tensor '${a.name}' holds values that are not finite numbers`);
      }
      return { dir, content };
    } catch (err) {
      const reason = (err as Error).message.replace(`${dir}: `, '');
      const next = steps[i + 1];
      warn(`warning: checkpoint ${name(s)} is corrupt (${reason}); ${next !== undefined ? `falling back to ${name(next)}` : 'no earlier checkpoint is left'}`);
    }
  }
  throw new SrError(`--resume: no checkpoint of ${runDir} can be read (all ${steps.length} are corrupt); start a new run without --resume, or choose another --out`);
}

/** The newest complete checkpoint folder of a run, or null if there is none. */
export function latestCheckpoint(runDir: string): string | null {
  const root = join(runDir, 'checkpoints');
  const steps = completeSteps(root);
  // latest.json is a hint; a folder is trusted only if it is complete.
  try {
    const hint = JSON.parse(readFileSync(join(root, 'latest.json'), 'utf8')) as { step: number };
    if (steps.includes(hint.step) && hint.step === steps[steps.length - 1]) return join(root, name(hint.step));
  } catch {
    /* missing or half-written hint: fall back to scanning */
  }
  return steps.length ? join(root, name(steps[steps.length - 1]!)) : null;
}

/** The complete checkpoint folder of `step`; an error naming the steps the run still keeps otherwise. */
export function checkpointAt(runDir: string, step: number): string {
  const steps = completeSteps(join(runDir, 'checkpoints'));
  if (!steps.includes(step)) {
    throw new SrError(`${runDir} keeps no complete checkpoint of step ${step}; it keeps ${steps.length ? `steps ${steps.join(', ')}` : 'none'} (train with a larger --keep to keep more)`);
  }
  return join(runDir, 'checkpoints', name(step));
}

export function readCheckpointState(dir: string): CheckpointState {
  try {
    return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as CheckpointState;
  } catch (err) {
    throw new SrError(`checkpoint ${dir}: cannot read state.json (${(err as Error).message})`);
  }
}

export function loadCheckpoint(dir: string): { state: CheckpointState; g: NamedArray[]; gEma?: NamedArray[]; d?: NamedArray[]; opt: NamedArray[] } {
  const state = readCheckpointState(dir);
  const arrays = (f: string) => [...readSafetensors(join(dir, f)).tensors.values()];
  return {
    state,
    g: [...readSafetensors(checkpointGenerator(dir)).tensors.values()],
    ...(existsSync(join(dir, EMA_FILE)) ? { gEma: arrays(EMA_FILE) } : {}),
    ...(existsSync(join(dir, 'discriminator.safetensors')) ? { d: arrays('discriminator.safetensors') } : {}),
    opt: arrays('optimizer.safetensors'),
  };
}
