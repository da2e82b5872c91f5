// Runs a generator on one image with TF.js, whole image at once (tiling arrives with the
// upscale command). Grey input is fed as three equal channels; the [-1, 1] output is mapped back
// to [0, 1] and clipped.
import tf = require('@tensorflow/tfjs-core');
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Image } from '../image/image.js';
import type { Method } from './methods.js';

export function imageToTensor(img: Image): tf.Tensor4D {
  return tf.tidy(() => {
    const t = tf.tensor4d(img.data, [1, img.height, img.width, img.channels]);
    return img.channels === 1 ? tf.tile(t, [1, 1, 1, 3]) : t;
  });
}

export function runGenerator(model: tfl.LayersModel, lr: Image): Image {
  const out = tf.tidy(() => {
    const y = model.predict(imageToTensor(lr)) as tf.Tensor4D;
    return tf.clipByValue(tf.div(tf.add(y, 1), 2), 0, 1);
  });
  const [, h, w] = out.shape;
  const data = out.dataSync() as Float32Array;
  out.dispose();
  return { width: w, height: h, channels: 3, data: new Float32Array(data) };
}

export function generatorMethod(name: string, model: tfl.LayersModel): Method {
  return { name, run: async (lr) => runGenerator(model, lr) };
}
