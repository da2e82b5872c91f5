// A generator as a standard ONNX graph, so ONNX Runtime (or any ONNX consumer) can run it.
//
// The graph works in NCHW, ONNX's native layout:
//   input  'lr': float32 [N, 3, H, W], RGB in [0, 1]      (N, H and W are symbolic: any size)
//   output 'sr': float32 [N, 3, s*H, s*W], RGB in [-1, 1] (the generator's linear output)
// Mapping from the TF.js (NHWC) layers:
//   Conv2D -> Conv, kernel [kh, kw, cin, cout] transposed to [cout, cin, kh, kw], 'same' padding
//     as explicit symmetric pads (odd kernels, stride 1);
//   Conv2D followed only by BatchNormalization -> one Conv with the BN folded in (inference
//     statistics): W' = W * g / sqrt(v + eps), b' = (b - m) * g / sqrt(v + eps) + beta, in float64;
//   BatchNormalization elsewhere -> BatchNormalization;
//   PReLU (slopes shared over H and W) -> PRelu with slope [C, 1, 1];
//   Add -> Add; PixelShuffle -> DepthToSpace mode "DCR" (TF's channel order, which our layer uses).
// Anything else is refused by name rather than exported wrongly.
//
// One rewrite for speed, exact up to float rounding: a thin convolution after the last pixel
// shuffle (SRResNet's 9x9 64->3 tail, run at full output resolution) is computed before the
// shuffle instead, as its polyphase form: PixelShuffle(r) -> PReLU -> Conv(k, cin -> cout) becomes
// PReLU (slopes tiled r*r times) -> Conv(k', cin*r*r -> cout*r*r) -> DepthToSpace(r), where
// k' = ceil-ish k/r + 1 (9 -> 5 for r = 2). A 3-output convolution is a matrix product with 3 rows,
// which CPU kernels run at a fifth of their usual speed (ONNX Runtime: 20 GFLOP/s against 100 for
// the body's convolutions); with 12 rows and 4x the depth it runs like the rest. ONNX Runtime's
// profile of a 144x144 tile of the shipped SRResNet, one thread, on a busy machine: the tail took
// 0.50 s of 1.59 s before, 0.19 s of 1.16 s after.
import type * as tfl from '@tensorflow/tfjs-layers';
import { SrError } from '../util/errors.js';
import { packageVersion } from '../util/package_info.js';
import type { ModelConfig } from '../models/registry.js';
import { attribute, attributes, encodeModel, floatTensor, valueInfo, type OnnxModel, type OnnxNode, type OnnxTensor } from './onnx_proto.js';

export const ONNX_INPUT = 'lr';
export const ONNX_OUTPUT = 'sr';
export const DEFAULT_OPSET = 17;
/** DepthToSpace's `mode` attribute arrived in opset 11. */
export const MIN_OPSET = 11;
export const MAX_OPSET = 21;

// The IR version that introduced each opset (onnx/helper.py's VERSION_TABLE); writing the lowest
// one that fits lets older runtimes load the file.
const IR_FOR_OPSET: Record<number, number> = { 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10 };

/** Keys of the ONNX file's metadata_props. */
export const ONNX_META = { config: 'srgan-js.config', scale: 'srgan-js.scale', outputRange: 'srgan-js.output_range' } as const;

export interface OnnxExportOptions {
  opset?: number;
  /** Model architecture config, stored in the metadata (the scale is read from it). */
  config?: ModelConfig;
  /** Extra metadata_props (strings). */
  metadata?: Record<string, string>;
  /**
   * PReLU at input resolution as (1 - a) * Relu(x) + a * x, the two products per-channel
   * (depthwise 1x1) convolutions. ONNX Runtime's CPU provider runs convolutions in a blocked layout
   * (NCHWc) but has no blocked PRelu, so it converts the layout before and after every PReLU, and
   * cannot fuse the residual Adds between them into the convolutions; written this way the whole
   * body stays blocked. After a pixel shuffle the tensors are 4x and 16x larger, and the extra
   * intermediates cost more memory than the layout changes cost time, so those stay PRelu. A
   * 198x180 tile of the shipped SRResNet, one thread, on a busy machine: PRelu everywhere 2.20 s a
   * run and 458 MiB a session; this 1.98 s and 438 MiB; every PReLU rewritten 1.86 s but 788 MiB.
   * For the Node engine; other runtimes (the browser's WASM build) do better with one PRelu.
   */
  preluAsDepthwise?: boolean;
}

export interface OnnxExportResult {
  bytes: Uint8Array;
  /** How many batch norms were folded into convolutions. */
  folded: number;
  /** ONNX op types, in graph order. */
  ops: string[];
}

type Layer = tfl.layers.Layer;

function className(l: Layer): string {
  return l.getClassName();
}

function inputsOf(l: Layer): Layer[] {
  const node = l.inboundNodes[0];
  return node ? node.inboundLayers : [];
}

function weightsByName(l: Layer): Map<string, { data: Float32Array; shape: number[] }> {
  const out = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const w of l.weights) {
    const t = w.read();
    out.set(w.originalName.split('/').pop()!, { data: t.dataSync() as Float32Array, shape: t.shape.slice() });
  }
  return out;
}

/** Kernel [kh, kw, cin, cout] (TF) -> [cout, cin, kh, kw] (ONNX), in float64 for the folding. */
function transposeKernel(k: Float32Array, [kh, kw, cin, cout]: number[]): Float64Array {
  const out = new Float64Array(k.length);
  for (let y = 0; y < kh!; y++)
    for (let x = 0; x < kw!; x++)
      for (let i = 0; i < cin!; i++)
        for (let o = 0; o < cout!; o++) out[((o * cin! + i) * kh! + y) * kw! + x] = k[((y * kw! + x) * cin! + i) * cout! + o]!;
  return out;
}

interface BnParams {
  gamma: Float64Array;
  beta: Float64Array;
  mean: Float64Array;
  variance: Float64Array;
  epsilon: number;
}

function bnParams(l: Layer): BnParams {
  const cfg = l.getConfig() as { axis?: number | number[]; epsilon?: number };
  const axis = Array.isArray(cfg.axis) ? cfg.axis : [cfg.axis ?? -1];
  if (axis.length !== 1 || (axis[0] !== -1 && axis[0] !== 3)) {
    throw new SrError(`cannot export layer '${l.name}': batch norm over axis ${JSON.stringify(cfg.axis)}, only the channel axis is supported`);
  }
  const w = weightsByName(l);
  const mean = w.get('moving_mean');
  const variance = w.get('moving_variance');
  if (!mean || !variance) throw new SrError(`cannot export layer '${l.name}': batch norm without moving statistics`);
  const c = mean.data.length;
  const f64 = (name: string, fallback: number) => {
    const a = w.get(name);
    return a ? Float64Array.from(a.data) : new Float64Array(c).fill(fallback);
  };
  return { gamma: f64('gamma', 1), beta: f64('beta', 0), mean: Float64Array.from(mean.data), variance: Float64Array.from(variance.data), epsilon: cfg.epsilon ?? 1e-3 };
}

function depthToSpace(name: string, input: string, output: string, r: number): OnnxNode {
  return {
    name,
    op_type: 'DepthToSpace',
    input: [input],
    output: [output],
    attribute: attributes({ blocksize: r, mode: 'DCR' }),
  };
}

function checkOpset(opset: number): void {
  if (!Number.isInteger(opset) || opset < MIN_OPSET || opset > MAX_OPSET) {
    throw new SrError(`ONNX opset must be an integer from ${MIN_OPSET} to ${MAX_OPSET}, got ${opset}`);
  }
}

/** A convolution is thin when its output has at most this many channels after the rewrite. */
const THIN_CHANNELS = 16;

/**
 * The polyphase form of a stride-1 'same' convolution applied after DepthToSpace(r) (DCR): the
 * same result computed on the r*r sub-pixel planes before the shuffle. `kernel` is ONNX
 * [cout, cin, kh, kw]. Output phase p along an axis, tap d (-P..P) reads sub-pixel plane
 * q = (p + d) mod r at offset m = floor((p + d) / r), so each (p, d) lands on exactly one
 * (q, m): the new kernel holds the same numbers, rearranged, with zeros where no tap falls.
 * Zero padding carries over exactly: a sample outside the HR image is a plane sample outside the
 * LR grid.
 */
export function polyphase(kernel: Float32Array, [cout, cin, kh, kw]: number[], bias: Float32Array | null, r: number) {
  const axis = (k: number) => {
    const P = (k - 1) / 2;
    const lo = Math.floor(-P / r);
    const hi = Math.floor((r - 1 + P) / r);
    return { P, lo, size: hi - lo + 1, before: -lo, after: hi };
  };
  const ay = axis(kh!);
  const ax = axis(kw!);
  const r2 = r * r;
  const co = cout! * r2;
  const ci = cin! * r2;
  const weight = new Float32Array(co * ci * ay.size * ax.size);
  for (let py = 0; py < r; py++)
    for (let px = 0; px < r; px++)
      for (let dy = -ay.P; dy <= ay.P; dy++)
        for (let dx = -ax.P; dx <= ax.P; dx++) {
          const my = Math.floor((py + dy) / r);
          const mx = Math.floor((px + dx) / r);
          const qy = py + dy - my * r;
          const qx = px + dx - mx * r;
          for (let o = 0; o < cout!; o++)
            for (let c = 0; c < cin!; c++) {
              const dst = ((((py * r + px) * cout! + o) * ci + (qy * r + qx) * cin! + c) * ay.size + (my - ay.lo)) * ax.size + (mx - ax.lo);
              weight[dst] = kernel[((o * cin! + c) * kh! + dy + ay.P) * kw! + dx + ax.P]!;
            }
        }
  const b = bias ? new Float32Array(co).map((_, i) => bias[i % cout!]!) : null;
  return { weight, dims: [co, ci, ay.size, ax.size], bias: b, pads: [ay.before, ax.before, ay.after, ax.after] };
}

/**
 * Converts a TF.js generator to an ONNX ModelProto (bytes). The model is only read; the caller
 * still owns (and disposes) it.
 */
export function exportOnnx(model: tfl.LayersModel, opts: OnnxExportOptions = {}): OnnxExportResult {
  const opset = opts.opset ?? DEFAULT_OPSET;
  checkOpset(opset);
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new SrError(`cannot export '${model.name}': ONNX export needs one input and one output, the model has ${model.inputs.length} and ${model.outputs.length}`);
  }
  const inShape = model.inputs[0]!.shape;
  if (inShape.length !== 4 || inShape[3] !== 3) throw new SrError(`cannot export '${model.name}': input shape [${inShape}] is not [batch, height, width, 3]`);
  const outShape = model.outputs[0]!.shape;
  if (outShape.length !== 4 || outShape[3] !== 3) throw new SrError(`cannot export '${model.name}': output shape [${outShape}] is not [batch, height, width, 3]`);

  const outputLayer = model.outputs[0]!.sourceLayer.name;
  const consumers = new Map<string, Layer[]>();
  for (const l of model.layers) for (const src of inputsOf(l)) consumers.set(src.name, [...(consumers.get(src.name) ?? []), l]);

  // Thin convolutions behind a pixel shuffle and a PReLU, computed before the shuffle (polyphase()).
  const tailOf = new Map<string, number>(); // shuffle, PReLU and conv names -> the shuffle's factor
  for (const l of model.layers) {
    const single = (x: Layer) => (consumers.get(x.name)?.length === 1 ? consumers.get(x.name)![0]! : null);
    const p = className(l) === 'PixelShuffle' ? single(l) : null;
    const k = p && className(p) === 'PReLU' ? single(p) : null;
    if (!p || !k || className(k) !== 'Conv2D' || inputsOf(k).length !== 1) continue;
    const r = (l.getConfig() as { scale: number }).scale;
    const after = single(k);
    const linear = ((k.getConfig() as { activation?: string }).activation ?? 'linear') === 'linear';
    if (!linear || (after && className(after) === 'BatchNormalization') || (k.weights[0]!.shape[3] as number) * r * r > THIN_CHANNELS) continue;
    for (const x of [l, p, k]) tailOf.set(x.name, r);
  }

  // Each layer's output gets the layer's name in the graph, except the model's input and output.
  const tensorName = new Map<string, string>();
  const nameOf = (l: Layer): string => {
    const n = tensorName.get(l.name);
    if (n === undefined) throw new Error(`internal: layer '${l.name}' used before it was converted`);
    return n;
  };
  const outName = (l: Layer): string => (l.name === outputLayer ? ONNX_OUTPUT : l.name);

  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const addInit = (name: string, data: Float32Array, dims: number[]) => {
    inits.push(floatTensor(name, dims, data));
    return name;
  };
  const folded = new Set<string>();
  let scale = 1;

  for (const l of model.layers) {
    const kind = className(l);
    const srcs = inputsOf(l);
    switch (kind) {
      case 'InputLayer':
        tensorName.set(l.name, ONNX_INPUT);
        break;
      case 'Conv2D': {
        const cfg = l.getConfig() as { strides?: number[]; dilationRate?: number | number[]; padding?: string; activation?: string; dataFormat?: string; groups?: number };
        const [kh, kw, cin, cout] = (l.weights[0]!.shape as number[]);
        const ones = (v: number | number[] | undefined) => v === undefined || (Array.isArray(v) ? v.every((x) => x === 1) : v === 1);
        if (!ones(cfg.strides) || !ones(cfg.dilationRate) || (cfg.groups ?? 1) !== 1 || cfg.dataFormat === 'channelsFirst') {
          throw new SrError(`cannot export layer '${l.name}': only stride-1, undilated, ungrouped channels-last convolutions are supported`);
        }
        if (cfg.padding !== 'same' || kh! % 2 === 0 || kw! % 2 === 0) {
          throw new SrError(`cannot export layer '${l.name}': padding '${cfg.padding}' with a ${kh}x${kw} kernel; only 'same' with odd kernels is supported`);
        }
        const act = cfg.activation ?? 'linear';
        if (act !== 'linear' && act !== 'relu') throw new SrError(`cannot export layer '${l.name}': activation '${act}' is not supported (linear, relu)`);
        const w = weightsByName(l);
        const kernel = transposeKernel(w.get('kernel')!.data, [kh!, kw!, cin!, cout!]);
        const bias = w.get('bias') ? Float64Array.from(w.get('bias')!.data) : null;
        // Fold a following batch norm when it is the conv's only reader and the conv is linear.
        const next = consumers.get(l.name) ?? [];
        const bn = act === 'linear' && next.length === 1 && className(next[0]!) === 'BatchNormalization' ? next[0]! : null;
        let k32: Float32Array;
        let b32: Float32Array | null;
        if (bn) {
          const p = bnParams(bn);
          const per = cin! * kh! * kw!;
          k32 = new Float32Array(kernel.length);
          b32 = new Float32Array(cout!);
          for (let o = 0; o < cout!; o++) {
            const s = p.gamma[o]! / Math.sqrt(p.variance[o]! + p.epsilon);
            for (let j = 0; j < per; j++) k32[o * per + j] = kernel[o * per + j]! * s;
            b32[o] = ((bias ? bias[o]! : 0) - p.mean[o]!) * s + p.beta[o]!;
          }
          folded.add(bn.name);
        } else {
          k32 = Float32Array.from(kernel);
          b32 = bias ? Float32Array.from(bias) : null;
        }
        const target = bn ?? l;
        // A thin tail runs on the sub-pixel planes, then the shuffle it was moved past (polyphase()).
        const r = tailOf.get(l.name);
        const pk = r !== undefined ? polyphase(k32, [cout!, cin!, kh!, kw!], b32, r) : null;
        const [ph, pw] = [(kh! - 1) / 2, (kw! - 1) / 2];
        const convOut = pk ? `${l.name}_phases` : act === 'relu' ? `${l.name}_linear` : outName(target);
        const dims = pk ? pk.dims : [cout!, cin!, kh!, kw!];
        const inputs = [nameOf(srcs[0]!), addInit(`${l.name}.weight`, pk ? pk.weight : k32, dims)];
        const b = pk ? pk.bias : b32;
        if (b) inputs.push(addInit(`${l.name}.bias`, b, [dims[0]!]));
        nodes.push({
          name: l.name,
          op_type: 'Conv',
          input: inputs,
          output: [convOut],
          attribute: attributes({ kernel_shape: dims.slice(2), pads: pk ? pk.pads : [ph, pw, ph, pw], strides: [1, 1], dilations: [1, 1] }),
        });
        if (pk) nodes.push(depthToSpace(`${l.name}_shuffle`, convOut, outName(l), r!));
        if (act === 'relu') nodes.push({ name: `${l.name}_relu`, op_type: 'Relu', input: [convOut], output: [outName(l)] });
        tensorName.set(target.name, outName(target));
        if (bn) tensorName.set(l.name, outName(target));
        break;
      }
      case 'BatchNormalization': {
        if (folded.has(l.name)) break;
        const p = bnParams(l);
        const c = p.mean.length;
        const ins = [nameOf(srcs[0]!)];
        for (const [suffix, arr] of [['scale', p.gamma], ['bias', p.beta], ['mean', p.mean], ['var', p.variance]] as const) {
          ins.push(addInit(`${l.name}.${suffix}`, Float32Array.from(arr), [c]));
        }
        nodes.push({ name: l.name, op_type: 'BatchNormalization', input: ins, output: [outName(l)], attribute: [attribute('epsilon', { float: p.epsilon })] });
        tensorName.set(l.name, outName(l));
        break;
      }
      case 'PReLU': {
        const alpha = weightsByName(l).get('alpha');
        if (!alpha) throw new SrError(`cannot export layer '${l.name}': PReLU without slopes`);
        // sharedAxes [1, 2] leaves slopes of shape [1, 1, C]; anything else varies over space.
        if (alpha.shape.length !== 3 || alpha.shape[0] !== 1 || alpha.shape[1] !== 1) {
          throw new SrError(`cannot export layer '${l.name}': PReLU slopes of shape [${alpha.shape}]; only per-channel slopes (sharedAxes [1, 2]) are supported`);
        }
        // Before a shuffle (a polyphase tail), channel (i*r + j)*C + c is sub-pixel (i, j) of channel c.
        const r2 = (tailOf.get(l.name) ?? 1) ** 2;
        const c = alpha.data.length * r2;
        const slopes = new Float32Array(c).map((_, i) => alpha.data[i % alpha.data.length]!);
        if (opts.preluAsDepthwise && scale === 1) {
          const x = nameOf(srcs[0]!);
          const perChannel = (name: string, input: string, w: Float32Array): OnnxNode => ({
            name,
            op_type: 'Conv',
            input: [input, addInit(`${name}.weight`, w, [c, 1, 1, 1])],
            output: [name],
            attribute: attributes({ group: c, kernel_shape: [1, 1] }),
          });
          nodes.push({ name: `${l.name}_relu`, op_type: 'Relu', input: [x], output: [`${l.name}_relu`] });
          nodes.push(perChannel(`${l.name}_positive`, `${l.name}_relu`, slopes.map((a) => 1 - a)));
          nodes.push(perChannel(`${l.name}_linear`, x, slopes));
          nodes.push({ name: l.name, op_type: 'Add', input: [`${l.name}_positive`, `${l.name}_linear`], output: [outName(l)] });
        } else {
          nodes.push({ name: l.name, op_type: 'PRelu', input: [nameOf(srcs[0]!), addInit(`${l.name}.slope`, slopes, [c, 1, 1])], output: [outName(l)] });
        }
        tensorName.set(l.name, outName(l));
        break;
      }
      case 'Add': {
        if (srcs.length < 2) throw new SrError(`cannot export layer '${l.name}': an Add with ${srcs.length} input`);
        let acc = nameOf(srcs[0]!);
        for (let i = 1; i < srcs.length; i++) {
          const out = i === srcs.length - 1 ? outName(l) : `${l.name}_partial${i}`;
          nodes.push({ name: i === srcs.length - 1 ? l.name : `${l.name}_${i}`, op_type: 'Add', input: [acc, nameOf(srcs[i]!)], output: [out] });
          acc = out;
        }
        tensorName.set(l.name, outName(l));
        break;
      }
      case 'PixelShuffle': {
        const r = (l.getConfig() as { scale: number }).scale;
        scale *= r;
        if (tailOf.has(l.name)) {
          tensorName.set(l.name, nameOf(srcs[0]!)); // the shuffle moves behind the tail conv
          break;
        }
        nodes.push(depthToSpace(l.name, nameOf(srcs[0]!), outName(l), r));
        tensorName.set(l.name, outName(l));
        break;
      }
      default:
        throw new SrError(`cannot export layer '${l.name}' of type ${kind} to ONNX (supported: Conv2D, BatchNormalization, PReLU, Add, PixelShuffle)`);
    }
  }
  if (tensorName.get(outputLayer) !== ONNX_OUTPUT) throw new Error(`internal: output layer '${outputLayer}' was not converted`);
  if (opts.config && typeof opts.config['scale'] === 'number' && opts.config['scale'] !== scale) {
    throw new SrError(`cannot export '${model.name}': its config says scale ${opts.config['scale']} but its layers upscale x${scale}`);
  }

  const metadata: Record<string, string> = { ...opts.metadata, [ONNX_META.scale]: String(scale), [ONNX_META.outputRange]: '[-1,1]' };
  if (opts.config) metadata[ONNX_META.config] = JSON.stringify(opts.config);
  const onnx: OnnxModel = {
    ir_version: IR_FOR_OPSET[opset]!,
    producer_name: 'srgan-js',
    producer_version: packageVersion(),
    doc_string: `x${scale} super-resolution generator. Input 'lr': float32 NCHW [N,3,H,W], RGB in [0,1]. Output 'sr': float32 NCHW [N,3,${scale}H,${scale}W], RGB in [-1,1]; map to [0,1] with (y+1)/2 and clip.`,
    opset_import: [{ domain: '', version: opset }],
    metadata_props: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: model.name,
      node: nodes,
      initializer: inits,
      input: [valueInfo(ONNX_INPUT, ['N', 3, 'H', 'W'], undefined, 'low-resolution RGB in [0, 1], NCHW')],
      output: [valueInfo(ONNX_OUTPUT, ['N', 3, `${scale}H`, `${scale}W`], undefined, 'super-resolved RGB in [-1, 1], NCHW')],
    },
  };
  return { bytes: encodeModel(onnx), folded: folded.size, ops: nodes.map((n) => n.op_type) };
}
