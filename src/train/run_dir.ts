// A training run's folder. This module is the one that knows its files; the trainer, the CLI and
// package-model go through it.
//
//   config.json      the resolved options of the latest (re)start (train/options.ts)
//   resumes.jsonl    what each resume changed, oldest first, so a model card can tell the whole
//                    history of a run rather than only its last leg
//   log.jsonl        one JSON object per logged step and per validation
//   init_legs.json   the training legs behind --init as its file told them when the run started,
//                    so a later re-shipping of that file cannot rewrite this run's history
//   checkpoints/     see checkpoint.ts; `--resume` continues from the newest complete one
//   generator.safetensors  the final generator (float32; with --ema, the weight average)
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { SrError } from '../util/errors.js';
import { checkpointGenerator, latestCheckpoint, checkpointAt, readCheckpointState, shippedGenerator } from './checkpoint.js';
import type { Losses } from './replica.js';

export interface LogEntry {
  step: number;
  time: string;
  lr?: number;
  losses?: Losses;
  samplesPerSec?: number;
  tensors?: number;
  rssMB?: number;
  /**
   * niqe: GAN modes, where texture (lower NIQE) is the point and PSNR alone reads as a loss;
   * grid, hrGrid: GAN modes too, the sub-pixel checkerboard of the model and of the HR (eval/grid.ts)
   */
  val?: { psnr: number; ssim: number; niqe?: number; grid?: number; hrGrid?: number; images: number };
}

export interface ResumeRecord {
  step: number;
  time: string;
  /** option -> [before, after] */
  changed: Record<string, [unknown, unknown]>;
}

const configPath = (runDir: string) => join(runDir, 'config.json');
const resumesPath = (runDir: string) => join(runDir, 'resumes.jsonl');
const logPath = (runDir: string) => join(runDir, 'log.jsonl');
export const finalGeneratorPath = (runDir: string) => join(runDir, 'generator.safetensors');
const initLegsPath = (runDir: string) => join(runDir, 'init_legs.json');

export async function writeInitLegs(runDir: string, legs: string[]): Promise<void> {
  await writeFileAtomic(initLegsPath(runDir), JSON.stringify(legs, null, 1));
}

/** The legs recorded by writeInitLegs, or null for a run that recorded none (older runs). */
export function readInitLegs(runDir: string): string[] | null {
  const path = initLegsPath(runDir);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as string[]) : null;
}

/** The options a run was (re)started with, or null when the folder holds no run. */
export function readRunConfig(runDir: string): Record<string, unknown> | null {
  const path = configPath(runDir);
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new SrError(`${path} is not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Says whether `runDir` may be used as asked: a new run must not land on an old one, and a resume
 * needs a complete checkpoint. Changes nothing, so a run that cannot start leaves the folder as it was.
 */
export function checkRunFolder(runDir: string, resume: boolean): void {
  const newest = existsSync(runDir) ? latestCheckpoint(runDir) : null;
  if (newest && !resume) {
    throw new SrError(`${runDir} already holds a run (checkpoints/${basename(newest)}); add --resume to continue it, or choose another --out`);
  }
  if (resume && !newest) {
    const what = !existsSync(runDir) ? 'does not exist' : existsSync(configPath(runDir)) ? 'holds no complete checkpoint' : 'is not a training run folder';
    throw new SrError(`--resume: ${runDir} ${what}, so there is nothing to continue; start a new run without --resume`);
  }
}

/**
 * Writes the options of this (re)start. On a resume (`resumedAt`, the step it continues from)
 * what differs from the saved options is first appended to resumes.jsonl. An option the saved
 * file lacks (it is newer than the run) counts as its default there (`o.startedWith`); options
 * that belong to one sitting (`o.sitting`, e.g. --keep) are not changes of the run.
 */
export async function writeRunConfig(
  runDir: string,
  config: Record<string, unknown>,
  resumedAt?: number,
  o: { startedWith?: Record<string, unknown>; sitting?: readonly string[] } = {},
): Promise<void> {
  const before = resumedAt === undefined ? null : readRunConfig(runDir);
  if (before) {
    const changed: Record<string, [unknown, unknown]> = {};
    for (const key of new Set([...Object.keys(before), ...Object.keys(config)])) {
      if (o.sitting?.includes(key)) continue;
      const was = before[key] ?? o.startedWith?.[key];
      if (JSON.stringify(was) !== JSON.stringify(config[key])) changed[key] = [was ?? null, config[key] ?? null];
    }
    if (Object.keys(changed).length > 0) {
      const record: ResumeRecord = { step: resumedAt!, time: new Date().toISOString(), changed };
      appendFileSync(resumesPath(runDir), JSON.stringify(record) + '\n');
    }
  }
  await writeFileAtomic(configPath(runDir), JSON.stringify(config, null, 2));
}

export function readResumes(runDir: string): ResumeRecord[] {
  const path = resumesPath(runDir);
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ResumeRecord) : [];
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

/** log.jsonl, kept in memory too (for the plots) and appended to line by line. */
export class RunLog {
  private constructor(
    private readonly path: string,
    readonly entries: LogEntry[],
  ) {}

  /** A new log, or on a resume the saved one cut back to `resumedAt` (later lines are steps to redo). */
  static async open(runDir: string, resumedAt?: number): Promise<RunLog> {
    const path = logPath(runDir);
    const entries = resumedAt === undefined ? [] : readLog(path, resumedAt);
    await writeFileAtomic(path, entries.map((e) => JSON.stringify(e) + '\n').join(''));
    return new RunLog(path, entries);
  }

  record(e: LogEntry): void {
    this.entries.push(e);
    appendFileSync(this.path, JSON.stringify(e) + '\n');
  }
}

/** What a run holds for shipping: its options, its newest checkpoint and how far it got. */
export interface RunSummary {
  config: Record<string, unknown>;
  /** the newest checkpoint's generator: a finished run's final generator equals it */
  weights: string;
  step: number;
  trainSeconds: number;
  resumes: ResumeRecord[];
}

/**
 * `lastIterate`: the checkpoint's trained weights even where it keeps their average. `step`: that
 * checkpoint rather than the newest (the one validation liked best); resumes after it are left out.
 */
export function summarizeRun(runDir: string, o: { lastIterate?: boolean; step?: number } = {}): RunSummary {
  const config = readRunConfig(runDir);
  if (!config) throw new SrError(`${runDir} is not a training run (no config.json)`);
  const ckpt = o.step === undefined ? latestCheckpoint(runDir) : checkpointAt(runDir, o.step);
  if (!ckpt) throw new SrError(`${runDir} has no complete checkpoint yet`);
  const state = readCheckpointState(ckpt);
  const resumes = readResumes(runDir).filter((r) => r.step < state.step);
  return { config, weights: o.lastIterate ? checkpointGenerator(ckpt) : shippedGenerator(ckpt), step: state.step, trainSeconds: state.trainSeconds, resumes };
}
