// The generator losses of the two video training modes (Zhang, Liu & Xiong, ICCV 2019), on SR and
// HR in [-1, 1] like SRResNet's MSE.
//
//   SoSR:  sum_p w(p) |SR_t(p) - HR_t(p)|^2 / (N*H*W*C)       w from motionWeights (mean 1 per frame)
//   ToSR:  MSE(SR_t, HR_t)
//          + lambda * ( masked mean |W(SR_t) - SR_{t-1}|^2 + masked mean |W(SR_t) - HR_{t-1}|^2 )
//
// W warps frame t onto frame t-1's grid with the HR flow t-1 -> t (constant), and the masked means
// run over pixels that pass the in-frame and forward-backward checks. Both SR frames come from the
// same generator in one pass (a siamese pair sharing weights), so the gradient of the temporal
// terms reaches the generator through both frames.
import tf = require('@tensorflow/tfjs-core');
import { backwardWarp, type WarpPlan } from './warp.js';

export function weightedMse(sr: tf.Tensor4D, hr: tf.Tensor4D, weights: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.mul(tf.squaredDifference(sr, hr), weights)));
}

/** Mean of |a - b|^2 over the pixels where mask (N, H, W, 1) is 1, all channels. */
export function maskedMse(a: tf.Tensor4D, b: tf.Tensor4D, mask: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const c = a.shape[3];
    const count = tf.maximum(tf.mul(tf.sum(mask), c), 1);
    return tf.div(tf.sum(tf.mul(tf.squaredDifference(a, b), mask)), count);
  });
}

export interface TemporalTerms {
  pixel: tf.Scalar;
  temporalSr: tf.Scalar;
  temporalHr: tf.Scalar;
  total: tf.Scalar;
}

/**
 * srPair, hrPair: [2N, H, W, 3] as (sample 0 frame t-1, sample 0 frame t, sample 1 frame t-1, ...).
 * plan: the warp of frame t onto t-1 for the N samples; mask [N, H, W, 1].
 */
export function tosrLoss(srPair: tf.Tensor4D, hrPair: tf.Tensor4D, plan: WarpPlan, mask: tf.Tensor4D, lambda: number): TemporalTerms {
  const [n2, h, w, c] = srPair.shape;
  const n = n2 / 2;
  const split = (x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] => {
    const r = tf.reshape(x, [n, 2, h, w, c]);
    const prev = tf.reshape(tf.slice(r, [0, 0, 0, 0, 0], [n, 1, h, w, c]), [n, h, w, c]) as tf.Tensor4D;
    const cur = tf.reshape(tf.slice(r, [0, 1, 0, 0, 0], [n, 1, h, w, c]), [n, h, w, c]) as tf.Tensor4D;
    return [prev, cur];
  };
  const [srPrev, srCur] = split(srPair);
  const [hrPrev, hrCur] = split(hrPair);
  const warped = backwardWarp(srCur, plan);
  const pixel = tf.mean(tf.squaredDifference(srCur, hrCur)) as tf.Scalar;
  const temporalSr = maskedMse(warped, srPrev, mask);
  const temporalHr = maskedMse(warped, hrPrev, mask);
  const total = tf.add(pixel, tf.mul(tf.add(temporalSr, temporalHr), lambda)) as tf.Scalar;
  return { pixel, temporalSr, temporalHr, total };
}
