// Output pixels as the integers they are stored as: 8 bits a sample (16 for 16-bit sources), colour
// then alpha, interleaved. A 25 MP x4 result is 1.2 GB this way where float32 took 4.8 GB.
//
// Rows arrive in bands (the tiler hands them over top to bottom) and go either into memory or,
// for outputs too large to hold, to a libvips ".v" file: a 64-byte header and the raw samples,
// which sharp reads back a window at a time while it encodes (vips_image_new_from_file maps it).
// Header fields (libvips' vips.c): magic, width, height, bands, bbits, band format, coding,
// interpretation, xres, yres, then zeros; written big-endian magic 0xb6a6f208 = little-endian file.
import { open, type FileHandle } from 'node:fs/promises';
import { SrError } from '../util/errors.js';

export interface Raster {
  width: number;
  height: number;
  /** colour channels (1 grey, 3 RGB) plus one when there is alpha */
  channels: 1 | 2 | 3 | 4;
  bits: 8 | 16;
  data: Uint8Array | Uint16Array;
}

/** A raster written to disk by RasterWriter.toFile: encode it with saveRaster, then delete it. */
export interface RasterFile extends Omit<Raster, 'data'> {
  file: string;
}

const VIPS_MAGIC = 0xb6a6f208;
const VIPS_UCHAR = 0;
const VIPS_USHORT = 2;
// interpretation: B_W 1, sRGB 22, RGB16 25, GREY16 26
const vipsType = (colour: 1 | 3, bits: 8 | 16) => (colour === 1 ? (bits === 16 ? 26 : 1) : bits === 16 ? 25 : 22);

function vipsHeader(r: Omit<Raster, 'data'>): Buffer {
  const b = Buffer.alloc(64);
  b.writeUInt32BE(VIPS_MAGIC, 0);
  b.writeInt32LE(r.width, 4);
  b.writeInt32LE(r.height, 8);
  b.writeInt32LE(r.channels, 12);
  b.writeInt32LE(r.bits, 16);
  b.writeInt32LE(r.bits === 16 ? VIPS_USHORT : VIPS_UCHAR, 20);
  b.writeInt32LE(0, 24); // coding: none
  b.writeInt32LE(vipsType(r.channels <= 2 ? 1 : 3, r.bits), 28);
  b.writeFloatLE(1, 32);
  b.writeFloatLE(1, 36);
  return b;
}

/** Bytes a raster of this shape takes. */
export function rasterBytes(width: number, height: number, channels: number, bits: 8 | 16): number {
  return width * height * channels * (bits / 8);
}

/** Rounds [0, 1] floats to the stored integers (half up, saturated; NaN to 0). */
function quantize(v: number, max: number): number {
  const q = Math.floor(v * max + 0.5);
  return q > 0 ? (q < max ? q : max) : 0;
}

/** Writes `n` pixels of colour (`c` channels) and alpha into `dst` as `channels`-sample pixels. */
function fill(dst: Uint8Array | Uint16Array, n: number, c: number, channels: number, max: number, colour: ArrayLike<number>, alpha?: ArrayLike<number>): void {
  for (let p = 0, o = 0; p < n; p++) {
    for (let k = 0; k < c; k++) dst[o++] = quantize(colour[p * c + k]!, max);
    if (channels > c) dst[o++] = alpha ? quantize(alpha[p]!, max) : max;
  }
}

/** A whole float image (colour with `colourChannels`, optional alpha) as a raster. */
export function toRaster(width: number, height: number, colourChannels: 1 | 3, colour: ArrayLike<number>, alpha: ArrayLike<number> | undefined, bits: 8 | 16): Raster {
  const channels = (colourChannels + (alpha ? 1 : 0)) as Raster['channels'];
  const data = bits === 16 ? new Uint16Array(width * height * channels) : new Uint8Array(width * height * channels);
  fill(data, width * height, colourChannels, channels, bits === 16 ? 65535 : 255, colour, alpha);
  return { width, height, channels, bits, data };
}

/**
 * Collects rows into a raster: `put` takes a band of `count` rows of colour (1 or 3 channels,
 * [0, 1]) and optional alpha, in any order in memory, top to bottom on disk.
 */
export class RasterWriter {
  private written = 0;
  private readonly max: number;
  private readonly colour: 1 | 3;

  private constructor(
    private readonly shape: Omit<Raster, 'data'>,
    private readonly data: Uint8Array | Uint16Array | null,
    private readonly fh: FileHandle | null,
    private readonly file: string,
  ) {
    this.max = shape.bits === 16 ? 65535 : 255;
    this.colour = shape.channels <= 2 ? 1 : 3;
  }

  static inMemory(width: number, height: number, channels: Raster['channels'], bits: 8 | 16): RasterWriter {
    const n = width * height * channels;
    let data: Uint8Array | Uint16Array;
    try {
      data = bits === 16 ? new Uint16Array(n) : new Uint8Array(n);
    } catch (err) {
      throw new SrError(`cannot hold a ${width}x${height} image in memory (${(rasterBytes(width, height, channels, bits) / 2 ** 30).toFixed(1)} GiB): ${(err as Error).message}`, { cause: err });
    }
    return new RasterWriter({ width, height, channels, bits }, data, null, '');
  }

  static async toFile(file: string, width: number, height: number, channels: Raster['channels'], bits: 8 | 16): Promise<RasterWriter> {
    const shape = { width, height, channels, bits };
    const fh = await open(file, 'w');
    try {
      await fh.write(vipsHeader(shape), 0, 64, 0);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new RasterWriter(shape, null, fh, file);
  }

  async put(y0: number, count: number, colour: Float32Array, alpha?: Float32Array): Promise<void> {
    const { width, channels } = this.shape;
    const c = this.colour;
    const n = width * count;
    if (colour.length < n * c) throw new Error(`internal: a band of ${count} rows needs ${n * c} colour values, got ${colour.length}`);
    const band = this.data ? this.data.subarray(y0 * width * channels, (y0 + count) * width * channels) : this.shape.bits === 16 ? new Uint16Array(n * channels) : new Uint8Array(n * channels);
    fill(band, n, c, channels, this.max, colour, alpha);
    if (this.fh) {
      if (y0 !== this.written) throw new Error(`internal: rows must reach the file in order (got row ${y0}, expected ${this.written})`);
      const bytes = new Uint8Array(band.buffer, band.byteOffset, band.byteLength);
      await this.fh.write(bytes, 0, bytes.length, 64 + y0 * width * channels * (this.shape.bits / 8));
    }
    this.written = y0 + count;
  }

  /** The finished raster (in memory) or file; the caller owns (and deletes) the file. */
  async finish(): Promise<Raster | RasterFile> {
    if (this.written !== this.shape.height) throw new Error(`internal: ${this.written} of ${this.shape.height} rows written`);
    if (!this.fh) return { ...this.shape, data: this.data! };
    await this.fh.close();
    return { ...this.shape, file: this.file };
  }

  /** Closes the file after a failure (the caller deletes it). */
  async abort(): Promise<void> {
    await this.fh?.close().catch(() => undefined);
  }
}
