// The sub-pixel grid penalty (not in the paper). A x s pixel-shuffle generator makes the s x s
// output pixels of each LR pixel with different filters; adversarial training tends to grow a
// difference between them, a pattern of period s (the checkerboard that eval/grid.ts measures).
// The pixel loss already penalises that pattern, as part of the error, with weight 1; this term
// penalises the same part again: the per-phase means of (SR - HR) over a patch, centred over the
// phases. Texture and edges have no reason to favour a phase, so they average out and are left
// to the other terms. With weight w the error's period-s component counts (1 + w) times. A period
// that is a multiple of s takes in every period that divides it (a discriminator's strides can
// hand back periods 8 and 16 at x4 as well).
import tf = require('@tensorflow/tfjs-core');

/** SR and HR NHWC [n, h, w, c], h and w multiples of `period`. */
export function gridMse(sr: tf.Tensor4D, hr: tf.Tensor4D, period: number): tf.Scalar {
  const [n, h, w, c] = sr.shape;
  const s = period;
  const pm = tf.mean(tf.reshape(tf.sub(sr, hr), [n, h / s, s, w / s, s, c]), [1, 3]);
  const q = tf.sub(pm, tf.mean(pm, [1, 2], true));
  return tf.mean(tf.square(q));
}
