// Synthetic sequences and the training samples cut from them: the known flow is the real motion
// (warping by it reconstructs the previous frame, and Farneback measures the same flow), SoSR's
// weights average 1 and follow the motion, ToSR's validity excludes occlusions and exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Image8 } from '../../src/image/image.js';
import { Rng } from '../../src/util/random.js';
import { renderSequence, randomMotion, type Motion } from '../../src/video/synth.js';
import { synthSample, motionWeights, MOTION_FLOOR } from '../../src/video/samples.js';
import { opticalFlow, warpImage, validFlowMask } from '../../src/video/flow.js';
import { texture } from './fixtures.js';

function photo(width: number, height: number, seed: number): Image8 {
  const t = texture(seed);
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(t.at(x * 0.9, y * 0.9).map((v) => Math.round(v * 255)), (y * width + x) * 3);
  return { width, height, channels: 3, data };
}

const rngOf = (seed: number) => {
  const r = new Rng(seed);
  return () => r.next();
};

test('synthetic motion: warping frame t+1 by the known flow gives frame t; Farneback agrees with it', async () => {
  const src = photo(240, 200, 4);
  const motion: Motion = {
    pan: [1.7, -0.9],
    zoom: 1.01,
    rotate: 0.008,
    object: { center: [50, 45], radii: [22, 16], velocity: [3.2, 1.1], angle: 0.4, spin: 0.02, anchor: [NaN, NaN], texScale: 1.1 },
  };
  const seq = renderSequence(src, 112, 96, 3, motion, rngOf(3));
  assert.equal(seq.frames.length, 3);
  assert.equal(seq.forward.length, 2);
  for (let t = 0; t < 2; t++) {
    const a = seq.frames[t]!;
    const b = seq.frames[t + 1]!;
    const toF = (img: Image8) => ({ width: img.width, height: img.height, channels: 3 as const, data: Float32Array.from(img.data, (v) => v / 255) });
    const { image } = warpImage(toF(b), seq.forward[t]!);
    const valid = validFlowMask(seq.forward[t]!, seq.backward[t]!);
    let err = 0;
    let n = 0;
    let occluded = 0;
    for (let i = 0; i < a.width * a.height; i++) {
      if (!valid[i]) {
        occluded++;
        continue;
      }
      for (let k = 0; k < 3; k++) err += Math.abs(image.data[3 * i + k]! * 255 - a.data[3 * i + k]!);
      n += 3;
    }
    assert.ok(err / n < 2.5, `frame ${t}: mean abs warp error ${(err / n).toFixed(2)} of 255`);
    assert.ok(occluded > 50, `the moving object must occlude something (${occluded} invalid pixels)`);
    // The estimator sees the same motion away from occlusion edges and the frame border.
    const est = await opticalFlow(a, b);
    let epe = 0;
    let m = 0;
    for (let y = 16; y < a.height - 16; y++) {
      for (let x = 16; x < a.width - 16; x++) {
        const i = y * a.width + x;
        let near = false;
        for (let dy = -6; dy <= 6 && !near; dy++) for (let dx = -6; dx <= 6 && !near; dx++) if (!valid[(y + dy) * a.width + x + dx]) near = true;
        if (near) continue;
        epe += Math.hypot(est.u[i]! - seq.forward[t]!.u[i]!, est.v[i]! - seq.forward[t]!.v[i]!);
        m++;
      }
    }
    assert.ok(epe / m < 0.25, `frame ${t}: Farneback vs known flow, mean EPE ${(epe / m).toFixed(3)} px`);
  }
});

test('random motions keep every frame inside the photo', () => {
  const src = photo(120, 100, 9);
  const rand = rngOf(17);
  for (let i = 0; i < 20; i++) {
    const seq = renderSequence(src, 88, 88, 4, randomMotion(rand, 88, 88, { maxPan: 6 }), rand);
    assert.equal(seq.frames.length, 4);
  }
  assert.throws(() => renderSequence(src, 130, 88, 2, randomMotion(rand, 130, 88), rand), /a 130x88 frame does not fit in the 120x100 photo/);
});

test('SoSR weights: mean 1 over the frame, moving pixels dominate, static pixels still count', () => {
  const mag = new Float32Array(100);
  for (let i = 0; i < 10; i++) mag[i] = 4; // a moving object on a tenth of the frame
  const w = motionWeights(mag, 0.1);
  const mean = w.reduce((a, b) => a + b, 0) / w.length;
  assert.ok(Math.abs(mean - 1) < 1e-6, `mean ${mean}`);
  assert.ok(w[0]! / w[50]! > 30, `moving/static ${w[0]! / w[50]!}`);
  assert.ok(w[50]! > 0.1, `static pixels keep a weight, ${w[50]}`);
  // A static frame is plain MSE; estimator noise below the floor stays near 1.
  assert.deepEqual([...motionWeights(new Float32Array(50))], new Array(50).fill(1));
  const noise = motionWeights(Float32Array.from({ length: 50 }, (_, i) => (i % 5) * 0.02));
  assert.ok(Math.max(...noise) < 1.6 && Math.min(...noise) > 0.6, `${Math.min(...noise)}..${Math.max(...noise)}`);
  assert.equal(MOTION_FLOOR, 1);
});

test('training samples: layouts, ranges, and the ToSR flow maps frame t onto frame t-1', () => {
  const src = photo(200, 180, 2);
  const scale = 2;
  const P = 32;
  for (let seed = 1; seed <= 6; seed++) {
    const t = synthSample('tosr', src, scale, P, rngOf(seed), { staticCamera: 0, object: 1 });
    assert.equal(t.lr.length, 2 * (P / scale) ** 2 * 3);
    assert.equal(t.hr.length, 2 * P * P * 3);
    assert.equal(t.aux.length, P * P * 3);
    assert.ok(t.lr.every((v) => v >= 0 && v <= 1) && t.hr.every((v) => v >= -1 && v <= 1));
    // warp HR_t by (u, v) on valid pixels = HR_{t-1}
    const cur = { width: P, height: P, channels: 3 as const, data: t.hr.slice(P * P * 3) };
    const flow = { u: new Float32Array(P * P), v: new Float32Array(P * P), width: P, height: P };
    let valid = 0;
    for (let i = 0; i < P * P; i++) {
      flow.u[i] = t.aux[3 * i]!;
      flow.v[i] = t.aux[3 * i + 1]!;
      valid += t.aux[3 * i + 2]!;
    }
    const { image, inFrame } = warpImage(cur, flow);
    let err = 0;
    let n = 0;
    for (let i = 0; i < P * P; i++) {
      if (!t.aux[3 * i + 2]) continue;
      assert.equal(inFrame[i], 1);
      for (let k = 0; k < 3; k++) err += Math.abs(image.data[3 * i + k]! - t.hr[3 * i + k]!);
      n += 3;
    }
    assert.ok(valid > P * P * 0.3, `seed ${seed}: only ${valid} valid pixels`);
    assert.ok(err / n < 0.03, `seed ${seed}: warp error ${(err / n).toFixed(4)} (HR in [-1, 1])`);
    const s = synthSample('sosr', src, scale, P, rngOf(seed), { staticCamera: 1, object: 1 });
    assert.equal(s.lr.length, (P / scale) ** 2 * 3);
    assert.equal(s.aux.length, P * P);
    const mean = s.aux.reduce((a, b) => a + b, 0) / s.aux.length;
    assert.ok(Math.abs(mean - 1) < 1e-4, `weights average ${mean}`);
  }
  // The same seed gives the same sample (resumable data streams depend on it).
  const a = synthSample('tosr', src, scale, P, rngOf(5));
  const b = synthSample('tosr', src, scale, P, rngOf(5));
  assert.deepEqual(a.hr, b.hr);
  assert.deepEqual(a.aux, b.aux);
});
