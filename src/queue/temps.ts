// Leftovers of a worker that died while writing. Every output is written under a temporary name
// next to its target and renamed into place (src/util/atomic.ts for images, the video encoder's
// temp file in src/video/upscale_video.ts); a SIGKILLed worker leaves that temporary file behind.
// The job's next attempt, which holds the job's lock, removes them before it writes.
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Names of temporary files for `target`: `.tmp-<name>-<pid>-<8 hex>` and `.tmp-<stem>-<pid>-<8 hex><ext>`. */
export function tempPattern(target: string): RegExp {
  const name = basename(target);
  const ext = extname(target);
  const stem = basename(target, ext);
  return new RegExp(`^\\.tmp-(?:${escape(name)}-\\d+-[0-9a-f]{8}|${escape(stem)}-\\d+-[0-9a-f]{8}${escape(ext)})$`);
}

/** Deletes the temporary files a dead writer of `target` left; returns how many there were. */
export async function removeStaleTemps(target: string): Promise<number> {
  const re = tempPattern(target);
  let names: string[];
  try {
    names = await readdir(dirname(target));
  } catch {
    return 0; // no folder yet: nothing was written
  }
  const stale = names.filter((n) => re.test(n));
  await Promise.all(stale.map((n) => rm(join(dirname(target), n), { force: true })));
  return stale.length;
}
