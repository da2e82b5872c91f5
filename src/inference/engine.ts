// What runs the generator on one tile. Two engines: ONNX Runtime (default, fastest here: see
// bench/upscale_engines.ts) and TF.js on its WASM backend (the same code path training uses).
//
// Contract shared by both:
//   input   Float32Array, NHWC [1, h, w, 3], RGB in [0, 1]
//   output  Float32Array, NHWC [1, h*s, w*s, 3], RGB in [-1, 1] (the generator's own linear
//           output, not clipped; the tiler maps it to [0, 1] after blending)
// `concurrency` says how many run() calls the engine can usefully work on at once; the tiler keeps
// that many tiles in flight. This file is the contract alone, free of any runtime, so the tiler
// (and through it the browser studio) can name it.
import { SrError } from '../util/errors.js';
import type { OnnxMode } from './onnx_engine.js';

export type EngineName = 'onnx' | 'tfjs';
export const ENGINE_NAMES: readonly EngineName[] = ['onnx', 'tfjs'];
export const DEFAULT_ENGINE: EngineName = 'onnx';

export interface Engine {
  readonly name: EngineName;
  readonly scale: number;
  readonly concurrency: number;
  /** `tile`: NHWC [1, height, width, 3] in [0, 1]. Resolves to NHWC [1, s*height, s*width, 3] in [-1, 1]. */
  run(tile: Float32Array, height: number, width: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export interface EngineOptions {
  /** 'onnx' (default) or 'tfjs'. */
  engine?: EngineName;
  /** ONNX: CPU threads to use in all (default: the machine's available parallelism). */
  threads?: number;
  /** ONNX: how the threads are used; see onnx_engine.ts for the measurement behind the default. */
  onnxMode?: OnnxMode;
}

export function checkEngineName(name: string): EngineName {
  if (!(ENGINE_NAMES as readonly string[]).includes(name)) throw new SrError(`unknown engine '${name}': use ${ENGINE_NAMES.join(' or ')}`);
  return name as EngineName;
}
