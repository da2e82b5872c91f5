// Everything that upscales an image, by name: the interpolation baselines (MATLAB's imresize) and
// learned models (a shipped model, a .safetensors / .onnx file, or 'alpha=<a>', the network
// interpolation of the shipped SRResNet and SRGAN, as `upscale --alpha`). `eval`, `eval-video`,
// `mos create` and `video` resolve their methods here. The model code is imported only when a
// model is named, so evaluating bicubic never loads TF.js or ONNX Runtime.
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { SrError, closest } from '../util/errors.js';
import type { Image } from '../image/image.js';
import { imresize, imresizeAs8 } from '../image/resize.js';
import { SHIPPED_MODELS } from './model_names.js';
import type { EngineName } from './engine.js';
import type { Upscaler, UpscalerOptions, RunOptions } from './upscale.js';

export interface MethodRun {
  scale: number;
  /** Aborting stops a learned model between tiles; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface Method {
  readonly name: string;
  /** The factor a model file was trained for; undefined where the method takes any factor. */
  readonly scale?: number;
  /** An image in [0, 1] -> one `scale` times larger, in [0, 1]. */
  run(image: Image, o: MethodRun): Promise<Image>;
  /** Frees what the method holds (an engine); methods that hold nothing may leave it out. */
  dispose?(): Promise<void>;
}

/** How learned models run; the interpolations ignore it. */
export interface MethodOptions {
  engine?: EngineName;
  threads?: number;
  tileSize?: number;
  overlap?: number;
}

export const INTERPOLATIONS = ['nearest', 'bicubic', 'bilinear'] as const;
export type Interpolation = (typeof INTERPOLATIONS)[number];

export function isInterpolation(name: string | undefined): name is Interpolation {
  return name !== undefined && (INTERPOLATIONS as readonly string[]).includes(name);
}

function interpolation(name: Interpolation): Method {
  return {
    name,
    run: async (image, { scale }) =>
      // Replication keeps samples as they are; the others run MATLAB imresize on the uint8 image,
      // as the literature's bicubic rows were made.
      name === 'nearest' ? imresize(image, { scale }, 'nearest') : imresizeAs8(image, { scale }, name),
  };
}

// Network interpolation between the two shipped models: 'alpha=0.25' is (1 - 0.25) SRResNet +
// 0.25 SRGAN. The evaluation builds these names for an alpha sweep.
const ALPHA_PREFIX = 'alpha=';

/** The method name of the blend at `alpha` ('alpha=0.25'). */
export function alphaMethodName(alpha: number): string {
  return `${ALPHA_PREFIX}${alpha}`;
}

/** The alpha of a blend's method name, or undefined when `name` is not one (or alpha is not in 0..1). */
export function alphaOfMethodName(name: string): number | undefined {
  if (!name.startsWith(ALPHA_PREFIX)) return undefined;
  const text = name.slice(ALPHA_PREFIX.length).trim();
  const a = Number(text);
  return text !== '' && Number.isFinite(a) && a >= 0 && a <= 1 ? a : undefined;
}

const MODEL_FILE = new Set(['.safetensors', '.onnx']);

export function knownMethodNames(): string[] {
  return [...INTERPOLATIONS, ...SHIPPED_MODELS, 'alpha=<0..1>', '<weights.safetensors>', '<model.onnx>'];
}

/** Refuses a factor the method was not made for (a model file has its own). */
export function checkMethodScale(m: Pick<Method, 'name' | 'scale'>, scale: number): void {
  if (m.scale !== undefined && m.scale !== scale) throw new SrError(`method '${m.name}' upscales x${m.scale}, but x${scale} was asked for`);
}

/**
 * An Upscaler as a method (its own tiling unless `tiling` says otherwise). The caller keeps the
 * upscaler: the method's dispose() leaves it alone.
 */
export function upscalerMethod(up: Upscaler, tiling: Pick<RunOptions, 'tileSize' | 'overlap'> = {}, name = up.model): Method {
  const m: Method = {
    name,
    scale: up.scale,
    run: async (image, { scale, signal }) => {
      checkMethodScale(m, scale);
      return up.upscaleImage(image, { ...tiling, ...(signal ? { signal } : {}) });
    },
  };
  return m;
}

/**
 * A learned model. A file is loaded at once (its scale is its own); a shipped model or a blend is
 * made on first use at the asked scale and kept for the next images. Images larger than a tile
 * are tiled as `upscale` does.
 */
async function modelMethod(name: string, spec: Omit<UpscalerOptions, 'scale'>, byScale: boolean, o: MethodOptions): Promise<Method> {
  const { Upscaler } = await import('./upscale.js');
  const made = new Map<number | undefined, Promise<Upscaler>>();
  const upscaler = (scale: number | undefined) => {
    let p = made.get(scale);
    if (!p) {
      p = Upscaler.create({ ...o, ...spec, ...(scale !== undefined ? { scale } : {}) });
      made.set(scale, p);
    }
    return p;
  };
  const fixed = byScale ? undefined : await upscaler(undefined);
  return {
    name,
    ...(fixed ? { scale: fixed.scale } : {}),
    run: async (image, run) => upscalerMethod(fixed ?? (await upscaler(run.scale)), {}, name).run(image, run),
    dispose: async () => {
      await Promise.all([...made.values()].map((p) => p.then((u) => u.dispose(), () => undefined)));
    },
  };
}

export async function resolveMethod(name: string, o: MethodOptions = {}): Promise<Method> {
  if (isInterpolation(name)) return interpolation(name);
  if ((SHIPPED_MODELS as readonly string[]).includes(name)) return modelMethod(name, { model: name }, true, o);
  const alpha = alphaOfMethodName(name);
  if (alpha !== undefined) return modelMethod(name, { alpha }, true, o);
  if (MODEL_FILE.has(extname(name).toLowerCase()) && existsSync(name)) return modelMethod(name, { model: name }, false, o);
  const known = knownMethodNames();
  const hint = closest(name, known);
  throw new SrError(`unknown method '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}; known methods: ${known.join(', ')}`);
}

/** Parses "a,b,c" and resolves every name, reporting the first unknown one. */
export async function resolveMethods(list: string, o: MethodOptions = {}): Promise<Method[]> {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new SrError(`no methods given (known methods: ${knownMethodNames().join(', ')})`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new SrError(`method '${dup}' is listed twice`);
  const out: Method[] = [];
  try {
    for (const n of names) out.push(await resolveMethod(n, o));
  } catch (err) {
    await disposeMethods(out);
    throw err;
  }
  return out;
}

export async function disposeMethods(methods: Iterable<Method>): Promise<void> {
  for (const m of methods) await m.dispose?.();
}
