// Temporary files of writers that died (SIGKILL, a crash) are removed by the next writer in the
// same folder; those of live writers are left alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tempPathFor, writeFileAtomic, writeFileAtomicSync } from '../../src/util/atomic.js';
import { SrError } from '../../src/util/errors.js';
import { testTempDir } from '../helpers/tmp.js';

/** The pid of a process that has exited (a pid is not reused that quickly). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

for (const [kind, write] of [
  ['async', (p: string) => writeFileAtomic(p, 'new')],
  ['sync', async (p: string) => writeFileAtomicSync(p, 'new')],
] as const) {
  test(`the first ${kind} write into a folder removes dead writers' temporary files and folders, and nothing else`, async (t) => {
    const dir = testTempDir(t, 'srgan-atomic-');
    const dead = deadPid();
    const stale = [`.tmp-out.png-${dead}-0123abcd`, `.tmp-movie-${dead}-89abcdef.mp4`, `.tmp-out.png-${dead}-deadbeef.v`];
    for (const n of stale) writeFileSync(join(dir, n), 'left by a killed process');
    mkdirSync(join(dir, `.tmp-study-${dead}-00112233`)); // mos create builds a folder
    writeFileSync(join(dir, `.tmp-study-${dead}-00112233`, 'x.png'), 'x');
    const kept = [
      `.tmp-out.png-${process.pid}-0123abcd`, // ours: alive
      `.tmp-out.png-1-0123abcd`, // pid 1 is always alive
      `.tmp-000100-${dead}`, // a checkpoint folder's name: the trainer sweeps those itself
      'notes.txt',
      `tmp-out.png-${dead}-0123abcd`,
    ];
    for (const n of kept) writeFileSync(join(dir, n), 'keep');
    await write(join(dir, 'result.txt'));
    assert.deepEqual(readdirSync(dir).sort(), [...kept, 'result.txt'].sort());
  });
}

test('temporary names carry the pid (and the extension when asked), so the sweep can tell', () => {
  assert.match(tempPathFor('/a/b/out.png'), new RegExp(`^/a/b/\\.tmp-out\\.png-${process.pid}-[0-9a-f]{8}$`));
  assert.match(tempPathFor('/a/b/movie.mp4', { keepExtension: true }), new RegExp(`^/a/b/\\.tmp-movie-${process.pid}-[0-9a-f]{8}\\.mp4$`));
  assert.match(tempPathFor('/a/b/out.png', { extension: '.v' }), new RegExp(`^/a/b/\\.tmp-out\\.png-${process.pid}-[0-9a-f]{8}\\.v$`));
});

test('a write that fails is one SrError naming the file', async (t) => {
  const dir = testTempDir(t, 'srgan-atomic-');
  const file = join(dir, 'a-file');
  writeFileSync(file, 'x');
  await assert.rejects(writeFileAtomic(join(file, 'out.json'), '{}'), (e: unknown) => e instanceof SrError && /^cannot write .*a-file\/out\.json: not a directory \(ENOTDIR\)$/.test(e.message));
  assert.throws(() => writeFileAtomicSync(join(file, 'out.json'), '{}'), (e: unknown) => e instanceof SrError && /a-file\/out\.json: not a directory/.test(e.message));
});
