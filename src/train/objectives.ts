// The training modes as objectives, registered by name like the architectures: each declares its
// networks, the data it trains on and its loss terms per phase, once for each engine (the ONNX
// graph for ONNX Runtime, TF.js ops for the reference engine). Everything else (replicas,
// micro-batches, batch-statistics averaging, the gradient exchange, Adam) is shared machinery
// that never asks which mode it runs.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { namedRegistry } from '../util/registry.js';
import type { Value } from '../graph/builder.js';
import type { Tape } from '../graph/tape.js';
import { meanSquaredError, meanAbsoluteError, maskedMse, gridMse, softplusMean, weightedSum, unstack, warp, softmaxCrossEntropy, toNchw } from '../graph/ops.js';
import { pixelLoss, type PixelLoss } from '../losses/pixel.js';
import { generatorAdversarialLoss, discriminatorLosses } from '../losses/adversarial.js';
import { gridMse as gridMseTf } from '../losses/grid.js';
import { vggContentLoss, CONTENT_LAYERS, VGG_RESCALE, type ContentLoss } from '../losses/perceptual.js';
import { weightedMse, tosrLoss } from '../video/losses.js';
import type { WarpPlan } from '../video/warp.js';
import type { StepShape } from './step_graph.js';
import type { Shard } from './shard.js';

export type Phase = 'g' | 'd';

export interface GridPenalty {
  weight: number;
  period: number;
}

/** What a phase's loss may depend on besides the networks. */
export interface LossSettings {
  content: ContentLoss;
  /** The generator's pixel loss (srresnet, and srgan's content 'mse'). */
  pixel: PixelLoss;
  advWeight: number;
  /** srgan: the sub-pixel grid penalty (losses/grid.ts), its weight and period; absent: none. */
  grid?: GridPenalty;
  temporalWeight: number;
}

/** The graph side of a phase: inputs as NCHW values and the networks as emitters. */
export interface GraphPhase {
  t: Tape;
  /** g: LR [n*frames, 3, l, l] in [0, 1]; d: unused */
  lr: Value;
  /** HR [n*frames, 3, P, P] in [-1, 1] */
  hr: Value;
  /** d: the generator's output of the preceding g phase */
  fake?: Value;
  /** sosr: per-pixel weights [n, 1, P, P]; tosr: warp indices/weights and mask [n, 1, P, P] */
  aux: { weights?: Value; warpIndices?: Value; warpWeights?: Value; mask?: Value };
  generator(x: Value): Value;
  /** Every output of the generator network (the recognizer's two streams). */
  outputs(x: Value): Value[];
  /** Objectives with their own inputs (see Objective.inputs): those inputs, NHWC as fed. */
  inputs: Record<string, Value>;
  /** The discriminator's logit; in the d phase successive calls chain the moving statistics. */
  discriminator(x: Value): Value;
  vgg(x: Value): Value;
  settings: LossSettings;
}

/** The TF.js side: the same terms on NHWC tensors, inside tf.variableGrads. */
export interface TfjsPhase {
  lr: tf.Tensor4D;
  hr: tf.Tensor4D;
  fake?: tf.Tensor4D;
  aux: { weights?: tf.Tensor4D; plan?: WarpPlan; mask?: tf.Tensor4D };
  /** Objectives with their own inputs (see Objective.inputs), NHWC as fed. */
  inputs: Record<string, tf.Tensor>;
  generator: tfl.LayersModel;
  discriminator?: tfl.LayersModel;
  vgg?: tfl.LayersModel;
  settings: LossSettings;
}

export interface PhaseLoss<V, S = V> {
  /** Named terms, logged as they are (before their weights). */
  terms: Record<string, V>;
  total: V;
  /** g phase of a GAN: the SR output, the fakes of the d phase. */
  sr?: S;
}

export interface Objective {
  name: string;
  description: string;
  data: 'patches' | 'sequences' | 'clips';
  /** Networks trained, in phase order: 'g' (generator) and for GANs 'd'. */
  phases: readonly Phase[];
  /**
   * How the ONNX engine best spreads a step over several cores by default, as measured by
   * bench/train_engines.ts: one replica per core ('workers'), or one replica whose sessions
   * split each op over the cores ('threads').
   */
  cores: 'workers' | 'threads';
  /**
   * Objectives whose samples are not (LR, HR) images (the recognizer) name their own inputs and
   * their NHWC shapes, and what of a shard feeds them; lr and hr are then not fed.
   */
  inputs?(shape: StepShape): Record<string, number[]>;
  feed?(s: Shard): Record<string, Float32Array>;
  /** The trained network's file in the run folder (default generator.safetensors). */
  modelFile?: string;
  graphLoss(phase: Phase, p: GraphPhase): PhaseLoss<Value>;
  tfjsLoss(phase: Phase, p: TfjsPhase): PhaseLoss<tf.Scalar, tf.Tensor4D>;
}

const registry = namedRegistry<Objective>('training mode');

export function registerObjective(o: Objective): void {
  registry.register(o.name, o);
}

export function objectiveNames(): string[] {
  return registry.names();
}

export function getObjective(name: string): Objective {
  return registry.get(name);
}

function pixelGraph(p: GraphPhase, sr: Value): Value {
  return p.settings.pixel === 'l1' ? meanAbsoluteError(p.t, sr, p.hr) : meanSquaredError(p.t, sr, p.hr);
}

function contentGraph(p: GraphPhase, sr: Value): [string, Value] {
  if (p.settings.content === 'mse') return ['pixel', pixelGraph(p, sr)];
  // Feature maps scaled by 1/12.75 before the MSE: the squared error scales by its square.
  const fs = p.vgg(sr);
  const fh = p.vgg(p.hr);
  const mse = meanSquaredError(p.t, fs, fh);
  return [p.settings.content, weightedSum(p.t, [[mse, VGG_RESCALE * VGG_RESCALE]])];
}

registerObjective({
  name: 'srresnet',
  description: 'SRResNet: pixel-wise MSE (or L1) between SR and HR',
  data: 'patches',
  phases: ['g'],
  // bench/train_engines.ts, batch 16, 2 cores, 5 rounds: 2 workers x 1 thread 7.30 samples/s, 1 x 2 threads 6.58.
  cores: 'workers',
  graphLoss(_phase, p) {
    const pixel = pixelGraph(p, p.generator(p.lr));
    return { terms: { pixel }, total: pixel };
  },
  tfjsLoss(_phase, p) {
    const pixel = pixelLoss(p.settings.pixel, p.generator.apply(p.lr, { training: true }) as tf.Tensor4D, p.hr);
    return { terms: { pixel }, total: pixel };
  },
});

registerObjective({
  name: 'srgan',
  description: 'SRGAN: content loss (MSE or VGG features) + adversarial loss, against the discriminator',
  data: 'patches',
  phases: ['g', 'd'],
  // The discriminator's 19M weights (dense 18432 -> 1024) make a replica's gradient exchange and
  // Adam dear: 1 x 2 threads 2.00 samples/s, 2 workers x 1 thread 1.86 (batch 16, 5 rounds).
  cores: 'threads',
  graphLoss(phase, p): PhaseLoss<Value> {
    if (phase === 'g') {
      const sr = p.generator(p.lr);
      const [name, content] = contentGraph(p, sr);
      const adversarial = softplusMean(p.t, p.discriminator(sr), -1);
      const terms: Record<string, Value> = { [name]: content, adversarial };
      const parts: Array<[Value, number]> = [[content, 1], [adversarial, p.settings.advWeight]];
      const { grid } = p.settings;
      if (grid) {
        terms['grid'] = gridMse(p.t, sr, p.hr, grid.period);
        parts.push([terms['grid'], grid.weight]);
      }
      return { terms, total: weightedSum(p.t, parts), sr };
    }
    const dReal = softplusMean(p.t, p.discriminator(p.hr), -1);
    const dFake = softplusMean(p.t, p.discriminator(p.fake!), 1);
    return { terms: { d_real: dReal, d_fake: dFake }, total: weightedSum(p.t, [[dReal, 1], [dFake, 1]]) };
  },
  tfjsLoss(phase, p): PhaseLoss<tf.Scalar, tf.Tensor4D> {
    if (phase === 'g') {
      const sr = p.generator.apply(p.lr, { training: true }) as tf.Tensor4D;
      const content = p.settings.content === 'mse' ? pixelLoss(p.settings.pixel, sr, p.hr) : vggContentLoss(p.vgg!, CONTENT_LAYERS[p.settings.content], sr, p.hr);
      const [logit] = p.discriminator!.apply(sr, { training: true }) as tf.Tensor[];
      const adversarial = generatorAdversarialLoss(logit!);
      const terms: Record<string, tf.Scalar> = { [p.settings.content === 'mse' ? 'pixel' : p.settings.content]: content, adversarial };
      let total = tf.add(content, tf.mul(adversarial, p.settings.advWeight)) as tf.Scalar;
      const { grid } = p.settings;
      if (grid) {
        terms['grid'] = gridMseTf(sr, p.hr, grid.period);
        total = tf.add(total, tf.mul(terms['grid'], grid.weight));
      }
      return { terms, total, sr };
    }
    const [logitReal] = p.discriminator!.apply(p.hr, { training: true }) as tf.Tensor[];
    const [logitFake] = p.discriminator!.apply(p.fake!, { training: true }) as tf.Tensor[];
    const { real, fake } = discriminatorLosses(logitReal!, logitFake!);
    return { terms: { d_real: real, d_fake: fake }, total: tf.add(real, fake) as tf.Scalar };
  },
});

registerObjective({
  name: 'sosr',
  description: 'SoSR (Zhang, Liu & Xiong 2019): MSE weighted by each pixel\'s motion',
  data: 'sequences',
  phases: ['g'],
  cores: 'workers',
  graphLoss(_phase, p) {
    const sr = p.generator(p.lr);
    const weighted = meanSquaredError(p.t, sr, p.hr, p.aux.weights!);
    const pixel = meanSquaredError(p.t, sr, p.hr);
    return { terms: { pixel_weighted: weighted, pixel }, total: weighted };
  },
  tfjsLoss(_phase, p) {
    const sr = p.generator.apply(p.lr, { training: true }) as tf.Tensor4D;
    const weighted = weightedMse(sr, p.hr, p.aux.weights!);
    return { terms: { pixel_weighted: weighted, pixel: tf.mean(tf.squaredDifference(sr, p.hr)) as tf.Scalar }, total: weighted };
  },
});

registerObjective({
  name: 'tosr',
  description: 'ToSR (Zhang, Liu & Xiong 2019): MSE plus siamese warp losses between consecutive SR frames',
  data: 'sequences',
  phases: ['g'],
  cores: 'workers',
  graphLoss(_phase, p) {
    const t = p.t;
    const sr = p.generator(p.lr);
    const n = sr.shape[0]! / 2;
    const srPair = framePair(t, sr, n);
    const [hrPrev, hrCur] = framePair(t, p.hr, n);
    const warped = warp(t, srPair[1]!, p.aux.warpIndices!, p.aux.warpWeights!);
    const pixel = meanSquaredError(t, srPair[1]!, hrCur!);
    const temporalSr = maskedMse(t, warped, srPair[0]!, p.aux.mask!);
    const temporalHr = maskedMse(t, warped, hrPrev!, p.aux.mask!);
    const lambda = p.settings.temporalWeight;
    return { terms: { pixel, temporal_sr: temporalSr, temporal_hr: temporalHr }, total: weightedSum(t, [[pixel, 1], [temporalSr, lambda], [temporalHr, lambda]]) };
  },
  tfjsLoss(_phase, p) {
    const sr = p.generator.apply(p.lr, { training: true }) as tf.Tensor4D;
    const r = tosrLoss(sr, p.hr, p.aux.plan!, p.aux.mask!, p.settings.temporalWeight);
    return { terms: { pixel: r.pixel, temporal_sr: r.temporalSr, temporal_hr: r.temporalHr }, total: r.total };
  },
});

// The two-stream recognizer (models/two_stream.ts): each stream's softmax cross-entropy. The
// streams share no weight, so their sum trains each as if alone; fusion happens at test time.
registerObjective({
  name: 'recognizer',
  description: 'two-stream action recognizer: softmax cross-entropy of the spatial and of the temporal stream',
  data: 'clips',
  phases: ['g'],
  cores: 'workers',
  modelFile: 'recognizer.safetensors',
  inputs: (s) => ({ clip: [s.n, s.hrSize, s.hrSize, s.auxChannels], labels: [s.n, s.classes!] }),
  feed: (s) => ({ clip: s.aux!, labels: s.labels! }),
  graphLoss(_phase, p) {
    const [spatial, temporal] = p.outputs(toNchw(p.t, p.inputs['clip']!));
    const s = softmaxCrossEntropy(p.t, spatial!, p.inputs['labels']!);
    const tm = softmaxCrossEntropy(p.t, temporal!, p.inputs['labels']!);
    return { terms: { spatial: s, temporal: tm }, total: weightedSum(p.t, [[s, 1], [tm, 1]]) };
  },
  tfjsLoss(_phase, p) {
    const [spatial, temporal] = p.generator.apply(p.inputs['clip']!, { training: true }) as tf.Tensor[];
    const labels = p.inputs['labels']!;
    const s = tf.losses.softmaxCrossEntropy(labels, spatial!) as tf.Scalar;
    const tm = tf.losses.softmaxCrossEntropy(labels, temporal!) as tf.Scalar;
    return { terms: { spatial: s, temporal: tm }, total: tf.add(s, tm) as tf.Scalar };
  },
});

/** [2n, C, H, W] (frames t-1, t of each sample side by side) -> [prev, cur], differentiably. */
function framePair(t: Tape, x: Value, n: number): Value[] {
  const [, c, h, w] = x.shape as [number, number, number, number];
  const r = t.g.node('Reshape', [x, t.g.int64([n, 2, c, h, w])], {}, [n, 2, c, h, w]);
  t.record([x], [r], ([dy]) => [t.g.node('Reshape', [dy!, t.g.int64(x.shape)], {}, x.shape)]);
  return unstack(t, r);
}
