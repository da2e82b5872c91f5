// Learned models as evaluation methods: `srgan eval --methods bicubic,srresnet,srgan,<weights>`.
// A name resolves to a shipped model (at the evaluation's scale), a weights/.onnx file, or
// 'alpha=<a>', the network interpolation of the shipped SRResNet and SRGAN (as `upscale --alpha`); the
// upscaler is created on first use and reused for every image. Images larger than a tile are
// tiled like `upscale` does; benchmark images usually fit in one tile (whole-image inference).
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { SrError } from '../util/errors.js';
import { registerMethodResolver, alphaOfMethodName, type Method } from './methods.js';
import { SHIPPED_MODELS } from './model_source.js';
import { Upscaler, type UpscalerOptions } from './upscale.js';

const MODEL_FILE = new Set(['.safetensors', '.onnx']);

/** Registers the resolver; returns a function that removes it and frees its upscalers. */
export function registerModelMethods(opts: Omit<UpscalerOptions, 'model' | 'scale' | 'alpha' | 'blend'> = {}): () => Promise<void> {
  const made: Array<Promise<Upscaler>> = [];
  const resolve = (name: string): Method | undefined => {
    const shipped = (SHIPPED_MODELS as readonly string[]).includes(name);
    const alpha = alphaOfMethodName(name);
    if (!shipped && alpha === undefined && !(MODEL_FILE.has(extname(name).toLowerCase()) && existsSync(name))) return undefined;
    const spec = (scale: number): UpscalerOptions =>
      alpha !== undefined ? { ...opts, alpha, scale } : { ...opts, model: name, scale: shipped ? scale : undefined };
    const byScale = new Map<number, Promise<Upscaler>>();
    return {
      name,
      run: async (lr, scale) => {
        let p = byScale.get(scale);
        if (!p) {
          p = Upscaler.create(spec(scale));
          byScale.set(scale, p);
          made.push(p);
        }
        const up = await p;
        if (up.scale !== scale) throw new SrError(`method '${name}' upscales x${up.scale}, but the evaluation is x${scale}`);
        return up.upscaleImage(lr);
      },
    };
  };
  const remove = registerMethodResolver(resolve, () => [...SHIPPED_MODELS, 'alpha=<0..1>', '<weights.safetensors>', '<model.onnx>']);
  return async () => {
    remove();
    await Promise.all(made.map((p) => p.then((u) => u.dispose(), () => undefined)));
  };
}
