// The package's public entry (`import { upscale } from 'srgan-js'`). Names are listed explicitly
// where two modules use the same one, so nothing is exported by accident or shadowed silently.

// Engine
export { initBackend, currentBackend, assertFastBackend, BACKEND_ENV_VAR, type BackendName, type BackendRequest, type BackendOptions } from './tfjs/backend.js';

// Models (importing registers the built-in architectures) and weights
export * from './models/index.js';
export {
  saveModel, loadModel, readModelConfig, namedWeights, modelToArrays, assignArrays, FORMAT_TAG,
  type SaveOptions as WeightSaveOptions, type LoadedModel,
} from './models/weights.js';
export type { NamedArray, StoredDtype } from './models/safetensors.js';

// Image I/O and resizing
export {
  loadImage, loadImage8, saveImage, encodeImage, saveRaster, encodeRaster, imageToRaster, listImages, imageSize, formatFromPath, checkInputPixels,
  IMAGE_EXTENSIONS, DEFAULT_MAX_PIXELS, type ImageFormat, type LoadOptions, type EncodeOptions, type SaveOptions as ImageSaveOptions,
} from './io/image.js';
export { checkImage, quantize8, toUint8, fromUint8, imageTo8, imageFrom8, roundTo8, type Image, type Image8 } from './image/image.js';
export { imresize, imresize8, imresizeAs8, imresizeRows, type ResizeMethod, type ResizeSize, type ResizeOptions } from './image/resize.js';

// Evaluation
export { modcrop, degrade } from './image/degrade.js';
export { evaluate, evaluateImage, type EvalResult, type ImageResult, type ImageOutcome, type EvaluateOptions } from './eval/protocol.js';
export { psnr, ssim, score, parseMetrics, METRIC_NAMES, DEFAULT_METRICS, type MetricOptions, type Scores, type MetricName } from './eval/metrics.js';
export { niqe, niqePlane, loadNiqeModel, defaultNiqeModelPath, NIQE_MODEL_ENV, NIQE_BLOCK, type NiqeModel, type NiqeOptions } from './eval/niqe.js';
export { planePoints, planeCsv, planeSvg, type PlanePoint } from './eval/plane.js';
export {
  resolveMethod, resolveMethods, disposeMethods, upscalerMethod, knownMethodNames, isInterpolation, INTERPOLATIONS, alphaMethodName, alphaOfMethodName,
  type Method, type MethodRun, type MethodOptions, type Interpolation,
} from './inference/methods.js';

// Training
export { resolveOptions as resolveTrainOptions, resolveResumedOptions as resolveResumedTrainOptions, defaults as trainDefaults, TRAIN_FIELDS, commandLine as trainCommandLine, readConfigFile, parseSchedule, scheduleText, learningRateAt, type TrainMode, type TrainOptions, type TrainField } from './train/options.js';
export { train, modelConfigs, type TrainRunOptions, type TrainResult, type LogEntry } from './train/trainer.js';
export { readRunConfig, readResumes, summarizeRun, type RunSummary, type ResumeRecord } from './train/run_dir.js';
export { packageRun, type PackageRunOptions, type PackagedRun } from './train/package_run.js';
export { modelCard, type ModelCardInput, type CardMeasurement } from './train/model_card.js';
export { recalibrateBatchNorm, recalibrateOnTrainingData } from './train/precise_bn.js';
export {
  registerObjective, getObjective, objectiveNames,
  type Objective, type Phase, type LossSettings, type GraphPhase, type TfjsPhase, type PhaseLoss,
} from './train/objectives.js';
export { ENGINES as TRAIN_ENGINES, type EngineName as TrainEngineName, type StepEngine, type MicroResult } from './train/engine.js';
export { NetState, type Slot, type AdamOptions } from './train/net_state.js';
export { buildStepGraph, type StepGraph, type StepGraphSpec, type StepShape } from './train/step_graph.js';

// Training-step graphs (ONNX): builder, reverse-mode tape, differentiable ops
export { GraphBuilder, GRAPH_OPSET, type Value as GraphValue } from './graph/builder.js';
export { Tape } from './graph/tape.js';
export { conv2d, chooseFormulation, type Formulation, type FwdFormulation, type DxFormulation, type DwFormulation } from './graph/conv.js';
export { emitNetwork, emitVgg19 } from './graph/network.js';

// Inference
export {
  upscale, createUpscaler, releaseUpscalers, Upscaler, checkOutputSize, DEFAULT_MAX_OUTPUT_PIXELS, DEFAULT_IN_MEMORY_BYTES,
  type UpscalerOptions, type RunOptions, type FileRunOptions, type EncodeRunOptions, type PixelsRunOptions, type TensorRunOptions, type OutputKind, type UpscaleInput,
} from './inference/upscale.js';
export { ENGINE_NAMES, DEFAULT_ENGINE, type Engine, type EngineName, type EngineOptions } from './inference/engine.js';
export { createEngine } from './inference/create_engine.js';
export { createOnnxEngine, clearOnnxCache, type OnnxMode } from './inference/onnx_engine.js';
export { exportOnnx, ONNX_INPUT, ONNX_OUTPUT, DEFAULT_OPSET, type OnnxExportOptions, type OnnxExportResult } from './inference/onnx_export.js';
export {
  loadModelSource, interpolateArrays, resolveModelFile, shippedModelPath, buildFromSource, SHIPPED_MODELS, DEFAULT_MODEL,
  type ModelSpec, type ModelSource, type WeightSource, type OnnxSource,
} from './inference/model_source.js';
export { upscaleTiled, upscaleTiledRows, planTiles, DEFAULT_TILE, DEFAULT_OVERLAP, type TileRect, type TileProgress, type TiledRunOptions, type RowSink } from './inference/tiling.js';
export { RasterWriter, toRaster, type Raster, type RasterFile } from './io/raster.js';
export { runGenerator, generatorMethod } from './inference/tfjs_runner.js';

// Batches on a Redis job queue (BullMQ): add, workers, status, retry, cancel
export {
  parseRedisUrl, redisTarget, openQueue, withQueue, REDIS_ENV_VAR, DEFAULT_REDIS_URL, QUEUE_NAME, KEY_PREFIX as QUEUE_KEY_PREFIX,
  type RedisTarget,
} from './queue/connection.js';
export { addBatch, sharedModelSpec, DEFAULT_SEGMENT_SECONDS, PARTS_FOLDER, type AddRequest, type AddResult } from './queue/add.js';
export { loadBatch, listBatchIds, type BatchRecord, type BatchOptions, type BatchItem, type ImageItem, type VideoItem } from './queue/batch.js';
export { batchStatus, formatStatus, progressLine, JOB_STATES, type BatchStatus, type JobStatus, type JobState } from './queue/status.js';
export { retryBatch, cancelBatch, type RetryResult, type CancelResult } from './queue/control.js';
export { QueueWorker, MAX_STALLS, type WorkerOptions } from './queue/worker.js';
export { type JobData, type ImageJobData, type SegmentJobData, type JoinJobData } from './queue/jobs.js';
export { type JobResult } from './queue/processors.js';
export { splitVideo, joinSegments, VIDEO_EXTENSIONS } from './queue/segments.js';
export { upscaleFile, type UpscaleFileOptions, type FileRunResult } from './inference/upscale.js';
export { SrError } from './util/errors.js';

// Action recognition (two-stream recognizer; video SR judged by recognition accuracy)
export { readActionLayout, type ActionLayout, type LabelledClip } from './action/layout.js';
export { readClipFrames, clipFlows, clipOf, writeSample, samplePositions, squareFrame, sampleChannels, type Clip } from './action/clip.js';
export { ClipDataset, type ClipDatasetOptions, type ClipDatasetState, type ClipBatch } from './action/clip_dataset.js';
export { makeActions, ACTION_CLASSES, PATTERNS as ACTION_PATTERNS, MOTIONS as ACTION_MOTIONS, type MakeActionsOptions, type MadeActions } from './action/synth_actions.js';
export {
  evaluateRecognition, formatRecognitionTable, recognitionPlot, recognizerFile, SCORES as RECOGNITION_SCORES,
  type RecognitionOptions, type RecognitionResult, type RecognitionMethod,
} from './action/eval_recognition.js';
export { WorkerStream, answerJob, type StreamJob, type StreamReply, type StreamBatch, type WorkerStreamOptions } from './data/worker_stream.js';
export { hash32 } from './util/random.js';
