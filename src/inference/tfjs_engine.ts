// The TF.js engine: the generator as a TF.js layers model on the backend initBackend() picks (the
// code path training uses, and the reference the ONNX engine is compared against).
import tf = require('@tensorflow/tfjs-core');
import type * as tfl from '@tensorflow/tfjs-layers';
import { SrError } from '../util/errors.js';
import { initBackend, assertFastBackend } from '../tfjs/backend.js';
import { buildFromSource, type ModelSource } from './model_source.js';
import type { Engine } from './engine.js';

class TfjsEngine implements Engine {
  readonly name = 'tfjs' as const;
  readonly concurrency = 1;
  private model: tfl.LayersModel | null;

  constructor(model: tfl.LayersModel, readonly scale: number) {
    this.model = model;
  }

  async run(tile: Float32Array, height: number, width: number): Promise<Float32Array> {
    const model = this.model;
    if (!model) throw new SrError('this TF.js engine has been disposed');
    if (tile.length !== height * width * 3) throw new SrError(`tile of ${tile.length} values does not match [1, ${height}, ${width}, 3]`);
    const y = tf.tidy(() => model.predict(tf.tensor4d(tile, [1, height, width, 3])) as tf.Tensor4D);
    try {
      return (await y.data()) as Float32Array;
    } finally {
      y.dispose();
    }
  }

  async dispose(): Promise<void> {
    this.model?.dispose();
    this.model = null;
  }
}

export async function createTfjsEngine(src: ModelSource): Promise<Engine> {
  if (src.kind === 'onnx') throw new SrError(`${src.label} is an ONNX file; the TF.js engine needs .safetensors weights (or use the onnx engine)`);
  await initBackend({ quiet: true });
  assertFastBackend('upscaling');
  return new TfjsEngine(buildFromSource(src), src.scale);
}
