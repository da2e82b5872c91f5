// Upscaling speed per engine (not a test): a fixed 256x256 image x4 (-> 1024x1024) through
// SRResNet (B=16, C=64: the shipped architecture), tile 192, overlap 32 (the defaults), with
//   onnx          ONNX Runtime, the default mode (see src/inference/onnx_engine.ts)
//   onnx-workers  one single-threaded session per core, in worker threads, tiles in parallel
//   onnx-session  one session with intraOpNumThreads = cores (in one worker thread)
//   onnx-1thread  one single-threaded session: the baseline the two above should double
//   tfjs          TF.js on the WASM backend, in this thread
// Engines alternate within each round (and the order rotates between rounds), so a noisy machine
// (a training run next door) slows them all alike; medians over rounds are reported.
//
//   npm run build && node dist/bench/upscale_engines.js [--rounds 3] [--engines onnx-workers,onnx-session,tfjs]
//     [--model models/srresnet-x4.safetensors] [--size 256] [--threads N]
// Without --model, the shipped srresnet-x4 is used if present, else random weights of the same shape.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../src/tfjs/backend.js';
import { buildModel, resolveConfig } from '../src/models/index.js';
import { saveModel } from '../src/models/weights.js';
import { shippedModelPath } from '../src/inference/model_source.js';
import { createUpscaler, type Upscaler, type UpscalerOptions } from '../src/inference/upscale.js';
import { DEFAULT_OVERLAP, DEFAULT_TILE } from '../src/inference/tiling.js';
import type { Image } from '../src/image/image.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const rounds = Number(arg('rounds', '3'));
const size = Number(arg('size', '256'));
const threads = Number(arg('threads', String(availableParallelism())));
const engines = arg('engines', 'onnx-workers,onnx-session,tfjs').split(',');
await initBackend({ backend: 'wasm', quiet: true });

let model = arg('model', '');
let tmp: string | null = null;
if (!model) {
  if (existsSync(shippedModelPath('srresnet', 4))) model = shippedModelPath('srresnet', 4);
  else {
    tmp = mkdtempSync(join(tmpdir(), 'srgan-bench-'));
    model = join(tmp, 'srresnet-random.safetensors');
    const config = resolveConfig({ type: 'srresnet', scale: 4, blocks: 16, channels: 64 });
    const m = buildModel(config);
    await saveModel(m, config, model);
    m.dispose();
  }
}

const settings: Record<string, UpscalerOptions> = {
  onnx: { engine: 'onnx', threads },
  'onnx-workers': { engine: 'onnx', onnxMode: 'workers', threads },
  'onnx-session': { engine: 'onnx', onnxMode: 'session', threads },
  'onnx-1thread': { engine: 'onnx', onnxMode: 'workers', threads: 1 },
  tfjs: { engine: 'tfjs' },
};

// A textured image, so that nothing about the input is special.
const data = new Float32Array(size * size * 3);
for (let y = 0; y < size; y++)
  for (let x = 0; x < size; x++)
    for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = 0.5 + 0.4 * Math.sin(0.1 * x * (c + 1) + 0.07 * y) * Math.cos(0.05 * y - c);
const img: Image = { width: size, height: size, channels: 3, data };
const outMp = (size * 4 * size * 4) / 1e6;

const ups = new Map<string, Upscaler>();
for (const e of engines) {
  const s = settings[e];
  if (!s) throw new Error(`unknown engine setting '${e}' (${Object.keys(settings).join(', ')})`);
  const up = await createUpscaler({ model, ...s });
  // Warm-up on the tile shapes the timed runs use (sessions, arenas, XNNPACK operators).
  await up.upscaleImage(img);
  ups.set(e, up);
}

console.log(`upscale ${size}x${size} x4 -> ${size * 4}x${size * 4} (${outMp.toFixed(2)} MP), tile ${DEFAULT_TILE}, overlap ${DEFAULT_OVERLAP}, ${rounds} rounds, ${threads} threads for ONNX`);
console.log(`model: ${model}${tmp ? ' (random weights, shipped shape)' : ''}`);
const times = new Map<string, number[]>(engines.map((e) => [e, []]));
for (let r = 0; r < rounds; r++) {
  const order = engines.map((_, i) => engines[(i + r) % engines.length]!);
  const line: string[] = [];
  for (const e of order) {
    const t0 = performance.now();
    await ups.get(e)!.upscaleImage(img);
    const s = (performance.now() - t0) / 1000;
    times.get(e)!.push(s);
    line.push(`${e} ${s.toFixed(2)} s`);
  }
  console.log(`round ${r + 1}: ${line.join(', ')}`);
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const rate = new Map(engines.map((e) => [e, outMp / median(times.get(e)!)]));
for (const e of engines) console.log(`${e.padEnd(14)} ${rate.get(e)!.toFixed(3)} output MP/s (median ${median(times.get(e)!).toFixed(2)} s)`);
const base = engines.includes('tfjs') ? 'tfjs' : engines[engines.length - 1]!;
for (const e of engines) if (e !== base) console.log(`${e} / ${base}: ${(rate.get(e)! / rate.get(base)!).toFixed(2)}x`);
for (const up of ups.values()) await up.dispose();
if (tmp) rmSync(tmp, { recursive: true, force: true });
