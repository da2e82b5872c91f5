// The SR benchmark protocol's pair: HR mod-cropped to a multiple of the scale, LR = MATLAB
// imresize(HR, 1/s, 'bicubic') on uint8. Training patches, evaluation, the MOS study and the video
// metrics all cut and degrade this way, so their LR images are the papers' LR images.
import { SrError } from '../util/errors.js';
import type { Image, Image8 } from './image.js';
import { imresizeAs8 } from './resize.js';

/** Top-left crop to multiples of `scale`, as MATLAB's modcrop does, on float or 8-bit images. Alpha is dropped. */
export function modcrop(img: Image, scale: number): Image;
export function modcrop(img: Image8, scale: number): Image8;
export function modcrop(img: Image | Image8, scale: number): Image | Image8 {
  checkScale(scale);
  const w = img.width - (img.width % scale);
  const h = img.height - (img.height % scale);
  if (w === 0 || h === 0) throw new SrError(`image ${img.width}x${img.height} is smaller than the scale ${scale}`);
  const c = img.channels;
  const data = img.data instanceof Uint8Array ? new Uint8Array(w * h * c) : new Float32Array(w * h * c);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(y * img.width * c, (y * img.width + w) * c), y * w * c);
  return { width: w, height: h, channels: c, data } as Image | Image8;
}

/** The protocol's LR of an already mod-cropped HR: bicubic 1/s, rounded to uint8 (values k/255). */
export function degrade(hr: Image, scale: number): Image {
  checkScale(scale);
  if (hr.width % scale !== 0 || hr.height % scale !== 0) {
    throw new SrError(`HR ${hr.width}x${hr.height} is not a multiple of the scale ${scale}; mod-crop it first`);
  }
  const { alpha: _alpha, ...colour } = hr;
  return imresizeAs8(colour, { scale: 1 / scale }, 'bicubic');
}

export function checkScale(scale: number): void {
  if (!(Number.isInteger(scale) && scale >= 1 && scale <= 16)) throw new SrError(`scale must be an integer 1..16, got ${scale}`);
}
