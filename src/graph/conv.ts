// Convolution with TensorFlow's 'same' padding on NCHW activations and a kernel stored in TF's
// layout [kh, kw, cin, cout] (the layout of the safetensors files), and its two gradients.
//
// Each gradient has several formulations with very different speeds in ONNX Runtime's CPU
// kernels, depending on the layer's shape (the numbers in the training-engine issue, and
// `node dist/bench/train_engines.js --profile`). `chooseFormulation` picks by shape; the
// environment variables SRGAN_CONV_DX / SRGAN_CONV_DW force one for the 3x3 layers (benchmarks).
//
// Forward:
//   conv      ONNX Conv
//   shiftsum  for few output channels and a large kernel (the 9x9 convolution to RGB): one
//             MatMul of the kernel with the padded input gives k*k*cout thin maps, whose shifted
//             copies are summed; ONNX Runtime's Conv runs such a layer at a third of its GEMM speed
// Input gradient:
//   flipped   Conv of dY with the kernel flipped in space and with cin/cout swapped (stride 1)
//   transpose ConvTranspose of dY with the forward kernel (any stride)
//   shiftdy   one MatMul of the kernel with the k*k shifted copies of dY (the stack the filter
//             gradient of the same name builds, shared between the two)
// Filter gradient (all produce the TF layout directly or with one small transpose):
//   im2col    the k*k shifted views of the padded input side by side, one MatMul with dY
//   tap       one MatMul per kernel tap (k*k small products)
//   batchconv a Conv in which the batch plays the channels: input x^T, "kernel" dY^T
//   shiftdy   the k*k shifted (zero-padded) copies of dY side by side, one MatMul with the padded
//             input: for few output channels (the 9x9 convolution to RGB) it copies k*k small
//             maps where im2col and tap copy k*k full-depth inputs
import type { Value } from './builder.js';
import type { Tape, Grad } from './tape.js';

export type FwdFormulation = 'conv' | 'shiftsum';
export type DxFormulation = 'flipped' | 'transpose' | 'shiftdy';
export type DwFormulation = 'im2col' | 'tap' | 'batchconv' | 'shiftdy';

export interface ConvGeometry {
  n: number;
  cin: number;
  cout: number;
  k: number;
  stride: number;
  h: number;
  w: number;
  ho: number;
  wo: number;
  /** Padding before and after, per spatial axis: [top, left, bottom, right] as ONNX orders it. */
  pads: [number, number, number, number];
}

export function convGeometry(xShape: readonly number[], kShape: readonly number[], stride: number): ConvGeometry {
  const [n, cin, h, w] = xShape as [number, number, number, number];
  const [k, k2, kc, cout] = kShape as [number, number, number, number];
  if (k !== k2) throw new Error(`conv: only square kernels, got ${k}x${k2}`);
  if (kc !== cin) throw new Error(`conv: kernel for ${kc} input channels on a ${cin}-channel input`);
  const ho = Math.ceil(h / stride);
  const wo = Math.ceil(w / stride);
  // TensorFlow's 'same': the odd pixel of padding goes after (bottom/right).
  const th = Math.max((ho - 1) * stride + k - h, 0);
  const tw = Math.max((wo - 1) * stride + k - w, 0);
  const pads: [number, number, number, number] = [Math.floor(th / 2), Math.floor(tw / 2), th - Math.floor(th / 2), tw - Math.floor(tw / 2)];
  return { n, cin, cout, k, stride, h, w, ho, wo, pads };
}

export interface Formulation {
  fwd?: FwdFormulation;
  dx: DxFormulation;
  dw: DwFormulation;
}

/** Few output channels behind a large kernel at stride 1: the layer the shift formulations are for. */
function thinOutput(c: ConvGeometry): boolean {
  return c.stride === 1 && c.k >= 5 && c.cout * 4 <= c.cin;
}

// The rules below come from `node dist/bench/conv_formulations.js` (every layer shape of
// SRResNet x4 and the discriminator, batch 8, one thread), where each formulation was timed alone.
export function chooseFormulation(c: ConvGeometry): Required<Formulation> {
  const envDx = process.env['SRGAN_CONV_DX'] as DxFormulation | undefined;
  const envDw = process.env['SRGAN_CONV_DW'] as DwFormulation | undefined;
  if (thinOutput(c)) return { fwd: 'shiftsum', dx: 'shiftdy', dw: 'shiftdy' };
  let dx: DxFormulation = c.stride > 1 || (c.k === 3 && c.cout > c.cin) || c.cin <= 4 ? 'transpose' : 'flipped';
  // One product per tap beats im2col (whose Concat copies the k*k views once more) on small maps;
  // from 48x48 outputs on, and at stride 2, im2col's single large product wins. With RGB input
  // channels the per-tap products are too thin.
  let dw: DwFormulation = c.cin <= 4 || c.stride > 1 || c.ho * c.wo >= 48 * 48 ? 'im2col' : 'tap';
  if (envDx && c.k === 3 && (c.stride === 1 || envDx === 'transpose')) dx = envDx;
  if (envDw && c.k === 3 && envDw !== 'shiftdy') dw = envDw;
  return { fwd: 'conv', dx, dw };
}

/** y = conv(x, kernel) (+ bias), 'same' padding. Kernel [k, k, cin, cout] (TF), bias [cout]. */
export function conv2d(t: Tape, x: Value, kernel: Value, bias: Value | null, stride = 1, force?: Formulation): Value {
  const g = t.g;
  const c = convGeometry(x.shape, kernel.shape, stride);
  const f = { ...chooseFormulation(c), ...force };
  if ((f.fwd === 'shiftsum' || f.dx === 'shiftdy' || f.dw === 'shiftdy') && stride !== 1) throw new Error('conv: the shift formulations need stride 1');
  if (f.dx === 'flipped' && stride !== 1) throw new Error('conv: the flipped-kernel input gradient needs stride 1');
  const wOnnx = g.node('Transpose', [kernel], { perm: [3, 2, 0, 1] }, [c.cout, c.cin, c.k, c.k]);
  const padded = lazy(() => padInput(t, x, c));
  let y: Value;
  if (f.fwd === 'shiftsum') {
    y = shiftSum(t, padded(), kernel, c);
    if (bias) y = g.node('Add', [y, g.node('Reshape', [bias, g.int64([c.cout, 1, 1])], {}, [c.cout, 1, 1])], {}, y.shape);
  } else {
    const attrs = { kernel_shape: [c.k, c.k], pads: c.pads, strides: [stride, stride] };
    y = g.node('Conv', bias ? [x, wOnnx, bias] : [x, wOnnx], attrs, [c.n, c.cout, c.ho, c.wo]);
  }
  t.record(bias ? [x, kernel, bias] : [x, kernel], [y], ([dy]) => {
    const stack = lazy(() => shiftedStack(t, dy!, c));
    const dx = !t.needs(x) ? null : f.dx === 'shiftdy' ? shiftInputGradient(t, stack(), kernel, c) : inputGradient(t, dy!, kernel, wOnnx, c, f.dx);
    const dk = !t.needs(kernel) ? null : f.dw === 'shiftdy' ? shiftFilterGradient(t, stack(), padded(), c) : filterGradient(t, padded(), dy!, c, f.dw);
    const db = bias && t.needs(bias) ? g.node('ReduceSum', [dy!, g.int64([0, 2, 3])], { keepdims: 0 }, [c.cout]) : null;
    return bias ? [dx, dk, db] : [dx, dk];
  });
  return y;
}

function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

function padInput(t: Tape, x: Value, c: ConvGeometry): Value {
  const [pt, pl, pb, pr] = c.pads;
  if (pt + pl + pb + pr === 0) return x;
  return t.g.node('Pad', [x, t.g.int64([0, 0, pt, pl, 0, 0, pb, pr])], {}, [c.n, c.cin, c.h + pt + pb, c.w + pl + pr]);
}

/** y[o, p] = sum over taps (i, j) of Z[(i, j, o), p + (i, j)], Z = W[(i, j, o), c] @ x_pad[c, .] */
function shiftSum(t: Tape, padded: Value, kernel: Value, c: ConvGeometry): Value {
  const g = t.g;
  const [, , hp, wp] = padded.shape as [number, number, number, number];
  const q = c.n * hp * wp;
  const kk = c.k * c.k;
  const xc = g.node('Reshape', [g.node('Transpose', [padded], { perm: [1, 0, 2, 3] }, [c.cin, c.n, hp, wp]), g.int64([c.cin, q])], {}, [c.cin, q]);
  const w3 = g.node('Reshape', [g.node('Transpose', [kernel], { perm: [0, 1, 3, 2] }, [c.k, c.k, c.cout, c.cin]), g.int64([kk * c.cout, c.cin])], {}, [kk * c.cout, c.cin]);
  const z = g.node('Reshape', [g.node('MatMul', [w3, xc], {}, [kk * c.cout, q]), g.int64([kk, c.cout, c.n, hp, wp])], {}, [kk, c.cout, c.n, hp, wp]);
  const parts: Value[] = [];
  for (let i = 0; i < c.k; i++) {
    for (let j = 0; j < c.k; j++) {
      const tap = i * c.k + j;
      parts.push(g.node('Slice', [z, g.int64([tap, i, j]), g.int64([tap + 1, i + c.ho, j + c.wo]), g.int64([0, 3, 4])], {}, [1, c.cout, c.n, c.ho, c.wo]));
    }
  }
  const sum = g.node('Reshape', [g.node('Sum', parts, {}, [1, c.cout, c.n, c.ho, c.wo]), g.int64([c.cout, c.n, c.ho, c.wo])], {}, [c.cout, c.n, c.ho, c.wo]);
  return g.node('Transpose', [sum], { perm: [1, 0, 2, 3] }, [c.n, c.cout, c.ho, c.wo]);
}

/** T[(i, j, o), q] = dY[o, q - (i, j)] on the padded grid, zero outside: [k*k*cout, N*Hp*Wp]. */
function shiftedStack(t: Tape, dy: Value, c: ConvGeometry): Value {
  const g = t.g;
  const hp = c.ho + c.k - 1;
  const wp = c.wo + c.k - 1;
  const dyt = g.node('Transpose', [dy], { perm: [1, 0, 2, 3] }, [c.cout, c.n, c.ho, c.wo]);
  const shifted: Value[] = [];
  for (let i = 0; i < c.k; i++) {
    for (let j = 0; j < c.k; j++) {
      shifted.push(g.node('Pad', [dyt, g.int64([0, 0, i, j, 0, 0, c.k - 1 - i, c.k - 1 - j])], {}, [c.cout, c.n, hp, wp]));
    }
  }
  const rows = c.k * c.k * c.cout;
  return g.node('Reshape', [g.node('Concat', shifted, { axis: 0 }, [rows, c.n, hp, wp]), g.int64([rows, c.n * hp * wp])], {}, [rows, c.n * hp * wp]);
}

/** dx_pad[c, q] = sum over (i, j, o) of W[i, j, c, o] T[(i, j, o), q], cropped to the input. */
function shiftInputGradient(t: Tape, stack: Value, kernel: Value, c: ConvGeometry): Value {
  const g = t.g;
  const kk = c.k * c.k;
  const hp = c.ho + c.k - 1;
  const wp = c.wo + c.k - 1;
  const w2 = g.node('Reshape', [g.node('Transpose', [kernel], { perm: [2, 0, 1, 3] }, [c.cin, c.k, c.k, c.cout]), g.int64([c.cin, kk * c.cout])], {}, [c.cin, kk * c.cout]);
  const full = g.node('Reshape', [g.node('MatMul', [w2, stack], {}, [c.cin, c.n * hp * wp]), g.int64([c.cin, c.n, hp, wp])], {}, [c.cin, c.n, hp, wp]);
  const [pt, pl] = c.pads;
  const inner = g.node('Slice', [full, g.int64([pt, pl]), g.int64([pt + c.h, pl + c.w]), g.int64([2, 3])], {}, [c.cin, c.n, c.h, c.w]);
  return g.node('Transpose', [inner], { perm: [1, 0, 2, 3] }, [c.n, c.cin, c.h, c.w]);
}

/** dW[i, j, c, o] = sum over padded positions q of x_pad[c, q] T[(i, j, o), q]. */
function shiftFilterGradient(t: Tape, stack: Value, padded: Value, c: ConvGeometry): Value {
  const g = t.g;
  const [, , hp, wp] = padded.shape as [number, number, number, number];
  const q = c.n * hp * wp;
  const xq = g.node('Reshape', [g.node('Transpose', [padded], { perm: [0, 2, 3, 1] }, [c.n, hp, wp, c.cin]), g.int64([q, c.cin])], {}, [q, c.cin]);
  const prod = g.node('Reshape', [g.node('MatMul', [stack, xq], {}, [c.k * c.k * c.cout, c.cin]), g.int64([c.k, c.k, c.cout, c.cin])], {}, [c.k, c.k, c.cout, c.cin]);
  return g.node('Transpose', [prod], { perm: [0, 1, 3, 2] }, [c.k, c.k, c.cin, c.cout]);
}

function inputGradient(t: Tape, dy: Value, kernel: Value, wOnnx: Value, c: ConvGeometry, how: DxFormulation): Grad {
  const g = t.g;
  const xShape = [c.n, c.cin, c.h, c.w];
  if (how === 'flipped') {
    // W'[cin, cout, i, j] = W[k-1-i, k-1-j, cin, cout]: reverse the two spatial axes, then transpose.
    const big = 1 << 30;
    const flipped = g.node('Slice', [kernel, g.int64([-1, -1]), g.int64([-big, -big]), g.int64([0, 1]), g.int64([-1, -1])], {}, kernel.shape);
    const w = g.node('Transpose', [flipped], { perm: [2, 3, 0, 1] }, [c.cin, c.cout, c.k, c.k]);
    const [pt, pl, pb, pr] = c.pads;
    // The adjoint of 'same' padding (pt before, pb after) pads the output gradient pb before, pt after.
    return g.node('Conv', [dy, w], { kernel_shape: [c.k, c.k], pads: [c.k - 1 - pt, c.k - 1 - pl, c.k - 1 - pb, c.k - 1 - pr] }, xShape);
  }
  const s = c.stride;
  const [pt, pl, pb, pr] = c.pads;
  const opH = c.h - (s * (c.ho - 1) + c.k - pt - pb);
  const opW = c.w - (s * (c.wo - 1) + c.k - pl - pr);
  return g.node('ConvTranspose', [dy, wOnnx], { kernel_shape: [c.k, c.k], pads: c.pads, strides: [s, s], output_padding: [opH, opW] }, xShape);
}

function filterGradient(t: Tape, padded: Value, dy: Value, c: ConvGeometry, how: DwFormulation): Grad {
  const g = t.g;
  const [, , hp, wp] = padded.shape as [number, number, number, number];
  const xt = g.node('Transpose', [padded], { perm: [1, 0, 2, 3] }, [c.cin, c.n, hp, wp]);
  if (how === 'batchconv') {
    const dyt = g.node('Transpose', [dy], { perm: [1, 0, 2, 3] }, [c.cout, c.n, c.ho, c.wo]);
    const r = g.node('Conv', [xt, dyt], { kernel_shape: [c.ho, c.wo], dilations: [c.stride, c.stride] }, [c.cin, c.cout, c.k, c.k]);
    return g.node('Transpose', [r], { perm: [2, 3, 0, 1] }, [c.k, c.k, c.cin, c.cout]);
  }
  const m = c.n * c.ho * c.wo;
  const dy2 = g.node('Reshape', [g.node('Transpose', [dy], { perm: [0, 2, 3, 1] }, [c.n, c.ho, c.wo, c.cout]), g.int64([m, c.cout])], {}, [m, c.cout]);
  const s = c.stride;
  const views: Value[] = [];
  for (let i = 0; i < c.k; i++) {
    for (let j = 0; j < c.k; j++) {
      views.push(g.node('Slice', [xt, g.int64([i, j]), g.int64([i + (c.ho - 1) * s + 1, j + (c.wo - 1) * s + 1]), g.int64([2, 3]), g.int64([s, s])], {}, [c.cin, c.n, c.ho, c.wo]));
    }
  }
  if (how === 'im2col') {
    const cols = g.node('Concat', views, { axis: 0 }, [c.k * c.k * c.cin, c.n, c.ho, c.wo]);
    const a = g.node('Reshape', [cols, g.int64([c.k * c.k * c.cin, m])], {}, [c.k * c.k * c.cin, m]);
    const prod = g.node('MatMul', [a, dy2], {}, [c.k * c.k * c.cin, c.cout]);
    return g.node('Reshape', [prod, g.int64([c.k, c.k, c.cin, c.cout])], {}, [c.k, c.k, c.cin, c.cout]);
  }
  const taps = views.map((v) => {
    const a = g.node('Reshape', [v, g.int64([c.cin, m])], {}, [c.cin, m]);
    const p = g.node('MatMul', [a, dy2], {}, [c.cin, c.cout]);
    return g.node('Reshape', [p, g.int64([1, c.cin, c.cout])], {}, [1, c.cin, c.cout]);
  });
  const all = g.node('Concat', taps, { axis: 0 }, [c.k * c.k, c.cin, c.cout]);
  return g.node('Reshape', [all, g.int64([c.k, c.k, c.cin, c.cout])], {}, [c.k, c.k, c.cin, c.cout]);
}
