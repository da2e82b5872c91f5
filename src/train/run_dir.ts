// A training run's folder and what is written into it. Only this module knows the file names:
//
//   config.json      the resolved options of the latest (re)start (train/options.ts)
//   resumes.jsonl    what each resume changed, oldest first
//   log.jsonl        one JSON object per logged step and per validation
//   checkpoints/     see checkpoint.ts
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SrError } from '../util/errors.js';

/** The options a run was (re)started with, or null when the folder holds no run. */
export function readRunConfig(runDir: string): Record<string, unknown> | null {
  const path = join(runDir, 'config.json');
  if (!existsSync(path)) return null;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new SrError(`${path} is not valid JSON (${(err as Error).message})`);
  }
}
