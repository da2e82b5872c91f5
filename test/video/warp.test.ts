// The differentiable TF.js warp: reconstruction, agreement with the plain JavaScript warp, and its
// gradient on WASM against a finite-difference gradient and against the reference cpu backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/tfjs/backend.js';
import { warpPlan, backwardWarp } from '../../src/video/warp.js';
import { warpImage, type Flow } from '../../src/video/flow.js';
import { tosrLoss } from '../../src/video/losses.js';
import { randomArray, relativeError } from '../helpers/tf.js';
import { texture, render } from './fixtures.js';

test('warping by the true flow reconstructs the shifted frame (batch of two motions)', async () => {
  await initBackend({ backend: 'wasm', quiet: true });
  const W = 64;
  const H = 48;
  const t = texture(21);
  const a = render(t, W, H, (x, y) => [x, y]);
  const shifts: Array<[number, number]> = [[1.3, -0.6], [-2.2, 2.9]];
  const bs = shifts.map(([dx, dy]) => render(t, W, H, (x, y) => [x - dx, y - dy]));
  const flow = new Float32Array(2 * W * H * 2);
  shifts.forEach(([dx, dy], n) => {
    for (let i = 0; i < W * H; i++) {
      flow[2 * (n * W * H + i)] = dx;
      flow[2 * (n * W * H + i) + 1] = dy;
    }
  });
  const plan = warpPlan(flow, 2, H, W);
  const before = tf.memory().numTensors;
  const input = tf.tensor4d(Float32Array.from([...bs[0]!.data, ...bs[1]!.data]), [2, H, W, 3]);
  const out = backwardWarp(input, plan);
  const got = out.dataSync();
  tf.dispose([input, out]);
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  for (let n = 0; n < 2; n++) {
    let err = 0;
    let cnt = 0;
    for (let i = 0; i < W * H; i++) {
      if (!plan.inFrame[n * W * H + i]) continue;
      for (let k = 0; k < 3; k++) err += Math.abs(got[(n * W * H + i) * 3 + k]! - a.data[i * 3 + k]!);
      cnt += 3;
    }
    assert.ok(err / cnt < 0.006, `batch item ${n}: mean abs error ${(err / cnt).toFixed(5)}`);
    // Same numbers as the plain warp used by the evaluation.
    const f: Flow = { u: new Float32Array(W * H).fill(shifts[n]![0]), v: new Float32Array(W * H).fill(shifts[n]![1]), width: W, height: H };
    const js = warpImage(bs[n]!, f);
    let maxd = 0;
    for (let i = 0; i < W * H; i++) {
      if (!js.inFrame[i]) continue;
      for (let k = 0; k < 3; k++) maxd = Math.max(maxd, Math.abs(js.image.data[i * 3 + k]! - got[(n * W * H + i) * 3 + k]!));
    }
    assert.ok(maxd < 1e-5, `TF.js and JS warps differ by ${maxd}`);
  }
  plan.dispose();
});

// A flow that squeezes, leaves the frame and lands many outputs on the same source pixels, so
// that the scatter in the gradient has to sum duplicates.
function awkwardFlow(n: number, h: number, w: number): Float32Array {
  const f = new Float32Array(n * h * w * 2);
  const r = randomArray(n * h * w * 2, 77, 1);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = ((b * h + y) * w + x) * 2;
        f[i] = -0.6 * x + 1.3 + r[i]! * 0.8 + b;
        f[i + 1] = 0.5 * (h / 2 - y) + r[i + 1]! * 0.8 - 0.4;
      }
    }
  }
  return f;
}

async function warpGradient(backend: 'cpu' | 'wasm', shape: [number, number, number, number]): Promise<{ grad: Float32Array; fd: Float32Array }> {
  await initBackend({ backend, quiet: true });
  const [n, h, w, c] = shape;
  const size = n * h * w * c;
  const plan = warpPlan(awkwardFlow(n, h, w), n, h, w);
  const x = tf.variable(tf.tensor4d(randomArray(size, 5), shape));
  const r = tf.tensor4d(randomArray(size, 9), shape);
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(backwardWarp(x as unknown as tf.Tensor4D, plan), r)) as tf.Scalar, [x]);
  const grad = Float32Array.from(grads[x.name]!.dataSync() as Float32Array);
  const loss = (v: Float32Array) =>
    tf.tidy(() => tf.sum(tf.mul(backwardWarp(tf.tensor4d(v, shape), plan), r)).dataSync()[0]!);
  const x0 = x.dataSync() as Float32Array;
  // Finite differences need the plan and r alive: evaluate them here, on this backend.
  const fd = new Float32Array(size);
  const eps = 0.05;
  for (let j = 0; j < size; j++) {
    const p = Float32Array.from(x0);
    p[j]! += eps;
    const m = Float32Array.from(x0);
    m[j]! -= eps;
    fd[j] = (loss(p) - loss(m)) / (2 * eps);
  }
  tf.dispose([x, r, ...Object.values(grads)]);
  plan.dispose();
  return { grad: Float32Array.from(grad), fd };
}

test('warp gradient on wasm equals the finite-difference gradient and the cpu backend', async () => {
  const shape: [number, number, number, number] = [2, 6, 7, 3];
  const wasm = await warpGradient('wasm', shape);
  const cpu = await warpGradient('cpu', shape);
  await initBackend({ backend: 'wasm', quiet: true });
  // The loss is linear in the image, so central differences are exact up to float32 rounding.
  assert.ok(relativeError(wasm.fd, wasm.grad) < 2e-3, `wasm vs finite differences: ${relativeError(wasm.fd, wasm.grad)}`);
  assert.ok(relativeError(cpu.grad, wasm.grad) < 1e-5, `wasm vs cpu: ${relativeError(cpu.grad, wasm.grad)}`);
  // Duplicates were really summed: some source pixels receive from several outputs.
  assert.ok(Math.max(...wasm.grad.map(Math.abs)) > 2, 'the flow should concentrate gradient on some pixels');
});

async function tosrGradient(backend: 'cpu' | 'wasm'): Promise<{ grad: Float32Array; parts: number[] }> {
  await initBackend({ backend, quiet: true });
  const [n, h, w] = [2, 6, 7];
  const plan = warpPlan(awkwardFlow(n, h, w), n, h, w);
  const sr = tf.variable(tf.tensor4d(randomArray(2 * n * h * w * 3, 31), [2 * n, h, w, 3]));
  const hr = tf.tensor4d(randomArray(2 * n * h * w * 3, 32), [2 * n, h, w, 3]);
  const mask = tf.tensor4d(Float32Array.from(randomArray(n * h * w, 33), (v) => (v > -0.3 ? 1 : 0)), [n, h, w, 1]);
  let parts: number[] = [];
  const { grads } = tf.variableGrads(() => {
    const t = tosrLoss(sr as unknown as tf.Tensor4D, hr, plan, mask, 0.7);
    parts = [t.pixel, t.temporalSr, t.temporalHr].map((x) => x.dataSync()[0]!);
    return t.total;
  }, [sr]);
  const grad = Float32Array.from(grads[sr.name]!.dataSync() as Float32Array);
  tf.dispose([sr, hr, mask, ...Object.values(grads)]);
  plan.dispose();
  return { grad, parts };
}

test('the ToSR loss (siamese pair, warp, masked temporal terms) has the same gradient on wasm and cpu', async () => {
  const wasm = await tosrGradient('wasm');
  const cpu = await tosrGradient('cpu');
  await initBackend({ backend: 'wasm', quiet: true });
  assert.ok(relativeError(cpu.grad, wasm.grad) < 1e-5, `wasm vs cpu: ${relativeError(cpu.grad, wasm.grad)}`);
  assert.ok(relativeError(cpu.parts, wasm.parts) < 1e-5);
  // Both frames of the pair receive gradient: frame t-1 through the temporal SR term, frame t
  // through the pixel term and the warp.
  const half = wasm.grad.length / 4;
  for (const [i, what] of [[0, 'sample 0, frame t-1'], [1, 'sample 0, frame t'], [2, 'sample 1, frame t-1'], [3, 'sample 1, frame t']] as const) {
    assert.ok(wasm.grad.subarray(i * half, (i + 1) * half).some((v) => Math.abs(v) > 1e-4), `no gradient reaches ${what}`);
  }
});
