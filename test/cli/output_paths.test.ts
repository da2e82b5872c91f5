// Output folders are checked before the work starts: `eval` and `train` with an --out that is a
// file, or that cannot be made, fail at once with one line, no stack trace and no scoring done.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { makeImageFolder } from '../helpers/images.js';
import { tempDir } from '../helpers/tmp.js';

const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');
const dir = tempDir('srgan-outpaths-');
let data: string;
let file: string;

before(async () => {
  data = await makeImageFolder(join(dir, 'data'), 2, 48, 40, 3);
  file = join(dir, 'results.txt');
  writeFileSync(file, 'an existing file');
});

function fails(args: string[], pattern: RegExp): void {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, `one line, no stack trace:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\[1\/2\]/, 'nothing was scored');
}

test('eval: --out naming a file, or under a file, fails before any scoring', () => {
  fails(['eval', '--data', data, '--methods', 'bicubic', '--out', file], /^error: --out .*results\.txt is a file, not a folder; name a folder/);
  fails(['eval', '--data', data, '--methods', 'bicubic', '--out', join(file, 'sub')], /^error: --out .*results\.txt\/sub: cannot make it, .*results\.txt is a file\n$/);
  const ok = spawnSync(process.execPath, [cli, 'eval', '--data', data, '--methods', 'bicubic', '--out', join(dir, 'new', 'eval')], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
});

test('eval: an --out folder that is not writable fails before any scoring', { skip: process.getuid?.() === 0 && 'root may write anywhere; the file cases above stand in' }, () => {
  const locked = join(dir, 'locked');
  mkdirSync(locked, { mode: 0o555 });
  fails(['eval', '--data', data, '--methods', 'bicubic', '--out', join(locked, 'out')], /^error: --out .*locked\/out: .*locked is not writable \(EACCES\)\n$/);
});

test('train: --out naming a file, or under a file, fails at once with one line', () => {
  const before = readdirSync(dir).sort();
  for (const [out, pattern] of [
    [file, /^error: --out .*results\.txt is a file, not a folder/],
    [join(file, 'run'), /^error: --out .*results\.txt\/run: cannot make it, .*results\.txt is a file\n$/],
  ] as const) {
    const r = spawnSync(process.execPath, [cli, 'train', 'srresnet', '--data', data, '--out', out, '--steps', '1', '--no-progress'], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  }
  assert.deepEqual(readdirSync(dir).sort(), before);
});
