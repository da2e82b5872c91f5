import tf = require('@tensorflow/tfjs-core');

/** The pixel losses a generator can be trained with: the paper's MSE, or L1 as BasicSR uses. */
export const PIXEL_LOSSES = ['mse', 'l1'] as const;
export type PixelLoss = (typeof PIXEL_LOSSES)[number];

/** Mean squared error over all pixels and channels (the SRResNet-MSE content loss). */
export function pixelMse(sr: tf.Tensor, hr: tf.Tensor): tf.Scalar {
  return tf.mean(tf.squaredDifference(sr, hr));
}

/** Mean absolute error over all pixels and channels (the L1 pixel loss). */
export function pixelL1(sr: tf.Tensor, hr: tf.Tensor): tf.Scalar {
  return tf.mean(tf.abs(tf.sub(sr, hr)));
}

export function pixelLoss(kind: PixelLoss, sr: tf.Tensor, hr: tf.Tensor): tf.Scalar {
  return kind === 'l1' ? pixelL1(sr, hr) : pixelMse(sr, hr);
}
