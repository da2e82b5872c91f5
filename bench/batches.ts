// The benchmarks' training batch: random LR patches in [0, 1] and HR in [-1, 1], the paper's
// shape by default (batch 16, 24x24 LR, x4).
import type { Shard } from '../src/train/shard.js';

export function randomBatch(n = 16, lrSize = 24, scale = 4): Shard {
  const hrSize = lrSize * scale;
  return {
    lr: Float32Array.from({ length: n * lrSize * lrSize * 3 }, () => Math.random()),
    hr: Float32Array.from({ length: n * hrSize * hrSize * 3 }, () => Math.random() * 2 - 1),
    n,
    lrSize,
    hrSize,
  };
}
