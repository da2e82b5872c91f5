// GAN losses on the discriminator's logits. With D = sigmoid(logit):
//   -log D(G(x))        = softplus(-logit_fake)                 (the paper's generator loss)
//   BCE(real=1, fake=0) = softplus(-logit_real) + softplus(logit_fake)
// softplus never overflows where log(sigmoid) would once D saturates.
import tf = require('@tensorflow/tfjs-core');

export function generatorAdversarialLoss(logitFake: tf.Tensor): tf.Scalar {
  return tf.mean(tf.softplus(tf.neg(logitFake)));
}

export function discriminatorLosses(logitReal: tf.Tensor, logitFake: tf.Tensor): { real: tf.Scalar; fake: tf.Scalar } {
  return { real: tf.mean(tf.softplus(tf.neg(logitReal))), fake: tf.mean(tf.softplus(logitFake)) };
}
