// A network's weights as the training machinery holds them, whatever engine computes the
// gradients: the trainable weights in one flat float32 array, the batch-norm moving statistics
// in another, each slice named after the safetensors tensor it becomes. Adam (Kingma & Ba 2015,
// as in the SRGAN paper) updates the flat arrays in place, so every data-parallel replica holds
// bit-identical state and checkpoints name the moments after the weights.
import type * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { namedWeights } from '../models/weights.js';
import type { NamedArray } from '../models/safetensors.js';

export interface Slot {
  name: string;
  shape: number[];
  offset: number;
  size: number;
}

export interface AdamOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
}

function layout(entries: Array<{ name: string; shape: number[] }>): { slots: Slot[]; total: number } {
  let offset = 0;
  const slots = entries.map(({ name, shape }) => {
    const size = shape.reduce((a, b) => a * b, 1);
    const s = { name, shape, offset, size };
    offset += size;
    return s;
  });
  return { slots, total: offset };
}

export class NetState {
  readonly trainable: Slot[];
  readonly stats: Slot[];
  readonly weights: Float32Array;
  readonly statValues: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
  step = 0;
  /** Bumped on every change of the weights, so engines that mirror them know when to copy. */
  version = 0;

  constructor(model: tfl.LayersModel, readonly adam: AdamOptions) {
    const all = namedWeights(model).map(({ name, variable }) => ({ name, shape: variable.shape.slice() as number[], trainable: variable.trainable }));
    const t = layout(all.filter((w) => w.trainable));
    const s = layout(all.filter((w) => !w.trainable));
    this.trainable = t.slots;
    this.stats = s.slots;
    this.weights = new Float32Array(t.total);
    this.statValues = new Float32Array(s.total);
    this.m = new Float32Array(t.total);
    this.v = new Float32Array(t.total);
  }

  /** Copies the model's current weights in (after an initialisation done on the model). */
  pull(model: tfl.LayersModel): void {
    const byName = new Map(namedWeights(model).map((w) => [w.name, w.variable]));
    const read = (slots: Slot[], into: Float32Array) => {
      for (const s of slots) into.set(byName.get(s.name)!.read().dataSync() as Float32Array, s.offset);
    };
    read(this.trainable, this.weights);
    read(this.stats, this.statValues);
    this.version += 1;
  }

  /** Writes the weights (or another set of trainable values, e.g. their average) into a model of the same network. */
  push(model: tfl.LayersModel, trainable: Float32Array = this.weights): void {
    const byName = new Map(namedWeights(model).map((w) => [w.name, w.variable]));
    tf.tidy(() => {
      for (const s of this.trainable) byName.get(s.name)!.write(tf.tensor(trainable.subarray(s.offset, s.offset + s.size), s.shape));
      for (const s of this.stats) byName.get(s.name)!.write(tf.tensor(this.statValues.subarray(s.offset, s.offset + s.size), s.shape));
    });
  }

  /** One Adam step with the (exchanged) gradient of the trainable weights. */
  applyAdam(grad: Float32Array, learningRate: number): void {
    if (grad.length !== this.weights.length) throw new Error(`Adam: ${grad.length} gradient values for ${this.weights.length} weights`);
    this.step += 1;
    const { beta1, beta2, epsilon } = this.adam;
    // Bias corrections folded into the step size, as in the paper's Algorithm 1 (final note).
    const alpha = (learningRate * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    const { weights: p, m, v } = this;
    const b1 = Math.fround(beta1);
    const c1 = Math.fround(1 - beta1);
    const b2 = Math.fround(beta2);
    const c2 = Math.fround(1 - beta2);
    for (let i = 0; i < p.length; i++) {
      const g = grad[i]!;
      const mi = (m[i] = b1 * m[i]! + c1 * g);
      const vi = (v[i] = b2 * v[i]! + c2 * g * g);
      p[i] = p[i]! - (alpha * mi) / (Math.sqrt(vi) + epsilon);
    }
    this.version += 1;
  }

  setStats(values: Float32Array): void {
    this.statValues.set(values);
    this.version += 1;
  }

  /** Every weight (trainable and statistics) by name, in the model's order, as views. */
  arrays(trainable: Float32Array = this.weights): NamedArray[] {
    const view = (a: Float32Array) => (s: Slot): NamedArray => ({ name: s.name, shape: s.shape.slice(), data: a.subarray(s.offset, s.offset + s.size) });
    return [...this.trainable.map(view(trainable)), ...this.stats.map(view(this.statValues))];
  }

  optimizerArrays(prefix: string): NamedArray[] {
    return this.trainable.flatMap((s) => [
      { name: `${prefix}${s.name}/m`, shape: s.shape.slice(), data: this.m.subarray(s.offset, s.offset + s.size) },
      { name: `${prefix}${s.name}/v`, shape: s.shape.slice(), data: this.v.subarray(s.offset, s.offset + s.size) },
    ]);
  }

  /** Loads weights (and, when given, Adam's moments and step) by name; anything missing is an error. */
  load(weights: ReadonlyMap<string, NamedArray>, source: string, opt?: { prefix: string; arrays: ReadonlyMap<string, NamedArray>; step: number }): void {
    const take = (s: Slot, a: NamedArray | undefined, into: Float32Array, what: string) => {
      if (!a || a.data.length !== s.size) throw new Error(`${source}: ${what} for '${s.name}' is missing or mis-shaped`);
      into.set(a.data, s.offset);
    };
    for (const s of this.trainable) take(s, weights.get(s.name), this.weights, 'weight');
    for (const s of this.stats) take(s, weights.get(s.name), this.statValues, 'statistic');
    if (opt) {
      for (const s of this.trainable) {
        take(s, opt.arrays.get(`${opt.prefix}${s.name}/m`), this.m, 'optimizer state (m)');
        take(s, opt.arrays.get(`${opt.prefix}${s.name}/v`), this.v, 'optimizer state (v)');
      }
      this.step = opt.step;
    }
    this.version += 1;
  }
}
