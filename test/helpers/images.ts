// Synthetic photographs for tests: smooth colour fields with edges and texture, so that a small
// network has something learnable and bicubic something to lose.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { seeded } from './tf.js';

export async function writeTextureImage(path: string, width: number, height: number, seed: number): Promise<void> {
  const r = seeded(seed);
  const waves = Array.from({ length: 6 }, () => ({ fx: r() * 0.3, fy: r() * 0.3, ph: r() * 6.28, c: [r(), r(), r()] }));
  const cx = r() * width;
  const cy = r() * height;
  const rad = (0.2 + r() * 0.3) * Math.min(width, height);
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const inside = (x - cx) ** 2 + (y - cy) ** 2 < rad * rad ? 0.35 : 0;
      for (let c = 0; c < 3; c++) {
        let v = 0.3 + inside;
        for (const w of waves) v += 0.12 * w.c[c]! * Math.sin(w.fx * x + w.fy * y + w.ph);
        px[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v * 255)));
      }
    }
  }
  await sharp(px, { raw: { width, height, channels: 3 } }).png().toFile(path);
}

export async function makeImageFolder(dir: string, count: number, width: number, height: number, seed: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < count; i++) await writeTextureImage(join(dir, `img${i}.png`), width, height, seed + i);
  return dir;
}
