// Tiled upscaling with feathered blending in bounded memory, for the browser worker (no DOM, no
// Node: plain typed arrays, so Node tests run it too).
//
// Tiles overlap; inside each tile the weight rises linearly over the overlap towards every edge
// that has a neighbour (a feathered ramp), and the blended value is the weighted sum divided by the
// summed weights. Whole rows of tiles are processed in order and only a band of output rows one
// tile tall is held in float; rows no later tile can touch are written out as 8-bit at once. So
// memory is the output image plus one band, whatever the image size.

export interface TileRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Tile origins along one axis: evenly spread, first at 0, last flush with the end. */
export function tileStarts(len: number, tile: number, overlap: number): number[] {
  if (len <= tile) return [0];
  const stride = Math.max(1, tile - overlap);
  const n = Math.ceil((len - tile) / stride) + 1;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = Math.round((i * (len - tile)) / (n - 1));
    if (out.length === 0 || s > out[out.length - 1]!) out.push(s);
  }
  return out;
}

/** Rows of tiles covering a width x height image. */
export function tileGrid(width: number, height: number, tile: number, overlap: number): TileRect[][] {
  const xs = tileStarts(width, tile, overlap);
  const ys = tileStarts(height, tile, overlap);
  const th = Math.min(tile, height);
  const tw = Math.min(tile, width);
  return ys.map((y) => xs.map((x) => ({ x, y, w: tw, h: th })));
}

/** Weight of output sample i (0-based) along an axis of n samples with ramps of r at the open ends. */
function ramp(i: number, n: number, r: number, before: boolean, after: boolean): number {
  let v = 1;
  if (r > 0) {
    if (before) v = Math.min(v, (i + 0.5) / r);
    if (after) v = Math.min(v, (n - i - 0.5) / r);
  }
  return v;
}

export interface UpscaleProgress {
  done: number;
  total: number;
  tile: TileRect;
}

export interface TiledUpscaleOptions {
  /** LR RGBA pixels */
  rgba: Uint8ClampedArray | Uint8Array;
  width: number;
  height: number;
  scale: number;
  tile: number;
  overlap: number;
  /**
   * Runs the model on one tile: RGB in [0, 1], planar (CHW) when `planar`, else interleaved (HWC);
   * resolves to the upscaled tile in the same layout, values in the model's own range.
   */
  run: (rgb: Float32Array, h: number, w: number) => Promise<Float32Array>;
  planar: boolean;
  /** the model's output range, mapped to [0, 1] */
  outputRange: [number, number];
  onProgress?: (p: UpscaleProgress) => void;
  /** checked between tiles; a true answer stops the work with an AbortError */
  cancelled?: () => boolean;
}

/** Returns the upscaled RGB in an RGBA buffer (alpha left at 255 for the caller to fill). */
export async function tiledUpscale(o: TiledUpscaleOptions): Promise<Uint8ClampedArray> {
  const { width, height, scale: s } = o;
  const grid = tileGrid(width, height, o.tile, o.overlap);
  const outW = width * s;
  const outH = height * s;
  const out = new Uint8ClampedArray(outW * outH * 4);
  const tileH = grid[0]![0]!.h;
  const bandRows = tileH * s;
  // r, g, b, weight for each sample of the band
  const band = new Float32Array(bandRows * outW * 4);
  let bandTop = 0; // output row of band row 0
  const [lo, hi] = o.outputRange;
  const span = hi - lo;
  const total = grid.length * grid[0]!.length;
  let done = 0;
  const lastX = grid[0]![grid[0]!.length - 1]!.x;
  const lastY = grid[grid.length - 1]![0]!.y;
  const rOut = o.overlap * s;

  const flush = (until: number) => {
    // write output rows [bandTop, until) and slide the band up
    const rows = until - bandTop;
    for (let r = 0; r < rows; r++) {
      const bo = r * outW * 4;
      const oo = (bandTop + r) * outW * 4;
      for (let x = 0; x < outW; x++) {
        const wsum = band[bo + 4 * x + 3]!;
        const inv = wsum > 0 ? 1 / wsum : 0;
        for (let c = 0; c < 3; c++) {
          const v = ((band[bo + 4 * x + c]! * inv - lo) / span) * 255;
          out[oo + 4 * x + c] = Math.floor(v + 0.5); // Uint8ClampedArray saturates
        }
        out[oo + 4 * x + 3] = 255;
      }
    }
    band.copyWithin(0, rows * outW * 4);
    band.fill(0, (bandRows - rows) * outW * 4);
    bandTop = until;
  };

  for (let row = 0; row < grid.length; row++) {
    for (const t of grid[row]!) {
      if (o.cancelled?.()) throw new DOMException('upscaling was cancelled', 'AbortError');
      const n = t.w * t.h;
      const rgb = new Float32Array(n * 3);
      for (let y = 0; y < t.h; y++) {
        for (let x = 0; x < t.w; x++) {
          const src = ((t.y + y) * width + t.x + x) * 4;
          const p = y * t.w + x;
          for (let c = 0; c < 3; c++) rgb[o.planar ? c * n + p : p * 3 + c] = o.rgba[src + c]! / 255;
        }
      }
      const sr = await o.run(rgb, t.h, t.w);
      const ow = t.w * s;
      const oh = t.h * s;
      const on = ow * oh;
      if (sr.length !== on * 3) throw new Error(`the model returned ${sr.length} values for a ${t.w}x${t.h} tile; x${s} needs ${on * 3}`);
      const y0 = t.y * s - bandTop;
      for (let y = 0; y < oh; y++) {
        const wy = ramp(y, oh, rOut, t.y > 0, t.y < lastY);
        const bo = (y0 + y) * outW * 4 + t.x * s * 4;
        for (let x = 0; x < ow; x++) {
          const wgt = wy * ramp(x, ow, rOut, t.x > 0, t.x < lastX);
          const p = y * ow + x;
          const b = bo + 4 * x;
          if (o.planar) {
            band[b] += wgt * sr[p]!;
            band[b + 1] += wgt * sr[on + p]!;
            band[b + 2] += wgt * sr[2 * on + p]!;
          } else {
            band[b] += wgt * sr[3 * p]!;
            band[b + 1] += wgt * sr[3 * p + 1]!;
            band[b + 2] += wgt * sr[3 * p + 2]!;
          }
          band[b + 3] += wgt;
        }
      }
      done++;
      o.onProgress?.({ done, total, tile: t });
    }
    const next = grid[row + 1];
    flush(next ? next[0]!.y * s : outH);
  }
  return out;
}
