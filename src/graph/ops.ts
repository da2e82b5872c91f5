// The differentiable ops of the training graphs (besides convolution, in conv.ts): each emits its
// forward nodes and records the rule that emits its gradient. Activations are NCHW; weights keep
// the shapes of the safetensors files (TF layout), so gradients come out in the same layout.
import { sizeOf, float, type Value } from './builder.js';
import type { Tape } from './tape.js';
import { BLUR3_TAPS } from '../models/layers/blur.js';

const NHW = [0, 2, 3];

export function add(t: Tape, a: Value, b: Value): Value {
  const y = t.g.node('Add', [a, b], {}, a.shape);
  t.record([a, b], [y], ([dy]) => [dy!, dy!]);
  return y;
}

function channelShape(x: Value): number[] {
  return [1, x.shape[1]!, ...x.shape.slice(2).map(() => 1)];
}

export interface BatchNormResult {
  y: Value;
  /** Moving statistics after this batch (Keras: moving = moving * momentum + batch * (1 - momentum)). */
  mean: Value;
  variance: Value;
}

/**
 * Batch norm in training mode: normalised by the batch's mean and biased variance over N, H, W,
 * as TF.js's layer does, which also moves its statistics with the biased variance.
 */
export function batchNormTrain(t: Tape, x: Value, gamma: Value, beta: Value, movingMean: Value, movingVar: Value, eps: number, momentum: number): BatchNormResult {
  const g = t.g;
  const cs = channelShape(x);
  const c = x.shape[1]!;
  const m = sizeOf(x.shape) / c;
  const axes = g.int64(NHW);
  const mean = g.node('ReduceMean', [x], { axes: NHW, keepdims: 1 }, cs);
  const xc = g.node('Sub', [x, mean], {}, x.shape);
  const variance = g.node('ReduceMean', [g.node('Mul', [xc, xc], {}, x.shape)], { axes: NHW, keepdims: 1 }, cs);
  const rstd = g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [variance, g.scalar(eps)], {}, cs)], {}, cs)], {}, cs);
  const xhat = g.node('Mul', [xc, rstd], {}, x.shape);
  const shape4 = g.int64(cs);
  const gammaR = g.node('Reshape', [gamma, shape4], {}, cs);
  const betaR = g.node('Reshape', [beta, shape4], {}, cs);
  const y = g.node('Add', [g.node('Mul', [xhat, gammaR], {}, x.shape), betaR], {}, x.shape);
  t.record([x, gamma, beta], [y], ([dy]) => {
    const dbetaK = g.node('ReduceSum', [dy!, axes], { keepdims: 1 }, cs);
    const dgammaK = g.node('ReduceSum', [g.node('Mul', [dy!, xhat], {}, x.shape), axes], { keepdims: 1 }, cs);
    let dx = null;
    if (t.needs(x)) {
      // dx = gamma * rstd * (dy - mean(dy) - xhat * mean(dy * xhat))
      const a = g.node('Mul', [dbetaK, g.scalar(1 / m)], {}, cs);
      const b = g.node('Mul', [dgammaK, g.scalar(1 / m)], {}, cs);
      const inner = g.node('Sub', [g.node('Sub', [dy!, a], {}, x.shape), g.node('Mul', [xhat, b], {}, x.shape)], {}, x.shape);
      dx = g.node('Mul', [inner, g.node('Mul', [gammaR, rstd], {}, cs)], {}, x.shape);
    }
    const flat = g.int64([c]);
    return [dx, g.node('Reshape', [dgammaK, flat], {}, [c]), g.node('Reshape', [dbetaK, flat], {}, [c])];
  });
  const flat = g.int64([c]);
  const decay = 1 - momentum;
  const moved = (old: Value, batch: Value) =>
    g.node('Add', [g.node('Mul', [old, g.scalar(momentum)], {}, [c]), g.node('Mul', [g.node('Reshape', [batch, flat], {}, [c]), g.scalar(decay)], {}, [c])], {}, [c]);
  return { y, mean: moved(movingMean, mean), variance: moved(movingVar, variance) };
}

/** PReLU with one slope per channel; alpha in TF's shape [1, 1, C]. */
export function prelu(t: Tape, x: Value, alpha: Value): Value {
  const g = t.g;
  const c = x.shape[1]!;
  const slope = g.node('Reshape', [alpha, g.int64([c, 1, 1])], {}, [c, 1, 1]);
  const y = g.node('PRelu', [x, slope], {}, x.shape);
  t.record([x, alpha], [y], ([dy]) => {
    const pos = g.node('Greater', [x, g.scalar(0)], {}, x.shape);
    const dx = t.needs(x) ? g.node('Where', [pos, dy!, g.node('Mul', [dy!, slope], {}, x.shape)], {}, x.shape) : null;
    let da = null;
    if (t.needs(alpha)) {
      const neg = g.node('Min', [x, g.scalar(0)], {}, x.shape);
      da = g.node('Reshape', [g.node('ReduceSum', [g.node('Mul', [dy!, neg], {}, x.shape), g.int64(NHW)], { keepdims: 0 }, [c]), g.int64(alpha.shape)], {}, alpha.shape);
    }
    return [dx, da];
  });
  return y;
}

export function leakyRelu(t: Tape, x: Value, alpha: number): Value {
  const g = t.g;
  const y = g.node('LeakyRelu', [x], { alpha: float(alpha) }, x.shape);
  t.record([x], [y], ([dy]) => {
    const pos = g.node('Greater', [x, g.scalar(0)], {}, x.shape);
    return [g.node('Where', [pos, dy!, g.node('Mul', [dy!, g.scalar(alpha)], {}, x.shape)], {}, x.shape)];
  });
  return y;
}

export function relu(t: Tape, x: Value): Value {
  const g = t.g;
  const y = g.node('Relu', [x], {}, x.shape);
  t.record([x], [y], ([dy]) => {
    const pos = g.node('Greater', [y, g.scalar(0)], {}, x.shape);
    return [g.node('Where', [pos, dy!, g.scalar(0)], {}, x.shape)];
  });
  return y;
}

/** Pixel shuffle in TF's channel order (DCR); its adjoint is SpaceToDepth. */
export function depthToSpace(t: Tape, x: Value, r: number): Value {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const y = t.g.node('DepthToSpace', [x], { blocksize: r, mode: 'DCR' }, [n, c / (r * r), h * r, w * r]);
  t.record([x], [y], ([dy]) => [t.g.node('SpaceToDepth', [dy!], { blocksize: r }, x.shape)]);
  return y;
}

/**
 * The fixed binomial blur of models/layers/blur.ts, per channel (a grouped Conv), zero 'same'
 * padding. Its kernel is symmetric and its stride 1, so its adjoint is the same convolution.
 */
export function blur3(t: Tape, x: Value): Value {
  const g = t.g;
  const c = x.shape[1]!;
  const taps = new Float32Array(9 * c);
  for (let k = 0; k < c; k++) taps.set(BLUR3_TAPS, 9 * k);
  const kernel = g.constant(taps, [c, 1, 3, 3]);
  const conv = (v: Value) => g.node('Conv', [v, kernel], { group: c, kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, x.shape);
  const y = conv(x);
  t.record([x], [y], ([dy]) => [conv(dy!)]);
  return y;
}

/**
 * 2x2 max pool, stride 2 (VGG). The gradient goes to the positions that equal the window's
 * maximum; after a ReLU the only likely ties are zeros, whose gradient the ReLU stops anyway.
 */
export function maxPool2(t: Tape, x: Value): Value {
  const g = t.g;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const ho = Math.floor(h / 2);
  const wo = Math.floor(w / 2);
  const y = g.node('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] }, [n, c, ho, wo]);
  t.record([x], [y], ([dy]) => {
    const up = (v: Value) => {
      const e = g.node('Expand', [g.node('Reshape', [v, g.int64([n, c, ho, 1, wo, 1])], {}, [n, c, ho, 1, wo, 1]), g.int64([n, c, ho, 2, wo, 2])], {}, [n, c, ho, 2, wo, 2]);
      return g.node('Reshape', [e, g.int64([n, c, 2 * ho, 2 * wo])], {}, [n, c, 2 * ho, 2 * wo]);
    };
    const xc = 2 * ho === h && 2 * wo === w ? x : g.node('Slice', [x, g.int64([0, 0]), g.int64([2 * ho, 2 * wo]), g.int64([2, 3])], {}, [n, c, 2 * ho, 2 * wo]);
    const hit = g.node('Equal', [xc, up(y)], {}, xc.shape);
    let dx = g.node('Where', [hit, up(dy!), g.scalar(0)], {}, xc.shape);
    if (xc !== x) dx = g.node('Pad', [dx, g.int64([0, 0, 0, 0, 0, 0, h - 2 * ho, w - 2 * wo])], {}, x.shape);
    return [dx];
  });
  return y;
}

/** NCHW -> [N, H*W*C] in TF's (NHWC) flattening order, so dense kernels keep their layout. */
export function flattenNhwc(t: Tape, x: Value): Value {
  const g = t.g;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const nhwc = g.node('Transpose', [x], { perm: [0, 2, 3, 1] }, [n, h, w, c]);
  const y = g.node('Reshape', [nhwc, g.int64([n, h * w * c])], {}, [n, h * w * c]);
  t.record([x], [y], ([dy]) => {
    const back = g.node('Reshape', [dy!, g.int64([n, h, w, c])], {}, [n, h, w, c]);
    return [g.node('Transpose', [back], { perm: [0, 3, 1, 2] }, x.shape)];
  });
  return y;
}

/** x [N, in] @ kernel [in, out] + bias [out]. */
export function dense(t: Tape, x: Value, kernel: Value, bias: Value): Value {
  const g = t.g;
  const [n] = x.shape as [number];
  const out = kernel.shape[1]!;
  const y = g.node('Gemm', [x, kernel, bias], {}, [n, out]);
  t.record([x, kernel, bias], [y], ([dy]) => [
    t.needs(x) ? g.node('Gemm', [dy!, kernel], { transB: 1 }, x.shape) : null,
    t.needs(kernel) ? g.node('Gemm', [x, dy!], { transA: 1 }, kernel.shape) : null,
    t.needs(bias) ? g.node('ReduceSum', [dy!, g.int64([0])], { keepdims: 0 }, bias.shape) : null,
  ]);
  return y;
}

/** NHWC data (as the datasets hand it over) to NCHW; not differentiable (data only). */
export function toNchw(t: Tape, x: Value): Value {
  const [n, h, w, c] = x.shape as [number, number, number, number];
  return t.g.node('Transpose', [x], { perm: [0, 3, 1, 2] }, [n, c, h, w]);
}

/** sum_i coef_i * term_i of scalars. */
export function weightedSum(t: Tape, terms: ReadonlyArray<[Value, number]>): Value {
  const g = t.g;
  const parts = terms.map(([v, k]) => (k === 1 ? v : g.node('Mul', [v, g.scalar(k)], {}, [])));
  const y = parts.length === 1 ? g.node('Identity', [parts[0]!], {}, []) : g.node('Sum', parts, {}, []);
  t.record(terms.map(([v]) => v), [y], ([dy]) => terms.map(([, k]) => (k === 1 ? dy! : g.node('Mul', [dy!, g.scalar(k)], {}, []))));
  return y;
}

/**
 * mean(w * (a - b)^2) over every element; `weights` (optional) broadcasts against a (e.g. one
 * weight per pixel for all channels) and, like b, is data. The mean counts a's elements.
 */
export function meanSquaredError(t: Tape, a: Value, b: Value, weights?: Value): Value {
  const g = t.g;
  const d = g.node('Sub', [a, b], {}, a.shape);
  let sq = g.node('Mul', [d, d], {}, a.shape);
  if (weights) sq = g.node('Mul', [sq, weights], {}, a.shape);
  const y = g.node('ReduceMean', [sq], { keepdims: 0 }, []);
  t.record([a, b], [y], ([dy]) => {
    const k = g.node('Mul', [dy!, g.scalar(2 / sizeOf(a.shape))], {}, []);
    let da = g.node('Mul', [d, k], {}, a.shape);
    if (weights) da = g.node('Mul', [da, weights], {}, a.shape);
    return [da, t.needs(b) ? g.node('Neg', [da], {}, a.shape) : null];
  });
  return y;
}

/**
 * mean(|a - b|): the L1 pixel loss (BasicSR trains its MSRResNet with it). Its gradient is the
 * sign of the difference, 0 where a and b agree exactly.
 */
export function meanAbsoluteError(t: Tape, a: Value, b: Value): Value {
  const g = t.g;
  const d = g.node('Sub', [a, b], {}, a.shape);
  const y = g.node('ReduceMean', [g.node('Abs', [d], {}, a.shape)], { keepdims: 0 }, []);
  t.record([a, b], [y], ([dy]) => {
    const k = g.node('Mul', [dy!, g.scalar(1 / sizeOf(a.shape))], {}, []);
    const da = g.node('Mul', [g.node('Sign', [d], {}, a.shape), k], {}, a.shape);
    return [da, t.needs(b) ? g.node('Neg', [da], {}, a.shape) : null];
  });
  return y;
}

/**
 * sum(mask * (a - b)^2) / max(C * sum(mask), 1): a masked mean over the pixels where the mask
 * [N, 1, H, W] is 1, all channels (ToSR's temporal terms). The count is data, not differentiated.
 */
export function maskedMse(t: Tape, a: Value, b: Value, mask: Value): Value {
  const g = t.g;
  const c = a.shape[1]!;
  const count = g.node('Max', [g.node('Mul', [g.node('ReduceSum', [mask], { keepdims: 0 }, []), g.scalar(c)], {}, []), g.scalar(1)], {}, []);
  const d = g.node('Sub', [a, b], {}, a.shape);
  const sq = g.node('Mul', [g.node('Mul', [d, d], {}, a.shape), mask], {}, a.shape);
  const y = g.node('Div', [g.node('ReduceSum', [sq], { keepdims: 0 }, []), count], {}, []);
  t.record([a, b], [y], ([dy]) => {
    const k = g.node('Div', [g.node('Mul', [dy!, g.scalar(2)], {}, []), count], {}, []);
    const da = g.node('Mul', [g.node('Mul', [d, mask], {}, a.shape), k], {}, a.shape);
    return [da, t.needs(b) ? g.node('Neg', [da], {}, a.shape) : null];
  });
  return y;
}

/**
 * The sub-pixel grid penalty of losses/grid.ts: the mean square, over samples, channels and the
 * period x period phases, of the phase means of (a - b) minus their mean over the phases. It is
 * linear in a up to the square, so its adjoint spreads each phase's residual evenly over its pixels.
 */
export function gridMse(t: Tape, a: Value, b: Value, period: number): Value {
  const g = t.g;
  const [n, c, h, w] = a.shape as [number, number, number, number];
  const s = period;
  if (h % s || w % s) throw new Error(`gridMse: ${h}x${w} is not a multiple of the period ${s}`);
  const cells = [n, c, h / s, s, w / s, s];
  const d = g.node('Sub', [a, b], {}, a.shape);
  const pm = g.node('ReduceMean', [g.node('Reshape', [d, g.int64(cells)], {}, cells)], { axes: [2, 4], keepdims: 0 }, [n, c, s, s]);
  const q = g.node('Sub', [pm, g.node('ReduceMean', [pm], { axes: [2, 3], keepdims: 1 }, [n, c, 1, 1])], {}, [n, c, s, s]);
  const y = g.node('ReduceMean', [g.node('Mul', [q, q], {}, q.shape)], { keepdims: 0 }, []);
  t.record([a, b], [y], ([dy]) => {
    // d/dd = 2 q / (n c s^2) per phase, spread over its (h/s)(w/s) pixels: 2 q / size(a) each.
    // The centring's adjoint subtracts the phase mean of 2q/..., which is already 0.
    const k = g.node('Mul', [dy!, g.scalar(2 / sizeOf(a.shape))], {}, []);
    const dq = g.node('Reshape', [g.node('Mul', [q, k], {}, q.shape), g.int64([n, c, 1, s, 1, s])], {}, [n, c, 1, s, 1, s]);
    const da = g.node('Reshape', [g.node('Expand', [dq, g.int64(cells)], {}, cells), g.int64(a.shape)], {}, a.shape);
    return [da, t.needs(b) ? g.node('Neg', [da], {}, a.shape) : null];
  });
  return y;
}

/** mean(softplus(sign * x)): the GAN losses on logits (see losses/adversarial.ts). */
export function softplusMean(t: Tape, x: Value, sign: 1 | -1): Value {
  const g = t.g;
  const z = sign === 1 ? x : g.node('Neg', [x], {}, x.shape);
  const y = g.node('ReduceMean', [g.node('Softplus', [z], {}, x.shape)], { keepdims: 0 }, []);
  t.record([x], [y], ([dy]) => {
    // d/dx softplus(s x) = s * sigmoid(s x)
    const k = g.node('Mul', [dy!, g.scalar(sign / sizeOf(x.shape))], {}, []);
    return [g.node('Mul', [g.node('Sigmoid', [z], {}, x.shape), k], {}, x.shape)];
  });
  return y;
}

/** Splits axis 1 of [N, K, ...] into K values of shape [N, ...] (frames of a video sample). */
export function unstack(t: Tape, x: Value): Value[] {
  const g = t.g;
  const [n, k, ...rest] = x.shape as number[];
  const outs: Value[] = [];
  const names = Array.from({ length: k! }, () => g.fresh('Split'));
  g.nodes.push({ name: `${g.scope}/Split#${g.nodes.length}`, op_type: 'Split', input: [x.name], output: names, attribute: [{ name: 'axis', type: 2, i: 1 }] });
  g.opTypes.push('Split');
  for (const name of names) outs.push(g.node('Reshape', [name, g.int64([n!, ...rest])], {}, [n!, ...rest]));
  t.record([x], outs, (dys) => {
    const parts = dys.map((d) => g.node('Reshape', [d ?? g.node('Mul', [outs[0]!, g.scalar(0)], {}, outs[0]!.shape), g.int64([n!, 1, ...rest])], {}, [n!, 1, ...rest]));
    return [g.node('Concat', parts, { axis: 1 }, x.shape)];
  });
  return outs;
}

/**
 * Bilinear backward warp with a constant flow (src/video/warp.ts): out = sum over 4 corners of
 * weight * img[index]. img NCHW; indices int64 [4 * N*H*W] into the flat NHWC pixels; weights
 * [4, N*H*W, 1]. The adjoint of the gather is a scatter-add with the same weights.
 */
export function warp(t: Tape, img: Value, indices: Value, weights: Value): Value {
  const g = t.g;
  const [n, c, h, w] = img.shape as [number, number, number, number];
  const p = n * h * w;
  const flat = g.node('Reshape', [g.node('Transpose', [img], { perm: [0, 2, 3, 1] }, [n, h, w, c]), g.int64([p, c])], {}, [p, c]);
  const picked = g.node('Reshape', [g.node('Gather', [flat, indices], { axis: 0 }, [4 * p, c]), g.int64([4, p, c])], {}, [4, p, c]);
  const summed = g.node('ReduceSum', [g.node('Mul', [picked, weights], {}, [4, p, c]), g.int64([0])], { keepdims: 0 }, [p, c]);
  const y = g.node('Transpose', [g.node('Reshape', [summed, g.int64([n, h, w, c])], {}, [n, h, w, c])], { perm: [0, 3, 1, 2] }, img.shape);
  t.record([img], [y], ([dy]) => {
    const dflat = g.node('Reshape', [g.node('Transpose', [dy!], { perm: [0, 2, 3, 1] }, [n, h, w, c]), g.int64([1, p, c])], {}, [1, p, c]);
    const updates = g.node('Reshape', [g.node('Mul', [dflat, weights], {}, [4, p, c]), g.int64([4 * p, c])], {}, [4 * p, c]);
    const idx = g.node('Unsqueeze', [indices, g.int64([1])], {}, [4 * p, 1]);
    // ConstantOfShape's default value is a float 0.
    const zeros = g.node('ConstantOfShape', [g.int64([p, c])], {}, [p, c]);
    const scattered = g.node('ScatterND', [zeros, idx, updates], { reduction: 'add' }, [p, c]);
    return [g.node('Transpose', [g.node('Reshape', [scattered, g.int64([n, h, w, c])], {}, [n, h, w, c])], { perm: [0, 3, 1, 2] }, img.shape)];
  });
  return y;
}

/** Channels [from, from + count) of NCHW x (a two-stream network's RGB and flow parts). */
export function channelSlice(t: Tape, x: Value, from: number, count: number): Value {
  const g = t.g;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const y = g.node('Slice', [x, g.int64([from]), g.int64([from + count]), g.int64([1])], {}, [n, count, h, w]);
  // the adjoint of a slice puts the gradient back in place, zeros elsewhere
  t.record([x], [y], ([dy]) => [g.node('Pad', [dy!, g.int64([0, from, 0, 0, 0, c - from - count, 0, 0])], {}, x.shape)]);
  return y;
}

/** Mean over H and W: NCHW -> [N, C]. */
export function globalAvgPool(t: Tape, x: Value): Value {
  const g = t.g;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const y = g.node('ReduceMean', [x], { axes: [2, 3], keepdims: 0 }, [n, c]);
  t.record([x], [y], ([dy]) => {
    const d = g.node('Reshape', [g.node('Mul', [dy!, g.scalar(1 / (h * w))], {}, [n, c]), g.int64([n, c, 1, 1])], {}, [n, c, 1, 1]);
    return [g.node('Expand', [d, g.int64(x.shape)], {}, x.shape)];
  });
  return y;
}

/**
 * mean over the batch of -sum_k labels_k log softmax(logits)_k, for logits [N, K] and labels
 * (data: one-hot or any distribution) [N, K]. The gradient is (softmax - labels) / N, computed
 * from the logits directly so that confident logits neither overflow nor lose it.
 */
export function softmaxCrossEntropy(t: Tape, logits: Value, labels: Value): Value {
  const g = t.g;
  const [n] = logits.shape as [number, number];
  const logp = g.node('LogSoftmax', [logits], { axis: 1 }, logits.shape);
  const y = g.node('Mul', [g.node('ReduceSum', [g.node('Mul', [logp, labels], {}, logits.shape)], { keepdims: 0 }, []), g.scalar(-1 / n)], {}, []);
  t.record([logits], [y], ([dy]) => {
    const p = g.node('Softmax', [logits], { axis: 1 }, logits.shape);
    const k = g.node('Mul', [dy!, g.scalar(1 / n)], {}, []);
    return [g.node('Mul', [g.node('Sub', [p, labels], {}, logits.shape), k], {}, logits.shape)];
  });
  return y;
}
