// Hand-assembled PNG files for loader tests. Writing them without sharp means the loader is
// checked against the format itself, not against its own encoder (sharp re-interprets raw 16-bit
// and 2-channel input in ways that would hide bugs).
import { crc32, deflateSync } from 'node:zlib';

function chunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

export const PNG_SIGNATURE = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);

export function ihdr(width: number, height: number, bitDepth: number, colorType: number): Buffer {
  const h = Buffer.alloc(13);
  h.writeUInt32BE(width, 0);
  h.writeUInt32BE(height, 4);
  h[8] = bitDepth;
  h[9] = colorType;
  return chunk('IHDR', h);
}

/**
 * colorType: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. `samples` are row-major and
 * interleaved, one number per sample (palette: one index per pixel).
 */
export function makePng(opts: {
  width: number;
  height: number;
  colorType: 0 | 2 | 3 | 4 | 6;
  bitDepth: 8 | 16;
  samples: ArrayLike<number>;
  palette?: [number, number, number][];
  transparency?: number[];
}): Buffer {
  const { width, height, colorType, bitDepth, samples } = opts;
  const spp = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  const bps = bitDepth / 8;
  const rowBytes = width * spp * bps;
  const raw = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    raw[y * (rowBytes + 1)] = 0; // filter: none
    for (let i = 0; i < width * spp; i++) {
      const v = samples[y * width * spp + i]!;
      const o = y * (rowBytes + 1) + 1 + i * bps;
      if (bps === 2) raw.writeUInt16BE(v, o);
      else raw[o] = v;
    }
  }
  const parts = [PNG_SIGNATURE, ihdr(width, height, bitDepth, colorType)];
  if (opts.palette) parts.push(chunk('PLTE', Buffer.from(opts.palette.flat())));
  if (opts.transparency) parts.push(chunk('tRNS', Buffer.from(opts.transparency)));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** A valid PNG header claiming a huge size, with no pixel data behind it. */
export function hugePngHeader(width: number, height: number): Buffer {
  return Buffer.concat([PNG_SIGNATURE, ihdr(width, height, 8, 2), chunk('IDAT', deflateSync(Buffer.alloc(16))), chunk('IEND', new Uint8Array(0))]);
}
