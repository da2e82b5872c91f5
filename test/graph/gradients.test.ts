// Every gradient rule of the generated training graphs, alone, against finite differences: for a
// loss L = mean((op(inputs) - target)^2) the directional derivative <dL/dx, v> from the graph's
// gradient must match (L(x + hv) - L(x - hv)) / 2h, for random inputs and directions. The
// convolution rules are checked in every formulation and also against TF.js's own autodiff.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/tfjs/backend.js';
import { GraphBuilder, ONNX_INT64, type Value } from '../../src/graph/builder.js';
import { Tape } from '../../src/graph/tape.js';
import { conv2d, type DwFormulation, type DxFormulation, type FwdFormulation } from '../../src/graph/conv.js';
import {
  batchNormTrain, prelu, leakyRelu, relu, depthToSpace, maxPool2, flattenNhwc, dense, softplusMean,
  meanSquaredError, meanAbsoluteError, maskedMse, warp, unstack, weightedSum, add, channelSlice, globalAvgPool, softmaxCrossEntropy, blur3, gridMse,
} from '../../src/graph/ops.js';
import { gridMse as gridMseTf } from '../../src/losses/grid.js';
import { warpTables } from '../../src/video/warp.js';
import { randomArray } from '../helpers/tf.js';

await initBackend({ backend: 'wasm' });

interface In {
  name: string;
  shape: number[];
  data: Float32Array;
  /** Differentiated (checked) or data. */
  watch: boolean;
  int64?: BigInt64Array;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

async function gradCheck(label: string, inputs: In[], op: (t: Tape, v: Value[]) => Value, tol = 2e-3): Promise<Map<string, Float32Array>> {
  const g = new GraphBuilder();
  const t = new Tape(g);
  const vals = inputs.map((i) => (i.int64 ? g.input(i.name, i.shape, ONNX_INT64) : i.watch ? t.watch(g.input(i.name, i.shape)) : g.input(i.name, i.shape)));
  const y = op(t, vals);
  const target = g.input('target', y.shape);
  const loss = y.shape.length === 0 ? weightedSum(t, [[y, 1]]) : meanSquaredError(t, y, target);
  g.output(loss, 'loss');
  const grads = t.backward(loss);
  const watched = inputs.filter((i) => i.watch);
  for (const [k, i] of inputs.entries()) if (i.watch) g.output(grads.get(vals[k]!.name)!, `grad:${i.name}`);
  const session = await ort.InferenceSession.create(g.encode('check'), { intraOpNumThreads: 1 });
  const targetData = randomArray(size(y.shape as number[]), 99);
  const feeds = (shift: Map<string, Float32Array>) => {
    const f: Record<string, ort.Tensor> = { target: new ort.Tensor('float32', targetData, y.shape as number[]) };
    for (const i of inputs) f[i.name] = i.int64 ? new ort.Tensor('int64', i.int64, i.shape) : new ort.Tensor('float32', shift.get(i.name) ?? i.data, i.shape);
    return f;
  };
  const base = await session.run(feeds(new Map()));
  const out = new Map<string, Float32Array>();
  for (const [k, i] of watched.entries()) {
    const dir = randomArray(i.data.length, 1000 + k);
    const gr = base[`grad:${i.name}`]!.data as Float32Array;
    out.set(i.name, gr);
    let analytic = 0;
    for (let j = 0; j < dir.length; j++) analytic += gr[j]! * dir[j]!;
    const h = 1e-2;
    const at = async (s: number) => {
      const x = i.data.map((v, j) => v + s * h * dir[j]!);
      return ((await session.run(feeds(new Map([[i.name, x]]))))['loss']!.data as Float32Array)[0]!;
    };
    const numeric = ((await at(1)) - (await at(-1))) / (2 * h);
    const scale = Math.max(Math.abs(analytic), Math.abs(numeric), 1e-3);
    assert.ok(Math.abs(analytic - numeric) / scale < tol, `${label}, d/d${i.name}: graph ${analytic}, finite differences ${numeric}`);
  }
  await session.release();
  return out;
}

/** Random values kept 0.05 away from zero, so that a step of the finite difference never crosses a kink. */
const offZero = (i: In): In => ({ ...i, data: i.data.map((v) => (v >= 0 ? v + 0.05 : v - 0.05)) });
/** Distinct values 0.05 apart in random order: no two pool candidates tie within a step. */
const spaced = (i: In): In => {
  const order = Array.from(i.data, (v, j) => [v, j] as const).sort((a, b) => a[0] - b[0]);
  const data = new Float32Array(i.data.length);
  order.forEach(([, j], r) => (data[j] = (r - order.length / 2) * 0.05));
  return { ...i, data };
};

const rnd = (name: string, shape: number[], seed: number, watch = true, scale = 1): In => ({ name, shape, data: randomArray(size(shape), seed).map((v) => v * scale), watch });

/** The same convolution's gradients by TF.js autodiff (NHWC), returned in our layouts. */
function tfjsConvGrads(x: In, k: In, b: In, stride: number, target: Float32Array, yShape: number[]): { dx: Float32Array; dk: Float32Array } {
  return tf.tidy(() => {
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const xt = tf.transpose(tf.tensor4d(x.data, [n, c, h, w]), [0, 2, 3, 1]) as tf.Tensor4D;
    const kt = tf.tensor4d(k.data, k.shape as [number, number, number, number]);
    const tgt = tf.transpose(tf.tensor4d(target, yShape as [number, number, number, number]), [0, 2, 3, 1]);
    const bias = tf.tensor1d(b.data);
    const f = (a: tf.Tensor, c: tf.Tensor) => tf.mean(tf.squaredDifference(tf.add(tf.conv2d(a as tf.Tensor4D, c as tf.Tensor4D, stride, 'same'), bias), tgt));
    const [dx, dk] = tf.grads(f)([xt, kt]);
    return { dx: tf.transpose(dx!, [0, 3, 1, 2]).dataSync() as Float32Array, dk: dk!.dataSync() as Float32Array };
  });
}

const convCases: Array<{ k: number; stride: number; cin: number; cout: number; hw: number; fwd: FwdFormulation[]; dx: DxFormulation[]; dw: DwFormulation[] }> = [
  { k: 3, stride: 1, cin: 5, cout: 6, hw: 7, fwd: ['conv', 'shiftsum'], dx: ['flipped', 'transpose', 'shiftdy'], dw: ['im2col', 'tap', 'batchconv', 'shiftdy'] },
  { k: 3, stride: 2, cin: 4, cout: 6, hw: 8, fwd: ['conv'], dx: ['transpose'], dw: ['im2col', 'tap', 'batchconv'] },
  { k: 3, stride: 2, cin: 3, cout: 4, hw: 7, fwd: ['conv'], dx: ['transpose'], dw: ['im2col', 'tap', 'batchconv'] },
  { k: 9, stride: 1, cin: 6, cout: 3, hw: 10, fwd: ['conv', 'shiftsum'], dx: ['flipped', 'transpose', 'shiftdy'], dw: ['tap', 'shiftdy', 'batchconv'] },
];

for (const c of convCases) {
  test(`conv ${c.k}x${c.k} stride ${c.stride}, ${c.cin}->${c.cout}: every formulation matches finite differences and TF.js`, async () => {
    const x = rnd('x', [2, c.cin, c.hw, c.hw], 1);
    const k = rnd('k', [c.k, c.k, c.cin, c.cout], 2, true, 0.3);
    const b = rnd('b', [c.cout], 3);
    const ho = Math.ceil(c.hw / c.stride);
    const target = randomArray(2 * c.cout * ho * ho, 99);
    const ref = tfjsConvGrads(x, k, b, c.stride, target, [2, c.cout, ho, ho]);
    for (const [fi, dx] of c.dx.entries()) {
      for (const [wi, dw] of c.dw.entries()) {
        // Each forward formulation with a few gradient pairs (the forward does not change them).
        const fwd = c.fwd[(fi + wi) % c.fwd.length]!;
        const grads = await gradCheck(`${fwd}/${dx}/${dw}`, [x, k, b], (t, [xv, kv, bv]) => conv2d(t, xv!, kv!, bv!, c.stride, { fwd, dx, dw }));
        const close = (a: Float32Array, r: Float32Array, what: string) => {
          let e = 0;
          let m = 0;
          r.forEach((v, i) => ((e = Math.max(e, Math.abs(v - a[i]!))), (m = Math.max(m, Math.abs(v)))));
          assert.ok(e <= 1e-4 * Math.max(m, 1), `${dx}/${dw} ${what}: max difference to TF.js ${e}`);
        };
        close(grads.get('x')!, ref.dx, 'input gradient');
        close(grads.get('k')!, ref.dk, 'filter gradient');
      }
    }
  });
}

test('batch norm (training mode) matches finite differences for x, gamma and beta', async () => {
  await gradCheck('bn', [rnd('x', [3, 4, 5, 5], 4), rnd('gamma', [4], 5), rnd('beta', [4], 6), rnd('mm', [4], 7, false), { ...rnd('mv', [4], 8, false), data: new Float32Array(4).fill(1) }], (t, [x, g, b, mm, mv]) =>
    batchNormTrain(t, x!, g!, b!, mm!, mv!, 1e-5, 0.9).y,
  );
});

test('activations, pixel shuffle, pooling, flatten and dense match finite differences', async () => {
  await gradCheck('prelu', [offZero(rnd('x', [2, 3, 4, 4], 9)), rnd('alpha', [1, 1, 3], 10, true, 0.3)], (t, [x, a]) => prelu(t, x!, a!));
  await gradCheck('leaky relu', [offZero(rnd('x', [2, 3, 4, 4], 11))], (t, [x]) => leakyRelu(t, x!, 0.2));
  await gradCheck('relu', [offZero(rnd('x', [2, 3, 4, 4], 12))], (t, [x]) => relu(t, x!));
  await gradCheck('depth to space', [rnd('x', [2, 8, 3, 3], 13)], (t, [x]) => depthToSpace(t, x!, 2));
  await gradCheck('max pool (odd size)', [spaced(rnd('x', [2, 3, 5, 6], 14))], (t, [x]) => maxPool2(t, x!));
  await gradCheck('flatten + dense', [rnd('x', [2, 3, 2, 2], 15), rnd('w', [12, 5], 16, true, 0.3), rnd('b', [5], 17)], (t, [x, w, b]) => dense(t, flattenNhwc(t, x!), w!, b!));
  await gradCheck('add', [rnd('a', [2, 3], 18), rnd('b', [2, 3], 19)], (t, [a, b]) => add(t, a!, b!));
});

test('the anti-aliasing blur matches finite differences and has no response to a 2-pixel checkerboard', async () => {
  await gradCheck('blur', [rnd('x', [2, 3, 5, 6], 42)], (t, [x]) => blur3(t, x!));
  const { Blur } = await import('../../src/models/layers/blur.js');
  const board = tf.tidy(() => {
    const v = new Float32Array(6 * 6 * 2).map((_, i) => ((Math.floor(i / 12) + Math.floor(i / 2)) % 2 ? 1 : -1) * ((i % 2) + 1));
    return new Blur().apply(tf.tensor4d(v, [1, 6, 6, 2])) as tf.Tensor4D;
  });
  const out = board.arraySync()[0]!;
  board.dispose();
  for (let y = 1; y < 5; y++) for (let x = 1; x < 5; x++) for (const c of [0, 1]) assert.ok(Math.abs(out[y]![x]![c]!) < 1e-6, `blurred checkerboard at ${y},${x},${c}: ${out[y]![x]![c]}`);
});

test('the grid penalty matches finite differences, sees a planted period-4 pattern whole and ignores period 3', async () => {
  await gradCheck('grid penalty', [rnd('a', [2, 3, 8, 12], 43), rnd('b', [2, 3, 8, 12], 44)], (t, [a, b]) => gridMse(t, a!, b!, 4));
  // A pattern over the 4 x 4 phases with zero mean: the penalty is its mean square, whatever the HR.
  const phase = Array.from({ length: 16 }, (_, k) => ((k * 7) % 5) - 2);
  const mean = phase.reduce((x, y) => x + y, 0) / 16;
  const planted = (v: (y: number, x: number) => number) => {
    const data = new Float32Array(12 * 12 * 3).map((_, i) => v(Math.floor(i / 36), Math.floor(i / 3) % 12));
    return tf.tensor4d(data, [1, 12, 12, 3]);
  };
  const hr = tf.zeros([1, 12, 12, 3]) as tf.Tensor4D;
  const four = planted((y, x) => phase[(y % 4) * 4 + (x % 4)]! - mean);
  const expected = phase.reduce((acc, p) => acc + (p - mean) ** 2, 0) / 16;
  assert.ok(Math.abs(gridMseTf(four, hr, 4).dataSync()[0]! - expected) < 1e-5, 'period 4: the mean square of the pattern');
  // Zero-mean along each axis with period 3: every phase of period 4 meets each of its values equally.
  const three = planted((y, x) => [1, -2, 1][y % 3]! + [2, -1, -1][x % 3]!);
  assert.ok(gridMseTf(three, hr, 4).dataSync()[0]! < 1e-10, 'period 3 is not the grid');
  tf.dispose([hr, four, three]);
});

test('loss terms match finite differences: softplus (both signs), weighted and masked MSE, weighted sums', async () => {
  await gradCheck('softplus -x', [rnd('x', [6, 1], 20, true, 3)], (t, [x]) => softplusMean(t, x!, -1));
  await gradCheck('softplus x', [rnd('x', [6, 1], 21, true, 3)], (t, [x]) => softplusMean(t, x!, 1));
  await gradCheck('weighted mse', [rnd('a', [2, 3, 4, 4], 22), rnd('b', [2, 3, 4, 4], 23), { ...rnd('w', [2, 1, 4, 4], 24, false), data: randomArray(32, 24).map((v) => v + 1.5) }], (t, [a, b, w]) =>
    meanSquaredError(t, a!, b!, w!),
  );
  // a and b at least 0.05 apart everywhere, so no step of the finite difference crosses |a - b|'s kink.
  const b = rnd('b', [2, 3, 4, 4], 31);
  const a = { ...rnd('a', [2, 3, 4, 4], 30), data: b.data.map((v, j) => v + (j % 2 ? 0.3 : -0.3)) };
  await gradCheck('mean absolute error', [a, b], (t, [x, y]) => meanAbsoluteError(t, x!, y!));
  const mask = { ...rnd('m', [2, 1, 4, 4], 25, false), data: randomArray(32, 25).map((v) => (v > 0 ? 1 : 0)) };
  await gradCheck('masked mse', [rnd('a', [2, 3, 4, 4], 26), rnd('b', [2, 3, 4, 4], 27), mask], (t, [a, b, m]) => maskedMse(t, a!, b!, m!));
  await gradCheck('weighted sum of losses', [rnd('a', [3, 2], 28), rnd('b', [3, 2], 29)], (t, [a, b]) =>
    weightedSum(t, [[softplusMean(t, a!, 1), 0.3], [softplusMean(t, b!, -1), 2]]),
  );
});

test('frame split and the bilinear warp (gather with a scatter-add gradient) match finite differences', async () => {
  await gradCheck('unstack', [offZero(rnd('x', [2, 2, 3, 4, 4], 30))], (t, [x]) => {
    const [a, b] = unstack(t, x!);
    return add(t, a!, leakyRelu(t, b!, 0.2));
  });
  const n = 2;
  const hw = 5;
  const flow = randomArray(n * hw * hw * 2, 31).map((v) => v * 2.5);
  const w = warpTables(flow, n, hw, hw);
  const idx: In = { name: 'idx', shape: [w.indices.length], data: new Float32Array(0), watch: false, int64: BigInt64Array.from(w.indices, (v) => BigInt(v)) };
  const wts: In = { name: 'wts', shape: [4, n * hw * hw, 1], data: w.weights, watch: false };
  await gradCheck('warp', [rnd('img', [n, 3, hw, hw], 32), idx, wts], (t, [img, i, ww]) => warp(t, img!, i!, ww!));
});

test('the recognizer ops match finite differences: channel slice, global average pool, softmax cross-entropy', async () => {
  await gradCheck('channel slice', [rnd('x', [2, 5, 3, 3], 40)], (t, [x]) => channelSlice(t, x!, 1, 3));
  await gradCheck('global average pool', [rnd('x', [2, 3, 4, 5], 41)], (t, [x]) => globalAvgPool(t, x!));
  // labels as a soft distribution (rows summing to 1), so every logit's gradient is exercised
  const soft = randomArray(12, 43).map((v) => Math.abs(v) + 0.1);
  for (let r = 0; r < 3; r++) {
    const row = soft.subarray(r * 4, r * 4 + 4);
    const s = row.reduce((a, b) => a + b, 0);
    for (let k = 0; k < 4; k++) row[k]! /= s;
  }
  await gradCheck('softmax cross-entropy', [rnd('logits', [3, 4], 42, true, 4), { name: 'labels', shape: [3, 4], data: soft, watch: false }], (t, [z, l]) => softmaxCrossEntropy(t, z!, l!));
});

test('softmax cross-entropy has the value of -mean log p(label), also for large logits', async () => {
  const g = new GraphBuilder();
  const t = new Tape(g);
  const loss = softmaxCrossEntropy(t, g.input('z', [2, 3]), g.input('y', [2, 3]));
  g.output(loss, 'loss');
  const session = await ort.InferenceSession.create(g.encode('ce'), { intraOpNumThreads: 1 });
  const z = Float32Array.from([1, 2, 3, 500, 0, -500]);
  const y = Float32Array.from([0, 0, 1, 0, 1, 0]);
  const out = await session.run({ z: new ort.Tensor('float32', z, [2, 3]), y: new ort.Tensor('float32', y, [2, 3]) });
  const first = -(3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
  assert.ok(Math.abs((out['loss']!.data as Float32Array)[0]! - (first + 500) / 2) < 1e-3);
});
