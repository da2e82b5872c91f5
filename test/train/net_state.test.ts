// The one Adam of the training path (NetState.applyAdam) against the textbook update computed in
// float64, over several steps with the bias corrections; and the named views checkpoints use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../src/tfjs/backend.js';
import { buildModel } from '../../src/models/index.js';
import { NetState } from '../../src/train/net_state.js';
import { randomArray } from '../helpers/tf.js';

test('Adam on flat weights follows Kingma & Ba (float64 reference) to float32 precision over five steps', async () => {
  await initBackend({ backend: 'wasm' });
  const model = buildModel({ type: 'srresnet', scale: 2, blocks: 1, channels: 4 });
  const opts = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };
  const s = new NetState(model, opts);
  s.pull(model);
  const n = s.weights.length;
  const p = Float64Array.from(s.weights);
  const m = new Float64Array(n);
  const v = new Float64Array(n);
  const rates = [1e-3, 1e-3, 5e-4, 5e-4, 1e-4];
  rates.forEach((lr, k) => {
    const g = randomArray(n, 10 + k).map((x) => x * (k + 1));
    s.applyAdam(g, lr);
    const t = k + 1;
    for (let i = 0; i < n; i++) {
      m[i] = opts.beta1 * m[i]! + (1 - opts.beta1) * g[i]!;
      v[i] = opts.beta2 * v[i]! + (1 - opts.beta2) * g[i]! * g[i]!;
      // The paper's Algorithm 1 with its final note: the bias corrections folded into the step size.
      const alpha = (lr * Math.sqrt(1 - opts.beta2 ** t)) / (1 - opts.beta1 ** t);
      p[i] = p[i]! - (alpha * m[i]!) / (Math.sqrt(v[i]!) + opts.epsilon);
    }
  });
  let worst = 0;
  for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(s.weights[i]! - p[i]!) / Math.max(1e-3, Math.abs(p[i]!)));
  assert.ok(worst < 1e-5, `worst relative difference ${worst}`);
  assert.equal(s.step, 5);
  // Checkpoint views: every weight by name, moments named after them.
  const names = s.arrays().map((a) => a.name);
  assert.ok(names.includes('head_conv/kernel') && names.includes('block0_bn1/moving_mean'));
  assert.equal(s.optimizerArrays('G/').length, 2 * s.trainable.length);
  model.dispose();
});
