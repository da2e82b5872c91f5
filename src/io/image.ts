// Image decode/encode for Node, through sharp (libvips), into and out of the in-memory `Image`
// of src/image/.
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { SrError } from '../util/errors.js';
import { writeAtomicWith } from '../util/atomic.js';
import { toRaster, rasterBytes, type Raster, type RasterFile } from './raster.js';
import { checkImage, type Image, type Image8 } from '../image/image.js';

export interface LoadOptions {
  /** Refuse images with more pixels than this before decoding them (default 100 MP). */
  maxPixels?: number;
  /** Name used in error messages when the input is a buffer. */
  name?: string;
  /** Told what the decode leaves out (the later frames of an animation). */
  onWarning?: (message: string) => void;
  /**
   * Called with the size (after EXIF orientation) read from the header, before any pixel is
   * decoded: throw to refuse the image at once (e.g. when its upscaled output would be too large).
   */
  checkSize?: (width: number, height: number) => void;
}

export const DEFAULT_MAX_PIXELS = 100_000_000;

export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'tiff';

const READABLE_FORMATS = new Set(['png', 'jpeg', 'webp', 'tiff', 'gif', 'heif']);

/** Decoded samples before scaling: 8- or 16-bit, colour channels then optional alpha. */
interface Decoded {
  width: number;
  height: number;
  channels: 1 | 3;
  hasAlpha: boolean;
  /** 255 or 65535 */
  max: number;
  /** interleaved R, G, B (grey replicated) and, when the decoder gave one, alpha */
  samples: Uint8Array | Uint16Array;
  /** samples per pixel in `samples`: 3 or 4 */
  stride: number;
}

function reason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.split('\n')[0]!.trim();
}

// ICC profiles are ignored so that samples are the stored values, as MATLAB's imread gives them:
// the benchmark protocol compares stored values, and a colour-managed decode would shift them.
// failOn 'error' rejects truncated and corrupt data but tolerates harmless warnings.
const BASE = { failOn: 'error' as const, ignoreIcc: true, limitInputPixels: false as const };

/** The header, or an SrError naming `label` that says what is wrong with the file. */
async function readHeader(src: string | Uint8Array, label: string): Promise<Metadata> {
  let meta: Metadata;
  try {
    meta = await sharp(src, BASE).metadata();
  } catch (err) {
    const r = reason(err);
    const what = /unsupported image format/i.test(r)
      ? 'not an image in a supported format (PNG, JPEG, WebP, TIFF, GIF)'
      : /no such file/i.test(r)
        ? 'no such file'
        : `corrupt or truncated image header (${r.replace(/[:\s]+$/, '')})`;
    throw new SrError(`${label}: ${what}`, { cause: err });
  }
  if (!READABLE_FORMATS.has(meta.format)) {
    throw new SrError(`${label}: ${meta.format} images are not supported (use PNG, JPEG, WebP, TIFF or GIF)`);
  }
  const w0 = meta.width ?? 0;
  const h0 = meta.height ?? 0;
  if (!(w0 > 0 && h0 > 0)) throw new SrError(`${label}: image header gives no size (${w0}x${h0})`);
  return meta;
}

/** SrError when a width x height input is over `maxPixels` (the decoder's limit, default 100 MP). */
export function checkInputPixels(label: string, width: number, height: number, maxPixels = DEFAULT_MAX_PIXELS): void {
  if (width * height > maxPixels) {
    throw new SrError(
      `${label}: ${width}x${height} image (${((width * height) / 1e6).toFixed(1)} MP) is over the ${(maxPixels / 1e6).toFixed(1)} MP limit for inputs; refusing to decode it (raise it with --max-pixels <MP>, or the maxPixels option)`,
    );
  }
}

async function decode(src: string | Uint8Array, opts: LoadOptions): Promise<Decoded> {
  const label = typeof src === 'string' ? src : (opts.name ?? '<image buffer>');
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  let buf: Uint8Array;
  if (typeof src === 'string') {
    try {
      buf = await readFile(src);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : reason(err);
      throw new SrError(`cannot read image ${label}: ${why}`, { cause: err });
    }
  } else {
    buf = src;
  }
  if (buf.length === 0) throw new SrError(`${label}: empty file (0 bytes), not an image`);

  const meta = await readHeader(buf, label);
  const w0 = meta.width!;
  const h0 = meta.height!;
  checkInputPixels(label, w0, h0, maxPixels);
  opts.checkSize?.(meta.autoOrient?.width ?? w0, meta.autoOrient?.height ?? h0);
  const frames = meta.pages ?? 1;
  if (frames > 1 && opts.onWarning) {
    opts.onWarning(`${label}: ${meta.format === 'gif' || meta.format === 'webp' ? 'animated ' : ''}${meta.format} with ${frames} ${meta.format === 'tiff' ? 'pages' : 'frames'}; only the first is used`);
  }
  if (meta.depth !== 'uchar' && meta.depth !== 'ushort') {
    throw new SrError(`${label}: ${meta.depth} samples are not supported (8- or 16-bit integer images only)`);
  }
  const high = meta.depth === 'ushort';
  const grey = meta.space === 'b-w' || meta.space === 'grey16';

  // Decoding always goes through sRGB (grey is replicated, palettes and CMYK expanded, alpha
  // kept) so that one code path handles every layout; grey is taken back out of channel 0 below.
  let data: Buffer;
  let info: OutputInfo;
  try {
    ({ data, info } = await sharp(buf, { ...BASE, autoOrient: true, pages: 1, page: 0 })
      .toColourspace(high ? 'rgb16' : 'srgb')
      .raw({ depth: high ? 'ushort' : 'uchar' })
      .toBuffer({ resolveWithObject: true }));
  } catch (err) {
    throw new SrError(`${label}: corrupt or truncated ${meta.format} data (${reason(err)})`, { cause: err });
  }
  const stride = info.channels;
  if (stride !== 3 && stride !== 4) {
    throw new SrError(`${label}: decoder returned ${stride} channels, expected 3 or 4`);
  }
  let samples: Uint8Array | Uint16Array;
  if (!high) samples = new Uint8Array(data.buffer, data.byteOffset, data.length);
  else if (data.byteOffset % 2 === 0) samples = new Uint16Array(data.buffer, data.byteOffset, data.length / 2);
  else samples = new Uint16Array(Uint8Array.prototype.slice.call(data).buffer); // a view needs 2-byte alignment
  // GIF and palette decodes always carry an alpha channel; a fully opaque one is left out so that
  // `alpha` means the image has transparency.
  let hasAlpha = stride === 4;
  if (hasAlpha) {
    const max = high ? 65535 : 255;
    hasAlpha = false;
    for (let i = 3; i < samples.length; i += 4) {
      if (samples[i] !== max) {
        hasAlpha = true;
        break;
      }
    }
  }
  return {
    width: info.width,
    height: info.height,
    channels: grey ? 1 : 3,
    hasAlpha,
    max: high ? 65535 : 255,
    samples,
    stride,
  };
}

/**
 * Decodes PNG, JPEG, WebP, TIFF or GIF (first frame; `onWarning` is told when there are more),
 * applies EXIF orientation, keeps 16-bit precision (and says so in `bitDepth`), keeps grey as one
 * channel and returns alpha separately. Every failure is an SrError naming the file.
 */
export async function loadImage(src: string | Uint8Array, opts: LoadOptions = {}): Promise<Image> {
  const d = await decode(src, opts);
  const n = d.width * d.height;
  const data = new Float32Array(n * d.channels);
  const alpha = d.hasAlpha ? new Float32Array(n) : undefined;
  const inv = 1 / d.max;
  const s = d.samples;
  for (let p = 0, i = 0; p < n; p++, i += d.stride) {
    if (d.channels === 1) {
      data[p] = s[i]! * inv;
    } else {
      data[3 * p] = s[i]! * inv;
      data[3 * p + 1] = s[i + 1]! * inv;
      data[3 * p + 2] = s[i + 2]! * inv;
    }
    if (alpha) alpha[p] = s[i + 3]! * inv;
  }
  const img: Image = { width: d.width, height: d.height, channels: d.channels, data };
  if (alpha) img.alpha = alpha;
  if (d.max === 65535) img.bitDepth = 16;
  return img;
}

/** Like loadImage but 8-bit samples (16-bit sources are rounded), for compact caches. */
export async function loadImage8(src: string | Uint8Array, opts: LoadOptions = {}): Promise<Image8> {
  const d = await decode(src, opts);
  const n = d.width * d.height;
  const data = new Uint8Array(n * d.channels);
  const alpha = d.hasAlpha ? new Uint8Array(n) : undefined;
  // libvips would narrow 16-bit by dropping the low byte (v >> 8); rounding v/257 instead keeps
  // the result equal to quantize8 of the float decode.
  const s = d.samples;
  const q = d.max === 255 ? (v: number) => v : (v: number) => Math.floor(v / 257 + 0.5);
  for (let p = 0, i = 0; p < n; p++, i += d.stride) {
    if (d.channels === 1) {
      data[p] = q(s[i]!);
    } else {
      data[3 * p] = q(s[i]!);
      data[3 * p + 1] = q(s[i + 1]!);
      data[3 * p + 2] = q(s[i + 2]!);
    }
    if (alpha) alpha[p] = q(s[i + 3]!);
  }
  return alpha ? { width: d.width, height: d.height, channels: d.channels, data, alpha } : { width: d.width, height: d.height, channels: d.channels, data };
}

export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff', '.gif']);

/** Image files of a folder, sorted by name; SrError when the folder is missing or has none. */
export async function listImages(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SrError(`cannot read image folder ${dir}: ${code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : String(err)}`, { cause: err });
  }
  const files: string[] = [];
  for (const n of names.sort()) {
    if (n.startsWith('.') || !IMAGE_EXTENSIONS.has(extname(n).toLowerCase())) continue;
    const p = join(dir, n);
    if ((await stat(p).catch(() => undefined))?.isFile()) files.push(p); // broken links are not images
  }
  if (files.length === 0) throw new SrError(`no images in ${dir} (looked for ${[...IMAGE_EXTENSIONS].join(', ')})`);
  return files;
}

/**
 * Width and height after EXIF orientation, from the header only (no pixel decode). Errors are
 * worded as loadImage's.
 */
export async function imageSize(path: string): Promise<{ width: number; height: number }> {
  const meta = await readHeader(path, path);
  return { width: meta.autoOrient?.width ?? meta.width!, height: meta.autoOrient?.height ?? meta.height! };
}

// ---------------------------------------------------------------------------------------------
// Encoding

export interface EncodeOptions {
  /** JPEG / WebP quality 1..100 (default 95). */
  quality?: number;
  /** PNG and TIFF may be written with 16-bit samples; default 8. */
  bitDepth?: 8 | 16;
}

export interface SaveOptions extends EncodeOptions {
  format?: ImageFormat;
}

const EXT_FORMATS: Record<string, ImageFormat> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
  '.webp': 'webp',
  '.tif': 'tiff',
  '.tiff': 'tiff',
};

/** The extension each format is written with. */
export const FORMAT_EXTENSIONS: Readonly<Record<ImageFormat, string>> = { png: '.png', jpeg: '.jpg', webp: '.webp', tiff: '.tif' };

/** The format an image file is written back in when none is asked for: its own; GIF (and anything else) becomes PNG. */
export function writeBackFormat(path: string): ImageFormat {
  return EXT_FORMATS[extname(path).toLowerCase()] ?? 'png';
}

/** `<stem>.<ext>`: the name an upscaled copy of `input` gets in an output folder (the extension of `format`, else of the input's own). */
export function imageOutputName(input: string, format?: ImageFormat): string {
  return basename(input, extname(input)) + FORMAT_EXTENSIONS[format ?? writeBackFormat(input)];
}

export function formatFromPath(path: string): ImageFormat {
  const ext = extname(path).toLowerCase();
  const f = EXT_FORMATS[ext];
  if (!f) throw new SrError(`${path}: cannot tell the image format from extension '${ext}' (use .png, .jpg, .webp or .tif, or pass a format)`);
  return f;
}

/** Largest side each format can store (libwebp 16383, JPEG 65535). */
const MAX_SIDE: Partial<Record<ImageFormat, number>> = { webp: 16383, jpeg: 65535 };

/** SrError when `format` cannot hold a width x height image (checked before any work). */
export function checkFormatSize(format: ImageFormat, width: number, height: number, label: string): void {
  const max = MAX_SIDE[format];
  if (max !== undefined && Math.max(width, height) > max) {
    throw new SrError(`${label}: a ${width}x${height} image is over ${format.toUpperCase()}'s ${max} px a side; write PNG or TIFF (--format png)`);
  }
}

function checkEncodeOptions(format: ImageFormat, opts: EncodeOptions): { quality: number; bits: 8 | 16 } {
  const quality = opts.quality ?? 95;
  if (!(Number.isInteger(quality) && quality >= 1 && quality <= 100)) throw new SrError(`quality must be an integer 1..100, got ${quality}`);
  const bits = opts.bitDepth ?? 8;
  if (bits !== 8 && bits !== 16) throw new SrError(`bitDepth must be 8 or 16, got ${String(bits)}`);
  if (bits === 16 && format !== 'png' && format !== 'tiff') throw new SrError(`16-bit output is only possible for PNG and TIFF, not ${format}`);
  return { quality, bits };
}

/** The bit depth to write `img` with: what was asked, else 16 for a 16-bit source in PNG or TIFF. */
export function outputBitDepth(img: { bitDepth?: 16 }, format: ImageFormat, asked?: 8 | 16): 8 | 16 {
  return asked ?? (img.bitDepth === 16 && (format === 'png' || format === 'tiff') ? 16 : 8);
}

/** The image as stored samples; JPEG cannot carry alpha, so it is dropped rather than composited. */
export function imageToRaster(img: Image, bits: 8 | 16, withAlpha = img.alpha !== undefined): Raster {
  checkImage(img, 'image to encode');
  return toRaster(img.width, img.height, img.channels, img.data, withAlpha ? img.alpha : undefined, bits);
}

function encoder(r: Raster | RasterFile, format: ImageFormat, quality: number): Sharp {
  let pipe =
    'file' in r
      ? sharp(r.file, { limitInputPixels: false, sequentialRead: true })
      : sharp(r.data, { raw: { width: r.width, height: r.height, channels: r.channels }, limitInputPixels: false });
  const grey = r.channels <= 2;
  if (grey) pipe = pipe.toColourspace(r.bits === 16 ? 'grey16' : 'b-w');
  else if (r.bits === 16) pipe = pipe.toColourspace('rgb16');
  const hasAlpha = r.channels === 2 || r.channels === 4;
  if (format === 'jpeg' && hasAlpha) pipe = pipe.removeAlpha();
  switch (format) {
    case 'png':
      return pipe.png({ compressionLevel: 6 });
    case 'jpeg':
      // Optimised Huffman tables need a second pass over every coefficient of the image (2.3 GiB
      // for 24000x16000); an output too large for memory is encoded in one pass.
      return pipe.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0', optimiseCoding: !('file' in r) });
    case 'webp':
      return pipe.webp({ quality });
    case 'tiff':
      return pipe.tiff({ compression: 'deflate', bigtiff: rasterBytes(r.width, r.height, r.channels, r.bits) > 2 ** 31 });
    default:
      throw new SrError(`unknown image format '${String(format)}' (png, jpeg, webp, tiff)`);
  }
}

export async function encodeRaster(r: Raster, format: ImageFormat, opts: EncodeOptions = {}): Promise<Buffer> {
  const { quality } = checkEncodeOptions(format, { ...opts, bitDepth: r.bits });
  checkFormatSize(format, r.width, r.height, 'image to encode');
  try {
    return await encoder(r, format, quality).toBuffer();
  } catch (err) {
    throw new SrError(`cannot encode ${r.width}x${r.height}x${r.channels} image as ${format}: ${reason(err)}`, { cause: err });
  }
}

export async function encodeImage(img: Image, format: ImageFormat, opts: EncodeOptions = {}): Promise<Buffer> {
  const { bits } = checkEncodeOptions(format, opts);
  checkImage(img, `image to encode as ${format}`);
  return encodeRaster(imageToRaster(img, bits, img.alpha !== undefined && format !== 'jpeg'), format, opts);
}

/**
 * Encodes a raster (in memory, or a file RasterWriter wrote) and writes it atomically, streaming
 * from the encoder to the file: a large output is never held encoded in memory.
 */
export async function saveRaster(r: Raster | RasterFile, path: string, opts: SaveOptions = {}): Promise<void> {
  const format = opts.format ?? formatFromPath(path);
  const { quality } = checkEncodeOptions(format, { ...opts, bitDepth: r.bits });
  checkFormatSize(format, r.width, r.height, path);
  try {
    await writeAtomicWith(path, async (tmp) => {
      await encoder(r, format, quality).toFile(tmp);
    });
  } catch (err) {
    if (err instanceof SrError) throw err;
    throw new SrError(`cannot write ${path}: ${reason(err)}`, { cause: err });
  }
}

/**
 * Encodes and writes atomically: the target is either left as it was or fully replaced. A 16-bit
 * source is written in 16 bits to PNG and TIFF unless `bitDepth` says otherwise.
 */
export async function saveImage(img: Image, path: string, opts: SaveOptions = {}): Promise<void> {
  const format = opts.format ?? formatFromPath(path);
  const { bits } = checkEncodeOptions(format, { ...opts, bitDepth: outputBitDepth(img, format, opts.bitDepth) });
  await saveRaster(imageToRaster(img, bits, img.alpha !== undefined && format !== 'jpeg'), path, { ...opts, format });
}
