// Engine benchmark (not a test): SRResNet x4 (B=16, C=64) forward pass on 1x3x128x128 and one
// training step (MSE + Adam) at batch 16 on 24x24 LR patches, on each requested backend in one
// run, with the ratio between them.
//
// FLOPs are counted analytically (src/models/srresnet.ts, srresnetFlops): 2 per multiply-add over
// every convolution. A training step is counted as 3x the forward convolutions (forward, input
// gradient, filter gradient) less the input gradient of the first layer, which is not needed.
// Batch norm, PReLU, additions and the optimizer are left out (well under 1% of the work).
//
//   npm run bench:engine                                  # wasm only
//   npm run bench:engine -- --backends wasm,cpu           # and TF.js's pure-JS backend (minutes)
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../src/tfjs/backend.js';
import { buildModel, srresnetFlops, type SRResNetConfig } from '../src/models/index.js';
import { resolveConfig } from '../src/models/registry.js';
import { NetState } from '../src/train/net_state.js';
import { TfjsEngine } from '../src/train/engine_tfjs.js';
import { getObjective } from '../src/train/objectives.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const backends = arg('backends', arg('backend', 'wasm')).split(',') as BackendName[];
const config = resolveConfig({ type: 'srresnet', scale: 4, blocks: 16, channels: 64 }) as SRResNetConfig;
const fwdFlops = srresnetFlops(config, 128, 128);
const firstLayerInputGrad = 2 * 24 * 24 * 81 * 3 * 64;
const stepFlops = 16 * (3 * srresnetFlops(config, 24, 24) - firstLayerInputGrad);
console.log(`SRResNet x4, B=16, C=64; analytic FLOPs: forward 128x128 ${(fwdFlops / 1e9).toFixed(2)} GFLOP, train step ${(stepFlops / 1e9).toFixed(2)} GFLOP`);

const results: Record<string, { fwd: number; step: number }> = {};
for (const b of backends) {
  const backend = await initBackend({ backend: b, quiet: true });
  const reps = Number(arg('reps', backend === 'cpu' ? '1' : '3'));
  const model = buildModel(config);
  const state = new NetState(model, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  state.pull(model);
  const engine = new TfjsEngine({ objective: getObjective('srresnet'), models: { g: model }, settings: { content: 'mse', pixel: 'mse', advWeight: 0, temporalWeight: 0 } });
  const x = tf.randomUniform([1, 128, 128, 3]);
  const shard = {
    lr: Float32Array.from({ length: 16 * 24 * 24 * 3 }, Math.random),
    hr: Float32Array.from({ length: 16 * 96 * 96 * 3 }, () => Math.random() * 2 - 1),
    n: 16, lrSize: 24, hrSize: 96,
  };

  const timeIt = async (label: string, flops: number, fn: () => void | Promise<void>): Promise<number> => {
    if (backend !== 'cpu') await fn(); // warm-up: XNNPACK operator creation; the cpu backend has none
    const times: number[] = [];
    for (let i = 0; i < reps; i++) {
      const t0 = performance.now();
      await fn();
      times.push((performance.now() - t0) / 1000);
    }
    const median = times.sort((a, c) => a - c)[Math.floor(times.length / 2)]!;
    console.log(`${label.padEnd(42)} ${median.toFixed(3).padStart(9)} s  ${(flops / median / 1e9).toFixed(2).padStart(7)} GFLOP/s  [${backend}, median of ${reps}]`);
    return median;
  };
  const fwd = await timeIt('forward 1x3x128x128', fwdFlops, () => {
    const y = model.predict(x) as tf.Tensor;
    y.dataSync();
    y.dispose();
  });
  const step = await timeIt('train step, batch 16, 24x24 LR -> 96x96', stepFlops, async () => {
    const r = await engine.gradients('g', shard, 0, { g: state });
    state.applyAdam(r.grads, 1e-4);
    state.setStats(r.stats);
  });
  results[backend] = { fwd, step };
  x.dispose();
  await engine.dispose();
  model.dispose();
}
const names = Object.keys(results);
if (names.length > 1) {
  const [a, b] = [names[0]!, names[1]!];
  console.log(`ratio ${b}/${a} time: forward ${(results[b]!.fwd / results[a]!.fwd).toFixed(1)}x, train step ${(results[b]!.step / results[a]!.step).toFixed(1)}x`);
}
