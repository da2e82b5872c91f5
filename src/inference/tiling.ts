// Bounded-memory inference: the LR image is cut into overlapping tiles, each tile goes through the
// engine, and the results are blended, one row of tiles at a time, into a float band as wide as the
// output; finished rows leave the band for the caller (who keeps them in 8 or 16 bits, or writes
// them out). Memory is the band plus a few tiles, whatever the image's height.
//
// Plan: tiles hold at most tileSize^2 LR pixels (what bounds an engine's memory), neighbours
// overlap by exactly `overlap` px, sizes are spread evenly (no sliver at the end). Among the grids
// that fit, the planner takes the one that finishes first when `workers` tiles run at once (rounds
// x largest tile), then the one that computes the fewest pixels: a 256x256 image on two workers
// is two 256x144 tiles (1.125x its pixels, one tile each), not four 144x144 ones (1.27x, two each).
//
// Blending: inside an overlap, a tile's weight is 0 on the quarter nearest its own edge, ramps
// linearly over the middle half, and is 1 beyond, so the two weights sum to 1 everywhere and no
// pixel near a tile's edge (where zero padding makes the network's output differ from the
// whole-image result) weighs much. Weights are separable (wx * wy), so corners where four tiles
// meet also sum to 1. Tiles are blended in a fixed order, so the result does not depend on which
// tile finishes first.
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
  /** Tiles hold at most tileSize^2 LR pixels (default 192: 36864 px, ~450 MB in an ONNX session). */
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

/** [start, end) of each tile along one axis of length `len`, tiles no longer than `tile`. */
export function planAxis(len: number, tile: number, overlap: number): Array<[number, number]> {
  return splitAxis(len, len <= tile ? 1 : Math.ceil((len - overlap) / (tile - overlap)), overlap);
}

/** `n` spans covering [0, len), neighbours overlapping by `overlap`, sizes within 1 of each other. */
export function splitAxis(len: number, n: number, overlap: number): Array<[number, number]> {
  if (n <= 1) return [[0, len]];
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

function grid(xs: Array<[number, number]>, ys: Array<[number, number]>): TileRect[] {
  const out: TileRect[] = [];
  for (const [y0, y1] of ys) for (const [x0, x1] of xs) out.push({ index: out.length, x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
  return out;
}

/**
 * The tiles of a width x height image: each at most tileSize^2 pixels, the grid chosen so that
 * `workers` engines running at once finish soonest, then with the fewest pixels computed.
 */
export function planTiles(width: number, height: number, tileSize = DEFAULT_TILE, overlap = DEFAULT_OVERLAP, workers = 1): TileRect[] {
  checkTiling(tileSize, overlap);
  const budget = tileSize * tileSize;
  // Without overlap every extra tile is an extra seam: then only as many tiles as the budget needs.
  const parallel = overlap > 0 ? Math.max(1, workers) : 1;
  // A tile with a neighbour needs room for both ramps: at least 2x the overlap along that axis.
  const maxSplit = (len: number) => (overlap === 0 ? len : Math.max(1, Math.floor((len - overlap) / overlap)));
  const longest = (spans: Array<[number, number]>) => Math.max(...spans.map(([a, b]) => b - a));
  const valid = (spans: Array<[number, number]>) => spans.length === 1 || spans.every(([a, b]) => b - a >= 2 * overlap);
  let best: { cost: [number, number, number]; xs: Array<[number, number]>; ys: Array<[number, number]> } | null = null;
  // Columns much narrower than the square grid's only add overlap: the search stops a little past it.
  const columns = Math.min(maxSplit(width), planAxis(width, tileSize, overlap).length * (parallel + 2));
  for (let nx = 1; nx <= columns; nx++) {
    const xs = splitAxis(width, nx, overlap);
    if (!valid(xs)) break;
    const tw = longest(xs);
    const tallest = Math.floor(budget / tw);
    if (tallest <= overlap && tallest < height) continue;
    // The fewest rows that fit the budget, and a few more: more tiles can balance the workers.
    const ny = planAxis(height, tallest, overlap).length;
    for (let k = ny; k < ny + parallel && k <= Math.max(1, maxSplit(height)); k++) {
      const ys = splitAxis(height, k, overlap);
      const th = longest(ys);
      if (!valid(ys) || tw * th > budget) continue;
      const n = nx * k;
      const area = xs.reduce((a, [x0, x1]) => a + (x1 - x0), 0) * ys.reduce((a, [y0, y1]) => a + (y1 - y0), 0);
      const cost: [number, number, number] = [Math.ceil(n / parallel) * tw * th, area, n];
      if (!best || cost[0] < best.cost[0] || (cost[0] === best.cost[0] && (cost[1] < best.cost[1] || (cost[1] === best.cost[1] && cost[2] < best.cost[2])))) best = { cost, xs, ys };
    }
  }
  // The square grid always fits (tileSize >= 3x overlap); the search only improves on it.
  return best ? grid(best.xs, best.ys) : grid(planAxis(width, tileSize, overlap), planAxis(height, tileSize, overlap));
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
 * Receives finished output rows, top to bottom: `count` rows from HR row `y0`, HWC RGB in [0, 1].
 * `rows` is reused after the call returns (or its promise settles): copy what you keep.
 */
export type RowSink = (y0: number, rows: Float32Array, count: number) => void | Promise<void>;

/**
 * Upscales an RGB image (HWC, [0, 1]) tile by tile and hands the output to `sink` in bands of
 * rows, each final (the engine's [-1, 1] output blended, mapped to [0, 1] and clipped). Memory:
 * a float band of one tile row's height times the output width, and the tiles in flight.
 */
export async function upscaleTiledRows(engine: Engine, rgb: Float32Array, width: number, height: number, opts: TiledRunOptions, sink: RowSink): Promise<void> {
  const tileSize = opts.tileSize ?? DEFAULT_TILE;
  const overlap = opts.overlap ?? DEFAULT_OVERLAP;
  const limit = Math.max(1, engine.concurrency);
  const tiles = planTiles(width, height, tileSize, overlap, limit);
  if (rgb.length !== width * height * 3) throw new SrError(`image data has ${rgb.length} values, ${width}x${height}x3 needs ${width * height * 3}`);
  const s = engine.scale;
  const W = width * s;
  const rowLen = W * 3;
  const band = new Float32Array(Math.max(...tiles.map((t) => t.height)) * s * rowLen);
  let bandTop = 0; // HR row held in band[0]
  const signal = opts.signal;
  signal?.throwIfAborted();

  const blend = (t: TileRect, y: Float32Array) => {
    const tw = t.width * s;
    const th = t.height * s;
    if (y.length !== tw * th * 3) throw new SrError(`engine returned ${y.length} values for a ${t.width}x${t.height} tile, expected ${tw * th * 3} (scale ${s})`);
    const wx = axisWeights(t.x, t.x + t.width, width, overlap, s);
    const wy = axisWeights(t.y, t.y + t.height, height, overlap, s);
    for (let j = 0; j < th; j++) {
      const row = (t.y * s + j - bandTop) * rowLen + t.x * s * 3;
      const src = j * tw * 3;
      const fy = wy[j]!;
      if (fy === 0) continue;
      for (let i = 0; i < tw; i++) {
        const f = fy * wx[i]!;
        if (f === 0) continue;
        const o = row + 3 * i;
        const k = src + 3 * i;
        band[o] = band[o]! + f * y[k]!;
        band[o + 1] = band[o + 1]! + f * y[k + 1]!;
        band[o + 2] = band[o + 2]! + f * y[k + 2]!;
      }
    }
  };

  // Rows above the next tile row's top receive nothing more once this tile row is blended.
  const flush = async (t: TileRect) => {
    const next = tiles[t.index + 1];
    const end = next ? next.y * s : height * s;
    const n = end - bandTop;
    const done = band.subarray(0, n * rowLen);
    for (let i = 0; i < done.length; i++) {
      const v = (done[i]! + 1) * 0.5;
      done[i] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
    await sink(bandTop, done, n);
    const kept = (t.y + t.height) * s - end; // the overlap, carried into the next row's band
    band.copyWithin(0, n * rowLen, (n + kept) * rowLen);
    band.fill(0, kept * rowLen);
    bandTop = end;
  };

  // Up to `concurrency` tiles in flight; finished ones wait in `ready` until every earlier tile
  // has been blended, which keeps the sum's order (and so the result) fixed.
  const ready = new Map<number, Float32Array>();
  const inFlight = new Set<Promise<void>>();
  let nextToStart = 0;
  let nextToBlend = 0;
  let failure: unknown = null;
  const stopAll = async () => {
    await Promise.allSettled(inFlight); // leave the engine idle before giving up
  };
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
      await stopAll();
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
    const next = tiles[nextToBlend];
    if (!next || next.y !== t.y) {
      try {
        await flush(t);
      } catch (err) {
        await stopAll();
        throw err;
      }
    }
  }
}

/** upscaleTiledRows into one float buffer: HWC RGB at scale x, in [0, 1]. */
export async function upscaleTiled(engine: Engine, rgb: Float32Array, width: number, height: number, opts: TiledRunOptions = {}): Promise<Float32Array> {
  const W = width * engine.scale;
  const out = new Float32Array(W * height * engine.scale * 3);
  await upscaleTiledRows(engine, rgb, width, height, opts, (y0, rows) => out.set(rows, y0 * W * 3));
  return out;
}
