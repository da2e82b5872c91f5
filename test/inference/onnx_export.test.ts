import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import ort from 'onnxruntime-node';
import { initBackend } from '../../src/tfjs/backend.js';
import { exportOnnx } from '../../src/inference/onnx_export.js';
import { decodeModel } from '../../src/inference/onnx_proto.js';
import { registerExportCommand } from '../../src/cli/commands/export.js';
import { SrError } from '../../src/util/errors.js';
import { makeTestModel, writeTestModel } from '../helpers/sr_models.js';
import { randomArray } from '../helpers/tf.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('srgan-onnx-');
before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
});

/** NHWC TF.js output vs ONNX Runtime (NCHW) on the same input; returns max |difference| and max |y|. */
async function compare(model: tfl.LayersModel, bytes: Uint8Array, h: number, w: number, seed: number): Promise<{ diff: number; peak: number }> {
  const x = randomArray(h * w * 3, seed).map((v) => (v + 1) / 2);
  const ref = tf.tidy(() => model.predict(tf.tensor4d(x, [1, h, w, 3])) as tf.Tensor4D);
  const want = ref.dataSync() as Float32Array;
  const [, H, W, C] = ref.shape;
  ref.dispose();
  const chw = new Float32Array(3 * h * w);
  for (let p = 0; p < h * w; p++) for (let c = 0; c < 3; c++) chw[c * h * w + p] = x[3 * p + c]!;
  const session = await ort.InferenceSession.create(bytes);
  const out = (await session.run({ lr: new ort.Tensor('float32', chw, [1, 3, h, w]) }))['sr']!;
  await session.release();
  assert.deepEqual(out.dims, [1, C, H, W]);
  const got = out.data as Float32Array;
  let diff = 0;
  let peak = 0;
  for (let p = 0; p < H * W; p++) {
    for (let c = 0; c < C; c++) {
      diff = Math.max(diff, Math.abs(got[c * H * W + p]! - want[p * C + c]!));
      peak = Math.max(peak, Math.abs(want[p * C + c]!));
    }
  }
  return { diff, peak };
}

test('the exported graph is standard ONNX: BN folded, PRelu [C,1,1], DepthToSpace DCR, dynamic NCHW input', () => {
  const { model, config } = makeTestModel({ blocks: 2, channels: 8, seed: 3 });
  try {
    const r = exportOnnx(model, { config });
    const m = decodeModel(r.bytes);
    assert.equal(m.ir_version, 8);
    assert.deepEqual(m.opset_import.map((o) => [o.domain ?? '', o.version]), [['', 17]]);
    const ops = m.graph.node.map((n) => n.op_type);
    assert.ok(!ops.includes('BatchNormalization'), 'every batch norm follows a conv and is folded');
    assert.equal(r.folded, 2 * 2 + 1);
    assert.equal(ops.filter((o) => o === 'Conv').length, 1 + 2 * 2 + 1 + 2 + 1);
    assert.equal(ops.filter((o) => o === 'Add').length, 2 + 1);
    assert.equal(ops.filter((o) => o === 'PRelu').length, 1 + 2 + 2);
    for (const n of m.graph.node.filter((n) => n.op_type === 'DepthToSpace')) {
      const attrs = Object.fromEntries((n.attribute ?? []).map((a) => [a.name, a]));
      assert.equal(attrs['blocksize']!.i, 2);
      assert.equal(new TextDecoder().decode(attrs['mode']!.s), 'DCR');
    }
    const init = new Map(m.graph.initializer.map((t) => [t.name, t]));
    const slopes = m.graph.node.filter((n) => n.op_type === 'PRelu').map((n) => init.get(n.input[1]!)!.dims);
    // the last PReLU runs before the last shuffle (the polyphase tail): its 8 slopes tiled 2x2
    assert.deepEqual(slopes, [...Array(4).fill([8, 1, 1]), [32, 1, 1]]);
    // the 9x9 8->3 tail at HR became a 5x5 32->12 conv on the 2x2 sub-pixel planes, then the shuffle
    const tail = m.graph.node.find((n) => n.name === 'tail_conv')!;
    assert.deepEqual(init.get(tail.input[1]!)!.dims, [12, 32, 5, 5]);
    assert.deepEqual(tail.attribute!.find((a) => a.name === 'pads')!.ints, [2, 2, 2, 2]);
    assert.deepEqual(ops.slice(-2), ['Conv', 'DepthToSpace']);
    // folded convs gain a bias even though the TF.js layer has none
    const blockConv = m.graph.node.find((n) => n.name === 'block0_conv1')!;
    assert.equal(blockConv.input.length, 3);
    assert.deepEqual(init.get(blockConv.input[1]!)!.dims, [8, 8, 3, 3]);
    const dims = (v: (typeof m.graph.input)[number]) => v.type.tensor_type.shape.dim.map((d) => d.dim_param ?? d.dim_value);
    assert.deepEqual(dims(m.graph.input[0]!), ['N', 3, 'H', 'W']);
    assert.deepEqual(dims(m.graph.output[0]!), ['N', 3, '4H', '4W']);
    const meta = Object.fromEntries((m.metadata_props ?? []).map((p) => [p.key, p.value]));
    assert.equal(meta['srgan-js.scale'], '4');
    assert.deepEqual(JSON.parse(meta['srgan-js.config']!), config);
  } finally {
    model.dispose();
  }
});

test('ONNX Runtime runs the export and matches the TF.js model within 1e-4 (any size; opsets 11 and 17)', async () => {
  const { model, config } = makeTestModel({ blocks: 2, channels: 8, seed: 5 });
  try {
    for (const opset of [11, 17]) {
      const { bytes } = exportOnnx(model, { config, opset });
      for (const [h, w] of [[13, 17], [24, 20]] as const) {
        const { diff, peak } = await compare(model, bytes, h, w, h * w + opset);
        assert.ok(peak > 0.2, `the output is not trivially small (${peak})`);
        assert.ok(diff < 1e-4, `opset ${opset}, ${h}x${w}: max |ONNX - TF.js| = ${diff}`);
      }
    }
    // the Node engine's form: PReLU at input resolution as Relu and two per-channel convolutions;
    // the two after pixel shuffles stay PRelu
    const depthwise = exportOnnx(model, { config, preluAsDepthwise: true });
    assert.equal(depthwise.ops.filter((o) => o === 'PRelu').length, 2);
    assert.equal(depthwise.ops.filter((o) => o === 'Relu').length, 1 + 2);
    const { diff } = await compare(model, depthwise.bytes, 19, 14, 7);
    assert.ok(diff < 1e-4, `PReLU as depthwise convolutions: max |ONNX - TF.js| = ${diff}`);
  } finally {
    model.dispose();
  }
});

test('batch-norm folding is exact up to float rounding, also with extreme statistics', async () => {
  // Tiny variances and large means make any mistake in the folding formula (epsilon, order of
  // mean and scale, bias handling) show up far above rounding.
  const input = tfl.input({ shape: [null, null, 3] });
  const c1 = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: true, name: 'c1' }).apply(input) as tfl.SymbolicTensor;
  const b1 = tfl.layers.batchNormalization({ epsilon: 1e-5, name: 'b1' }).apply(c1) as tfl.SymbolicTensor;
  const c2 = tfl.layers.conv2d({ filters: 3, kernelSize: 1, padding: 'same', useBias: false, name: 'c2' }).apply(b1) as tfl.SymbolicTensor;
  const out = tfl.layers.batchNormalization({ epsilon: 1e-3, name: 'b2' }).apply(c2) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: out });
  try {
    const set = (layer: string, values: Float32Array[]) => model.getLayer(layer).setWeights(values.map((v, i) => tf.tensor(v, model.getLayer(layer).weights[i]!.shape as number[])));
    set('c1', [randomArray(3 * 3 * 3 * 6, 1), randomArray(6, 2)]);
    set('b1', [randomArray(6, 3).map((v) => 2 + v), randomArray(6, 4), randomArray(6, 5).map((v) => 5 * v), Float32Array.from([1e-4, 0.01, 0.5, 2, 30, 1e-3])]);
    set('c2', [randomArray(6 * 3, 6)]);
    set('b2', [Float32Array.from([0.5, -1, 3]), Float32Array.from([0.1, 0, -0.2]), Float32Array.from([10, -3, 0.5]), Float32Array.from([4, 0.02, 1])]);
    const r = exportOnnx(model);
    assert.equal(r.folded, 2);
    assert.deepEqual(r.ops, ['Conv', 'Conv']);
    const { diff, peak } = await compare(model, r.bytes, 9, 11, 7);
    assert.ok(diff <= 2e-6 * Math.max(1, peak), `folded vs unfolded: ${diff} (outputs up to ${peak})`);
  } finally {
    model.dispose();
  }
});

test('layers the exporter does not know are refused by name', () => {
  const input = tfl.input({ shape: [null, null, 3] });
  const y = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh', name: 'squash' }).apply(input) as tfl.SymbolicTensor;
  const m1 = tfl.model({ inputs: input, outputs: y });
  assert.throws(() => exportOnnx(m1), (e: Error) => e instanceof SrError && /squash/.test(e.message) && /tanh/.test(e.message));
  m1.dispose();
  const y2 = tfl.layers.upSampling2d({ size: [2, 2], name: 'nearest_up' }).apply(input) as tfl.SymbolicTensor;
  const m2 = tfl.model({ inputs: input, outputs: y2 });
  assert.throws(() => exportOnnx(m2), (e: Error) => e instanceof SrError && /nearest_up/.test(e.message) && /UpSampling2D/.test(e.message));
  m2.dispose();
  const { model } = makeTestModel();
  assert.throws(() => exportOnnx(model, { opset: 9 }), /opset must be an integer from 11/);
  model.dispose();
});

test('srgan export writes the file atomically and refuses to overwrite without --force', async () => {
  const weights = await writeTestModel(join(dir, 'g.safetensors'), { blocks: 1, channels: 8, seed: 9 });
  const outFile = join(dir, 'g.onnx');
  const run = async (args: string[]) => {
    let out = '';
    const program = new Command().exitOverride();
    registerExportCommand(program, { out: { write: (s: string) => (out += s) } });
    await program.parseAsync(['node', 'srgan', 'export', ...args]);
    return out;
  };
  const out = await run(['--model', weights, '--format', 'onnx', '-o', outFile, '--opset', '13']);
  assert.match(out, /opset 13, x4, \d+ nodes \(3 batch norms folded/);
  const m = decodeModel(readFileSync(outFile));
  assert.equal(m.opset_import[0]!.version, 13);
  const session = await ort.InferenceSession.create(readFileSync(outFile));
  assert.deepEqual(session.inputNames, ['lr']);
  await session.release();
  writeFileSync(outFile, 'keep me');
  await assert.rejects(run(['--model', weights, '-o', outFile]), /exists; refusing to overwrite/);
  assert.equal(readFileSync(outFile, 'utf8'), 'keep me');
  await run(['--model', weights, '-o', outFile, '--force']);
  assert.notEqual(readFileSync(outFile, 'utf8').slice(0, 7), 'keep me');
  await assert.rejects(run(['--model', weights, '-o', join(dir, 'x.onnx'), '--format', 'tflite']), /only export format is onnx/);
  await assert.rejects(run(['--model', join(dir, 'missing.safetensors'), '-o', join(dir, 'y.onnx')]), /model file not found: .*missing\.safetensors/);
  assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.tmp')), []);
});
