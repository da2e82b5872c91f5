// The package's public entry (`import { upscale } from 'srgan-js'`). Names are listed explicitly
// where two modules use the same one, so nothing is exported by accident or shadowed silently.

// Engine
export { initBackend, currentBackend, assertFastBackend, BACKEND_ENV_VAR, type BackendName, type BackendRequest, type BackendOptions } from './engine/backend.js';

// Models (importing registers the built-in architectures) and weights
export * from './models/index.js';
export {
  saveModel, loadModel, readModelConfig, namedWeights, modelToArrays, assignArrays, FORMAT_TAG,
  type SaveOptions as WeightSaveOptions, type LoadedModel,
} from './models/weights.js';
export type { NamedArray, StoredDtype } from './models/safetensors.js';

// Image I/O and resizing
export {
  loadImage, loadImage8, saveImage, encodeImage, saveRaster, encodeRaster, imageToRaster, listImages, imageSize, formatFromPath, checkImage, checkInputPixels,
  quantize8, toUint8, fromUint8, imageTo8, imageFrom8, roundTo8, IMAGE_EXTENSIONS, DEFAULT_MAX_PIXELS,
  type Image, type Image8, type ImageFormat, type LoadOptions, type EncodeOptions, type SaveOptions as ImageSaveOptions,
} from './io/image.js';
export { imresize, imresize8, imresizeAs8, imresizeRows, type ResizeMethod, type ResizeSize, type ResizeOptions } from './data/resize.js';

// Evaluation
export { evaluate, evaluateImage, modcrop, degrade, type EvalResult, type ImageResult, type ImageOutcome, type EvaluateOptions } from './eval/protocol.js';
export { psnr, ssim, score, type MetricOptions, type Scores } from './eval/metrics.js';
export { registerMethodResolver, resolveMethod, resolveMethods, knownMethodNames, type Method, type MethodResolver } from './eval/methods.js';

// Training
export { resolveOptions as resolveTrainOptions, defaults as trainDefaults, readConfigFile, parseSchedule, learningRateAt, type TrainMode, type TrainOptions } from './train/options.js';
export { train, modelConfigs, type TrainRunOptions, type TrainResult, type LogEntry } from './train/trainer.js';

// Inference
export {
  upscale, createUpscaler, releaseUpscalers, Upscaler, checkOutputSize, DEFAULT_MAX_OUTPUT_PIXELS, DEFAULT_IN_MEMORY_BYTES,
  type UpscalerOptions, type RunOptions, type FileRunOptions, type EncodeRunOptions, type PixelsRunOptions, type TensorRunOptions, type OutputKind, type UpscaleInput,
} from './inference/upscale.js';
export { createEngine, ENGINE_NAMES, DEFAULT_ENGINE, type Engine, type EngineName, type EngineOptions } from './inference/engine.js';
export { createOnnxEngine, clearOnnxCache, type OnnxMode } from './inference/onnx_engine.js';
export { exportOnnx, ONNX_INPUT, ONNX_OUTPUT, DEFAULT_OPSET, type OnnxExportOptions, type OnnxExportResult } from './inference/onnx_export.js';
export {
  loadModelSource, interpolateArrays, resolveModelFile, shippedModelPath, buildFromSource, SHIPPED_MODELS, DEFAULT_MODEL,
  type ModelSpec, type ModelSource, type WeightSource, type OnnxSource,
} from './inference/model_source.js';
export { upscaleTiled, upscaleTiledRows, planTiles, DEFAULT_TILE, DEFAULT_OVERLAP, type TileRect, type TileProgress, type TiledRunOptions, type RowSink } from './inference/tiling.js';
export { RasterWriter, toRaster, type Raster, type RasterFile } from './io/raster.js';
export { registerModelMethods } from './inference/eval_methods.js';
export { runGenerator, generatorMethod } from './inference/tfjs_runner.js';
export { SrError } from './util/errors.js';
