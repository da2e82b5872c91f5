// Loads OpenCV.js (@techstark/opencv-js, an Emscripten build bundled as one .js file: nothing is
// downloaded, so it works offline) once per thread, and types the few functions this project uses.
//
// The Emscripten runtime installs process-wide handlers when it loads in Node: one rethrowing
// every uncaught exception and one turning any unhandled promise rejection into an abort of the
// WASM module. Both would change how the whole CLI (and the test runner) fails, for reasons that
// have nothing to do with optical flow, so they are removed right after loading.
import { createRequire } from 'node:module';
import { SrError } from '../util/errors.js';

/** An OpenCV matrix as far as this project touches it. */
export interface CvMat {
  rows: number;
  cols: number;
  data: Uint8Array;
  data32F: Float32Array;
  delete(): void;
}

export interface OpenCv {
  Mat: new (...args: unknown[]) => CvMat;
  CV_8UC1: number;
  CV_32FC2: number;
  OPTFLOW_FARNEBACK_GAUSSIAN: number;
  calcOpticalFlowFarneback(prev: CvMat, next: CvMat, flow: CvMat, pyrScale: number, levels: number, winsize: number, iterations: number, polyN: number, polySigma: number, flags: number): void;
  onRuntimeInitialized?: () => void;
}

// The Emscripten module object has a `then` method, so resolving a promise with it would make
// the promise adopt it as a thenable, and that loops forever; it travels wrapped instead.
export interface OpenCvHolder {
  readonly cv: OpenCv;
}

let loading: Promise<OpenCvHolder> | null = null;

function load(): Promise<OpenCvHolder> {
  const events = ['uncaughtException', 'unhandledRejection'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as 'uncaughtException'))]));
  let cv: OpenCv;
  try {
    cv = createRequire(import.meta.url)('@techstark/opencv-js') as OpenCv;
  } catch (err) {
    throw new SrError(`cannot load OpenCV.js (@techstark/opencv-js) for optical flow: ${(err as Error).message}; reinstall the package's dependencies`, { cause: err });
  } finally {
    for (const e of events) {
      for (const l of process.listeners(e as 'uncaughtException')) if (!before.get(e)!.has(l)) process.off(e, l);
    }
  }
  if (typeof cv.calcOpticalFlowFarneback === 'function' && typeof cv.Mat === 'function') return Promise.resolve({ cv });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new SrError('OpenCV.js did not finish initialising within 60 s')), 60_000);
    timer.unref();
    cv.onRuntimeInitialized = () => {
      clearTimeout(timer);
      if (typeof cv.calcOpticalFlowFarneback !== 'function') reject(new SrError('this OpenCV.js build has no calcOpticalFlowFarneback'));
      else resolve({ cv });
    };
  });
}

/** OpenCV.js, wrapped: use `(await loadOpenCv()).cv`, never `await` the module object itself. */
export function loadOpenCv(): Promise<OpenCvHolder> {
  if (!loading) {
    loading = load();
    loading.catch(() => (loading = null));
  }
  return loading;
}
