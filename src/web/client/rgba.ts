// The studio's pixels are a canvas's 8-bit RGBA; the project's resize and tiler work on the Image
// of src/image/ and on float RGB. These adapters are all the studio adds, so its bicubic is the
// benchmark's MATLAB bicubic and its tiles are the CLI's tiles, blended the same way.
import { imresize8 } from '../../image/resize.js';
import { quantize8, type Image8 } from '../../image/image.js';
import { upscaleTiledRows, type TileProgress } from '../../inference/tiling.js';

function toImage8(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): Image8 {
  const n = width * height;
  const data = new Uint8Array(n * 3);
  const alpha = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    data[3 * p] = rgba[4 * p]!;
    data[3 * p + 1] = rgba[4 * p + 1]!;
    data[3 * p + 2] = rgba[4 * p + 2]!;
    alpha[p] = rgba[4 * p + 3]!;
  }
  return { width, height, channels: 3, data, alpha };
}

/** MATLAB imresize bicubic of RGBA samples by an integer factor, colour and alpha alike. */
export function bicubicRgba(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number, scale: number): Uint8ClampedArray {
  const r = imresize8(toImage8(rgba, width, height), { scale }, 'bicubic');
  const n = r.width * r.height;
  const out = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    out[4 * p] = r.data[3 * p]!;
    out[4 * p + 1] = r.data[3 * p + 1]!;
    out[4 * p + 2] = r.data[3 * p + 2]!;
    out[4 * p + 3] = r.alpha![p]!;
  }
  return out;
}

export interface RgbaUpscaleOptions {
  /** LR RGBA pixels */
  rgba: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
  scale: number;
  tileSize: number;
  overlap: number;
  /**
   * Runs the model on one tile: RGB in [0, 1], planar (CHW) when `planar`, else interleaved (HWC);
   * resolves to the upscaled tile in the same layout, values in the model's own range.
   */
  run: (rgb: Float32Array, h: number, w: number) => Promise<Float32Array>;
  planar: boolean;
  /** the model's output range, mapped to [0, 1] */
  outputRange: [number, number];
  onProgress?: (p: TileProgress) => void;
  /** checked before each tile; a true answer stops the work with an AbortError */
  cancelled?: () => boolean;
}

/** The upscaled RGB in an RGBA buffer, alpha left at 255 for the caller to fill. */
export async function upscaleRgba(o: RgbaUpscaleOptions): Promise<Uint8ClampedArray> {
  const { width, height, scale: s, planar } = o;
  const n = width * height;
  const rgb = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) for (let c = 0; c < 3; c++) rgb[3 * p + c] = o.rgba[4 * p + c]! / 255;
  const [lo, hi] = o.outputRange;
  const span = hi - lo;
  // The tiler takes the engines' contract (HWC in, HWC in [-1, 1] out); the model's own layout
  // and range are translated here, tile by tile.
  const engine = {
    name: 'onnx' as const,
    scale: s,
    concurrency: 1,
    dispose: async () => undefined,
    run: async (tile: Float32Array, th: number, tw: number): Promise<Float32Array> => {
      if (o.cancelled?.()) throw new DOMException('upscaling was cancelled', 'AbortError');
      const tn = th * tw;
      let x = tile;
      if (planar) {
        x = new Float32Array(tn * 3);
        for (let p = 0; p < tn; p++) for (let c = 0; c < 3; c++) x[c * tn + p] = tile[3 * p + c]!;
      }
      const y = await o.run(x, th, tw);
      const on = tn * s * s;
      if (y.length !== on * 3) throw new Error(`the model returned ${y.length} values for a ${tw}x${th} tile; x${s} needs ${on * 3}`);
      const out = new Float32Array(on * 3);
      for (let p = 0; p < on; p++) {
        for (let c = 0; c < 3; c++) out[3 * p + c] = (2 * (y[planar ? c * on + p : 3 * p + c]! - lo)) / span - 1;
      }
      return out;
    },
  };
  const W = width * s;
  const out = new Uint8ClampedArray(W * height * s * 4);
  await upscaleTiledRows(engine, rgb, width, height, { tileSize: o.tileSize, overlap: o.overlap, onProgress: o.onProgress }, (y0, rows, count) => {
    for (let p = 0; p < count * W; p++) {
      const q = (y0 * W + p) * 4;
      out[q] = quantize8(rows[3 * p]!);
      out[q + 1] = quantize8(rows[3 * p + 1]!);
      out[q + 2] = quantize8(rows[3 * p + 2]!);
      out[q + 3] = 255;
    }
  });
  return out;
}
