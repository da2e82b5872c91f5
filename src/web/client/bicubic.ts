// MATLAB imresize bicubic enlargement of 8-bit RGBA pixels by an integer factor, for the studio's
// "before" image. The same arithmetic as src/data/resize.ts (Keys a = -0.5, mirrored borders,
// rows first, rounding after each pass), restated here because that module reaches sharp through
// its imports and cannot load in a browser; a test checks the two agree sample for sample.

function cubic(x: number): number {
  const ax = Math.abs(x);
  const ax2 = ax * ax;
  const ax3 = ax2 * ax;
  if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
  if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
  return 0;
}

interface Taps {
  taps: number;
  idx: Int32Array;
  w: Float64Array;
}

function taps(inLen: number, scale: number): Taps {
  const outLen = inLen * scale;
  const kw = 4;
  const n = kw + 2;
  const idx = new Int32Array(outLen * n);
  const w = new Float64Array(outLen * n);
  const period = 2 * inLen;
  for (let i = 0; i < outLen; i++) {
    const u = (i + 1) / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - kw / 2);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const v = cubic(u - (left + k));
      w[i * n + k] = v;
      sum += v;
    }
    for (let k = 0; k < n; k++) {
      w[i * n + k] /= sum;
      const m = (((left + k - 1) % period) + period) % period;
      idx[i * n + k] = m < inLen ? m : period - 1 - m;
    }
  }
  return { taps: n, idx, w };
}

function round8(v: number): number {
  const r = Math.floor(v + 0.5);
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/** `rgba`: width*height*4 samples. Returns (scale*width)*(scale*height)*4 samples. */
export function bicubicUpscaleRgba(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number, scale: number): Uint8ClampedArray {
  const ty = taps(height, scale);
  const tx = taps(width, scale);
  const outW = width * scale;
  const outH = height * scale;
  const rowLen = width * 4;
  // Rows first (MATLAB's order when both scales are equal).
  const mid = new Uint8Array(rowLen * outH);
  const acc = new Float64Array(Math.max(rowLen, outW * 4));
  for (let y = 0; y < outH; y++) {
    let first = true;
    for (let k = 0; k < ty.taps; k++) {
      const wt = ty.w[y * ty.taps + k]!;
      if (wt === 0) continue;
      const base = ty.idx[y * ty.taps + k]! * rowLen;
      if (first) {
        for (let i = 0; i < rowLen; i++) acc[i] = wt * rgba[base + i]!;
        first = false;
      } else {
        for (let i = 0; i < rowLen; i++) acc[i] += wt * rgba[base + i]!;
      }
    }
    for (let i = 0; i < rowLen; i++) mid[y * rowLen + i] = round8(acc[i]!);
  }
  const out = new Uint8ClampedArray(outW * outH * 4);
  for (let y = 0; y < outH; y++) {
    const ib = y * rowLen;
    const ob = y * outW * 4;
    for (let x = 0; x < outW; x++) {
      const tb = x * tx.taps;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < tx.taps; k++) {
        const wt = tx.w[tb + k]!;
        const p = ib + tx.idx[tb + k]! * 4;
        s0 += wt * mid[p]!;
        s1 += wt * mid[p + 1]!;
        s2 += wt * mid[p + 2]!;
        s3 += wt * mid[p + 3]!;
      }
      out[ob + 4 * x] = round8(s0);
      out[ob + 4 * x + 1] = round8(s1);
      out[ob + 4 * x + 2] = round8(s2);
      out[ob + 4 * x + 3] = round8(s3);
    }
  }
  return out;
}
