// Convolution gradients for the WASM backend, written as ordinary forward convolutions so that
// they run inside XNNPACK at forward-pass speed.
//
// tfjs-backend-wasm 4.x has no Conv2DBackpropFilter at all, and its Conv2DBackpropInput is a plain
// loop (7x slower than ours, bench/kernels.ts). Both gradients are correlations:
//
//   dW[kh,kw,ci,co] = sum_{b,oh,ow} xpad[b, oh*s+kh, ow*s+kw, ci] * dy[b,oh,ow,co]
//     = Conv2D(input = xpad^T [ci, Hp, Wp, b], filter = dy^T [Ho, Wo, b, co], dilation = s)
//   dx = Conv2D(zero-inserted dy, W flipped in space with in/out channels swapped)
//
// Only the layouts XNNPACK accepts are used: NHWC, explicit padding, dilation on the filter.
import tf = require('@tensorflow/tfjs-core');
import type { KernelConfig, KernelFunc, TensorInfo, NamedAttrMap } from '@tensorflow/tfjs-core';

type Backend = tf.KernelBackend;

function kernel(name: string): KernelFunc {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is missing; tfjs-backend-wasm changed`);
  return k.kernelFunc;
}

/** Runs a backend kernel directly (no tape, no engine bookkeeping) and returns its TensorInfo. */
function run(name: string, backend: Backend, inputs: Record<string, TensorInfo>, attrs: NamedAttrMap = {}): TensorInfo {
  return kernel(name)({ inputs, backend, attrs }) as TensorInfo;
}

function free(backend: Backend, ...infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

type Pad4 = [[number, number], [number, number], [number, number], [number, number]];

interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  outC: number;
  kH: number;
  kW: number;
  sH: number;
  sW: number;
  top: number;
  left: number;
}

function geometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  attrs: NamedAttrMap,
): ConvGeometry {
  const dataFormat = (attrs['dataFormat'] as string | undefined) ?? 'NHWC';
  if (dataFormat !== 'NHWC') throw new Error(`conv gradient on wasm supports NHWC only, got ${dataFormat}`);
  const info = tf.backend_util.computeConv2DInfo(
    xShape,
    filterShape,
    attrs['strides'] as [number, number] | number,
    1,
    attrs['pad'] as 'same' | 'valid' | number,
    attrs['dimRoundingMode'] as 'floor' | 'round' | 'ceil' | undefined,
    false,
    'channelsLast',
  );
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    outC: info.outChannels,
    kH: info.filterHeight,
    kW: info.filterWidth,
    sH: info.strideHeight,
    sW: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
  };
}

function conv2dBackpropFilter(args: { inputs: Record<string, TensorInfo>; backend: Backend; attrs: NamedAttrMap }): TensorInfo {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const backend = args.backend;
  const filterShape = args.attrs['filterShape'] as [number, number, number, number];
  const g = geometry(x.shape as [number, number, number, number], filterShape, args.attrs);

  // Rows/cols of the padded input actually touched by the forward pass.
  const usedH = (g.outH - 1) * g.sH + g.kH;
  const usedW = (g.outW - 1) * g.sW + g.kW;
  const bottom = usedH - g.inH - g.top;
  const right = usedW - g.inW - g.left;

  // 'valid' convolutions whose stride does not divide the input leave trailing rows unused: drop them.
  let xUsed = x;
  if (bottom < 0 || right < 0) {
    xUsed = run('Slice', backend, { x }, { begin: [0, 0, 0, 0], size: [g.batch, Math.min(g.inH, usedH - g.top), Math.min(g.inW, usedW - g.left), g.inC] });
  }
  const xT = run('Transpose', backend, { x: xUsed }, { perm: [3, 1, 2, 0] }); // [ci, H, W, b]
  const dyT = run('Transpose', backend, { x: dy }, { perm: [1, 2, 0, 3] }); // [Ho, Wo, b, co]
  const pad: Pad4 = [[0, 0], [g.top, Math.max(bottom, 0)], [g.left, Math.max(right, 0)], [0, 0]];
  const out = run('Conv2D', backend, { x: xT, filter: dyT }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [g.sH, g.sW] }); // [ci, kh, kw, co]
  const dW = run('Transpose', backend, { x: out }, { perm: [1, 2, 0, 3] });
  free(backend, xT, dyT, out);
  if (xUsed !== x) free(backend, xUsed);
  return dW;
}

function conv2dBackpropInput(args: { inputs: Record<string, TensorInfo>; backend: Backend; attrs: NamedAttrMap }): TensorInfo {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const backend = args.backend;
  const inputShape = args.attrs['inputShape'] as [number, number, number, number];
  const g = geometry(inputShape, filter.shape as [number, number, number, number], args.attrs);

  // Spread dy out by the stride: [b,Ho,Wo,c] -> [b,Ho,s,Wo,s,c] with zeros -> [b,Ho*s,Wo*s,c].
  let spread = dy;
  if (g.sH > 1 || g.sW > 1) {
    const r = run('Reshape', backend, { x: dy }, { shape: [g.batch, g.outH, 1, g.outW, 1, g.outC] });
    const p = run('PadV2', backend, { x: r }, { paddings: [[0, 0], [0, 0], [0, g.sH - 1], [0, 0], [0, g.sW - 1], [0, 0]], constantValue: 0 });
    spread = run('Reshape', backend, { x: p }, { shape: [g.batch, g.outH * g.sH, g.outW * g.sW, g.outC] });
    free(backend, r, p);
  }
  // Full correlation with the flipped kernel: left pad k-1-top, right pad chosen so the output
  // is exactly inH x inW. Extra trailing zeros from the spread are cut instead of padded.
  const padTop = g.kH - 1 - g.top;
  const padLeft = g.kW - 1 - g.left;
  const padBottom = g.inH + g.kH - 1 - padTop - g.outH * g.sH;
  const padRight = g.inW + g.kW - 1 - padLeft - g.outW * g.sW;
  let src = spread;
  if (padBottom < 0 || padRight < 0) {
    src = run('Slice', backend, { x: spread }, {
      begin: [0, 0, 0, 0],
      size: [g.batch, g.outH * g.sH + Math.min(padBottom, 0), g.outW * g.sW + Math.min(padRight, 0), g.outC],
    });
  }
  if (padTop < 0 || padLeft < 0) throw new Error('conv2dBackpropInput: padding larger than the kernel is not supported');
  const flipped = run('Reverse', backend, { x: filter }, { dims: [0, 1] });
  const swapped = run('Transpose', backend, { x: flipped }, { perm: [0, 1, 3, 2] }); // [kh, kw, co, ci]
  const pad: Pad4 = [[0, 0], [padTop, Math.max(padBottom, 0)], [padLeft, Math.max(padRight, 0)], [0, 0]];
  const dx = run('Conv2D', backend, { x: src, filter: swapped }, { strides: [1, 1], pad, dataFormat: 'NHWC', dilations: [1, 1] });
  free(backend, flipped, swapped);
  if (src !== spread) free(backend, src);
  if (spread !== dy) free(backend, spread);
  return dx;
}

export const wasmConvGradientKernels: KernelConfig[] = [
  { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: conv2dBackpropFilter as unknown as KernelFunc },
  { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: conv2dBackpropInput as unknown as KernelFunc },
];


