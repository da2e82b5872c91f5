// Output pixels as the integers they are stored as: 8 bits a sample (16 for 16-bit sources), colour
// then alpha, interleaved. A 25 MP x4 result is 1.2 GB this way where float32 took 4.8 GB.
//
// Rows arrive in bands (the tiler hands them over top to bottom) and go either into memory or,
// for outputs too large to hold, into an uncompressed strip TIFF on disk, which sharp then reads
// back strip by strip while it encodes: libvips maps a libvips-format (.v) file whole (measured:
// +1.1 GiB of RSS for a 24000x16000 RGB), but reads a TIFF through a small strip cache (136 MiB
// for the same PNG encode). The TIFF is BigTIFF (64-bit offsets: outputs over 4 GiB are allowed),
// little-endian, chunky, one strip per few rows, strips back to back, so row y of the image is at
// a fixed offset and bands are written where they belong.
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

const STRIP_BYTES = 1 << 20;

/** Header, directory and strip tables of a BigTIFF holding `r`; pixels follow at `dataStart`. */
function tiffLayout(r: Omit<Raster, 'data'>): { head: Buffer; dataStart: number } {
  const rowBytes = r.width * r.channels * (r.bits / 8);
  const rowsPerStrip = Math.max(1, Math.min(r.height, Math.floor(STRIP_BYTES / rowBytes)));
  const strips = Math.ceil(r.height / rowsPerStrip);
  const colour = r.channels <= 2 ? 1 : 3;
  // tag, type (3 SHORT, 4 LONG, 16 LONG8), values; arrays of more than 8 bytes go after the directory
  const entries: Array<[number, 3 | 4 | 16, number[]]> = [
    [256, 4, [r.width]],
    [257, 4, [r.height]],
    [258, 3, new Array<number>(r.channels).fill(r.bits)],
    [259, 3, [1]], // no compression
    [262, 3, [colour === 1 ? 1 : 2]], // BlackIsZero or RGB
    [273, 16, []], // strip offsets, filled below
    [277, 3, [r.channels]],
    [278, 4, [rowsPerStrip]],
    [279, 16, []], // strip byte counts
    [284, 3, [1]], // chunky
  ];
  if (r.channels > colour) entries.push([338, 3, [2]]); // the extra sample is unassociated alpha
  const ifd = 16;
  const tables = ifd + 8 + 20 * entries.length + 8;
  const dataStart = tables + 16 * strips;
  const offsets: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < strips; i++) {
    offsets.push(dataStart + i * rowsPerStrip * rowBytes);
    counts.push(Math.min(rowsPerStrip, r.height - i * rowsPerStrip) * rowBytes);
  }
  entries[5]![2] = offsets;
  entries[8]![2] = counts;
  const head = Buffer.alloc(dataStart);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(43, 2); // BigTIFF
  head.writeUInt16LE(8, 4);
  head.writeBigUInt64LE(BigInt(ifd), 8);
  head.writeBigUInt64LE(BigInt(entries.length), ifd);
  let extra = tables;
  entries.forEach(([tag, type, values], i) => {
    const e = ifd + 8 + 20 * i;
    const size = type === 3 ? 2 : type === 4 ? 4 : 8;
    head.writeUInt16LE(tag, e);
    head.writeUInt16LE(type, e + 2);
    head.writeBigUInt64LE(BigInt(values.length), e + 4);
    let at = e + 12;
    if (values.length * size > 8) {
      head.writeBigUInt64LE(BigInt(extra), e + 12);
      at = extra;
      extra += values.length * size;
    }
    for (const v of values) {
      if (size === 2) head.writeUInt16LE(v, at);
      else if (size === 4) head.writeUInt32LE(v, at);
      else head.writeBigUInt64LE(BigInt(v), at);
      at += size;
    }
  });
  return { head, dataStart }; // next-directory offset: the zeros after the entries
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
    private readonly dataStart = 0,
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

  /** Rows go to `file`, an uncompressed TIFF (see the top of this file); put them in order. */
  static async toFile(file: string, width: number, height: number, channels: Raster['channels'], bits: 8 | 16): Promise<RasterWriter> {
    const shape = { width, height, channels, bits };
    const { head, dataStart } = tiffLayout(shape);
    const fh = await open(file, 'w');
    try {
      await fh.write(head, 0, head.length, 0);
    } catch (err) {
      await fh.close();
      throw err;
    }
    return new RasterWriter(shape, null, fh, file, dataStart);
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
      await this.fh.write(bytes, 0, bytes.length, this.dataStart + y0 * width * channels * (this.shape.bits / 8));
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
