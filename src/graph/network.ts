// A network's forward pass in training mode, emitted from its description (models/spec.ts) onto
// a tape: batch norm on batch statistics, with the moved running statistics as extra results.
// Weights are graph values named after the safetensors tensors (`<layer>/<weight>`).
import type { NetSpec } from '../models/spec.js';
import { VGG19_LAYERS, IMAGENET_BGR_MEAN } from '../models/vgg19.js';
import type { Value } from './builder.js';
import type { Tape } from './tape.js';
import { conv2d } from './conv.js';
import { add, batchNormTrain, prelu, leakyRelu, relu, depthToSpace, flattenNhwc, dense, maxPool2, channelSlice, globalAvgPool, blur3 } from './ops.js';

export interface NetworkResult {
  outputs: Value[];
  /** Moved batch-norm statistics by weight name (`<layer>/moving_mean`, `<layer>/moving_variance`). */
  stats: Map<string, Value>;
}

export function emitNetwork(t: Tape, spec: NetSpec, input: Value, weights: ReadonlyMap<string, Value>): NetworkResult {
  const w = (layer: string, name: string): Value => {
    const v = weights.get(`${layer}/${name}`);
    if (!v) throw new Error(`network ${spec.name}: no weight '${layer}/${name}'`);
    return v;
  };
  const values = new Map<string, Value>([[spec.input.name, input]]);
  const stats = new Map<string, Value>();
  for (const l of spec.layers) {
    t.g.scope = `${spec.name}.${l.name}`;
    const x = values.get(l.inputs[0]!)!;
    let y: Value;
    switch (l.kind) {
      case 'conv':
        y = conv2d(t, x, w(l.name, 'kernel'), l.bias ? w(l.name, 'bias') : null, l.stride);
        break;
      case 'bn': {
        const r = batchNormTrain(t, x, w(l.name, 'gamma'), w(l.name, 'beta'), w(l.name, 'moving_mean'), w(l.name, 'moving_variance'), l.epsilon, l.momentum);
        stats.set(`${l.name}/moving_mean`, r.mean);
        stats.set(`${l.name}/moving_variance`, r.variance);
        y = r.y;
        break;
      }
      case 'prelu':
        y = prelu(t, x, w(l.name, 'alpha'));
        break;
      case 'lrelu':
        y = leakyRelu(t, x, l.alpha);
        break;
      case 'add':
        y = add(t, x, values.get(l.inputs[1]!)!);
        break;
      case 'shuffle':
        y = depthToSpace(t, x, l.scale);
        break;
      case 'flatten':
        y = flattenNhwc(t, x);
        break;
      case 'dense':
        y = dense(t, x, w(l.name, 'kernel'), w(l.name, 'bias'));
        break;
      case 'sigmoid':
        // Only the logit feeds the losses (softplus of the logit); the probability is for users.
        y = t.g.node('Sigmoid', [x], {}, x.shape);
        break;
      case 'slice':
        y = channelSlice(t, x, l.from, l.count);
        break;
      case 'gap':
        y = globalAvgPool(t, x);
        break;
      case 'blur':
        y = blur3(t, x);
        break;
    }
    values.set(l.name, y);
  }
  t.g.scope = '';
  return { outputs: spec.outputs.map((n) => values.get(n)!), stats };
}

/**
 * VGG19 features (models/vgg19.ts's layer table) of an NCHW image in [-1, 1], up to `layer`,
 * with Keras' 'caffe' preprocessing as a fixed 1x1 convolution (x127.5, RGB -> BGR, minus the mean).
 */
export function emitVgg19(t: Tape, input: Value, layer: string, weights: ReadonlyMap<string, Value>): Value {
  const g = t.g;
  const k = new Float32Array(9);
  for (let c = 0; c < 3; c++) k[(2 - c) * 3 + c] = 127.5; // kernel [1,1,cin,cout]: cin = 2 - cout
  const kernel = g.constant(k, [1, 1, 3, 3]);
  const bias = g.constant(IMAGENET_BGR_MEAN.map((m) => 127.5 - m), [3]);
  let x = conv2d(t, input, kernel, bias);
  for (const spec of VGG19_LAYERS) {
    if (spec.kind === 'conv') {
      x = relu(t, conv2d(t, x, weights.get(`${spec.name}/kernel`)!, weights.get(`${spec.name}/bias`)!));
    } else {
      x = maxPool2(t, x);
    }
    if (spec.name === layer) return x;
  }
  throw new Error(`VGG19 has no layer '${layer}'`);
}
