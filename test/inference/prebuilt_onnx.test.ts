// The shipped models' ONNX graphs exported by the build (dist/models/) are what the engine would
// export now, byte for byte; a graph whose weights or exporter changed is not used.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../src/tfjs/backend.js';
import { loadModelSource, shippedModelPath, SHIPPED_MODELS, type WeightSource } from '../../src/inference/model_source.js';
import { exportForEngine } from '../../src/inference/onnx_engine.js';
import { readPrebuilt, writePrebuilt } from '../../src/inference/prebuilt_onnx.js';
import { writeTestModel } from '../helpers/sr_models.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('srgan-prebuilt-');
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
before(async () => {
  await initBackend({ backend: 'wasm', quiet: true });
});

for (const name of SHIPPED_MODELS) {
  test(`the build's ${name}-x4.onnx is the graph the engine exports now`, { skip: !existsSync(shippedModelPath(name, 4)) && 'the shipped model is not there' }, async () => {
    const src = (await loadModelSource({ model: name })) as WeightSource;
    const prebuilt = await readPrebuilt(src.file!);
    assert.ok(prebuilt, `no prebuilt graph for ${name}: 'npm run build' exports them (scripts/export_shipped.mjs)`);
    assert.ok(same(prebuilt, await exportForEngine(src)), 'the prebuilt graph differs from a fresh export: rebuild (npm run build)');
  });
}

test('a prebuilt graph is used only for the weights it was made from', async () => {
  const weights = await writeTestModel(join(dir, 'g.safetensors'), { blocks: 1, channels: 8, seed: 1 });
  const src = (await loadModelSource({ model: weights })) as WeightSource;
  const bytes = await exportForEngine(src);
  await writePrebuilt(weights, bytes, dir);
  assert.ok(same((await readPrebuilt(weights, dir))!, bytes));
  await writeTestModel(weights, { blocks: 1, channels: 8, seed: 2 }); // other weights, same name
  assert.equal(await readPrebuilt(weights, dir), null);
  await writePrebuilt(weights, bytes, dir);
  writeFileSync(join(dir, 'g.onnx.json'), '{"weights": "0", "exporter": "0"}');
  assert.equal(await readPrebuilt(weights, dir), null);
  assert.equal(await readPrebuilt(join(dir, 'none.safetensors'), dir), null);
});
