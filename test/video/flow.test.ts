// Optical flow accuracy on textured frames with known sub-pixel motion, the validity mask, and the
// plain JavaScript warp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opticalFlow, validFlowMask, warpImage, flowMagnitude, type Flow } from '../../src/video/flow.js';
import { texture, render, quantized } from './fixtures.js';

const W = 160;
const H = 120;
const BORDER = 16;

function meanEpe(f: Flow, expect: (x: number, y: number) => [number, number], border = BORDER): number {
  let s = 0;
  let n = 0;
  for (let y = border; y < f.height - border; y++) {
    for (let x = border; x < f.width - border; x++) {
      const [eu, ev] = expect(x, y);
      const i = y * f.width + x;
      s += Math.hypot(f.u[i]! - eu, f.v[i]! - ev);
      n++;
    }
  }
  return s / n;
}

for (const [dx, dy] of [[0.3, -0.7], [1.25, 0.5], [-2.6, 1.4], [4.4, 3.3]] as const) {
  test(`flow of a translation by (${dx}, ${dy}) px is within 0.1 px mean end-point error`, async () => {
    const t = texture(11);
    const a = quantized(render(t, W, H, (x, y) => [x, y]));
    // b shows a's content moved by (dx, dy): b(p) = a(p - d), so a(p) = b(p + d)
    const b = quantized(render(t, W, H, (x, y) => [x - dx, y - dy]));
    const f = await opticalFlow(a, b);
    assert.equal(f.width, W);
    assert.equal(f.height, H);
    const epe = meanEpe(f, () => [dx, dy]);
    assert.ok(epe < 0.1, `mean EPE ${epe.toFixed(4)} px`);
  });
}

test('flow of a small rotation and zoom about the centre', async () => {
  const t = texture(5);
  const th = 0.02;
  const s = 1.02;
  const cx = W / 2;
  const cy = H / 2;
  // b(p) = a(M^-1 (p - c) + c) with M = s R(th): a's point q is seen in b at M (q - c) + c
  const inv = (x: number, y: number): [number, number] => {
    const X = (x - cx) / s;
    const Y = (y - cy) / s;
    return [cx + Math.cos(th) * X + Math.sin(th) * Y, cy - Math.sin(th) * X + Math.cos(th) * Y];
  };
  const a = quantized(render(t, W, H, (x, y) => [x, y]));
  const b = quantized(render(t, W, H, inv));
  const f = await opticalFlow(a, b);
  const epe = meanEpe(f, (x, y) => {
    const X = x - cx;
    const Y = y - cy;
    return [cx + s * (Math.cos(th) * X - Math.sin(th) * Y) - x, cy + s * (Math.sin(th) * X + Math.cos(th) * Y) - y];
  });
  assert.ok(epe < 0.15, `mean EPE ${epe.toFixed(4)} px`);
});

test('warping by the true flow reconstructs the first frame; validity excludes what left the frame', async () => {
  const t = texture(3);
  const [dx, dy] = [2.4, -1.7];
  const a = render(t, W, H, (x, y) => [x, y]);
  const b = render(t, W, H, (x, y) => [x - dx, y - dy]);
  const n = W * H;
  const flow: Flow = { u: new Float32Array(n).fill(dx), v: new Float32Array(n).fill(dy), width: W, height: H };
  const back: Flow = { u: new Float32Array(n).fill(-dx), v: new Float32Array(n).fill(-dy), width: W, height: H };
  const { image, inFrame } = warpImage(b, flow);
  let err = 0;
  let raw = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (!inFrame[i]) continue;
    for (let k = 0; k < 3; k++) {
      err += Math.abs(image.data[3 * i + k]! - a.data[3 * i + k]!);
      raw += Math.abs(b.data[3 * i + k]! - a.data[3 * i + k]!);
    }
    m += 3;
  }
  assert.ok(err / m < 0.006, `warp error ${(err / m).toFixed(5)} (unwarped ${(raw / m).toFixed(4)})`);
  const valid = validFlowMask(flow, back);
  // Columns whose sample point x + 2.4 passes the last column, rows whose y - 1.7 is above the first.
  const expectCols = W - Math.ceil(dx);
  const expectRows = H - Math.ceil(-dy);
  assert.equal(valid.reduce((s, v) => s + v, 0), expectCols * expectRows);
  assert.equal(flowMagnitude(flow)[0]!.toFixed(4), Math.hypot(dx, dy).toFixed(4));
});

test('the consistency check rejects occluded pixels', () => {
  // A 10-px square moves right by 4 px over a static background: background pixels it covers
  // in the second frame have no correspondence there.
  const w = 40;
  const h = 30;
  const inSq = (x: number, y: number, ox: number) => x >= 10 + ox && x < 20 + ox && y >= 10 && y < 20;
  const fwd: Flow = { u: new Float32Array(w * h), v: new Float32Array(w * h), width: w, height: h };
  const bwd: Flow = { u: new Float32Array(w * h), v: new Float32Array(w * h), width: w, height: h };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (inSq(x, y, 0)) fwd.u[y * w + x] = 4;
      if (inSq(x, y, 4)) bwd.u[y * w + x] = -4;
    }
  }
  const valid = validFlowMask(fwd, bwd);
  assert.equal(valid[15 * w + 15], 1, 'a pixel of the moving square');
  assert.equal(valid[15 * w + 5], 1, 'static background');
  for (let x = 20; x < 24; x++) assert.equal(valid[15 * w + x], 0, `covered background at x=${x}`);
});
