// Picks and builds an engine by name. Apart from engine.ts so that naming the contract does not load
// TF.js or ONNX Runtime.
import { checkEngineName, DEFAULT_ENGINE, type Engine, type EngineOptions } from './engine.js';
import type { ModelSource } from './model_source.js';
import { createOnnxEngine } from './onnx_engine.js';
import { createTfjsEngine } from './tfjs_engine.js';

export async function createEngine(src: ModelSource, opts: EngineOptions = {}): Promise<Engine> {
  const name = checkEngineName(opts.engine ?? DEFAULT_ENGINE);
  if (name === 'tfjs') return createTfjsEngine(src);
  return createOnnxEngine(src, { threads: opts.threads, mode: opts.onnxMode });
}
