// The one place that decides which TF.js backend runs the work.
//
// Order of preference: `tensorflow` (from @tensorflow/tfjs-node, only if the user installed it),
// then `wasm` (XNNPACK + SIMD, always available). The pure-JS `cpu` backend is ~35x slower than
// WASM on these networks, so it is never chosen silently: it needs an explicit request, and heavy
// entry points call `assertFastBackend()` which refuses it unless the caller opted in.
//
// TF.js is loaded with require() here and in every module outside src/train (TypeScript's
// `import x = require()` compiles to createRequire). Its Node builds are CommonJS bundles of 0.5 to
// 1.5 MB, and an ES `import` of one makes Node scan its whole source for export names first
// (cjs-module-lexer): measured 250 ms for core, layers and wasm against 70 ms with require(),
// a twentieth of a short `srgan upscale`. Both ways give the same module instance.
import tf = require('@tensorflow/tfjs-core');
import wasmBackend = require('@tensorflow/tfjs-backend-wasm'); // registers the 'wasm' backend
// The layers bundle registers tfjs-core's gradient functions (the core node bundle does not).
import layers = require('@tensorflow/tfjs-layers');
void wasmBackend, void layers; // loaded for what loading them registers
import { registerWasmTrainingKernels } from './kernels/index.js';
import { SrError } from '../util/errors.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';
export type BackendRequest = BackendName | 'auto';

export const BACKEND_ENV_VAR = 'SRGAN_BACKEND';

export interface BackendOptions {
  /** Which backend to use; default: the SRGAN_BACKEND environment variable, else 'auto'. */
  backend?: BackendRequest;
  /** Print nothing on stderr (the warning about the slow cpu backend still applies to heavy work). */
  quiet?: boolean;
}

let initialised: BackendName | null = null;
let cpuAllowed = false;

function parseRequest(value: string | undefined, source: string): BackendRequest {
  const v = (value ?? 'auto').trim().toLowerCase();
  if (v === 'auto' || v === 'wasm' || v === 'cpu' || v === 'tensorflow') return v;
  if (v === 'node' || v === 'tfjs-node') return 'tensorflow';
  throw new SrError(`unknown backend '${value}' in ${source}: use auto, wasm, tensorflow (needs @tensorflow/tfjs-node) or cpu`);
}

async function tryTfjsNode(): Promise<boolean> {
  try {
    // A computed specifier keeps bundlers and tsc from requiring the optional package.
    const name = '@tensorflow/tfjs-node';
    await import(name);
    return tf.findBackend('tensorflow') != null;
  } catch {
    return false;
  }
}

async function activate(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) {
    throw new SrError(`the TF.js '${name}' backend failed to initialise`);
  }
  await tf.ready();
}

/**
 * Initialise the compute backend once per thread. Returns the backend in use.
 * Calling it again with a different explicit request switches backend (used by tests).
 */
export async function initBackend(options: BackendOptions = {}): Promise<BackendName> {
  const request = options.backend ?? parseRequest(process.env[BACKEND_ENV_VAR], `$${BACKEND_ENV_VAR}`);
  if (options.backend) parseRequest(options.backend, 'the backend option');
  if (initialised && (request === 'auto' || request === initialised)) return initialised;

  registerWasmTrainingKernels();
  let chosen: BackendName;
  if (request === 'auto') {
    chosen = (await tryTfjsNode()) ? 'tensorflow' : 'wasm';
  } else if (request === 'tensorflow') {
    if (!(await tryTfjsNode())) {
      throw new SrError("backend 'tensorflow' was requested but @tensorflow/tfjs-node is not installed (npm install @tensorflow/tfjs-node), or failed to load");
    }
    chosen = 'tensorflow';
  } else {
    chosen = request;
  }
  // Registered only on request: its mere presence prints tfjs's "install tfjs-node" banner and
  // makes it a candidate for TF.js's silent fallback.
  if (chosen === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  await activate(chosen);
  if (chosen === 'cpu') {
    cpuAllowed = true;
    if (!options.quiet) {
      process.stderr.write("warning: using TF.js's pure-JavaScript 'cpu' backend, about 35x slower than 'wasm'; meant for checks, not real work\n");
    }
  }
  initialised = chosen;
  return chosen;
}

/** The backend now active, as far as TF.js is concerned. */
export function currentBackend(): string {
  return tf.getBackend();
}

/**
 * Heavy work (training, upscaling, benchmarks) calls this first. TF.js falls back to `cpu` on its
 * own when another backend fails; that must never go unnoticed.
 */
export function assertFastBackend(what: string): void {
  const name = tf.getBackend();
  if (name === 'cpu' && !cpuAllowed) {
    throw new SrError(`${what} would run on TF.js's pure-JS 'cpu' backend (about 35x slower); initialise 'wasm' with initBackend(), or ask for 'cpu' explicitly`);
  }
  if (name === 'cpu') {
    process.stderr.write(`warning: ${what} is running on the slow 'cpu' backend because it was requested explicitly\n`);
  }
}
