// Channels [from, from + count) of an NHWC tensor: how a two-stream network with one input
// tensor (RGB and stacked flow side by side) hands each stream its own part.
import tf = require('@tensorflow/tfjs-core');
import tfl = require('@tensorflow/tfjs-layers');

export interface ChannelSliceArgs {
  from: number;
  count: number;
  name?: string;
}

export class ChannelSlice extends tfl.layers.Layer {
  static className = 'ChannelSlice';
  readonly from: number;
  readonly count: number;

  constructor(args: ChannelSliceArgs) {
    super(args.name ? { name: args.name } : {});
    this.from = args.from;
    this.count = args.count;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = inputShape as tfl.Shape;
    return [s[0]!, s[1]!, s[2]!, this.count];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    return tf.slice(x, [0, 0, 0, this.from], [-1, -1, -1, this.count]);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), from: this.from, count: this.count };
  }
}
tf.serialization.registerClass(ChannelSlice);
