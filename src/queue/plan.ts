// What `queue add` was given, resolved before anything is queued: files, folders (their images and
// videos, not recursive) and globs, each classified as a photo or a video, and the output each one
// gets. Output names are fixed by the input's path and the options (`<out>/<stem>.<ext>`, as
// `srgan upscale ... -o <out>/` names them), never by which worker runs the job or when. Any input
// that names nothing usable fails the whole add, so a batch is never half of what was asked.
import { existsSync, statSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import { SrError } from '../util/errors.js';
import { expandGlob, hasGlobChars } from '../util/glob.js';
import { IMAGE_EXTENSIONS, imageOutputName, writeBackFormat, type ImageFormat } from '../io/image.js';
import { VIDEO_EXTENSIONS, videoOutputName } from './segments.js';

export interface QueueInput {
  path: string;
  kind: 'image' | 'video';
}

function kindOf(path: string): QueueInput['kind'] | null {
  const ext = extname(path).toLowerCase();
  return IMAGE_EXTENSIONS.has(ext) ? 'image' : VIDEO_EXTENSIONS.has(ext) ? 'video' : null;
}

async function folderInputs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const n of (await readdir(dir)).sort()) {
    if (n.startsWith('.') || kindOf(n) === null) continue;
    if ((await stat(join(dir, n)).catch(() => undefined))?.isFile()) out.push(join(dir, n));
  }
  return out;
}

/** Absolute input paths, in the order given (folders and globs sorted), without repeats. */
export async function collectQueueInputs(args: string[]): Promise<QueueInput[]> {
  const found: string[] = [];
  const problems: string[] = [];
  for (const a of args) {
    const st = existsSync(a) ? statSync(a) : null;
    if (st?.isDirectory()) {
      const files = await folderInputs(a);
      if (files.length === 0) problems.push(`${a}: no images or videos in this folder`);
      found.push(...files);
    } else if (st) {
      if (kindOf(a) === null) problems.push(`${a}: not an image or video file by its extension`);
      else found.push(a);
    } else if (hasGlobChars(a)) {
      const hits = (await expandGlob(a)).filter((f) => kindOf(f) !== null);
      if (hits.length === 0) problems.push(`${a}: no image or video files match this pattern`);
      found.push(...hits);
    } else {
      problems.push(`${a}: no such file or folder`);
    }
  }
  if (problems.length === 1) throw new SrError(`${problems[0]}; nothing was queued`);
  if (problems.length > 1) throw new SrError(`${problems.length} inputs cannot be queued (${problems.join('; ')}); nothing was queued`);
  const unique = [...new Set(found.map((f) => resolve(f)))];
  return unique.map((path) => ({ path, kind: kindOf(path)! }));
}

export interface PlannedOutput {
  input: QueueInput;
  output: string;
  /** Photos: the format written. */
  format?: ImageFormat;
}

/**
 * Output paths under `out`, checked: two inputs may not share an output, an output may not be an
 * input, and an existing output is only replaced with `force`. SrError listing the clashes.
 */
export function planOutputs(inputs: QueueInput[], out: string, format: ImageFormat | undefined, force: boolean): PlannedOutput[] {
  const dir = resolve(out);
  const plans = inputs.map((input): PlannedOutput => {
    if (input.kind === 'video') return { input, output: join(dir, videoOutputName(input.path)) };
    return { input, output: join(dir, imageOutputName(input.path, format)), format: format ?? writeBackFormat(input.path) };
  });
  const inputSet = new Set(inputs.map((i) => i.path));
  const claimed = new Map<string, string>();
  const clashes: string[] = [];
  for (const p of plans) {
    if (claimed.has(p.output)) clashes.push(`${p.input.path} and ${claimed.get(p.output)} would both write ${p.output}`);
    else if (inputSet.has(p.output)) clashes.push(`the output ${p.output} is an input`);
    else if (!force && existsSync(p.output)) clashes.push(`${p.output} exists (use --force to replace it)`);
    claimed.set(p.output, p.input.path);
  }
  if (clashes.length > 0) {
    const shown = clashes.slice(0, 3).join('; ') + (clashes.length > 3 ? `; and ${clashes.length - 3} more` : '');
    throw new SrError(`${shown}; nothing was queued`);
  }
  return plans;
}
