// A network described once, as data: a list of named layers, each reading earlier layers by
// name. The TF.js model (reference engine, evaluation, export) is built from it here, and the
// ONNX training-step generator (src/graph/network.ts) emits the same layers, so a layer is
// added in one place and both engines agree on names, shapes and weight layouts.
import tfl = require('@tensorflow/tfjs-layers');
import type { SymbolicTensor } from '@tensorflow/tfjs-layers';
import { PixelShuffle } from './layers/pixel_shuffle.js';
import { ChannelSlice } from './layers/channel_slice.js';
import { Blur } from './layers/blur.js';

export type LayerSpec = { name: string; inputs: string[] } & (
  | { kind: 'conv'; filters: number; kernel: number; stride: number; bias: boolean; init: 'heNormal' | 'glorotNormal' }
  | { kind: 'bn'; momentum: number; epsilon: number }
  | { kind: 'prelu' }
  | { kind: 'lrelu'; alpha: number }
  | { kind: 'add' }
  | { kind: 'shuffle'; scale: number }
  | { kind: 'flatten' }
  | { kind: 'dense'; units: number }
  | { kind: 'sigmoid' }
  | { kind: 'slice'; from: number; count: number }
  | { kind: 'gap' }
  | { kind: 'blur' }
);

export interface NetSpec {
  name: string;
  input: { name: string; shape: [number | null, number | null, number] };
  layers: LayerSpec[];
  /** Layer names whose outputs the network returns, in order. */
  outputs: string[];
}

/** A small fluent helper for writing specs: each call appends a layer and returns its name. */
export class SpecWriter {
  readonly layers: LayerSpec[] = [];
  constructor(readonly inputName: string) {}

  private push(l: LayerSpec): string {
    this.layers.push(l);
    return l.name;
  }
  conv(name: string, x: string, filters: number, kernel: number, o: { stride?: number; bias?: boolean; init?: 'heNormal' | 'glorotNormal' } = {}): string {
    return this.push({ name, inputs: [x], kind: 'conv', filters, kernel, stride: o.stride ?? 1, bias: o.bias ?? true, init: o.init ?? 'heNormal' });
  }
  // Keras' default momentum (0.99) and epsilon (1e-3) would differ from the paper's PyTorch/TF
  // reference models; 0.9 and 1e-5 follow them.
  bn(name: string, x: string): string {
    return this.push({ name, inputs: [x], kind: 'bn', momentum: 0.9, epsilon: 1e-5 });
  }
  prelu(name: string, x: string): string {
    return this.push({ name, inputs: [x], kind: 'prelu' });
  }
  lrelu(name: string, x: string, alpha: number): string {
    return this.push({ name, inputs: [x], kind: 'lrelu', alpha });
  }
  add(name: string, a: string, b: string): string {
    return this.push({ name, inputs: [a, b], kind: 'add' });
  }
  shuffle(name: string, x: string, scale: number): string {
    return this.push({ name, inputs: [x], kind: 'shuffle', scale });
  }
  flatten(name: string, x: string): string {
    return this.push({ name, inputs: [x], kind: 'flatten' });
  }
  dense(name: string, x: string, units: number): string {
    return this.push({ name, inputs: [x], kind: 'dense', units });
  }
  sigmoid(name: string, x: string): string {
    return this.push({ name, inputs: [x], kind: 'sigmoid' });
  }
  slice(name: string, x: string, from: number, count: number): string {
    return this.push({ name, inputs: [x], kind: 'slice', from, count });
  }
  /** global average pooling: [n, h, w, c] -> [n, c] */
  gap(name: string, x: string): string {
    return this.push({ name, inputs: [x], kind: 'gap' });
  }
  /** fixed per-channel binomial blur (layers/blur.ts), same size */
  blur(name: string, x: string): string {
    return this.push({ name, inputs: [x], kind: 'blur' });
  }
}

/** Builds the TF.js layers model of a spec (channels-last, as TF.js computes). */
export function buildTfjsModel(spec: NetSpec): tfl.LayersModel {
  const input = tfl.input({ shape: spec.input.shape, name: spec.input.name });
  const values = new Map<string, SymbolicTensor>([[spec.input.name, input]]);
  for (const l of spec.layers) {
    const ins = l.inputs.map((n) => {
      const v = values.get(n);
      if (!v) throw new Error(`network ${spec.name}: layer '${l.name}' reads '${n}' before it exists`);
      return v;
    });
    const x = ins[0]!;
    let y: SymbolicTensor;
    switch (l.kind) {
      case 'conv':
        y = tfl.layers.conv2d({
          name: l.name, filters: l.filters, kernelSize: l.kernel, strides: l.stride, padding: 'same', useBias: l.bias,
          kernelInitializer: l.init,
        }).apply(x) as SymbolicTensor;
        break;
      case 'bn':
        y = tfl.layers.batchNormalization({ name: l.name, momentum: l.momentum, epsilon: l.epsilon }).apply(x) as SymbolicTensor;
        break;
      case 'prelu':
        y = tfl.layers.prelu({ name: l.name, sharedAxes: [1, 2], alphaInitializer: tfl.initializers.constant({ value: 0.25 }) }).apply(x) as SymbolicTensor;
        break;
      case 'lrelu':
        y = tfl.layers.leakyReLU({ name: l.name, alpha: l.alpha }).apply(x) as SymbolicTensor;
        break;
      case 'add':
        y = tfl.layers.add({ name: l.name }).apply(ins) as SymbolicTensor;
        break;
      case 'shuffle':
        y = new PixelShuffle({ scale: l.scale, name: l.name }).apply(x) as SymbolicTensor;
        break;
      case 'flatten':
        y = tfl.layers.flatten({ name: l.name }).apply(x) as SymbolicTensor;
        break;
      case 'dense':
        y = tfl.layers.dense({ name: l.name, units: l.units }).apply(x) as SymbolicTensor;
        break;
      case 'sigmoid':
        y = tfl.layers.activation({ name: l.name, activation: 'sigmoid' }).apply(x) as SymbolicTensor;
        break;
      case 'slice':
        y = new ChannelSlice({ name: l.name, from: l.from, count: l.count }).apply(x) as SymbolicTensor;
        break;
      case 'gap':
        y = tfl.layers.globalAveragePooling2d({ name: l.name }).apply(x) as SymbolicTensor;
        break;
      case 'blur':
        y = new Blur({ name: l.name }).apply(x) as SymbolicTensor;
        break;
    }
    values.set(l.name, y);
  }
  return tfl.model({ inputs: input, outputs: spec.outputs.map((n) => values.get(n)!), name: spec.name });
}
