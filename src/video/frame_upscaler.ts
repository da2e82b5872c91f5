// What upscales one video frame. The one place the video code meets the inference code, so the
// engine behind it can change without touching the pipeline: learned models go through the
// library's tiled upscaler (src/inference/upscale.ts: ONNX Runtime or TF.js, bounded memory on
// large frames); the interpolation baselines (bicubic, bilinear, nearest) are MATLAB's imresize,
// useful as a reference and for quick runs.
import type { Image } from '../image/image.js';
import { imresizeAs8, imresize } from '../image/resize.js';
import { SrError } from '../util/errors.js';
import { createUpscaler, type Upscaler, type RunOptions } from '../inference/upscale.js';
import { DEFAULT_MODEL } from '../inference/model_source.js';
import type { EngineName } from '../inference/engine.js';

export interface FrameUpscaler {
  /** what runs: 'bicubic', or the model's label */
  readonly name: string;
  readonly scale: number;
  /** RGB frame in [0, 1] -> RGB frame `scale` times larger, in [0, 1]. */
  upscale(frame: Image, signal?: AbortSignal): Promise<Image>;
  dispose(): Promise<void>;
}

export interface FrameUpscalerOptions {
  /** 'srgan' / 'srresnet' (shipped), a .safetensors or .onnx file, or bicubic / bilinear / nearest. */
  model?: string;
  /** Required for the interpolations; checked against a model file's own scale. */
  scale?: number;
  engine?: EngineName;
  threads?: number;
  tileSize?: number;
}

export const INTERPOLATIONS = ['bicubic', 'bilinear', 'nearest'] as const;

export async function createFrameUpscaler(o: FrameUpscalerOptions = {}): Promise<FrameUpscaler> {
  const model = o.model ?? DEFAULT_MODEL;
  if ((INTERPOLATIONS as readonly string[]).includes(model)) {
    const scale = o.scale ?? 4;
    if (!(Number.isInteger(scale) && scale >= 2 && scale <= 8)) throw new SrError(`--scale must be an integer 2..8, got ${scale}`);
    const method = model as (typeof INTERPOLATIONS)[number];
    return {
      name: method,
      scale,
      upscale: async (frame) =>
        // Nearest copies samples; the others are rounded to 8 bits as an 8-bit frame would be.
        method === 'nearest' ? imresize(frame, { scale }, 'nearest') : imresizeAs8(frame, { scale }, method),
      dispose: async () => undefined,
    };
  }
  const up: Upscaler = await createUpscaler({
    model,
    ...(o.scale !== undefined ? { scale: o.scale } : {}),
    ...(o.engine ? { engine: o.engine } : {}),
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.tileSize !== undefined ? { tileSize: o.tileSize } : {}),
  });
  return frameUpscalerOf(up);
}

/** Frames through an existing upscaler (tiling as `run` says, else as it was created); dispose() disposes it. */
export function frameUpscalerOf(up: Upscaler, run: Pick<RunOptions, 'tileSize' | 'overlap'> = {}): FrameUpscaler {
  return {
    name: up.model,
    scale: up.scale,
    upscale: (frame, signal) => up.upscaleImage(frame, { ...run, ...(signal ? { signal } : {}) }),
    dispose: () => up.dispose(),
  };
}
