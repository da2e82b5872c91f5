// A photo-like test input for the benchmarks: smooth gradients plus texture, 8-bit RGB PNG.
import sharp from 'sharp';

export async function writePhotoLike(path: string, width: number, height: number): Promise<void> {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let c = 0; c < 3; c++) px[(y * width + x) * 3 + c] = Math.round(127 + 100 * Math.sin(x * 0.01 * (c + 1) + y * 0.013) + 20 * Math.sin(x * 0.3 + y * 0.2 * c));
  await sharp(px, { raw: { width, height, channels: 3 } }).png().toFile(path);
}
