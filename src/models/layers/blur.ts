// A fixed binomial low-pass ([1,2,1] x [1,2,1] / 16) applied to every channel, zero-padded to the
// same size. Placed before a strided convolution it is the anti-aliasing of Zhang, "Making
// convolutional networks shift-invariant again" (2019): it has no response at the Nyquist
// frequency, so the strided layer can neither see a 2-pixel checkerboard nor send one back.
import tf = require('@tensorflow/tfjs-core');
import tfl = require('@tensorflow/tfjs-layers');

/** The 3x3 taps, row-major; the ONNX training graph (graph/ops.ts blur3) uses the same ones. */
export const BLUR3_TAPS: readonly number[] = [1, 2, 1, 2, 4, 2, 1, 2, 1].map((v) => v / 16);

export class Blur extends tfl.layers.Layer {
  static className = 'Blur';

  constructor(args: { name?: string } = {}) {
    super(args.name ? { name: args.name } : {});
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return inputShape as tfl.Shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return blurWithGradient((Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D);
  }
}

function blur(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const c = x.shape[3];
    const taps = new Float32Array(9 * c);
    for (let i = 0; i < 9; i++) taps.fill(BLUR3_TAPS[i]!, i * c, (i + 1) * c);
    return tf.depthwiseConv2d(x, tf.tensor4d(taps, [3, 3, c, 1]), 1, 'same');
  });
}

// The WASM backend has no depthwise input-gradient kernel; the blur's adjoint is the blur itself
// (symmetric taps, stride 1), so it is its own gradient.
const blurWithGradient = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => ({
  value: blur(args[0] as tf.Tensor4D),
  gradFunc: (dy: tf.Tensor) => blur(dy as tf.Tensor4D),
})) as (x: tf.Tensor4D) => tf.Tensor4D;
tf.serialization.registerClass(Blur);
