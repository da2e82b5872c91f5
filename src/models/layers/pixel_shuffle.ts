// Sub-pixel convolution's rearrangement (Shi et al. 2016): [b, h, w, c*r*r] -> [b, h*r, w*r, c].
// Built from reshape + transpose rather than tf.depthToSpace because TF.js registers no gradient
// for DepthToSpace. Channel order is TensorFlow's DepthToSpace ("DCR"): channel (i*r + j)*c + k
// lands at sub-pixel (i, j), channel k. The ONNX export uses DepthToSpace mode DCR to match.
import tf = require('@tensorflow/tfjs-core');
import tfl = require('@tensorflow/tfjs-layers');

export function pixelShuffle(x: tf.Tensor4D, r: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w, c] = x.shape;
    const out = c / (r * r);
    if (!Number.isInteger(out)) throw new Error(`pixelShuffle: ${c} channels are not divisible by ${r * r}`);
    const t = tf.reshape(x, [b, h, w, r, r, out]);
    const p = tf.transpose(t, [0, 1, 3, 2, 4, 5]);
    return tf.reshape(p, [b, h * r, w * r, out]);
  });
}

export interface PixelShuffleArgs {
  scale: number;
  name?: string;
}

export class PixelShuffle extends tfl.layers.Layer {
  static className = 'PixelShuffle';
  readonly scale: number;

  constructor(args: PixelShuffleArgs) {
    super(args.name ? { name: args.name } : {});
    this.scale = args.scale;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = inputShape as tfl.Shape;
    const r = this.scale;
    return [s[0]!, s[1] == null ? null : s[1] * r, s[2] == null ? null : s[2] * r, s[3] == null ? null : s[3] / (r * r)];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return pixelShuffle(x as tf.Tensor4D, this.scale);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), scale: this.scale };
  }
}
tf.serialization.registerClass(PixelShuffle);
