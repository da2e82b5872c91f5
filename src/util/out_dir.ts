// Output folders are checked before the work starts: a command that scores images for an hour
// must not fail at the end because --out names a file or a folder it cannot write.
import { accessSync, statSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { SrError } from './errors.js';

function why(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String(err);
}

/**
 * SrError (naming `flag`) unless `dir` is a folder this process can write into, or can be made:
 * its nearest existing ancestor is a writable folder. Nothing is created.
 */
export function checkOutputFolder(dir: string, flag: string): void {
  let path = resolve(dir);
  for (let first = true; ; first = false) {
    let st;
    try {
      st = statSync(path);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(path) === path) throw new SrError(`${flag} ${dir}: cannot use ${path} (${why(err)})`, { cause: err });
      path = dirname(path);
      continue;
    }
    if (!st.isDirectory()) {
      throw new SrError(
        first ? `${flag} ${dir} is a file, not a folder; name a folder (it is made if missing)` : `${flag} ${dir}: cannot make it, ${path} is a file`,
      );
    }
    try {
      accessSync(path, constants.W_OK | constants.X_OK);
    } catch (err) {
      throw new SrError(`${flag} ${dir}: ${path} is not writable (${why(err)})`, { cause: err });
    }
    return;
  }
}
