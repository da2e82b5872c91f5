// Training samples for the two video modes of Zhang, Liu & Xiong (ICCV 2019), as flat arrays:
//
//   sosr (spatial-oriented)  lr [1, l, l, 3]  hr [1, P, P, 3]  aux [P, P, 1]  per-pixel loss weight
//   tosr (temporal-oriented) lr [2, l, l, 3]  hr [2, P, P, 3]  aux [P, P, 3]  u, v, valid
//
// with l = P / scale, LR in [0, 1] and HR in [-1, 1] like the still-image patches. Frame order is
// (t-1, t). For tosr, (u, v) is the HR flow from frame t-1 to frame t, so SR_t warped by it lands
// on t-1's grid, and `valid` marks pixels where that warp means something: inside the patch after
// the move and not occluded (forward-backward check). For sosr the weight of a pixel of frame t
// grows with the HR flow magnitude there (see motionWeights).
import type { Image8 } from '../image/image.js';
import { imresize8 } from '../image/resize.js';
import { flowMagnitude, validFlowMask, type Flow } from './flow.js';
import { randomMotion, renderSequence, type SynthOptions } from './synth.js';

export type VideoMode = 'sosr' | 'tosr';

export interface SampleArrays {
  lr: Float32Array;
  hr: Float32Array;
  aux: Float32Array;
}

export const AUX_CHANNELS: Record<VideoMode, number> = { sosr: 1, tosr: 3 };
export const FRAMES_PER_SAMPLE: Record<VideoMode, number> = { sosr: 1, tosr: 2 };

/**
 * Floor on the mean flow magnitude used to normalise the weights (HR pixels per frame). Without
 * it a nearly static frame, whose estimated flow is mostly noise of a few hundredths of a pixel,
 * would have that noise blown up into weights as large as those of real motion.
 */
export const MOTION_FLOOR = 1;

/**
 * SoSR's per-pixel loss weights from the HR flow magnitude |f| over one frame:
 *
 *   w(p) = (eps + |f(p)| / m) / mean_q (eps + |f(q)| / m),   m = max(mean_q |f(q)|, MOTION_FLOOR)
 *
 * - The weights average exactly 1 over the frame, so the weighted MSE is on the scale of the plain
 *   MSE (the same learning rate works) and every frame of a batch counts equally.
 * - Moving pixels dominate in proportion to their speed relative to the frame's average motion.
 * - eps (default 0.1) keeps static pixels in the loss: a static pixel weighs eps / (eps + 1) of a
 *   pixel moving at the average speed, so the background is not left to drift.
 * - A static frame (|f| = 0 everywhere) gets w = 1: plain MSE.
 */
export function motionWeights(magnitude: Float32Array, eps = 0.1): Float32Array {
  let mean = 0;
  for (let i = 0; i < magnitude.length; i++) mean += magnitude[i]!;
  mean /= magnitude.length;
  const m = Math.max(mean, MOTION_FLOOR);
  const norm = eps + mean / m;
  const out = new Float32Array(magnitude.length);
  for (let i = 0; i < out.length; i++) out[i] = (eps + magnitude[i]! / m) / norm;
  return out;
}

function cropRgb(img: Image8, x0: number, y0: number, size: number, dst: Float32Array, off: number, lo: number, span: number): void {
  const k = span / 255;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const s = ((y0 + y) * img.width + (x0 + x)) * 3;
      const d = off + (y * size + x) * 3;
      dst[d] = lo + img.data[s]! * k;
      dst[d + 1] = lo + img.data[s + 1]! * k;
      dst[d + 2] = lo + img.data[s + 2]! * k;
    }
  }
}

function cropFlow(f: Flow, x0: number, y0: number, size: number): Flow {
  const u = new Float32Array(size * size);
  const v = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      u[y * size + x] = f.u[(y0 + y) * f.width + x0 + x]!;
      v[y * size + x] = f.v[(y0 + y) * f.width + x0 + x]!;
    }
  }
  return { u, v, width: size, height: size };
}

export interface FramePair {
  /** HR frames t-1 and t, RGB, sizes multiples of the scale */
  hr: [Image8, Image8];
  /** their protocol LR (bicubic 1/scale on uint8) */
  lr: [Image8, Image8];
  /** flow t-1 -> t and t -> t-1 on the HR frames */
  forward: Flow;
  backward: Flow;
}

/**
 * Cuts a training sample out of a pair of frames at HR position (x0, y0) (multiples of the
 * scale). `frameWeights` are SoSR weights already normalised over the whole frame; without them
 * the weights are normalised over the patch (synthetic frames are the patch).
 */
export function cutSample(mode: VideoMode, pair: FramePair, scale: number, patch: number, x0: number, y0: number, o: { eps?: number; frameWeights?: Float32Array; frameValid?: Uint8Array } = {}): SampleArrays {
  const l = patch / scale;
  const frames = FRAMES_PER_SAMPLE[mode];
  const lr = new Float32Array(frames * l * l * 3);
  const hr = new Float32Array(frames * patch * patch * 3);
  const first = mode === 'tosr' ? 0 : 1;
  for (let f = first; f < 2; f++) {
    const slot = f - first;
    cropRgb(pair.lr[f]!, x0 / scale, y0 / scale, l, lr, slot * l * l * 3, 0, 1);
    cropRgb(pair.hr[f]!, x0, y0, patch, hr, slot * patch * patch * 3, -1, 2);
  }
  const n = patch * patch;
  if (mode === 'sosr') {
    let w: Float32Array;
    if (o.frameWeights) {
      w = new Float32Array(n);
      const fw = pair.hr[1].width;
      for (let y = 0; y < patch; y++) w.set(o.frameWeights.subarray((y0 + y) * fw + x0, (y0 + y) * fw + x0 + patch), y * patch);
    } else {
      w = motionWeights(flowMagnitude(cropFlow(pair.backward, x0, y0, patch)), o.eps);
    }
    return { lr, hr, aux: w };
  }
  const fwd = cropFlow(pair.forward, x0, y0, patch);
  const bwd = cropFlow(pair.backward, x0, y0, patch);
  // Validity inside the patch (the warp can only read the patch), and, for real video, of the
  // whole frame too: the patch's neighbours decide occlusions at its edge.
  const valid = validFlowMask(fwd, bwd);
  const aux = new Float32Array(n * 3);
  const fw = pair.hr[0].width;
  for (let i = 0; i < n; i++) {
    aux[3 * i] = fwd.u[i]!;
    aux[3 * i + 1] = fwd.v[i]!;
    let ok = valid[i]!;
    if (ok && o.frameValid) ok = o.frameValid[(y0 + Math.floor(i / patch)) * fw + x0 + (i % patch)]!;
    aux[3 * i + 2] = ok;
  }
  return { lr, hr, aux };
}

/**
 * A sample synthesised from a photo: two frames of smooth random motion, rendered with a margin
 * so that the LR (bicubic over the whole rendered frame) has no border effects in the patch.
 */
export function synthSample(mode: VideoMode, photo: Image8, scale: number, patch: number, rand: () => number, o: SynthOptions & { eps?: number } = {}): SampleArrays {
  const margin = 3 * scale;
  const size = patch + 2 * margin;
  const seq = renderSequence(photo, size, size, 2, randomMotion(rand, size, size, o), rand);
  const lr = seq.frames.map((f) => imresize8(f, { scale: 1 / scale }, 'bicubic')) as [Image8, Image8];
  return cutSample(mode, { hr: [seq.frames[0]!, seq.frames[1]!], lr, forward: seq.forward[0]!, backward: seq.backward[0]! }, scale, patch, margin, margin, o);
}
