// The studio's Web Worker: fetches the model, runs it with onnxruntime-web (WebGPU when the
// browser offers an adapter, WASM otherwise) tile by tile, and reports progress, so the page never
// blocks. onnxruntime-web is loaded from the server's /ort/ folder by URL at run time; only its
// types come from the package at compile time.
import type * as Ort from 'onnxruntime-web';
import { bicubicRgba, upscaleRgba } from './rgba.js';
import type { FromWorker, ModelRef, ToWorker } from './protocol.js';

type OrtModule = typeof Ort;

interface WorkerScope {
  postMessage(m: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  location: { href: string };
  navigator: Navigator & { gpu?: { requestAdapter(): Promise<unknown> } };
}
const scope = self as unknown as WorkerScope;

let ortPromise: Promise<{ ort: OrtModule; backend: 'webgpu' | 'wasm' }> | undefined;
let wantedBackend: 'auto' | 'wasm' | 'webgpu' = 'auto';

async function loadOrt(want: 'auto' | 'wasm' | 'webgpu'): Promise<{ ort: OrtModule; backend: 'webgpu' | 'wasm' }> {
  let webgpu = false;
  if (want !== 'wasm' && scope.navigator.gpu) {
    try {
      webgpu = (await scope.navigator.gpu.requestAdapter()) != null;
    } catch {
      webgpu = false;
    }
  }
  if (want === 'webgpu' && !webgpu) throw new Error('WebGPU was asked for, but this browser offers no WebGPU adapter');
  const base = new URL('/ort/', scope.location.href).href;
  // The WebGPU build carries the WASM backend too, but it is larger; plain WASM loads faster.
  const ort = (await import(base + (webgpu ? 'ort.webgpu.min.mjs' : 'ort.wasm.min.mjs'))) as OrtModule;
  ort.env.wasm.wasmPaths = base;
  // Threads need cross-origin isolation (SharedArrayBuffer); the server sends the headers for it.
  ort.env.wasm.numThreads = (self as unknown as { crossOriginIsolated?: boolean }).crossOriginIsolated ? Math.min(4, scope.navigator.hardwareConcurrency || 1) : 1;
  return { ort, backend: webgpu ? 'webgpu' : 'wasm' };
}

const sessions = new Map<string, Promise<Ort.InferenceSession>>();

async function session(ort: OrtModule, backend: 'webgpu' | 'wasm', m: ModelRef, job: number): Promise<Ort.InferenceSession> {
  let s = sessions.get(m.url);
  if (!s) {
    s = (async () => {
      post({ type: 'status', job, text: 'downloading the model' });
      const res = await fetch(m.url);
      if (!res.ok) throw new Error(`the server could not give the model (${res.status}: ${(await res.text()).slice(0, 200)})`);
      const bytes = new Uint8Array(await res.arrayBuffer());
      post({ type: 'status', job, text: `preparing the model (${(bytes.length / 1e6).toFixed(1)} MB) on ${backend}` });
      return ort.InferenceSession.create(bytes, { executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'], graphOptimizationLevel: 'all' });
    })();
    s.catch(() => sessions.delete(m.url));
    sessions.set(m.url, s);
    // A few sessions are kept (the dial's neighbours); older ones are released.
    while (sessions.size > 3) {
      const [oldUrl, old] = sessions.entries().next().value!;
      sessions.delete(oldUrl);
      void old.then((x) => x.release()).catch(() => undefined);
    }
  }
  return s;
}

function post(m: FromWorker, transfer: Transferable[] = []): void {
  scope.postMessage(m, transfer);
}

let current = 0;

async function upscale(msg: Extract<ToWorker, { type: 'upscale' }>): Promise<void> {
  const { job, width, height, rgba, model } = msg;
  const t0 = performance.now();
  const bic = bicubicRgba(rgba, width, height, model.scale);
  // A copy goes to the page; the worker keeps its own for the alpha channel.
  const bicCopy = bic.slice();
  post({ type: 'bicubic', job, width: width * model.scale, height: height * model.scale, rgba: bicCopy }, [bicCopy.buffer]);
  if (!ortPromise || wantedBackend !== msg.backend) {
    wantedBackend = msg.backend;
    ortPromise = loadOrt(msg.backend);
    ortPromise.catch(() => (ortPromise = undefined));
  }
  const { ort, backend } = await ortPromise;
  const sess = await session(ort, backend, model, job);
  const input = sess.inputNames[0]!;
  const output = sess.outputNames[0]!;
  post({ type: 'status', job, text: `upscaling on ${backend}` });
  const out = await upscaleRgba({
    rgba,
    width,
    height,
    scale: model.scale,
    tileSize: msg.tile,
    overlap: msg.overlap,
    planar: model.layout === 'nchw',
    outputRange: model.outputRange,
    cancelled: () => current !== job,
    onProgress: (p) => post({ type: 'progress', job, done: p.done, total: p.total }),
    run: async (rgb, h, w) => {
      const dims = model.layout === 'nchw' ? [1, 3, h, w] : [1, h, w, 3];
      const feeds = { [input]: new ort.Tensor('float32', rgb, dims) };
      const r = await sess.run(feeds);
      const t = r[output]!;
      const data = (await t.getData()) as Float32Array;
      for (const v of Object.values(r)) v.dispose();
      return data;
    },
  });
  // The network sees colour only; transparency is enlarged with bicubic, as the CLI does.
  for (let i = 3; i < out.length; i += 4) out[i] = bic[i]!;
  post({ type: 'result', job, width: width * model.scale, height: height * model.scale, rgba: out, backend, seconds: (performance.now() - t0) / 1000 }, [out.buffer]);
}

// Jobs run one after another: a new image or alpha cancels the running job at its next tile, and
// ONNX Runtime is never asked to run two graphs at once.
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === 'cancel') {
    if (current === msg.job) current = -1;
    return;
  }
  current = msg.job;
  queue = queue.then(() =>
    (current === msg.job ? upscale(msg) : Promise.reject(new DOMException('superseded', 'AbortError'))).catch((err: unknown) => {
      const cancelled = err instanceof DOMException && err.name === 'AbortError';
      post({ type: 'error', job: msg.job, message: err instanceof Error ? err.message : String(err), cancelled });
    }),
  );
};
