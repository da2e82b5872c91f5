// Ctrl-C during `srgan train`: answered after the current step (not at the next checkpoint), with
// a checkpoint of that step and exit code 130; a second Ctrl-C quits at once and leaves no
// half-written checkpoint folder behind.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { makeImageFolder } from '../helpers/images.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('srgan-interrupt-');
const data = join(root, 'train');
const cli = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

before(async () => {
  await makeImageFolder(data, 4, 64, 64, 1);
});

function loggedStep(out: string): number {
  const path = join(out, 'log.jsonl');
  if (!existsSync(path)) return 0;
  const lines = readFileSync(path, 'utf8').trim().split('\n').filter(Boolean);
  let step = 0;
  for (const l of lines) {
    try {
      step = Math.max(step, (JSON.parse(l) as { step: number }).step);
    } catch {
      /* a line being written */
    }
  }
  return step;
}

function startRun(out: string, engine: string, extra: string[] = []) {
  const args = [cli, 'train', 'srresnet', '--data', data, '--out', out, '--engine', engine, '--workers', '1', '--scale', '2', '--blocks', '2',
    '--channels', '16', '--patch', '32', '--batch', '4', '--steps', '100000', '--log-every', '1', '--ckpt-every', '100000', '--val-every', '100000', '--no-progress', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const engine of ['tfjs', 'onnx']) {
  test(`${engine}, one worker: Ctrl-C stops after the current step with a checkpoint and exit code 130`, async () => {
    const out = join(root, `once-${engine}`);
    const run = startRun(out, engine);
    await until(() => loggedStep(out) >= 3, 60_000);
    const t0 = Date.now();
    run.child.kill('SIGINT');
    const code = await run.exited;
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(code, 130, run.stderr());
    // A step here takes well under a second; before, the answer waited for the next checkpoint.
    assert.ok(seconds < 5, `answered after ${seconds.toFixed(1)} s`);
    const latest = JSON.parse(readFileSync(join(out, 'checkpoints', 'latest.json'), 'utf8')) as { step: number };
    assert.ok(latest.step >= 3, `checkpoint at step ${latest.step}`);
    assert.match(run.stderr(), /continue with --resume/);
  });
}

test('a second Ctrl-C during the checkpoint save quits at once and leaves no half-written checkpoint', async () => {
  const out = join(root, 'twice');
  // The paper-size generator, so that a save takes long enough to be interrupted.
  const run = startRun(out, 'onnx', ['--channels', '64', '--blocks', '16', '--patch', '16', '--batch', '2']);
  await until(() => loggedStep(out) >= 1, 60_000);
  run.child.kill('SIGINT');
  // Watch for the save's temporary folder without yielding, and interrupt the save itself.
  const ckpt = join(out, 'checkpoints');
  const end = Date.now() + 20_000;
  let caught = false;
  while (Date.now() < end && run.child.exitCode === null) {
    if (existsSync(ckpt) && readdirSync(ckpt).some((f) => f.startsWith('.tmp-'))) {
      caught = true;
      run.child.kill('SIGINT');
      break;
    }
  }
  const code = await run.exited;
  assert.ok(caught, 'the save finished before it could be interrupted');
  assert.equal(code, 130, run.stderr());
  assert.deepEqual(readdirSync(ckpt).filter((f) => f.startsWith('.tmp-')), []);
});
