// Bounded-memory inference: the LR image is cut into overlapping tiles, each tile goes through the
// engine, and the results are blended into one preallocated HR buffer. Memory is the output plus a
// few tiles, whatever the image size.
//
// Layout along each axis: n tiles of at most `tile` px, neighbours overlapping by exactly `overlap`
// px, sizes spread evenly (no sliver at the end). Blending: inside an overlap, a tile's weight is
// 0 on the quarter nearest its own edge, ramps linearly over the middle half, and is 1 beyond, so
// the two weights sum to 1 everywhere and no pixel near a tile's edge (where zero padding makes
// the network's output differ from the whole-image result) weighs much. Weights are separable
// (wx * wy), so corners where four tiles meet also sum to 1. Tiles are blended in a fixed order,
// so the result does not depend on which tile finishes first.
import { SrError } from '../util/errors.js';
import type { Engine } from './engine.js';

export const DEFAULT_TILE = 192;
// 32, not 16: on the shipped SRResNet x4, 192 px tiles overlapping by 16 differ from the
// whole-image result by up to 1.46/255, by 32 by 0.07/255 (the receptive field is ~39 LR px;
// bench/tiling_context.ts measures it).
export const DEFAULT_OVERLAP = 32;

export interface TileRect {
  /** Position in blending order (row-major). */
  index: number;
  /** LR pixels. */
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface TileProgress {
  done: number;
  total: number;
  tile: TileRect;
}

export interface TiledRunOptions {
  /** Tile side in LR pixels (default 192). */
  tileSize?: number;
  /** Overlap between neighbouring tiles in LR pixels (default 32); tileSize must be at least 3x it. */
  overlap?: number;
  onProgress?: (p: TileProgress) => void;
  signal?: AbortSignal;
}

export function checkTiling(tileSize: number, overlap: number): void {
  if (!Number.isInteger(tileSize) || tileSize < 16) throw new SrError(`tile size must be a whole number of at least 16 LR pixels, got ${tileSize}`);
  if (!Number.isInteger(overlap) || overlap < 0) throw new SrError(`overlap must be a whole number of pixels >= 0, got ${overlap}`);
  if (tileSize < 3 * overlap) throw new SrError(`tile size ${tileSize} is too small for overlap ${overlap}: it must be at least 3x the overlap (${3 * overlap})`);
}

/** [start, end) of each tile along one axis of length `len`. */
export function planAxis(len: number, tile: number, overlap: number): Array<[number, number]> {
  if (len <= tile) return [[0, len]];
  const n = Math.ceil((len - overlap) / (tile - overlap));
  const total = len + (n - 1) * overlap;
  const base = Math.floor(total / n);
  const extra = total % n;
  const out: Array<[number, number]> = [];
  let a = 0;
  for (let i = 0; i < n; i++) {
    const l = base + (i < extra ? 1 : 0);
    out.push([a, a + l]);
    a += l - overlap;
  }
  return out;
}

export function planTiles(width: number, height: number, tileSize = DEFAULT_TILE, overlap = DEFAULT_OVERLAP): TileRect[] {
  checkTiling(tileSize, overlap);
  const xs = planAxis(width, tileSize, overlap);
  const ys = planAxis(height, tileSize, overlap);
  const out: TileRect[] = [];
  for (const [y0, y1] of ys) for (const [x0, x1] of xs) out.push({ index: out.length, x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
  return out;
}

/**
 * Blend weights for one axis of a tile, in HR pixels: `start`/`end` the tile's LR span, `len` the
 * image's LR length.
 */
export function axisWeights(start: number, end: number, len: number, overlap: number, scale: number): Float32Array {
  const n = (end - start) * scale;
  const w = new Float32Array(n).fill(1);
  if (overlap === 0) return w;
  const o = overlap * scale;
  const margin = o / 4;
  const ramp = o / 2;
  const clamp = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);
  for (let i = 0; i < n; i++) {
    const fromStart = i + 0.5;
    const fromEnd = n - i - 0.5;
    let v = 1;
    if (start > 0 && fromStart < o) v *= clamp((fromStart - margin) / ramp);
    if (end < len && fromEnd < o) v *= clamp((fromEnd - margin) / ramp);
    w[i] = v;
  }
  return w;
}

function cutTile(src: Float32Array, imgW: number, t: TileRect): Float32Array {
  const out = new Float32Array(t.width * t.height * 3);
  for (let y = 0; y < t.height; y++) {
    const from = ((t.y + y) * imgW + t.x) * 3;
    out.set(src.subarray(from, from + t.width * 3), y * t.width * 3);
  }
  return out;
}

/**
 * Upscales an RGB image (HWC, [0, 1]) tile by tile. Returns HWC RGB at scale x, in [0, 1]
 * (the engine's [-1, 1] output mapped and clipped after blending).
 */
export async function upscaleTiled(engine: Engine, rgb: Float32Array, width: number, height: number, opts: TiledRunOptions = {}): Promise<Float32Array> {
  const tileSize = opts.tileSize ?? DEFAULT_TILE;
  const overlap = opts.overlap ?? DEFAULT_OVERLAP;
  const tiles = planTiles(width, height, tileSize, overlap);
  if (rgb.length !== width * height * 3) throw new SrError(`image data has ${rgb.length} values, ${width}x${height}x3 needs ${width * height * 3}`);
  const s = engine.scale;
  const W = width * s;
  const out = new Float32Array(W * height * s * 3);
  const signal = opts.signal;
  signal?.throwIfAborted();

  const blend = (t: TileRect, y: Float32Array) => {
    const tw = t.width * s;
    const th = t.height * s;
    if (y.length !== tw * th * 3) throw new SrError(`engine returned ${y.length} values for a ${t.width}x${t.height} tile, expected ${tw * th * 3} (scale ${s})`);
    const wx = axisWeights(t.x, t.x + t.width, width, overlap, s);
    const wy = axisWeights(t.y, t.y + t.height, height, overlap, s);
    for (let j = 0; j < th; j++) {
      const row = ((t.y * s + j) * W + t.x * s) * 3;
      const src = j * tw * 3;
      const fy = wy[j]!;
      if (fy === 0) continue;
      for (let i = 0; i < tw; i++) {
        const f = fy * wx[i]!;
        if (f === 0) continue;
        const o = row + 3 * i;
        const k = src + 3 * i;
        out[o] = out[o]! + f * y[k]!;
        out[o + 1] = out[o + 1]! + f * y[k + 1]!;
        out[o + 2] = out[o + 2]! + f * y[k + 2]!;
      }
    }
  };

  // Up to `concurrency` tiles in flight; finished ones wait in `ready` until every earlier tile
  // has been blended, which keeps the sum's order (and so the result) fixed.
  const ready = new Map<number, Float32Array>();
  const inFlight = new Set<Promise<void>>();
  let nextToStart = 0;
  let nextToBlend = 0;
  let failure: unknown = null;
  const limit = Math.max(1, engine.concurrency);
  while (nextToBlend < tiles.length) {
    while (failure === null && !signal?.aborted && nextToStart < tiles.length && inFlight.size < limit) {
      const t = tiles[nextToStart++]!;
      const p: Promise<void> = engine
        .run(cutTile(rgb, width, t), t.height, t.width)
        .then(
          (y) => void ready.set(t.index, y),
          (err: unknown) => void (failure ??= err),
        )
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    if (failure !== null || signal?.aborted) {
      await Promise.allSettled(inFlight); // leave the engine idle before giving up
      if (failure !== null) throw failure;
      signal!.throwIfAborted();
    }
    if (!ready.has(nextToBlend)) {
      if (inFlight.size === 0) throw new Error(`internal: tile ${nextToBlend} was never started`);
      await Promise.race(inFlight);
      continue;
    }
    const t = tiles[nextToBlend]!;
    blend(t, ready.get(nextToBlend)!);
    ready.delete(nextToBlend);
    nextToBlend++;
    opts.onProgress?.({ done: nextToBlend, total: tiles.length, tile: t });
  }
  for (let i = 0; i < out.length; i++) {
    const v = (out[i]! + 1) * 0.5;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}
