// VGG19's convolutional stack (Simonyan & Zisserman 2015, configuration E) as a frozen feature
// extractor for SRGAN's content loss (Ledig et al. 2017): phi_i,j is the map after the ReLU of the
// j-th convolution before the i-th max pool, so "VGG22" = block2_conv2, "VGG54" = block5_conv4.
//
// Layer names, shapes and the ReLU fused into each conv follow Keras' `applications.VGG19`, so the
// published ImageNet weights (Keras .h5, or a TF.js conversion of it) load by layer name.
//
// The network takes the generator's HR range [-1, 1]; the first layer redoes Keras'
// `vgg19.preprocess_input` ('caffe' mode) on it: [0, 255], RGB -> BGR, minus the ImageNet BGR mean,
// no division by a standard deviation. Doing it inside the model keeps the loss a plain function of
// the generator output, differentiable end to end.
import tf = require('@tensorflow/tfjs-core');
import tfl = require('@tensorflow/tfjs-layers');
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { SrError, closest } from '../util/errors.js';
import { registerArchitecture, type ModelConfig } from './registry.js';

/** ImageNet mean in BGR order, on the [0, 255] scale, as Keras' 'caffe' preprocessing subtracts it. */
export const IMAGENET_BGR_MEAN: readonly [number, number, number] = [103.939, 116.779, 123.68];

export interface Vgg19LayerSpec {
  readonly name: string;
  readonly kind: 'conv' | 'pool';
  /** Input and output channels (for pools both equal the preceding conv's filters). */
  readonly cin: number;
  readonly cout: number;
  /** How many 2x2 pools come before this layer's output: the map is (H / 2^k) x (W / 2^k). */
  readonly downsample: number;
}

const BLOCKS: ReadonlyArray<readonly [filters: number, convs: number]> = [
  [64, 2], [128, 2], [256, 4], [512, 4], [512, 4],
];

function planLayers(): Vgg19LayerSpec[] {
  const out: Vgg19LayerSpec[] = [];
  let cin = 3;
  BLOCKS.forEach(([filters, convs], b) => {
    for (let c = 1; c <= convs; c++) {
      out.push({ name: `block${b + 1}_conv${c}`, kind: 'conv', cin, cout: filters, downsample: b });
      cin = filters;
    }
    out.push({ name: `block${b + 1}_pool`, kind: 'pool', cin, cout: cin, downsample: b + 1 });
  });
  return out;
}

/** Every layer of the Keras VGG19 "notop" network after its input, in order. */
export const VGG19_LAYERS: readonly Vgg19LayerSpec[] = Object.freeze(planLayers());
export const VGG19_LAYER_NAMES: readonly string[] = VGG19_LAYERS.map((l) => l.name);
export const VGG19_CONV_LAYERS: readonly Vgg19LayerSpec[] = VGG19_LAYERS.filter((l) => l.kind === 'conv');

/** The content-loss layers named in the SRGAN paper. */
export const VGG22 = 'block2_conv2';
export const VGG54 = 'block5_conv4';

function layerIndex(name: string, where: string): number {
  const i = VGG19_LAYER_NAMES.indexOf(name);
  if (i < 0) {
    const hint = closest(name, VGG19_LAYER_NAMES);
    throw new SrError(`${where}: VGG19 has no layer '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}; layers: ${VGG19_LAYER_NAMES.join(', ')}`);
  }
  return i;
}

/** Kernel shape [3, 3, cin, cout] and bias shape [cout] of a VGG19 conv layer. */
export function vgg19ConvShapes(name: string): { kernel: [number, number, number, number]; bias: [number] } {
  const spec = VGG19_LAYERS[layerIndex(name, 'vgg19ConvShapes')]!;
  if (spec.kind !== 'conv') throw new SrError(`vgg19ConvShapes: '${name}' is a pooling layer and has no weights`);
  return { kernel: [3, 3, spec.cin, spec.cout], bias: [spec.cout] };
}

/**
 * Keras 'caffe' preprocessing of an RGB image in [-1, 1]:
 *   out[..., c] = 127.5 * (x[..., 2 - c] + 1) - mean_bgr[c]
 * Written with differentiable ops only (reverse, mul, add).
 */
export function vggPreprocess(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const offset = tf.tensor1d(IMAGENET_BGR_MEAN.map((m) => 127.5 - m));
    return tf.add(tf.mul(tf.reverse(x, -1), 127.5), offset) as tf.Tensor4D;
  });
}

/** The preprocessing as a layer, so that a saved model carries it. It has no weights. */
export class VggPreprocess extends tfl.layers.Layer {
  static className = 'VggPreprocess';

  constructor(args: { name?: string } = {}) {
    super(args.name ? { name: args.name } : {});
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = inputShape as tfl.Shape;
    if (s[s.length - 1] != null && s[s.length - 1] !== 3) {
      throw new SrError(`VGG19 input must have 3 channels (RGB in [-1, 1]), got shape [${s.map(String).join(', ')}]`);
    }
    return s;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return vggPreprocess(x as tf.Tensor4D);
  }
}
tf.serialization.registerClass(VggPreprocess);

export interface Vgg19FeatureOptions {
  /** Layers whose outputs (after ReLU for convs) the model returns, in this order. */
  layers: readonly string[];
  /** Model name; default 'vgg19_features'. */
  name?: string;
}

/**
 * Builds VGG19 up to the deepest requested layer, with random weights that are frozen:
 * load real ones with `loadVgg19Weights`. One output per requested layer, in the order given.
 * Input: [batch, H, W, 3] RGB in [-1, 1]; H and W should be multiples of 2^(pools before the
 * deepest layer), otherwise the pools drop the last row/column as Keras' do.
 */
export function buildVgg19Features(opts: Vgg19FeatureOptions): tfl.LayersModel {
  const wanted = [...new Set(opts.layers)];
  if (wanted.length === 0) throw new SrError(`buildVgg19Features: no layers requested; e.g. '${VGG22}' (VGG22) or '${VGG54}' (VGG54)`);
  const deepest = Math.max(...wanted.map((n) => layerIndex(n, 'buildVgg19Features')));

  const input = tfl.input({ shape: [null, null, 3], name: 'vgg19_input' });
  let x = new VggPreprocess({ name: 'vgg19_preprocess' }).apply(input) as SymbolicTensor;
  const outputs = new Map<string, SymbolicTensor>();
  // He-normal rather than Keras' Glorot: a random VGG (tests, smoke runs) then keeps its activations
  // at a steady scale through 16 ReLU convs instead of fading by about 2^-8.
  for (const spec of VGG19_LAYERS.slice(0, deepest + 1)) {
    x = spec.kind === 'conv'
      ? tfl.layers.conv2d({
        name: spec.name, filters: spec.cout, kernelSize: 3, padding: 'same', activation: 'relu',
        kernelInitializer: 'heNormal', trainable: false,
      }).apply(x) as SymbolicTensor
      : tfl.layers.maxPooling2d({ name: spec.name, poolSize: 2, strides: 2 }).apply(x) as SymbolicTensor;
    outputs.set(spec.name, x);
  }
  const model = tfl.model({ inputs: input, outputs: wanted.map((n) => outputs.get(n)!), name: opts.name ?? 'vgg19_features' });
  // A perceptual loss must never move the network it measures with.
  model.trainable = false;
  return model;
}

/** Names of the layers a feature model returns, in output order. */
export function vgg19OutputLayers(model: tfl.LayersModel): string[] {
  return model.outputs.map((o) => o.sourceLayer.name);
}

/**
 * Runs the extractor and names its outputs. Uses `apply`, not `predict`, so that it can sit inside
 * tf.grad / optimizer.minimize: gradients flow to `x`, never into the frozen VGG weights.
 */
export function vgg19Features(model: tfl.LayersModel, x: tf.Tensor4D): Record<string, tf.Tensor4D> {
  const out = model.apply(x, { training: false }) as tf.Tensor4D | tf.Tensor4D[];
  const list = Array.isArray(out) ? out : [out];
  const names = vgg19OutputLayers(model);
  return Object.fromEntries(names.map((n, i) => [n, list[i]!]));
}

export interface Vgg19Config extends ModelConfig {
  readonly type: 'vgg19';
  readonly upTo: string;
}

/** Sum over the conv layers up to and including `upTo`: 3*3*cin*cout (kernel) + cout (bias). */
export function vgg19Params(upTo: string): number {
  const last = layerIndex(upTo, 'vgg19Params');
  let n = 0;
  for (const s of VGG19_LAYERS.slice(0, last + 1)) if (s.kind === 'conv') n += 9 * s.cin * s.cout + s.cout;
  return n;
}

/**
 * Forward FLOPs (2 per multiply-add) for an h x w input, convolutions only: each conv at its
 * resolution n = (h / 2^k)(w / 2^k) costs 2 * n * 9 * cin * cout.
 */
export function vgg19Flops(upTo: string, h: number, w: number): number {
  const last = layerIndex(upTo, 'vgg19Flops');
  let f = 0;
  for (const s of VGG19_LAYERS.slice(0, last + 1)) {
    if (s.kind !== 'conv') continue;
    const d = 2 ** s.downsample;
    f += 2 * Math.floor(h / d) * Math.floor(w / d) * 9 * s.cin * s.cout;
  }
  return f;
}

registerArchitecture<Vgg19Config>({
  name: 'vgg19',
  description: 'VGG19 feature extractor for the perceptual (content) loss: Keras layer names, frozen, ImageNet preprocessing built in',
  fields: {
    upTo: { kind: 'string', default: VGG54, oneOf: VGG19_LAYER_NAMES, help: `deepest layer, whose output the model returns ('${VGG22}' = VGG22, '${VGG54}' = VGG54)` },
  },
  build: (cfg) => buildVgg19Features({ layers: [cfg.upTo] }),
  paramCount: (cfg) => vgg19Params(cfg.upTo),
  flops: (cfg, h, w) => vgg19Flops(cfg.upTo, h, w),
});
