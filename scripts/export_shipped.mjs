#!/usr/bin/env node
// Part of the build: exports the shipped models (models/*.safetensors) to the ONNX graphs the
// engine runs, into dist/models/, so `srgan upscale` does not export them on every run (see
// src/inference/prebuilt_onnx.ts). A model that is not there is skipped.
import { SHIPPED_MODELS, loadModelSource, shippedModelPath } from '../dist/src/inference/model_source.js';
import { exportForEngine } from '../dist/src/inference/onnx_engine.js';
import { writePrebuilt } from '../dist/src/inference/prebuilt_onnx.js';
import { existsSync } from 'node:fs';

for (const name of SHIPPED_MODELS) {
  if (!existsSync(shippedModelPath(name, 4))) continue;
  const src = await loadModelSource({ model: name, scale: 4 });
  const out = await writePrebuilt(src.file, await exportForEngine(src));
  console.log(`prebuilt ${out}`);
}
