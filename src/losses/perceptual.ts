// SRGAN's VGG content loss (Ledig et al. 2017, eq. 5): the MSE between VGG19 feature maps of the
// SR and HR images. The paper rescales the VGG losses "by a factor of 1/12.75 to obtain VGG
// losses of a scale that is comparable to the MSE loss"; like the reference implementations we
// divide the feature maps by 12.75 before the MSE.
import tf = require('@tensorflow/tfjs-core');
import type * as tfl from '@tensorflow/tfjs-layers';
import { vgg19Features } from '../models/vgg19.js';

export const VGG_RESCALE = 1 / 12.75;

/** Content layers by the paper's names. */
export const CONTENT_LAYERS = { vgg22: 'block2_conv2', vgg54: 'block5_conv4' } as const;
export type ContentLoss = 'mse' | keyof typeof CONTENT_LAYERS;

export function vggContentLoss(vgg: tfl.LayersModel, layer: string, sr: tf.Tensor4D, hr: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const fSr = vgg19Features(vgg, sr)[layer]!;
    // hr is data, not a variable, so no gradient is computed through its features.
    const fHr = vgg19Features(vgg, hr)[layer]!;
    return tf.mean(tf.squaredDifference(tf.mul(fSr, VGG_RESCALE), tf.mul(fHr, VGG_RESCALE)));
  });
}
