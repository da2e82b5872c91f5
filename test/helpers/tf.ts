// Shared test helpers: seeded data (identical on every backend) and gradient comparison.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../src/util/random.js';

/** A seeded uniform [0, 1) generator for test data. */
export function seeded(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

export function randomArray(n: number, seed: number, scale = 1): Float32Array {
  const r = seeded(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

export function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.tensor(randomArray(shape.reduce((a, b) => a * b, 1), seed, scale), shape);
}

/** max |a - b| / max |a|: the relative error used by the gradient tests. */
export function relativeError(a: Float32Array | number[], b: Float32Array | number[]): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    norm = Math.max(norm, Math.abs(a[i]!));
  }
  if (a.length !== b.length) return Infinity;
  return norm === 0 ? diff : diff / norm;
}
