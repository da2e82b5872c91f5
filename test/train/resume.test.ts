// `--resume` when there is nothing (or nothing sound) to resume: a clear error that leaves the
// folder as it was; a damaged newest checkpoint falls back to the one before it with a warning.
// And learning-rate schedules that are written wrong.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync, readFileSync, writeFileSync, readdirSync, statSync, truncateSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/tfjs/backend.js';
import { resolveOptions, parseSchedule } from '../../src/train/options.js';
import { train } from '../../src/train/trainer.js';
import { makeImageFolder } from '../helpers/images.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('srgan-resume-');
const data = join(root, 'train');
const tiny = { scale: 2, blocks: 1, channels: 8, patch: 16, batch: 2, workers: 1, dataWorkers: 1, logEvery: 1, valEvery: 1000 };
let source = '';

before(async () => {
  await initBackend({ backend: 'wasm' });
  await makeImageFolder(data, 3, 48, 48, 1);
  // A run with checkpoints at steps 2 and 4.
  source = join(root, 'source');
  await train(resolveOptions('srresnet', { ...tiny, data, out: source, steps: 4, ckptEvery: 2 }), { backend: 'wasm', quiet: true });
});

function snapshot(dir: string): string {
  if (!existsSync(dir)) return '(none)';
  const walk = (d: string): string[] => readdirSync(d).flatMap((f) => (statSync(join(d, f)).isDirectory() ? walk(join(d, f)) : [`${join(d, f)}:${statSync(join(d, f)).size}`]));
  return walk(dir).sort().join('\n');
}

async function resume(out: string, warnings: string[] = []) {
  const o = resolveOptions('srresnet', { ...tiny, data, out, steps: 6, ckptEvery: 2 });
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string) => (warnings.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    return await train(o, { backend: 'wasm', resume: true });
  } finally {
    process.stderr.write = original;
  }
}

test('--resume of a folder that does not exist, is not a run, or has no complete checkpoint is an error that changes nothing', async () => {
  const missing = join(root, 'missing');
  await assert.rejects(resume(missing), /--resume: .*missing does not exist, so there is nothing to continue/);
  assert.equal(existsSync(missing), false);

  const notRun = join(root, 'not-a-run');
  mkdirSync(notRun);
  writeFileSync(join(notRun, 'notes.txt'), 'hello');
  await assert.rejects(resume(notRun), /is not a training run folder/);
  assert.deepEqual(readdirSync(notRun), ['notes.txt']);

  // A run killed before its first checkpoint: config and a 5-line log, no checkpoint.
  const early = join(root, 'early');
  mkdirSync(early);
  writeFileSync(join(early, 'config.json'), readFileSync(join(source, 'config.json')));
  const log = readFileSync(join(source, 'log.jsonl'), 'utf8');
  writeFileSync(join(early, 'log.jsonl'), log);
  const before = snapshot(early);
  await assert.rejects(resume(early), /holds no complete checkpoint/);
  assert.equal(snapshot(early), before);
  assert.equal(readFileSync(join(early, 'log.jsonl'), 'utf8'), log);
});

test('a truncated newest checkpoint falls back to the previous one with a warning', async () => {
  const out = join(root, 'truncated');
  cpSync(source, out, { recursive: true });
  truncateSync(join(out, 'checkpoints', 'step-00000004', 'generator.safetensors'), 100);
  const warnings: string[] = [];
  const r = await resume(out, warnings);
  assert.match(warnings.join(''), /checkpoint step-00000004 is corrupt .*falling back to step-00000002/);
  assert.match(warnings.join(''), /resuming .* from step 2/);
  assert.equal(r.step, 6);
});

test('a checkpoint overwritten with 0xff bytes is reported as corrupt, not as a diverged run', async () => {
  const out = join(root, 'ones');
  cpSync(source, out, { recursive: true });
  for (const step of ['step-00000002', 'step-00000004']) {
    const f = join(out, 'checkpoints', step, 'optimizer.safetensors');
    const bytes = readFileSync(f);
    // Keep the header, fill the tensor data with 0xff (NaN as float32).
    const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
    bytes.fill(0xff, headerEnd);
    writeFileSync(f, bytes);
  }
  const warnings: string[] = [];
  await assert.rejects(resume(out, warnings), /no checkpoint of .* can be read \(all 2 are corrupt\)/);
  assert.match(warnings.join(''), /step-00000004 is corrupt \(tensor '.*' holds values that are not finite numbers\)/);
});

test('learning-rate schedules with duplicate steps, unsorted entries or stray commas are errors', () => {
  assert.deepEqual(parseSchedule('1e-4@0,1e-5@100'), [[0, 1e-4], [100, 1e-5]]);
  assert.throws(() => parseSchedule('1e-4@0,1e-5@100,'), /empty entry \(a stray comma\)/);
  assert.throws(() => parseSchedule('1e-4@0,,1e-5@100'), /empty entry/);
  assert.throws(() => parseSchedule('1e-4@0,1e-5@100,2e-5@100'), /names step 100 twice/);
  assert.throws(() => parseSchedule('1e-4@0,1e-5@200,2e-5@100'), /increasing order \(100 comes after 200\)/);
  assert.throws(() => parseSchedule('1e-5@100,1e-4@0'), /must start at step 0/);
});

test('a run resumes on the other engine: checkpoints are the same files', async () => {
  const out = join(root, 'cross');
  await train(resolveOptions('srresnet', { ...tiny, engine: 'tfjs', data, out, steps: 2, ckptEvery: 2 }), { backend: 'wasm', quiet: true });
  const r = await train(resolveOptions('srresnet', { ...tiny, engine: 'onnx', data, out, steps: 4, ckptEvery: 2 }), { backend: 'wasm', quiet: true, resume: true });
  assert.equal(r.step, 4);
  const legs = readFileSync(join(out, 'resumes.jsonl'), 'utf8');
  assert.match(legs, /"engine":\["tfjs","onnx"\]/);
});
