// One copy of everything a training step needs (generator, discriminator, VGG, optimizers), able
// to run in the main thread or in a worker thread. A step is two phases for SRGAN (generator,
// then discriminator) and one for SRResNet. In each phase every replica computes the gradient of
// its shard, the exchange averages the gradients of all replicas, and each replica applies the
// same averaged gradient, so the replicas stay identical.
//
// Batch-norm statistics are per shard (as in data-parallel training without SyncBN). To keep a
// run independent of how many threads execute it, a replica can also process its shard as
// several micro-batches (`accumulate`): 1 worker x 2 micro-batches computes exactly what 2
// workers x 1 micro-batch do, up to float rounding.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildModel, type ModelConfig } from '../models/index.js';
import { namedWeights, assignArrays } from '../models/weights.js';
import type { NamedArray } from '../models/safetensors.js';
import { pixelMse } from '../losses/pixel.js';
import { generatorAdversarialLoss, discriminatorLosses } from '../losses/adversarial.js';
import { vggContentLoss, CONTENT_LAYERS, type ContentLoss } from '../losses/perceptual.js';
import { loadVgg19 } from '../models/vgg19_weights.js';
import { Adam } from './adam.js';
import type { GradientExchange } from './exchange.js';
import type { TrainMode } from './options.js';
import { weightedMse, tosrLoss } from '../video/losses.js';
import { warpPlan, type WarpPlan } from '../video/warp.js';

export type Phase = 'g' | 'd';

export interface ReplicaSetup {
  mode: TrainMode;
  generator: ModelConfig;
  discriminator?: ModelConfig;
  content: ContentLoss;
  vggWeights?: string;
  advWeight: number;
  beta1: number;
  /** tosr: lambda of the temporal terms */
  temporalWeight?: number;
}

/**
 * A shard of a batch: LR in [0,1], HR in [-1,1], NHWC float32. The video modes add frames per
 * sample (lr [n, frames, l, l, 3], hr [n, frames, P, P, 3]) and per-pixel data on the HR grid
 * (aux [n, P, P, auxChannels]: SoSR's loss weights, or ToSR's flow and validity).
 */
export interface Shard {
  lr: Float32Array;
  hr: Float32Array;
  n: number;
  lrSize: number;
  hrSize: number;
  frames?: number;
  aux?: Float32Array;
  auxChannels?: number;
}

export type Losses = Record<string, number>;

interface Net {
  model: tfl.LayersModel;
  trainable: tf.Variable[];
  trainableNames: string[];
  /** Non-trainable weights (batch-norm moving statistics). */
  stats: tfl.LayerVariable[];
  statNames: string[];
  opt: Adam;
}

function makeNet(config: ModelConfig, beta1: number): Net {
  const model = buildModel(config);
  const all = namedWeights(model);
  const trainable = all.filter((w) => w.variable.trainable);
  const stats = all.filter((w) => !w.variable.trainable);
  const vars = trainable.map((w) => w.variable.read() as tf.Variable);
  return {
    model,
    trainable: vars,
    trainableNames: trainable.map((w) => w.name),
    stats: stats.map((w) => w.variable),
    statNames: stats.map((w) => w.name),
    opt: new Adam(vars, trainable.map((w) => w.name), { beta1, beta2: 0.999, epsilon: 1e-8 }),
  };
}

function flatten(tensors: readonly tf.Tensor[]): Float32Array {
  const total = tensors.reduce((a, t) => a + t.size, 0);
  const out = new Float32Array(total);
  let off = 0;
  for (const t of tensors) {
    out.set(t.dataSync() as Float32Array, off);
    off += t.size;
  }
  return out;
}

function unflatten(flat: Float32Array, like: readonly { shape: number[]; size: number }[]): tf.Tensor[] {
  let off = 0;
  return like.map((v) => {
    const t = tf.tensor(flat.subarray(off, off + v.size), v.shape);
    off += v.size;
    return t;
  });
}

/** Element-wise mean in a fixed order, shared by the exchange and micro-batch accumulation. */
export function meanOf(arrays: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrays[0]!.length);
  for (const a of arrays) for (let i = 0; i < out.length; i++) out[i]! += a[i]!;
  const k = arrays.length;
  for (let i = 0; i < out.length; i++) out[i]! /= k;
  return out;
}

/** Splits a batch into equal parts; views into the same memory unless `copy`. */
export function splitShard(s: Shard, parts: number, copy = false): Shard[] {
  if (s.n % parts !== 0) throw new Error(`a batch of ${s.n} images cannot be split into ${parts} equal parts`);
  const m = s.n / parts;
  const f = s.frames ?? 1;
  const lrLen = m * f * s.lrSize * s.lrSize * 3;
  const hrLen = m * f * s.hrSize * s.hrSize * 3;
  const auxLen = m * s.hrSize * s.hrSize * (s.auxChannels ?? 0);
  const cut = (a: Float32Array, len: number, i: number) => (copy ? a.slice(i * len, (i + 1) * len) : a.subarray(i * len, (i + 1) * len));
  return Array.from({ length: parts }, (_, i) => ({
    lr: cut(s.lr, lrLen, i),
    hr: cut(s.hr, hrLen, i),
    n: m,
    lrSize: s.lrSize,
    hrSize: s.hrSize,
    ...(s.frames !== undefined ? { frames: s.frames } : {}),
    ...(s.aux && s.auxChannels ? { aux: cut(s.aux, auxLen, i), auxChannels: s.auxChannels } : {}),
  }));
}

export class Replica {
  readonly g: Net;
  readonly d?: Net;
  private vgg?: tfl.LayersModel;
  /** SR outputs of the last generator phase, reused as the discriminator's fakes. */
  private fakes: tf.Tensor4D[] = [];

  private constructor(readonly setup: ReplicaSetup, readonly exchange: GradientExchange, readonly accumulate: number) {
    this.g = makeNet(setup.generator, setup.beta1);
    if (setup.mode === 'srgan') {
      if (!setup.discriminator) throw new Error('srgan mode needs a discriminator config');
      this.d = makeNet(setup.discriminator, setup.beta1);
    }
  }

  static async create(setup: ReplicaSetup, exchange: GradientExchange, accumulate = 1): Promise<Replica> {
    const r = new Replica(setup, exchange, accumulate);
    if (setup.content !== 'mse') {
      r.vgg = await loadVgg19(setup.vggWeights!, [CONTENT_LAYERS[setup.content]]);
    }
    return r;
  }

  private contentLoss(sr: tf.Tensor4D, hr: tf.Tensor4D): tf.Scalar {
    if (this.setup.content === 'mse') return pixelMse(sr, hr);
    return vggContentLoss(this.vgg!, CONTENT_LAYERS[this.setup.content], sr, hr);
  }

  /** The per-pixel inputs of the video losses, from the shard's aux data. */
  private videoInputs(s: Shard): { weights?: tf.Tensor4D; plan?: WarpPlan; mask?: tf.Tensor4D } {
    const P = s.hrSize;
    const aux = s.aux;
    if (!aux) throw new Error(`${this.setup.mode} needs per-pixel data with each sample (a sequence dataset)`);
    if (this.setup.mode === 'sosr') return { weights: tf.tensor4d(aux, [s.n, P, P, 1]) };
    const px = s.n * P * P;
    const flow = new Float32Array(px * 2);
    const mask = new Float32Array(px);
    for (let i = 0; i < px; i++) {
      flow[2 * i] = aux[3 * i]!;
      flow[2 * i + 1] = aux[3 * i + 1]!;
      mask[i] = aux[3 * i + 2]!;
    }
    return { plan: warpPlan(flow, s.n, P, P), mask: tf.tensor4d(mask, [s.n, P, P, 1]) };
  }

  /** Gradient of one micro-batch; losses by name. */
  private microGradients(phase: Phase, s: Shard, index: number): { grads: Float32Array; losses: Losses } {
    // Video samples carry their frames side by side: the generator sees them as one batch.
    const frames = s.frames ?? 1;
    const lr = tf.tensor4d(s.lr, [s.n * frames, s.lrSize, s.lrSize, 3]);
    const hr = tf.tensor4d(s.hr, [s.n * frames, s.hrSize, s.hrSize, 3]);
    const parts: Record<string, tf.Scalar> = {};
    const net = phase === 'g' ? this.g : this.d!;
    const video = phase === 'g' && (this.setup.mode === 'sosr' || this.setup.mode === 'tosr') ? this.videoInputs(s) : null;
    try {
      const { value, grads } = tf.variableGrads(() => {
        if (phase === 'g' && this.setup.mode === 'sosr') {
          const sr = this.g.model.apply(lr, { training: true }) as tf.Tensor4D;
          const weighted = weightedMse(sr, hr, video!.weights!);
          parts['pixel_weighted'] = tf.keep(weighted);
          parts['pixel'] = tf.keep(tf.mean(tf.squaredDifference(sr, hr)) as tf.Scalar);
          return weighted;
        }
        if (phase === 'g' && this.setup.mode === 'tosr') {
          const sr = this.g.model.apply(lr, { training: true }) as tf.Tensor4D;
          const t = tosrLoss(sr, hr, video!.plan!, video!.mask!, this.setup.temporalWeight ?? 1);
          parts['pixel'] = tf.keep(t.pixel);
          parts['temporal_sr'] = tf.keep(t.temporalSr);
          parts['temporal_hr'] = tf.keep(t.temporalHr);
          return t.total;
        }
        if (phase === 'g') {
          const sr = this.g.model.apply(lr, { training: true }) as tf.Tensor4D;
          const content = this.contentLoss(sr, hr);
          parts[this.setup.content === 'mse' ? 'pixel' : this.setup.content] = tf.keep(content);
          let total: tf.Scalar = content;
          if (this.d) {
            const [logit] = this.d.model.apply(sr, { training: true }) as tf.Tensor[];
            const adv = generatorAdversarialLoss(logit!);
            parts['adversarial'] = tf.keep(adv);
            total = tf.add(total, tf.mul(adv, this.setup.advWeight));
            this.fakes[index] = tf.keep(sr);
          }
          return total;
        }
        const fake = this.fakes[index];
        if (!fake) throw new Error('discriminator phase without a preceding generator phase');
        const [logitReal] = this.d!.model.apply(hr, { training: true }) as tf.Tensor[];
        const [logitFake] = this.d!.model.apply(fake, { training: true }) as tf.Tensor[];
        const { real, fake: fakeLoss } = discriminatorLosses(logitReal!, logitFake!);
        parts['d_real'] = tf.keep(real);
        parts['d_fake'] = tf.keep(fakeLoss);
        return tf.add(real, fakeLoss);
      }, net.trainable);
      const ordered = net.trainable.map((v) => grads[v.name]!);
      const flat = flatten(ordered);
      const losses: Losses = {};
      for (const [k, t] of Object.entries(parts)) losses[k] = t.dataSync()[0]!;
      losses[phase === 'g' ? 'g_total' : 'd_total'] = value.dataSync()[0]!;
      tf.dispose([value, ...Object.values(grads)]);
      return { grads: flat, losses };
    } finally {
      tf.dispose([lr, hr, ...Object.values(parts)]);
      if (video) {
        video.plan?.dispose();
        tf.dispose([video.weights, video.mask].filter((t): t is tf.Tensor4D => t !== undefined));
      }
      if (phase === 'd') {
        const f = this.fakes[index];
        if (f) f.dispose();
        delete this.fakes[index];
      }
    }
  }

  /**
   * Runs one phase on this replica's shard: local gradient (averaged over micro-batches),
   * exchange, identical update everywhere. Returns the losses averaged over all replicas.
   */
  async step(phase: Phase, shard: Shard, learningRate: number): Promise<Losses> {
    const net = phase === 'g' ? this.g : this.d!;
    const micro = splitShard(shard, this.accumulate);
    const before = this.readStats(net);
    // The generator phase runs D in training mode too; D's statistics are left to the D phase,
    // where they are averaged across replicas, so every replica keeps the same D.
    const dStats = phase === 'g' && this.d ? this.readStats(this.d) : undefined;
    const gradList: Float32Array[] = [];
    const statList: Float32Array[] = [];
    const lossList: Losses[] = [];
    micro.forEach((m, i) => {
      const r = this.microGradients(phase, m, i);
      gradList.push(r.grads);
      lossList.push(r.losses);
      // Each micro-batch moves the moving statistics from the same starting point, as separate
      // replicas would; the results are averaged below.
      statList.push(this.readStats(net));
      if (micro.length > 1) this.writeStats(net, before);
    });
    if (dStats) this.writeStats(this.d!, dStats);
    const names = Object.keys(lossList[0]!);
    const localLoss = Float32Array.from(names.map((k) => lossList.reduce((a, l) => a + l[k]!, 0) / lossList.length));
    const stats = meanOf(statList);
    // One exchange per phase: gradients, then statistics and losses appended.
    const packed = new Float32Array(gradList[0]!.length + stats.length + localLoss.length);
    packed.set(meanOf(gradList), 0);
    packed.set(stats, gradList[0]!.length);
    packed.set(localLoss, gradList[0]!.length + stats.length);
    const avg = this.exchange.size > 1 ? await this.exchange.allReduceMean(packed) : packed;
    const gradLen = gradList[0]!.length;
    const grads = unflatten(avg.subarray(0, gradLen), net.trainable);
    net.opt.apply(grads, learningRate);
    tf.dispose(grads);
    this.writeStats(net, avg.subarray(gradLen, gradLen + stats.length));
    const out: Losses = {};
    names.forEach((k, i) => (out[k] = avg[gradLen + stats.length + i]!));
    return out;
  }

  private readStats(net: Net): Float32Array {
    return flatten(net.stats.map((s) => s.read()));
  }

  private writeStats(net: Net, flat: Float32Array): void {
    if (net.stats.length === 0) return;
    const ts = unflatten(flat, net.stats.map((s) => s.read()));
    net.stats.forEach((s, i) => s.write(ts[i]!));
    tf.dispose(ts);
  }

  /** Weights and optimizer moments of every network, by stable name. */
  state(): { g: NamedArray[]; d?: NamedArray[]; opt: NamedArray[]; optStep: { g: number; d: number } } {
    const weights = (n: Net) =>
      namedWeights(n.model).map(({ name, variable }) => ({ name, shape: variable.shape.slice() as number[], data: variable.read().dataSync() as Float32Array }));
    return {
      g: weights(this.g),
      ...(this.d ? { d: weights(this.d) } : {}),
      opt: [...this.g.opt.state('G/'), ...(this.d ? this.d.opt.state('D/') : [])],
      optStep: { g: this.g.opt.step, d: this.d ? this.d.opt.step : 0 },
    };
  }

  loadState(s: { g: NamedArray[]; d?: NamedArray[]; opt?: NamedArray[]; optStep?: { g: number; d: number } }, source: string): void {
    assignArrays(this.g.model, new Map(s.g.map((a) => [a.name, a])), source);
    if (this.d && s.d) assignArrays(this.d.model, new Map(s.d.map((a) => [a.name, a])), source);
    if (s.opt) {
      if (!s.optStep) throw new Error(`${source}: optimizer moments without their step count`);
      const m = new Map(s.opt.map((a) => [a.name, a]));
      this.g.opt.load('G/', m, s.optStep.g, source);
      if (this.d) this.d.opt.load('D/', m, s.optStep.d, source);
    }
  }

  dispose(): void {
    for (const n of [this.g, this.d]) {
      if (!n) continue;
      n.opt.dispose();
      n.model.dispose();
    }
    this.vgg?.dispose();
    tf.dispose(this.fakes.filter(Boolean));
  }
}
