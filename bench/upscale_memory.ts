// Peak memory of `srgan upscale` on a 1024x768 photo (-> 4096x3072, 12.6 MP), per engine (not a
// test). Each run is a fresh child process that runs the CLI and then reports its own peak resident
// set (process.resourceUsage().maxRSS, which covers worker threads too); the target is < 2 GiB.
//
//   npm run build && node dist/bench/upscale_memory.js [--engines onnx,tfjs] [--model <weights>] [--width 1024 --height 768]
// Without --model: the shipped srresnet-x4 if present, else random weights of the same shape
// (B=16, C=64: memory depends on the shape, not on the values).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePhotoLike } from './photo.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

if (process.argv[2] === '--child') {
  const [input, output, model, engine] = process.argv.slice(3) as [string, string, string, string];
  const { main } = await import('../src/cli/main.js');
  const t0 = performance.now();
  const code = await main(['node', 'srgan', 'upscale', input, '-o', output, '--model', model, '--engine', engine, '--no-progress', '--force']);
  const secs = (performance.now() - t0) / 1000;
  process.stdout.write(`RESULT ${JSON.stringify({ code, secs, maxRssKiB: process.resourceUsage().maxRSS })}\n`);
  process.exit(code);
}

const width = Number(arg('width', '1024'));
const height = Number(arg('height', '768'));
const engines = arg('engines', 'onnx').split(',');
const dir = mkdtempSync(join(tmpdir(), 'srgan-mem-'));
try {
  let model = arg('model', '');
  if (!model) {
    const { shippedModelPath } = await import('../src/inference/model_source.js');
    if (existsSync(shippedModelPath('srresnet', 4))) model = shippedModelPath('srresnet', 4);
    else {
      const { initBackend } = await import('../src/tfjs/backend.js');
      const { buildModel, resolveConfig } = await import('../src/models/index.js');
      const { saveModel } = await import('../src/models/weights.js');
      await initBackend({ backend: 'wasm', quiet: true });
      const config = resolveConfig({ type: 'srresnet', scale: 4, blocks: 16, channels: 64 });
      const m = buildModel(config);
      model = join(dir, 'srresnet-random.safetensors');
      await saveModel(m, config, model);
      m.dispose();
    }
  }
  const input = join(dir, 'photo.png');
  await writePhotoLike(input, width, height);

  const self = fileURLToPath(import.meta.url);
  console.log(`srgan upscale ${width}x${height} -> ${width * 4}x${height * 4}, model ${model}, default tile/overlap`);
  for (const engine of engines) {
    const output = join(dir, `out-${engine}.png`);
    const r = spawnSync(process.execPath, [self, '--child', input, output, model, engine], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const line = r.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) {
      console.log(`${engine}: failed (exit ${r.status})\n${r.stderr}`);
      continue;
    }
    const res = JSON.parse(line.slice(7)) as { code: number; secs: number; maxRssKiB: number };
    const gib = res.maxRssKiB / 1024 / 1024;
    const outOk = res.code === 0 && existsSync(output) ? `${(statSync(output).size / 1e6).toFixed(1)} MB PNG` : 'no output';
    console.log(`${engine.padEnd(5)} peak RSS ${(res.maxRssKiB / 1024).toFixed(0)} MiB (${gib.toFixed(2)} GiB, ${gib < 2 ? 'under' : 'OVER'} the 2 GiB bound), ${res.secs.toFixed(1)} s, exit ${res.code}, ${outOk}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
