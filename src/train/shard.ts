// A batch as the replicas split it: one shard per replica, micro-batches within a shard.
/**
 * A shard of a batch: LR in [0,1], HR in [-1,1], NHWC float32. The video modes add frames per
 * sample (lr [n, frames, l, l, 3], hr [n, frames, P, P, 3]) and per-pixel data on the HR grid
 * (aux [n, P, P, auxChannels]: SoSR's loss weights, or ToSR's flow and validity).
 */
export interface Shard {
  lr: Float32Array;
  hr: Float32Array;
  n: number;
  lrSize: number;
  hrSize: number;
  frames?: number;
  aux?: Float32Array;
  auxChannels?: number;
  /** recognizer: one-hot labels [n, classes] */
  labels?: Float32Array;
  classes?: number;
}

export type Losses = Record<string, number>;

/** Element-wise mean in a fixed order, shared by the exchange and micro-batch accumulation. */
export function meanOf(arrays: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(arrays[0]!.length);
  for (const a of arrays) for (let i = 0; i < out.length; i++) out[i]! += a[i]!;
  const k = arrays.length;
  for (let i = 0; i < out.length; i++) out[i]! /= k;
  return out;
}

/** Splits a batch into equal parts; views into the same memory unless `copy`. */
export function splitShard(s: Shard, parts: number, copy = false): Shard[] {
  if (s.n % parts !== 0) throw new Error(`a batch of ${s.n} images cannot be split into ${parts} equal parts`);
  const m = s.n / parts;
  const f = s.frames ?? 1;
  const lrLen = m * f * s.lrSize * s.lrSize * 3;
  const hrLen = m * f * s.hrSize * s.hrSize * 3;
  const auxLen = m * s.hrSize * s.hrSize * (s.auxChannels ?? 0);
  const cut = (a: Float32Array, len: number, i: number) => (copy ? a.slice(i * len, (i + 1) * len) : a.subarray(i * len, (i + 1) * len));
  return Array.from({ length: parts }, (_, i) => ({
    lr: cut(s.lr, lrLen, i),
    hr: cut(s.hr, hrLen, i),
    n: m,
    lrSize: s.lrSize,
    hrSize: s.hrSize,
    ...(s.frames !== undefined ? { frames: s.frames } : {}),
    ...(s.aux && s.auxChannels ? { aux: cut(s.aux, auxLen, i), auxChannels: s.auxChannels } : {}),
    ...(s.labels && s.classes ? { labels: cut(s.labels, m * s.classes, i), classes: s.classes } : {}),
  }));
}


/** ToSR's per-pixel data (u, v, valid) split into the interleaved flow and the mask. */
export function splitFlowAux(aux: Float32Array, pixels: number): { flow: Float32Array; mask: Float32Array } {
  const flow = new Float32Array(pixels * 2);
  const mask = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) {
    flow[2 * i] = aux[3 * i]!;
    flow[2 * i + 1] = aux[3 * i + 1]!;
    mask[i] = aux[3 * i + 2]!;
  }
  return { flow, mask };
}
