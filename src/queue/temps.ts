// Leftovers of a worker that died while writing. Every output is written under a temporary name
// next to its target and renamed into place (src/util/atomic.ts's tempPathFor names them: images,
// the banded assembly of a large image, the video encoder's and the join's temp files); a
// SIGKILLed worker leaves that temporary file behind. The job's next attempt, which holds the
// job's lock, removes those of its own target before it writes, whichever process left them.
import { readdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tempPattern } from '../util/atomic.js';

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
