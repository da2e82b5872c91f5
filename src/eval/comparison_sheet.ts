// Comparison sheets in the style of the SR papers' figures: the whole HR with the crop marked, then
// the same zoomed crop of HR and of every method, each captioned with its name, PSNR and SSIM.
import sharp from 'sharp';
import type { Image } from '../image/image.js';
import { SrError } from '../util/errors.js';
import { imresize } from '../image/resize.js';
import { drawText, lineHeight, textWidth } from './bitmap_font.js';

export interface Crop {
  x: number;
  y: number;
  size: number;
}

export interface SheetPanel {
  image: Image;
  /** caption lines; the first is the method name */
  lines: string[];
}

export interface SheetOptions {
  /** the HR, also shown whole with the crop marked */
  hr: Image;
  /** caption of the overview panel */
  overviewLines: string[];
  /** HR crop first, then one per method; all the HR's size */
  panels: SheetPanel[];
  /** default: the most textured square of side cropSize */
  crop?: Crop;
  /** default: a quarter of the shorter side, at least 32 px */
  cropSize?: number;
  /** panel side in sheet pixels (default 256) */
  panelSize?: number;
}

export interface Sheet {
  width: number;
  height: number;
  rgb: Uint8Array;
  crop: Crop;
}

function luma8(img: Image, p: number): number {
  if (img.channels === 1) return img.data[p]! * 255;
  return (0.299 * img.data[3 * p]! + 0.587 * img.data[3 * p + 1]! + 0.114 * img.data[3 * p + 2]!) * 255;
}

/**
 * The square window with the most gradient energy: detail is where SR methods differ, and a fixed
 * rule makes sheets of different runs show the same place.
 */
export function pickCrop(img: Image, size: number): Crop {
  const { width: w, height: h } = img;
  const s = Math.max(1, Math.min(size, w, h));
  // integral image of |dx| + |dy|
  const stride = w + 1;
  const integ = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      const v = luma8(img, p);
      const dx = x + 1 < w ? Math.abs(luma8(img, p + 1) - v) : 0;
      const dy = y + 1 < h ? Math.abs(luma8(img, p + w) - v) : 0;
      row += dx + dy;
      integ[(y + 1) * stride + x + 1] = integ[y * stride + x + 1]! + row;
    }
  }
  const step = Math.max(1, Math.floor(s / 8));
  let best = { x: 0, y: 0, size: s };
  let bestE = -1;
  for (let y = 0; y + s <= h; y += step) {
    for (let x = 0; x + s <= w; x += step) {
      const e = integ[(y + s) * stride + x + s]! - integ[y * stride + x + s]! - integ[(y + s) * stride + x]! + integ[y * stride + x]!;
      if (e > bestE) {
        bestE = e;
        best = { x, y, size: s };
      }
    }
  }
  return best;
}

const TEXT: readonly [number, number, number] = [20, 20, 20];
const MARK: readonly [number, number, number] = [230, 20, 20];
const PAD = 8;

function put(canvas: Uint8Array, cw: number, x: number, y: number, img: Image, sx: number, sy: number): void {
  const p = sy * img.width + sx;
  const o = (y * cw + x) * 3;
  const q = (v: number) => Math.max(0, Math.min(255, Math.floor(v * 255 + 0.5)));
  if (img.channels === 1) {
    const g = q(img.data[p]!);
    canvas[o] = canvas[o + 1] = canvas[o + 2] = g;
  } else {
    canvas[o] = q(img.data[3 * p]!);
    canvas[o + 1] = q(img.data[3 * p + 1]!);
    canvas[o + 2] = q(img.data[3 * p + 2]!);
  }
}

function fit(text: string, width: number, size: number): string {
  const maxChars = Math.floor((width / size + 1) / 6);
  return text.length <= maxChars ? text : text.slice(0, Math.max(1, maxChars - 2)) + '..';
}

export function renderSheet(opts: SheetOptions): Sheet {
  const { hr, panels } = opts;
  if (panels.length === 0) throw new SrError('a comparison sheet needs at least one panel');
  for (const p of panels) {
    if (p.image.width !== hr.width || p.image.height !== hr.height) {
      throw new SrError(`sheet panel '${p.lines[0] ?? ''}' is ${p.image.width}x${p.image.height}, the HR is ${hr.width}x${hr.height}`);
    }
  }
  const panelSize = opts.panelSize ?? 256;
  const crop = opts.crop ?? pickCrop(hr, opts.cropSize ?? Math.max(32, Math.floor(Math.min(hr.width, hr.height) / 4)));
  if (crop.x < 0 || crop.y < 0 || crop.x + crop.size > hr.width || crop.y + crop.size > hr.height || crop.size < 1) {
    throw new SrError(`crop ${crop.size}x${crop.size} at (${crop.x}, ${crop.y}) does not fit the ${hr.width}x${hr.height} image`);
  }
  const zoom = Math.max(1, Math.floor(panelSize / crop.size));
  const side = crop.size * zoom;
  const font = side >= 200 ? 2 : 1;
  const nLines = Math.max(opts.overviewLines.length, ...panels.map((p) => p.lines.length));
  const captionH = nLines * lineHeight(font) + PAD;
  const nPanels = panels.length + 1;
  const width = PAD + nPanels * (side + PAD);
  const height = PAD + side + PAD + captionH;
  const rgb = new Uint8Array(width * height * 3).fill(255);

  // overview: the whole HR fitted into the panel, crop outlined
  const f = Math.min(side / hr.width, side / hr.height);
  const ow = Math.max(1, Math.round(hr.width * f));
  const oh = Math.max(1, Math.round(hr.height * f));
  const { alpha: _a, ...hrColour } = hr;
  const small = imresize(hrColour, { width: ow, height: oh }, 'bicubic');
  const ox = PAD + Math.floor((side - ow) / 2);
  const oy = PAD + Math.floor((side - oh) / 2);
  for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) put(rgb, width, ox + x, oy + y, small, x, y);
  const rx0 = ox + Math.floor(crop.x * f);
  const ry0 = oy + Math.floor(crop.y * f);
  const rx1 = Math.min(ox + ow - 1, ox + Math.ceil((crop.x + crop.size) * f) - 1);
  const ry1 = Math.min(oy + oh - 1, oy + Math.ceil((crop.y + crop.size) * f) - 1);
  const mark = (x: number, y: number) => {
    const o = (y * width + x) * 3;
    rgb[o] = MARK[0];
    rgb[o + 1] = MARK[1];
    rgb[o + 2] = MARK[2];
  };
  for (let t = 0; t < 2; t++) {
    for (let x = rx0; x <= rx1; x++) {
      mark(x, Math.min(ry0 + t, ry1));
      mark(x, Math.max(ry1 - t, ry0));
    }
    for (let y = ry0; y <= ry1; y++) {
      mark(Math.min(rx0 + t, rx1), y);
      mark(Math.max(rx1 - t, rx0), y);
    }
  }

  const caption = (lines: string[], px: number) => {
    let y = PAD + side + PAD;
    for (const line of lines) {
      const t = fit(line, side, font);
      drawText(rgb, width, height, px + Math.floor((side - textWidth(t, font)) / 2), y, t, font, TEXT);
      y += lineHeight(font);
    }
  };
  caption(opts.overviewLines, PAD);

  panels.forEach((p, i) => {
    const px = PAD + (i + 1) * (side + PAD);
    for (let y = 0; y < side; y++) {
      const sy = crop.y + Math.floor(y / zoom);
      for (let x = 0; x < side; x++) put(rgb, width, px + x, PAD + y, p.image, crop.x + Math.floor(x / zoom), sy);
    }
    caption(p.lines, px);
  });
  return { width, height, rgb, crop };
}

export async function sheetPng(sheet: Sheet): Promise<Buffer> {
  return sharp(sheet.rgb, { raw: { width: sheet.width, height: sheet.height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}
