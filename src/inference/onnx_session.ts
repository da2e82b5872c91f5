// One ONNX Runtime session and one tile through it; shared by the main thread and the workers.
import type { Method } from './methods.js';
import ort from 'onnxruntime-node';
import { ONNX_INPUT, ONNX_OUTPUT } from './onnx_export.js';
import type { Image } from '../image/image.js';

export type OrtSession = ort.InferenceSession;

export async function createSession(bytes: Uint8Array, threads: number): Promise<OrtSession> {
  return ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    // The graph is a chain: there is nothing for a second inter-op thread to do.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // The memory-pattern planner keeps a block per input shape; on one 184x166 SRResNet tile it
    // raised a session's peak from 505 MiB to 842 MiB with no speed gain (2.13 s vs 2.40 s a tile).
    enableMemPattern: false,
    // Idle pool threads spin-wait by default; on a shared machine (a training run next to us)
    // that steals cores from whoever else is working.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
    logSeverityLevel: 3,
  });
}

/** NHWC [1, h, w, 3] in [0, 1] -> NHWC [1, s*h, s*w, 3] in [-1, 1]; transposes around ONNX's NCHW. */
export async function runSession(session: OrtSession, tile: Float32Array, h: number, w: number): Promise<Float32Array> {
  const n = h * w;
  const chw = new Float32Array(3 * n);
  for (let p = 0; p < n; p++) {
    chw[p] = tile[3 * p]!;
    chw[n + p] = tile[3 * p + 1]!;
    chw[2 * n + p] = tile[3 * p + 2]!;
  }
  const input = new ort.Tensor('float32', chw, [1, 3, h, w]);
  const result = await session.run({ [ONNX_INPUT]: input });
  const out = result[ONNX_OUTPUT]!;
  const [, c, oh, ow] = out.dims as number[];
  if (c !== 3) throw new Error(`ONNX model returned ${c} channels, expected 3`);
  const src = out.data as Float32Array;
  const m = oh! * ow!;
  const hwc = new Float32Array(3 * m);
  for (let p = 0; p < m; p++) {
    hwc[3 * p] = src[p]!;
    hwc[3 * p + 1] = src[m + p]!;
    hwc[3 * p + 2] = src[2 * m + p]!;
  }
  out.dispose();
  input.dispose();
  return hwc;
}

/**
 * A whole-image evaluation method over a session (training validation on the ONNX engine): grey
 * input is fed as three equal channels, the [-1, 1] output mapped to [0, 1] and clipped, as the
 * TF.js runner does.
 */
export function sessionMethod(name: string, session: OrtSession): Method {
  return {
    name,
    run: async (lr) => {
      const n = lr.width * lr.height;
      const rgb = lr.channels === 3 ? lr.data : new Float32Array(3 * n).map((_, i) => lr.data[Math.floor(i / 3) * lr.channels]!);
      const out = await runSession(session, rgb, lr.height, lr.width);
      for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, (out[i]! + 1) / 2));
      const scale = Math.round(Math.sqrt(out.length / 3 / n));
      return { width: lr.width * scale, height: lr.height * scale, channels: 3, data: out };
    },
  };
}
