// Every file the toolkit writes goes through here: write a temporary file next to the target,
// flush it, then rename. A crash (or SIGKILL) leaves either the old file or the new one, never half.
//
// What a killed process cannot do is delete its temporary file, so the names carry the writer's
// pid: `.tmp-<name>-<pid>-<8 hex>[.ext]`. Before the first write into a folder, a process removes
// the temporary files (and folders) there whose writer is no longer running; for a killed video
// that can be gigabytes. A pid that is alive, or that we may not signal, keeps its files.
// A write that fails is an SrError naming the file.
import { promises as fsp, writeFileSync, renameSync, openSync, fsyncSync, closeSync, unlinkSync, readdirSync, rmSync } from 'node:fs';
import { dirname, basename, extname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SrError } from './errors.js';

// `-<pid>-<8 hex>`, then an extension (the target's own, or one asked for).
const TAIL = '-(\\d+)-[0-9a-f]{8}';
const EXT = '(\\.[A-Za-z0-9]+)?';
const TEMP_NAME = new RegExp(`^\\.tmp-.+${TAIL}${EXT}$`);

/**
 * A temporary name next to `target`. `keepExtension` ends it with the target's extension, for
 * tools that choose the format by it (ffmpeg's muxers); `extension` ends it with another one.
 */
export function tempPathFor(target: string, opts: { keepExtension?: boolean; extension?: string } = {}): string {
  const ext = opts.extension ?? (opts.keepExtension ? extname(target) : '');
  const name = opts.keepExtension ? basename(target, extname(target)) : basename(target);
  return join(dirname(target), `.tmp-${name}-${process.pid}-${randomBytes(4).toString('hex')}${ext}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The names tempPathFor gives `target`, whatever the writer's pid and options. */
export function tempPattern(target: string): RegExp {
  const ext = extname(target);
  const name = escapeRegExp(basename(target));
  const stem = escapeRegExp(basename(target, ext));
  return new RegExp(`^\\.tmp-(?:${name}${TAIL}${EXT}|${stem}${TAIL}${escapeRegExp(ext)})$`);
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // someone else's live process
  }
}

const swept = new Set<string>();

/**
 * Removes temporary files and folders of dead writers from `dir` (once per folder per process).
 * Returns the names removed. Never throws: a folder that cannot be read has nothing to sweep.
 */
export function sweepStaleTemps(dir: string): string[] {
  const key = resolve(dir);
  if (swept.has(key)) return [];
  swept.add(key);
  let names: string[];
  try {
    names = readdirSync(key);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = TEMP_NAME.exec(n);
    if (!m || alive(Number(m[1]))) continue;
    try {
      rmSync(join(key, n), { recursive: true, force: true });
      removed.push(n);
    } catch {
      /* not ours to remove after all */
    }
  }
  return removed;
}

/** A failed write as one line naming the file (ENOSPC, EACCES...), not a stack trace. */
function writeError(target: string, err: unknown): SrError {
  if (err instanceof SrError) return err;
  const e = err as NodeJS.ErrnoException;
  const what = String(e.message ?? err).replace(/^[A-Z]+: /, '').split(',')[0];
  return new SrError(`cannot write ${target}: ${what}${e.code ? ` (${e.code})` : ''}`, { cause: err });
}

/** Runs `write(tmp)` to produce the file, then renames it onto `target`; removes it on failure. */
export async function writeAtomicWith(target: string, write: (tmp: string) => Promise<void>, opts: { keepExtension?: boolean } = {}): Promise<void> {
  sweepStaleTemps(dirname(target));
  const tmp = tempPathFor(target, opts);
  try {
    await write(tmp);
    await fsp.rename(tmp, target);
  } catch (err) {
    await fsp.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw writeError(target, err);
  }
}

export async function writeFileAtomic(target: string, data: Uint8Array | string): Promise<void> {
  await writeAtomicWith(target, async (tmp) => {
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

export function writeFileAtomicSync(target: string, data: Uint8Array | string): void {
  sweepStaleTemps(dirname(target));
  const tmp = tempPathFor(target);
  try {
    writeFileSync(tmp, data);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw writeError(target, err);
  }
}
