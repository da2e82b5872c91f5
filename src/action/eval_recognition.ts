// Video SR judged by action recognition (Zhang, Liu & Xiong 2019, Tables 3-4): each test video
// of an action dataset is degraded by the evaluation protocol (x s down, MATLAB bicubic on uint8),
// upscaled by each method, and classified by a trained two-stream recognizer: the spatial stream
// on RGB frames, the temporal stream on Farneback flow of the upscaled frames, and their late
// fusion (mean of the two softmaxes). A video's score averages `positions` samples spread over it.
// 'hr' runs the recognizer on the original frames: the ceiling the methods are measured against.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { imageFrom8, type Image8 } from '../image/image.js';
import '../models/index.js';
import { loadModel } from '../models/weights.js';
import { degrade } from '../image/degrade.js';
import { SrError, EXIT_INTERRUPTED } from '../util/errors.js';
import { plotSvg } from '../util/svg_plot.js';
import { checkMethodScale, disposeMethods, resolveMethod, type Method } from '../inference/methods.js';
import { findFfmpeg } from '../video/ffmpeg.js';
import { clipOf, frame8, readClipFrames, sampleChannels, samplePositions, writeSample } from './clip.js';
import { readActionLayout } from './layout.js';
import { STREAMS, type StreamName } from '../models/two_stream.js';

export type Fused = StreamName | 'fused';
export const SCORES: readonly Fused[] = [...STREAMS, 'fused'];

export interface RecognitionMethod {
  /** label in the table */
  name: string;
  /** 'hr', an interpolation (bicubic), a shipped model (srresnet) or a weights file */
  spec: string;
}

export interface RecognitionOptions {
  data: string;
  methods: RecognitionMethod[];
  scale: number;
  /** a recognizer run folder or its recognizer.safetensors */
  recognizer: string;
  /** samples per video (default 5) */
  positions?: number;
  /** frames read per video (default 32) */
  maxFrames?: number;
  signal?: AbortSignal;
  onVideo?: (done: number, total: number) => void;
}

export interface RecognitionResult {
  scale: number;
  videos: number;
  classes: string[];
  methods: string[];
  /** top-1 accuracy in [0, 1], per method and score */
  accuracy: Record<string, Record<Fused, number>>;
  /** per video: true label and predictions per method and score */
  perVideo: Array<{ path: string; label: number; predicted: Record<string, Record<Fused, number>> }>;
  seconds: number;
}

export function recognizerFile(path: string): string {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'recognizer.safetensors') : path;
  if (!existsSync(file)) throw new SrError(`--recognizer ${path}: no ${file}; give a recognizer run folder (after training finished) or its recognizer.safetensors`);
  return file;
}

const softmax = (z: Float32Array, k: number, rows: number): Float32Array => {
  const out = new Float32Array(z.length);
  for (let r = 0; r < rows; r++) {
    let m = -Infinity;
    for (let j = 0; j < k; j++) m = Math.max(m, z[r * k + j]!);
    let s = 0;
    for (let j = 0; j < k; j++) s += out[r * k + j] = Math.exp(z[r * k + j]! - m);
    for (let j = 0; j < k; j++) out[r * k + j]! /= s;
  }
  return out;
};

const argmax = (v: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best;
};

export async function evaluateRecognition(o: RecognitionOptions): Promise<RecognitionResult> {
  const t0 = performance.now();
  const file = recognizerFile(o.recognizer);
  const { model, config, metadata } = loadModel(file);
  try {
    if (config.type !== 'two-stream') throw new SrError(`--recognizer ${file} holds a '${config.type}' model, not a two-stream recognizer`);
    const names: string[] = metadata['classes'] ? JSON.parse(metadata['classes']) : [];
    const size = Number(metadata['size']);
    const stack = Number(config['stack']);
    const layout = readActionLayout(o.data);
    if (layout.test.length === 0) throw new SrError(`${o.data} has no test split: eval-recognition needs testlist01.txt (with classInd.txt and trainlist01.txt)`);
    if (JSON.stringify(names) !== JSON.stringify(layout.classes)) {
      throw new SrError(`the recognizer ${file} knows classes ${names.join(',')}, but ${o.data} has ${layout.classes.join(',')}`);
    }
    if (size % o.scale !== 0) throw new SrError(`the recognizer's frames are ${size}px, not a multiple of --scale ${o.scale}`);
    const k = names.length;
    const tools = await findFfmpeg();
    // the one place this module meets the upscalers (inference/methods.ts)
    const upscalers = new Map<string, Method | null>();
    const perVideo: RecognitionResult['perVideo'] = [];
    try {
      for (const m of o.methods) {
        const method = m.spec === 'hr' ? null : await resolveMethod(m.spec);
        upscalers.set(m.name, method);
        if (method) checkMethodScale(method, o.scale);
      }
      for (const [i, v] of layout.test.entries()) {
        if (o.signal?.aborted) throw new SrError('eval-recognition: interrupted; nothing written', { exitCode: EXIT_INTERRUPTED });
        const hr = await readClipFrames(v.path, size, { maxFrames: o.maxFrames ?? 32, minFrames: stack + 1, tools });
        // Degraded once per video: every method upscales the same LR frames.
        const lr = [...upscalers.values()].some((u) => u !== null) ? hr.map((f) => degrade(imageFrom8(f), o.scale)) : [];
        const predicted: Record<string, Record<Fused, number>> = {};
        for (const m of o.methods) {
          const up = upscalers.get(m.name)!;
          let frames: Image8[] = hr;
          if (up) {
            frames = [];
            for (const f of lr) frames.push(frame8(await up.run(f, { scale: o.scale, ...(o.signal ? { signal: o.signal } : {}) })));
          }
          predicted[m.name] = await classify(model, await clipOf(frames), stack, k, o.positions ?? 5);
        }
        perVideo.push({ path: v.path, label: v.label, predicted });
        o.onVideo?.(i + 1, layout.test.length);
      }
    } finally {
      await disposeMethods([...upscalers.values()].filter((u): u is Method => u !== null));
    }
    const accuracy: RecognitionResult['accuracy'] = {};
    for (const m of o.methods) {
      accuracy[m.name] = Object.fromEntries(SCORES.map((s) => [s, perVideo.filter((p) => p.predicted[m.name]![s] === p.label).length / perVideo.length])) as Record<Fused, number>;
    }
    return { scale: o.scale, videos: perVideo.length, classes: names, methods: o.methods.map((m) => m.name), accuracy, perVideo, seconds: (performance.now() - t0) / 1000 };
  } finally {
    model.dispose();
  }
}

/** Class predicted by each stream and by their fusion, from scores averaged over the clip. */
async function classify(model: import('@tensorflow/tfjs-layers').LayersModel, clip: Awaited<ReturnType<typeof clipOf>>, stack: number, k: number, count: number): Promise<Record<Fused, number>> {
  const at = samplePositions(clip.frames.length, stack, count);
  const { width, height } = clip.frames[0]!;
  const c = sampleChannels(stack);
  const x = new Float32Array(at.length * width * height * c);
  at.forEach((t, i) => writeSample(clip, t, stack, x, i * width * height * c));
  const logits = tf.tidy(() => (model.predict(tf.tensor4d(x, [at.length, height, width, c])) as tf.Tensor[]).map((l) => l.dataSync() as Float32Array));
  const mean = (p: Float32Array) => Float32Array.from({ length: k }, (_, j) => at.reduce((a, _t, r) => a + p[r * k + j]!, 0) / at.length);
  const [spatial, temporal] = logits.map((l) => mean(softmax(l, k, at.length))) as [Float32Array, Float32Array];
  const fused = spatial.map((p, j) => (p + temporal[j]!) / 2);
  return { spatial: argmax(spatial), temporal: argmax(temporal), fused: argmax(fused) };
}

export function formatRecognitionTable(r: RecognitionResult): string {
  const w = Math.max(8, ...r.methods.map((m) => m.length));
  const head = `${'method'.padEnd(w)}  ${'spatial'.padStart(8)}  ${'temporal'.padStart(8)}  ${'fused'.padStart(8)}`;
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`.padStart(8);
  return [
    `top-1 accuracy on ${r.videos} test video(s), ${r.classes.length} classes, x${r.scale} (chance ${(100 / r.classes.length).toFixed(1)}%)`,
    head,
    '-'.repeat(head.length),
    ...r.methods.map((m) => `${m.padEnd(w)}  ${pct(r.accuracy[m]!.spatial)}  ${pct(r.accuracy[m]!.temporal)}  ${pct(r.accuracy[m]!.fused)}`),
  ].join('\n') + '\n';
}

/** Grouped bars: one group per method, one bar per stream and the fusion. */
export function recognitionPlot(r: RecognitionResult): string {
  return plotSvg([
    {
      title: `Action recognition on x${r.scale} video by SR method (${r.videos} test videos)`,
      xLabel: 'method',
      yLabel: 'top-1 accuracy (%)',
      xTickLabels: r.methods,
      series: SCORES.map((s) => ({ name: s, bars: true, points: r.methods.map((m, i): [number, number] => [i, 100 * r.accuracy[m]![s]]) })),
    },
  ]);
}
