// VGG19 feature extractor: structure, preprocessing, gradients, and the two weight formats.
// Weight files are made here with random weights (nothing is downloaded): Keras-layout HDF5 via
// h5wasm, and TF.js folders both from TF.js's own `model.save` and written by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import h5wasm from 'h5wasm/node';
import { initBackend } from '../../src/tfjs/backend.js';
import {
  buildModel, getArchitecture, resolveConfig,
  buildVgg19Features, vgg19Features, vgg19OutputLayers, vgg19Params, vgg19Flops, vggPreprocess,
  VGG19_LAYER_NAMES, VGG19_CONV_LAYERS, VGG22, VGG54,
  loadVgg19, KERAS_VGG19_NOTOP_FILE,
} from '../../src/models/index.js';
import { SrError } from '../../src/util/errors.js';
import { randomArray, randomTensor } from '../helpers/tf.js';
import { randomVggWeights, writeTfjsByHand, type ConvSet } from '../helpers/vgg_files.js';
import { tempDir } from '../helpers/tmp.js';

await initBackend({ backend: 'wasm' });
await h5wasm.ready;

const dir = tempDir('vgg19-test-');

function setWeights(model: tfl.LayersModel, w: ConvSet): void {
  for (const [name, { kernel, bias }] of w) {
    tf.tidy(() => model.getLayer(name).setWeights([tf.tensor(kernel.data, kernel.shape), tf.tensor(bias.data, bias.shape)]));
  }
}

/**
 * Writes weights in Keras' `save_weights` HDF5 layout: root attributes `layer_names`, `backend`,
 * `keras_version`; one group per layer (input and pools included, with empty `weight_names`).
 * naming '2017' is the published notop file's (`block1_conv1_W_1:0` in the layer group), 'tf2'
 * newer tf.keras' (`block1_conv1/kernel:0`, one group deeper).
 */
function writeKerasH5(file: string, weights: ConvSet, opts: { naming?: '2017' | 'tf2'; omit?: string; upTo?: string; noLayerNames?: boolean } = {}): void {
  const naming = opts.naming ?? '2017';
  const last = VGG19_LAYER_NAMES.indexOf(opts.upTo ?? [...weights.keys()].at(-1)!);
  const layers = ['input_1', ...VGG19_LAYER_NAMES.slice(0, last + 1)].filter((n) => n !== opts.omit);
  const f = new h5wasm.File(file, 'w');
  const fixed = (list: string[]) => `A${Math.max(1, ...list.map((s) => s.length))}`;
  if (!opts.noLayerNames) f.create_attribute('layer_names', layers, [layers.length], fixed(layers));
  f.create_attribute('backend', 'tensorflow');
  f.create_attribute('keras_version', '2.0.2');
  for (const name of layers) {
    const g = f.create_group(name);
    const w = weights.get(name);
    if (!w) {
      g.create_attribute('weight_names', [], [0], 'A1');
      continue;
    }
    const names = naming === '2017' ? [`${name}_W_1:0`, `${name}_b_1:0`] : [`${name}/kernel:0`, `${name}/bias:0`];
    g.create_attribute('weight_names', names, [2], fixed(names));
    const holder = naming === '2017' ? g : g.create_group(name);
    const leaf = (p: string) => p.split('/').at(-1)!;
    holder.create_dataset({ name: leaf(names[0]!), data: w.kernel.data, shape: w.kernel.shape, dtype: '<f4' });
    holder.create_dataset({ name: leaf(names[1]!), data: w.bias.data, shape: w.bias.shape, dtype: '<f4' });
  }
  f.close();
}

/** A folder from TF.js's own `model.save`, with the weights split into 4 MB shards. */
async function writeTfjsWithSave(folder: string, model: tfl.LayersModel): Promise<void> {
  await mkdir(folder, { recursive: true });
  await model.save(tf.io.withSaveHandler(async (a) => {
    const all = Buffer.from(tf.io.CompositeArrayBuffer.join(a.weightData!));
    const shard = 4 << 20;
    const n = Math.ceil(all.length / shard);
    const paths = Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`);
    for (let i = 0; i < n; i++) await writeFile(join(folder, paths[i]!), all.subarray(i * shard, (i + 1) * shard));
    const json = { format: 'layers-model', generatedBy: 'TensorFlow.js tfjs-layers', convertedBy: null, modelTopology: a.modelTopology, weightsManifest: [{ paths, weights: a.weightSpecs }] };
    await writeFile(join(folder, 'model.json'), JSON.stringify(json));
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
}

const bytesOf = (a: Float32Array | Int32Array | Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const sameBytes = (a: Float32Array, b: Float32Array) => a.length === b.length && bytesOf(a).equals(bytesOf(b));

async function rejectsWith(p: Promise<unknown>, ...parts: string[]): Promise<string> {
  const e = await p.then(() => null, (err: unknown) => err);
  assert.ok(e instanceof SrError, `expected an SrError, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
  for (const s of parts) assert.ok(e.message.includes(s), `message lacks '${s}': ${e.message}`);
  return e.message;
}

// The full network (20M parameters) with known weights, and files of both formats made from it.
const full = randomVggWeights(VGG54, 1000);
const source = buildVgg19Features({ layers: [VGG22, VGG54] });
setWeights(source, full);
const fullH5 = join(dir, 'vgg19_notop.h5');
writeKerasH5(fullH5, full, { upTo: 'block5_pool' });
const fullTfjs = join(dir, 'vgg19_tfjs');
await writeTfjsWithSave(fullTfjs, source);

// Small files (block 1 only) for the error cases.
const small = new Map([...full].filter(([n]) => n.startsWith('block1_')));
const smallLayers = ['block1_conv2'];

test('both formats load the exact weights written, and give identical features', async () => {
  const manifest = JSON.parse(await readFile(join(fullTfjs, 'model.json'), 'utf8'));
  assert.ok(manifest.weightsManifest[0].paths.length > 1, 'the TF.js folder should be sharded');

  const fromH5 = await loadVgg19(fullH5, [VGG22, VGG54]);
  const fromTfjs = await loadVgg19(fullTfjs, [VGG22, VGG54]);
  for (const [name, w] of full) {
    for (const m of [fromH5, fromTfjs]) {
      const [k, b] = m.getLayer(name).getWeights();
      assert.deepEqual(k!.shape, w.kernel.shape, name);
      assert.ok(sameBytes(k!.dataSync() as Float32Array, w.kernel.data), `${m.name}: ${name} kernel differs`);
      assert.ok(sameBytes(b!.dataSync() as Float32Array, w.bias.data), `${m.name}: ${name} bias differs`);
    }
  }

  const x = randomTensor([1, 32, 32, 3], 7) as tf.Tensor4D;
  const fs = [source, fromH5, fromTfjs].map((m) => vgg19Features(m, x));
  for (const layer of [VGG22, VGG54]) {
    const ref = fs[0]![layer]!.dataSync() as Float32Array;
    assert.ok(ref.some((v) => v > 0), `${layer} is all zero: the test would prove nothing`);
    assert.ok(sameBytes(fs[1]![layer]!.dataSync() as Float32Array, ref), `h5 ${layer} differs`);
    assert.ok(sameBytes(fs[2]![layer]!.dataSync() as Float32Array, ref), `tfjs ${layer} differs`);
  }
  tf.dispose([x, ...fs.flatMap((f) => Object.values(f))]);
  fromH5.dispose();
  fromTfjs.dispose();
});

test('feature shapes: block2_conv2 at H/2 with 128 channels, block5_conv4 at H/16 with 512', () => {
  const x = randomTensor([2, 32, 32, 3], 3) as tf.Tensor4D;
  const f = vgg19Features(source, x);
  assert.deepEqual(vgg19OutputLayers(source), [VGG22, VGG54]);
  assert.deepEqual(f[VGG22]!.shape, [2, 16, 16, 128]);
  assert.deepEqual(f[VGG54]!.shape, [2, 2, 2, 512]);
  tf.dispose([x, ...Object.values(f)]);
});

test('builds only up to the deepest requested layer, outputs in the order asked', () => {
  const m = buildVgg19Features({ layers: [VGG22, 'block1_conv1'] });
  assert.deepEqual(m.layers.map((l) => l.name), ['vgg19_input', 'vgg19_preprocess', 'block1_conv1', 'block1_conv2', 'block1_pool', 'block2_conv1', 'block2_conv2']);
  assert.deepEqual(vgg19OutputLayers(m), [VGG22, 'block1_conv1']);
  assert.equal(m.trainableWeights.length, 0, 'VGG weights must be frozen');
  m.dispose();
  assert.throws(() => buildVgg19Features({ layers: ['block2_conv3'] }), (e: Error) => e instanceof SrError && /block2_conv3/.test(e.message) && /did you mean/.test(e.message));
  assert.throws(() => buildVgg19Features({ layers: [] }), SrError);
});

test("preprocessing equals Keras' caffe mode on the [-1, 1] input", () => {
  const rgb = [0.2, -0.5, 0.9];
  // Keras: x = 255 * (rgb + 1) / 2; x = x[..., ::-1]; x -= [103.939, 116.779, 123.68]
  const expected = [(0.9 + 1) * 127.5 - 103.939, (-0.5 + 1) * 127.5 - 116.779, (0.2 + 1) * 127.5 - 123.68];
  const y = tf.tidy(() => vggPreprocess(tf.tensor4d(rgb, [1, 1, 1, 3])).dataSync());
  for (let c = 0; c < 3; c++) assert.ok(Math.abs(y[c]! - expected[c]!) < 1e-4, `channel ${c}: ${y[c]} vs ${expected[c]}`);

  // Its gradient: d/dx sum(c * pre(x)) = 127.5 * reverse(c).
  const coef = tf.tensor4d([1, 2, 3], [1, 1, 1, 3]);
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(vggPreprocess(x as tf.Tensor4D), coef)))(tf.tensor4d(rgb, [1, 1, 1, 3]));
  assert.deepEqual([...g.dataSync()], [3 * 127.5, 2 * 127.5, 1 * 127.5]);
  tf.dispose([coef, g]);
});

test('a loaded single-conv model on a 1x1 image matches a hand computation', async () => {
  // Only the kernel centre sees a 1x1 image under 'same' padding. Centre taps: +identity into
  // channels 0-2, -identity into 3-5; bias 5 on channel 6. So the output is
  // [relu(B), relu(G), relu(R), relu(-B), relu(-G), relu(-R), 5, 0, ...] of the preprocessed pixel.
  const kernel = new Float32Array(3 * 3 * 3 * 64);
  const at = (ci: number, co: number) => ((1 * 3 + 1) * 3 + ci) * 64 + co;
  for (let c = 0; c < 3; c++) {
    kernel[at(c, c)] = 1;
    kernel[at(c, 3 + c)] = -1;
  }
  const bias = new Float32Array(64);
  bias[6] = 5;
  const file = join(dir, 'one_conv.h5');
  writeKerasH5(file, new Map([['block1_conv1', { kernel: { data: kernel, shape: [3, 3, 3, 64] }, bias: { data: bias, shape: [64] } }]]));
  const m = await loadVgg19(file, ['block1_conv1']);
  const y = tf.tidy(() => (m.predict(tf.tensor4d([0.2, -0.5, 0.9], [1, 1, 1, 3])) as tf.Tensor).dataSync());
  // By hand: B = 1.9 * 127.5 - 103.939 = 138.311, G = 0.5 * 127.5 - 116.779 = -53.029,
  // R = 1.2 * 127.5 - 123.68 = 29.32.
  const expected = [138.311, 0, 29.32, 0, 53.029, 0, 5, ...new Array(57).fill(0)];
  assert.equal(y.length, 64);
  for (let c = 0; c < 64; c++) assert.ok(Math.abs(y[c]! - expected[c]!) < 1e-3, `channel ${c}: ${y[c]} vs ${expected[c]}`);
  m.dispose();
});

test('the gradient with respect to the input is finite and non-zero; VGG weights are frozen', () => {
  const x = randomTensor([1, 32, 32, 3], 11);
  const gx = tf.grad((inp: tf.Tensor) => {
    const f = vgg19Features(source, inp as tf.Tensor4D);
    return tf.add(tf.mean(tf.square(f[VGG22]!)), tf.mean(tf.square(f[VGG54]!)));
  })(x);
  const g = gx.dataSync();
  assert.deepEqual(gx.shape, [1, 32, 32, 3]);
  assert.ok(g.every(Number.isFinite), 'gradient has NaN or Infinity');
  assert.ok(g.some((v) => v !== 0), 'gradient is all zero');
  // An optimiser collects trainable variables only: none of VGG's may be among them.
  assert.equal(source.trainableWeights.length, 0);
  assert.ok(source.weights.every((w) => !w.trainable));
  tf.dispose([x, gx]);
});

test('h5 weight names are read from weight_names, old and new spellings alike', async () => {
  const newer = join(dir, 'tf2_naming.h5');
  writeKerasH5(newer, small, { naming: 'tf2' });
  const m = await loadVgg19(newer, smallLayers);
  for (const [name, w] of small) {
    assert.ok(sameBytes(m.getLayer(name).getWeights()[0]!.dataSync() as Float32Array, w.kernel.data), name);
  }
  m.dispose();
});

test('a missing file is an SrError naming it; URLs are refused', async () => {
  const absent = join(dir, 'absent.h5');
  await rejectsWith(loadVgg19(absent, [VGG22]), 'not found', absent);
  await rejectsWith(loadVgg19(join(dir, 'absent_folder'), [VGG22]), 'absent_folder');
  await rejectsWith(loadVgg19('https://example.com/vgg19.h5', [VGG22]), 'local file');
});

test('a truncated .h5 or shard is an SrError naming the file, sizes and layer', async () => {
  const good = join(dir, 'small.h5');
  writeKerasH5(good, small);
  const bytes = await readFile(good);
  const cut = join(dir, 'cut.h5');
  await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
  await rejectsWith(loadVgg19(cut, smallLayers), cut, 'truncated', String(Math.floor(bytes.length * 0.6)), String(bytes.length));
  const empty = join(dir, 'empty.h5');
  await writeFile(empty, '');
  await rejectsWith(loadVgg19(empty, smallLayers), empty, 'empty');

  const folder = join(dir, 'cut_tfjs');
  await writeTfjsByHand(folder, small, 64 << 10);
  const json = JSON.parse(await readFile(join(folder, 'model.json'), 'utf8'));
  const lastShard = join(folder, json.weightsManifest[0].paths.at(-1));
  const shardSize = (await stat(lastShard)).size;
  await writeFile(lastShard, (await readFile(lastShard)).subarray(0, Math.floor(shardSize / 2)));
  await rejectsWith(loadVgg19(folder, smallLayers), join(folder, 'model.json'), 'block1_conv2', '[3,3,64,64]', 'truncated', lastShard);
});

test('a missing layer is an SrError naming the file and the layer', async () => {
  const file = join(dir, 'no_block1_conv2.h5');
  writeKerasH5(file, small, { omit: 'block1_conv2' });
  await rejectsWith(loadVgg19(file, smallLayers), file, "layer 'block1_conv2' is missing");

  const folder = join(dir, 'no_layer_tfjs');
  await writeTfjsByHand(folder, new Map([...small].filter(([n]) => n !== 'block1_conv2')));
  await rejectsWith(loadVgg19(folder, smallLayers), 'model.json', "layer 'block1_conv2' is missing");

  const notKeras = join(dir, 'not_keras.h5');
  writeKerasH5(notKeras, small, { noLayerNames: true });
  await rejectsWith(loadVgg19(notKeras, smallLayers), notKeras, 'layer_names');
});

test('a kernel of the wrong shape is an SrError naming file, layer and both shapes; nothing leaks', async () => {
  const bad = new Map(small);
  bad.set('block1_conv2', { kernel: { data: randomArray(9 * 64 * 32, 5), shape: [3, 3, 64, 32] }, bias: { data: new Float32Array(32), shape: [32] } });
  const file = join(dir, 'bad_shape.h5');
  writeKerasH5(file, bad);
  const tensorsBefore = tf.memory().numTensors;
  await rejectsWith(loadVgg19(file, smallLayers), file, 'block1_conv2', '[3,3,64,32]', 'expected [3,3,64,64]');
  assert.equal(tf.memory().numTensors, tensorsBefore, 'a failed load must dispose its model');

  const folder = join(dir, 'bad_shape_tfjs');
  await writeTfjsByHand(folder, bad);
  await rejectsWith(loadVgg19(folder, smallLayers), 'block1_conv2', '[3,3,64,32]', 'expected [3,3,64,64]');
});

test("Keras' own file name turns the MD5 check on", async () => {
  const sub = join(dir, 'keras_name');
  await mkdir(sub);
  const file = join(sub, KERAS_VGG19_NOTOP_FILE);
  writeKerasH5(file, small);
  await rejectsWith(loadVgg19(file, smallLayers), file, 'MD5');
  const m = await loadVgg19(file, smallLayers, { md5: null });
  m.dispose();
});

test('parameter count and FLOPs equal the analytic formulas; registry builds it', () => {
  const arch = getArchitecture('vgg19');
  // Keras reports 20,024,384 parameters for VGG19(include_top=False).
  const cfg = resolveConfig({ type: 'vgg19' });
  assert.equal(arch.paramCount(cfg), 20_024_384);
  assert.equal(source.countParams(), 20_024_384);
  // Blocks 1-2: 3*3*3*64+64 + 3*3*64*64+64 + 3*3*64*128+128 + 3*3*128*128+128 = 260,160.
  const small2 = resolveConfig({ type: 'vgg19', upTo: VGG22 });
  assert.equal(arch.paramCount(small2), 260_160);
  assert.equal(vgg19Params(VGG22), 260_160);
  const m = buildModel({ type: 'vgg19', upTo: VGG22 });
  assert.equal(m.countParams(), 260_160);
  m.dispose();
  // block1_conv1 on 32x32: 2 * 1024 * 9 * 3 * 64.
  assert.equal(vgg19Flops('block1_conv1', 32, 32), 3_538_944);
  assert.throws(() => resolveConfig({ type: 'vgg19', upTo: 'block6_conv1' }), SrError);
});
