// Precise batch-norm statistics (fvcore's `update_bn_stats`; Wu & Johnson, "Rethinking 'Batch' in
// BatchNorm", 2021). The moving averages kept while training trail weights that kept moving, and
// with momentum 0.9 over small shards they are noisy. Re-estimating them once, with the final
// weights, as the mean over many training batches of each layer's batch mean and variance, is the
// standard remedy. Measured on the SRResNet x4 run (50 batches): Set5 +0.27 dB at step 1600,
// -0.12 dB at step 2500, so `package-model` offers it (--bn-batches) rather than imposing it.
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { existsSync } from 'node:fs';
import { SrError } from '../util/errors.js';
import { PatchDataset } from '../data/patch_dataset.js';
import { dataFolders } from '../data/folders.js';

export interface RecalibrateOptions {
  /** how many batches to average over */
  batches: number;
  /** LR input batches, [n, h, w, 3] in [0, 1]; the caller keeps ownership */
  nextBatch: () => Promise<tf.Tensor4D>;
  onProgress?: (done: number, total: number) => void;
}

function batchNormLayers(model: tfl.LayersModel): tfl.layers.Layer[] {
  return model.layers.filter((l) => l.getClassName() === 'BatchNormalization');
}

/** Replaces every batch-norm layer's moving mean and variance; returns how many layers it set. */
export async function recalibrateBatchNorm(model: tfl.LayersModel, o: RecalibrateOptions): Promise<number> {
  if (!(Number.isInteger(o.batches) && o.batches > 0)) throw new SrError(`batch-norm recalibration needs a positive number of batches, got ${o.batches}`);
  const layers = batchNormLayers(model);
  if (layers.length === 0) return 0;
  // One forward pass in training mode yields every layer's input as training sees it (upstream
  // layers normalised by batch statistics), which is what the statistics must describe.
  const probe = tfl.model({ inputs: model.inputs, outputs: layers.map((l) => l.input as tfl.SymbolicTensor) });
  const sums = layers.map(() => ({ mean: null as Float64Array | null, variance: null as Float64Array | null }));
  const keep = new Map<tfl.LayersModel['weights'][number], tf.Tensor>();
  // Training-mode calls move the layers' own moving averages as a side effect; they are restored
  // and then overwritten below, so an error half-way leaves the model as it was.
  for (const l of layers) for (const w of l.weights) if (!w.trainable) keep.set(w, w.read().clone());
  try {
    for (let b = 0; b < o.batches; b++) {
      const x = await o.nextBatch();
      const moments = tf.tidy(() => {
        const outs = probe.apply(x, { training: true }) as tf.Tensor[];
        return outs.map((t) => {
          const m = tf.moments(t, [0, 1, 2]);
          return [m.mean, m.variance];
        });
      });
      for (let i = 0; i < layers.length; i++) {
        const [mean, variance] = moments[i]!;
        const s = sums[i]!;
        const mv = mean!.dataSync();
        const vv = variance!.dataSync();
        s.mean ??= new Float64Array(mv.length);
        s.variance ??= new Float64Array(vv.length);
        for (let c = 0; c < mv.length; c++) {
          s.mean[c]! += mv[c]!;
          s.variance[c]! += vv[c]!;
        }
        mean!.dispose();
        variance!.dispose();
      }
      o.onProgress?.(b + 1, o.batches);
    }
  } finally {
    for (const [w, v] of keep) {
      w.write(v);
      v.dispose();
    }
  }
  layers.forEach((layer, i) => {
    const s = sums[i]!;
    const values = layer.weights.map((w) => {
      if (w.name.includes('moving_mean')) return tf.tensor1d(Float32Array.from(s.mean!, (v) => v / o.batches));
      if (w.name.includes('moving_variance')) return tf.tensor1d(Float32Array.from(s.variance!, (v) => v / o.batches));
      return w.read().clone();
    });
    layer.setWeights(values);
    tf.dispose(values);
  });
  return layers.length;
}

export interface TrainingDataBatches {
  batches: number;
  /** folder(s) of HR training images, as a run's --data */
  data: string;
  scale: number;
  batch: number;
  /** HR crop side */
  patch: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * recalibrateBatchNorm over LR crops of training images, made as the training made them (with
 * their own fixed seed, so a re-run ships the same file); returns how many layers it set.
 */
export async function recalibrateOnTrainingData(model: tfl.LayersModel, o: TrainingDataBatches): Promise<number> {
  if (!dataFolders(o.data).every((d) => existsSync(d))) {
    throw new SrError(`--bn-batches needs the training images to re-estimate batch-norm statistics, and ${o.data} is not there: pass --bn-data <folder> or --bn-batches 0`);
  }
  const ds = await PatchDataset.open({ dir: o.data, scale: o.scale, hrPatch: o.patch, batch: o.batch, seed: 0x5eed, workers: 1, onWarning: () => {} });
  let current: tf.Tensor4D | null = null;
  try {
    return await recalibrateBatchNorm(model, {
      batches: o.batches,
      nextBatch: async () => {
        current?.dispose();
        const b = await ds.next();
        current = tf.tensor4d(b.lr, [b.batch, b.lrSize, b.lrSize, 3]);
        return current;
      },
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
  } finally {
    (current as tf.Tensor4D | null)?.dispose();
    await ds.close();
  }
}
