// A leaner gradient for FusedBatchNorm (per-channel statistics, the only case our networks use).
//
// TF.js's own gradient tiles 1/sqrt(var) to the full activation shape and forms several
// full-size products whether or not they are needed: a whole SRResNet step is 1.26x slower with
// it (bench/kernels.ts). Here every per-channel factor broadcasts, and the two reductions
// (sum dy, sum dy*(x-mean)) are computed once and shared by the five partial derivatives.
// Other ranks fall back to TF.js's gradient, which is kept for tests to compare against.
import tf = require('@tensorflow/tfjs-core');
import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs-core';

let original: GradConfig | undefined;

export function originalBatchNormGradient(): GradConfig | undefined {
  return original;
}

const leanGradient: GradConfig = {
  kernelName: 'FusedBatchNorm',
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
    const [x, mean, variance, scale] = saved as [Tensor, Tensor, Tensor, Tensor | undefined];
    if (mean.rank !== 1 || Array.isArray(dy)) return original!.gradFunc(dy, saved, attrs);
    const d = dy as Tensor;
    const eps = attrs['varianceEpsilon'] as number;
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const gamma = scale ?? tf.onesLike(mean);
    // Computed here, not inside the closures: TF.js runs each closure in its own tidy, which would
    // dispose a shared value after its first use. Each is needed by some partial anyway.
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const sumDy = tf.sum(d, axes);
    const sumDyXc = tf.sum(tf.mul(d, tf.sub(x, mean)), axes);
    return {
      x: () => tf.mul(d, tf.mul(gamma, rstd)),
      mean: () => tf.mul(tf.neg(tf.mul(gamma, rstd)), sumDy),
      variance: () => tf.mul(tf.mul(tf.mul(gamma, tf.pow(rstd, 3)), -0.5), sumDyXc),
      scale: () => tf.mul(sumDyXc, rstd),
      offset: () => tf.clone(sumDy),
    };
  },
};

let done = false;
export function registerLeanBatchNormGradient(): void {
  if (done) return;
  original = tf.getGradient('FusedBatchNorm');
  tf.registerGradient(leanGradient);
  done = true;
}
