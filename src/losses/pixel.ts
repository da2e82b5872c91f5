import tf = require('@tensorflow/tfjs-core');

/** Mean squared error over all pixels and channels (the SRResNet-MSE content loss). */
export function pixelMse(sr: tf.Tensor, hr: tf.Tensor): tf.Scalar {
  return tf.mean(tf.squaredDifference(sr, hr));
}
