// Bilinear backward warping as a differentiable TF.js op: out(n, p) = img(n, p + f(n, p)), the
// flow f held constant (it comes from the HR frames, never from the network).
//
// Because the flow is constant, the four source pixels and weights of every output pixel are
// known before the graph runs; they are computed once in JavaScript (a "plan"). The forward pass
// is then a gather and a weighted sum. TF.js's own gradient of gather needs UnsortedSegmentSum,
// which the WASM backend lacks, so the gradient with respect to the image is supplied here: the
// adjoint of "gather with weights" is "scatter-add with the same weights", which ScatterNd does
// (it sums updates that hit the same index) on every backend.
//
// Corners outside the frame get weight 0 (zero padding); `inFrame` marks output pixels whose
// sample point lies inside the frame, where the warp is an interpolation and not an extrapolation.
import tf = require('@tensorflow/tfjs-core');
import { SrError } from '../util/errors.js';
import type { Flow } from './flow.js';

export interface WarpPlan {
  readonly batch: number;
  readonly height: number;
  readonly width: number;
  /** [4 * batch*height*width, 1] int32: flat source pixel of each (corner, output pixel) */
  readonly indices: tf.Tensor2D;
  /** [4, batch*height*width, 1] float32 bilinear weights (0 for corners outside the frame) */
  readonly weights: tf.Tensor3D;
  /** batch*height*width: 1 where the sample point lies inside the frame */
  readonly inFrame: Uint8Array;
  dispose(): void;
}

/**
 * Precomputes a warp for a batch of flows. `flow` is either interleaved (u, v) per pixel,
 * [batch, height, width, 2], or one Flow per batch item.
 */
export interface WarpTables {
  /** 4 * batch*height*width flat source pixels, corner-major */
  indices: Int32Array;
  /** bilinear weights in the same order */
  weights: Float32Array;
  inFrame: Uint8Array;
}

export function warpPlan(flow: Float32Array | readonly Flow[], batch: number, height: number, width: number): WarpPlan {
  const t = warpTables(flow, batch, height, width);
  const indices = tf.tensor2d(t.indices, [t.indices.length, 1], 'int32');
  const weights = tf.tensor3d(t.weights, [4, batch * height * width, 1]);
  return {
    batch,
    height,
    width,
    indices,
    weights,
    inFrame: t.inFrame,
    dispose: () => tf.dispose([indices, weights]),
  };
}

/** The gather indices and weights of a warp as plain arrays (the ONNX engine feeds them to its graph). */
export function warpTables(flow: Float32Array | readonly Flow[], batch: number, height: number, width: number): WarpTables {
  const P = batch * height * width;
  const get: (i: number) => [number, number] = Array.isArray(flow)
    ? (() => {
        const fl = flow as readonly Flow[];
        if (fl.length !== batch) throw new SrError(`warp: ${fl.length} flows for a batch of ${batch}`);
        for (const f of fl) if (f.width !== width || f.height !== height) throw new SrError(`warp: a ${f.width}x${f.height} flow for ${width}x${height} frames`);
        const hw = height * width;
        return (i: number) => {
          const f = fl[Math.floor(i / hw)]!;
          return [f.u[i % hw]!, f.v[i % hw]!];
        };
      })()
    : (() => {
        const fa = flow as Float32Array;
        if (fa.length !== P * 2) throw new SrError(`warp: flow has ${fa.length} values, expected ${P * 2} for [${batch}, ${height}, ${width}, 2]`);
        return (i: number) => [fa[2 * i]!, fa[2 * i + 1]!];
      })();
  const idx = new Int32Array(4 * P);
  const wts = new Float32Array(4 * P);
  const inFrame = new Uint8Array(P);
  for (let i = 0; i < P; i++) {
    const n = Math.floor(i / (height * width));
    const r = i - n * height * width;
    const y = Math.floor(r / width);
    const x = r - y * width;
    const [u, v] = get(i);
    const sx = x + u;
    const sy = y + v;
    if (!Number.isFinite(sx) || !Number.isFinite(sy)) throw new SrError('warp: the flow holds a non-finite value');
    if (sx >= 0 && sy >= 0 && sx <= width - 1 && sy <= height - 1) inFrame[i] = 1;
    const x0 = Math.floor(sx);
    const y0 = Math.floor(sy);
    const fx = sx - x0;
    const fy = sy - y0;
    const corners: Array<[number, number, number]> = [
      [x0, y0, (1 - fx) * (1 - fy)],
      [x0 + 1, y0, fx * (1 - fy)],
      [x0, y0 + 1, (1 - fx) * fy],
      [x0 + 1, y0 + 1, fx * fy],
    ];
    corners.forEach(([cx, cy, w], k) => {
      const inside = cx >= 0 && cy >= 0 && cx < width && cy < height;
      // Outside corners point at the batch item's first pixel with weight 0.
      idx[k * P + i] = n * height * width + (inside ? cy * width + cx : 0);
      wts[k * P + i] = inside ? w : 0;
    });
  }
  return { indices: idx, weights: wts, inFrame };
}

/** out = warp(img) for img [batch, height, width, channels]; differentiable w.r.t. img. */
export function backwardWarp(img: tf.Tensor4D, plan: WarpPlan): tf.Tensor4D {
  const [n, h, w, c] = img.shape;
  if (n !== plan.batch || h !== plan.height || w !== plan.width) {
    throw new SrError(`warp: plan is for [${plan.batch}, ${plan.height}, ${plan.width}], image is [${n}, ${h}, ${w}, ${c}]`);
  }
  const P = n * h * w;
  const op = tf.customGrad((input) => {
    const x = input as tf.Tensor;
    const value = tf.tidy(() => {
      const flat = tf.reshape(x, [P, c]);
      const picked = tf.reshape(tf.gatherND(flat, plan.indices), [4, P, c]);
      return tf.reshape(tf.sum(tf.mul(picked, plan.weights), 0), [n, h, w, c]);
    });
    const gradFunc = (dy: tf.Tensor) =>
      tf.tidy(() => {
        const updates = tf.reshape(tf.mul(tf.reshape(dy, [1, P, c]), plan.weights), [4 * P, c]);
        return tf.reshape(tf.scatterND(plan.indices, updates, [P, c]), [n, h, w, c]);
      });
    return { value, gradFunc };
  });
  return op(img) as tf.Tensor4D;
}
