// The one in-memory picture every other module works on: float samples in [0, 1], HWC
// interleaved, grey kept as one channel and alpha held apart (the colour math of resizing and
// metrics never sees it). Pure arithmetic, no Node API: the browser studio imports this folder.
import { SrError } from '../util/errors.js';

export interface Image {
  width: number;
  height: number;
  channels: 1 | 3;
  /** HWC interleaved, values in [0, 1]. */
  data: Float32Array;
  /** width*height coverage in [0, 1]; absent for opaque images. */
  alpha?: Float32Array;
  /** 16 when decoded from 16-bit samples: PNG and TIFF outputs of it are then written in 16 bits. */
  bitDepth?: 16;
}

/** The same picture as stored 8-bit samples; the training cache keeps this (a quarter of float32). */
export interface Image8 {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
  alpha?: Uint8Array;
}

// 8-bit conversion. MATLAB's im2uint8 rounds half away from zero and saturates; for values in
// range that is floor(v * 255 + 0.5), which is what the metrics and the protocol's LR rely on.

export function quantize8(v: number): number {
  const q = Math.floor(v * 255 + 0.5);
  return q < 0 ? 0 : q > 255 ? 255 : q;
}

export function toUint8(data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const q = Math.floor(data[i]! * 255 + 0.5);
    out[i] = q < 0 ? 0 : q > 255 ? 255 : q; // NaN lands on 0 through the Uint8Array store
  }
  return out;
}

export function fromUint8(data: Uint8Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i]! / 255;
  return out;
}

export function imageTo8(img: Image): Image8 {
  checkImage(img, 'image');
  const out: Image8 = { width: img.width, height: img.height, channels: img.channels, data: toUint8(img.data) };
  if (img.alpha) out.alpha = toUint8(img.alpha);
  return out;
}

export function imageFrom8(img: Image8): Image {
  const out: Image = { width: img.width, height: img.height, channels: img.channels, data: fromUint8(img.data) };
  if (img.alpha) out.alpha = fromUint8(img.alpha);
  return out;
}

/** The image snapped to the 8-bit grid (values k/255), as a uint8 round trip would leave it. */
export function roundTo8(img: Image): Image {
  return imageFrom8(imageTo8(img));
}

/** Throws an SrError when the buffers do not match the stated shape. */
export function checkImage(img: Image | Image8, what: string): void {
  const { width, height, channels } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new SrError(`${what}: invalid size ${width}x${height}`);
  }
  if (channels !== 1 && channels !== 3) throw new SrError(`${what}: ${channels} channels, expected 1 or 3`);
  if (img.data.length !== width * height * channels) {
    throw new SrError(`${what}: data has ${img.data.length} values, ${width}x${height}x${channels} needs ${width * height * channels}`);
  }
  if (img.alpha && img.alpha.length !== width * height) {
    throw new SrError(`${what}: alpha has ${img.alpha.length} values, ${width}x${height} needs ${width * height}`);
  }
}
