// Synthetic material for the video tests: band-limited texture that can be shifted by any
// sub-pixel amount exactly (it is a formula, not a resampled bitmap).
import type { Image } from '../../src/image/image.js';
import { seeded } from '../helpers/tf.js';

export interface Texture {
  /** RGB in [0, 1] at a real-valued point */
  at(x: number, y: number): [number, number, number];
}

export function texture(seed: number): Texture {
  const r = seeded(seed);
  const waves = Array.from({ length: 14 }, () => ({ fx: (r() - 0.5) * 0.9, fy: (r() - 0.5) * 0.9, ph: r() * 6.283, c: [r(), r(), r()] }));
  const blobs = Array.from({ length: 4 }, () => ({ x: r() * 200, y: r() * 150, s: 6 + r() * 12, c: [r() - 0.5, r() - 0.5, r() - 0.5] }));
  return {
    at(x, y) {
      const out: [number, number, number] = [0.5, 0.5, 0.5];
      for (const w of waves) {
        const s = Math.sin(w.fx * x + w.fy * y + w.ph);
        for (let k = 0; k < 3; k++) out[k] += 0.045 * w.c[k]! * s;
      }
      for (const b of blobs) {
        const g = Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.s * b.s));
        for (let k = 0; k < 3; k++) out[k] += 0.3 * b.c[k]! * g;
      }
      return out.map((v) => Math.min(1, Math.max(0, v))) as [number, number, number];
    },
  };
}

/** Renders the texture displaced by the map p -> src(p): pixel p shows texture(src(p)). */
export function render(t: Texture, width: number, height: number, src: (x: number, y: number) => [number, number]): Image {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [sx, sy] = src(x, y);
      data.set(t.at(sx, sy), (y * width + x) * 3);
    }
  }
  return { width, height, channels: 3, data };
}

/** Rounds to 8-bit levels, as a decoded frame would be. */
export function quantized(img: Image): Image {
  return { ...img, data: img.data.map((v) => Math.round(v * 255) / 255) };
}
