// Registers the kernels this project supplies to the WASM backend. Idempotent.
import tf = require('@tensorflow/tfjs-core');
import { wasmConvGradientKernels } from './conv2d_backprop.js';
import { registerLeanBatchNormGradient } from './batch_norm_grad.js';

let done = false;
const stock = new Map<string, tf.KernelConfig>();

/** The kernel tfjs-backend-wasm shipped under a name we replaced (for benchmarks), if any. */
export function stockWasmKernel(name: string): tf.KernelConfig | undefined {
  return stock.get(name);
}

export function registerWasmTrainingKernels(): void {
  if (done) return;
  for (const k of wasmConvGradientKernels) {
    // tfjs-backend-wasm ships a slow Conv2DBackpropInput; ours replaces it.
    const existing = tf.getKernel(k.kernelName, k.backendName);
    if (existing) {
      stock.set(k.kernelName, existing);
      tf.unregisterKernel(k.kernelName, k.backendName);
    }
    tf.registerKernel(k);
  }
  registerLeanBatchNormGradient();
  done = true;
}

/** Names of the kernels supplied here, for documentation and tests. */
export const suppliedWasmKernels: readonly string[] = wasmConvGradientKernels.map((k) => k.kernelName);
