// The training option table: every row becomes a flag of the modes that take it, the defaults are
// the paper's, a resume keeps what the checkpoints were made with, and the card's command line
// is read from the same rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../../src/cli/main.js';
import { TRAIN_FIELDS, commandLine, defaults, fieldApplies, flagName, resolveOptions, resolveResumedOptions, type TrainField, type TrainMode } from '../../src/train/options.js';
import { tempDir } from '../helpers/tmp.js';

const root = tempDir('srgan-options-');
const data = join(root, 'data');
mkdirSync(data);
const out = join(root, 'run');
const MODES: TrainMode[] = ['srresnet', 'srgan', 'sosr', 'tosr'];
const rows = Object.entries(TRAIN_FIELDS) as Array<[string, TrainField<unknown>]>;

test('each row is a flag of exactly the modes that take it', async () => {
  const program = await buildProgram('train');
  const train = program.commands.find((c) => c.name() === 'train')!;
  for (const mode of MODES) {
    const longs = train.commands.find((c) => c.name() === mode)!.options.map((o) => o.long);
    for (const [key, f] of rows) assert.equal(longs.includes(flagName(f)), fieldApplies(f, mode), `${mode} ${key}`);
  }
});

test("the defaults are the paper's, per mode", () => {
  const r = defaults('srresnet');
  const g = defaults('srgan');
  assert.deepEqual([r.steps, r.batch, r.patch, r.beta1, r.scale, r.blocks, r.channels, r.content], [1_000_000, 16, 96, 0.9, 4, 16, 64, 'mse']);
  assert.deepEqual(r.lrSchedule, [[0, 1e-4]]);
  assert.deepEqual([g.steps, g.lrSchedule, g.advWeight, g.discChannels], [200_000, [[0, 1e-4], [100_000, 1e-5]], 1e-3, 64]);
  assert.deepEqual([r.keepCheckpoints, r.genInit, r.engine, r.videoFrames, r.motionEps, r.temporalWeight], [3, 'interpolate', 'onnx', 32, 0.1, 1]);
});

test('flag text is checked by the row: whole numbers, ranges, choices, unknown names', () => {
  const base = { data, out, workers: 1 };
  assert.throws(() => resolveOptions('srresnet', { ...base, steps: '0' }), /--steps must be a whole number >= 1, got 0/);
  assert.throws(() => resolveOptions('srresnet', { ...base, batch: '2.5' }), /--batch must be a whole number, got 2.5/);
  assert.throws(() => resolveOptions('srresnet', { ...base, engine: 'cuda' }), /--engine must be onnx or tfjs, got 'cuda'/);
  assert.throws(() => resolveOptions('srresnet', { ...base, beta1: 1 }), /--beta1 must be in \[0, 1\), got 1/);
  assert.throws(() => resolveOptions('srresnet', { ...base, lr: '-1' }), /--lr must be a positive number/);
  assert.throws(() => resolveOptions('srresnet', { ...base, logevery: 5 }), /unknown training option 'logevery' \(did you mean 'logEvery'\?\)/);
  assert.throws(() => resolveOptions('srresnet', { out, workers: 1 }), /--data <folder> is required/);
  assert.equal(resolveOptions('srresnet', { ...base, steps: '7' }).steps, 7);
  // The grid penalty's period must keep the sub-pixel grid's phases and tile the crop.
  assert.throws(() => resolveOptions('srgan', { ...base, gridWeight: 10, gridPeriod: 6 }), /--grid-period 6 must be a multiple of --scale 4 that divides --patch 96/);
  assert.throws(() => resolveOptions('srgan', { ...base, gridWeight: 10, gridPeriod: 64 }), /--grid-period 64 must be a multiple of --scale 4 that divides --patch 96/);
  assert.equal(resolveOptions('srgan', { ...base, gridWeight: 10, gridPeriod: 16 }).gridPeriod, 16);
  assert.throws(() => resolveOptions('srgan', { ...base, gridWeight: -1 }), /--grid-weight must be >= 0/);
});

test('a resume keeps what the checkpoints were made with and takes new values for the rest', () => {
  const saved = { ...resolveOptions('srresnet', { data, out, workers: 1, scale: 2, patch: 16, blocks: 2, keepCheckpoints: 5 }), backend: 'wasm' };
  const again = resolveResumedOptions('srresnet', saved, { out, steps: '9', patch: '32', blocks: '2' });
  assert.deepEqual([again.steps, again.patch, again.blocks, again.scale, again.data], [9, 32, 2, 2, data]);
  assert.equal(again.keepCheckpoints, 3, '--keep belongs to each sitting');
  assert.throws(() => resolveResumedOptions('srresnet', saved, { out, scale: '4' }), /--scale cannot change on --resume: .* was started with 2; start a new run to train with 4/);
  assert.throws(() => resolveResumedOptions('srgan', saved, { out }), /is a 'srresnet' run; resume it with 'train srresnet'/);
  // A run saved before --gen-init existed started with the default.
  const { genInit: _, ...older } = saved;
  assert.equal(resolveResumedOptions('srresnet', older, { out, genInit: 'interpolate' }).genInit, 'interpolate');
  assert.throws(() => resolveResumedOptions('srresnet', older, { out, genInit: 'random' }), /--gen-init cannot change on --resume: .* was started with "interpolate"/);
});

test("the card's command line has the rows marked for it, for the run's mode", () => {
  const o = resolveOptions('srgan', { data, out, workers: 1, steps: 5, lr: 2e-4 });
  const line = commandLine(o);
  assert.equal(line, `srgan train srgan --data ${data} --out ${out} --scale 4 --steps 5 --batch 16 --patch 96 --lr-schedule 0.0002@0 --workers 1 --seed 1 --content mse --adv-weight 0.001`);
  assert.doesNotMatch(commandLine(resolveOptions('srresnet', { data, out, workers: 1 })), /--content|--adv-weight|--ema|--pixel-loss|--lr-decay/);
  // Options newer than most cards appear where a run set them.
  assert.match(commandLine(resolveOptions('srresnet', { data, out, workers: 1, ema: 0.999, pixelLoss: 'l1', lrDecay: 'cosine' })), /--lr-decay cosine .*--pixel-loss l1 --ema 0.999/);
});
