// The studio's models from weights files: exported to ONNX by src/inference on request, in the
// layout and range the page is told, the dial blending the weights before export. Small seeded
// generators stand in for the shipped ones.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { SrError } from '../../src/util/errors.js';
import { initBackend } from '../../src/tfjs/backend.js';
import { describeOnnx, weightsCatalog } from '../../src/web/models.js';
import { writeTestModel } from '../helpers/sr_models.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('srgan-studio-weights-');
before(async () => {
  await initBackend({});
  await writeTestModel(join(dir, 'a.safetensors'), { seed: 1 });
  await writeTestModel(join(dir, 'b.safetensors'), { seed: 2 });
  await writeTestModel(join(dir, 'x2.safetensors'), { seed: 3, scale: 2 });
});

async function run(bytes: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    const x = new Float32Array(3 * 6 * 5).map((_, i) => ((i * 31) % 97) / 97);
    const out = (await s.run({ [s.inputNames[0]!]: new ort.Tensor('float32', x, [1, 3, 6, 5]) }))[s.outputNames[0]!]!;
    assert.deepEqual(out.dims, [1, 3, 24, 20]);
    return out.data as Float32Array;
  } finally {
    await s.release();
  }
}

test('weights are exported as the page expects, and the dial blends them', async () => {
  ort.env.wasm.numThreads = 1;
  const c = await weightsCatalog(
    [
      { id: 'a', label: 'a', model: join(dir, 'a.safetensors') },
      { id: 'b', label: 'b', model: join(dir, 'b.safetensors') },
    ],
    'test weights',
  );
  assert.deepEqual(c.models.map((m) => [m.id, m.layout, m.scale, m.outputRange]), [['a', 'nchw', 4, [-1, 1]], ['b', 'nchw', 4, [-1, 1]]]);
  const a = await c.models[0]!.load();
  assert.deepEqual(describeOnnx(a, 'a'), { layout: 'nchw', scale: 4, outputRange: [-1, 1], note: undefined });
  assert.equal(await c.models[0]!.load(), a, 'exported once, then served from memory');
  const ya = await run(a);
  const yb = await run(await c.models[1]!.load());
  assert.ok(c.dial);
  assert.equal(await c.dial.load(0), a);
  const yh = await run(await c.dial.load(0.5));
  let da = 0;
  let db = 0;
  for (let i = 0; i < ya.length; i++) {
    da += Math.abs(yh[i]! - ya[i]!);
    db += Math.abs(yh[i]! - yb[i]!);
  }
  assert.ok(da > 0 && db > 0, 'the blend is neither end point');
  await assert.rejects(
    weightsCatalog([{ id: 'a', label: 'a', model: join(dir, 'a.safetensors') }, { id: 'x', label: 'x', model: join(dir, 'x2.safetensors') }], 't'),
    (e: unknown) => e instanceof SrError && /upscales x2, but .* x4/.test(e.message),
  );
  await assert.rejects(weightsCatalog([{ id: 'm', label: 'm', model: join(dir, 'missing.safetensors') }], 't'), /not found/);
});
