// `srgan upscale` against the PyTorch reference (../shared/bench/torch_upscale.py: the paper's
// SRResNet x4, whole image at once, 2 threads), whole process each: start, read PNG, upscale, write
// PNG. Not a test: it needs PyTorch (Debian: apt-get install python3-torch python3-pil).
//
// The two commands alternate within each round, and which goes first rotates, so load from other
// work on the machine falls on both alike; the figure is the ratio of medians (ours / theirs), with
// each round's own ratio for the spread. Inputs are photos: Set14's first image cropped to 256x256
// and a sun-hays80 photo cropped to 1024x768 (from ../shared/data; a synthetic photo-like image
// when the data is absent).
//
//   npm run build && nice -n 10 node dist/bench/upscale_vs_torch.js [--rounds 3] [--sizes 256x256,1024x768]
//     [--model srresnet] [--python /usr/bin/python3] [--torch ../shared/bench/torch_upscale.py]
//     [--cli dist/src/cli/main.js]   (another build's CLI, e.g. an older commit's, for before/after)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writePhotoLike } from './photo.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const rounds = Number(arg('rounds', '3'));
const sizes = arg('sizes', '256x256,1024x768').split(',').map((s) => s.split('x').map(Number) as [number, number]);
const model = arg('model', 'srresnet');
const python = arg('python', '/usr/bin/python3');
const torchScript = arg('torch', join('..', 'shared', 'bench', 'torch_upscale.py'));
const cli = arg('cli', join('dist', 'src', 'cli', 'main.js'));
if (!existsSync(torchScript)) throw new Error(`no PyTorch reference at ${torchScript}; pass --torch <torch_upscale.py>`);
if (spawnSync(python, ['-c', 'import torch, PIL'], { stdio: 'ignore' }).status !== 0) throw new Error(`${python} cannot import torch and PIL: apt-get install python3-torch python3-pil`);

const data = join('..', 'shared', 'data');
function firstImage(dir: string): string | null {
  if (!existsSync(dir)) return null;
  const f = readdirSync(dir).sort().find((n) => /\.(png|jpe?g|bmp)$/i.test(n));
  return f ? join(dir, f) : null;
}

async function photo(path: string, width: number, height: number, source: string | null): Promise<string> {
  if (source) {
    await sharp(source).resize(width, height, { fit: 'cover' }).removeAlpha().png().toFile(path);
    return `${source} cropped to ${width}x${height}`;
  }
  await writePhotoLike(path, width, height);
  return `synthetic ${width}x${height} (no ../shared/data)`;
}

function timed(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  const secs = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
  return secs;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

const dir = mkdtempSync(join(tmpdir(), 'srgan-vs-torch-'));
try {
  console.log(`${cli} upscale --model ${model} (ONNX Runtime, default tiles) vs ${torchScript}; ${rounds} rounds, alternating`);
  for (const [w, h] of sizes) {
    const input = join(dir, `in-${w}x${h}.png`);
    // small sizes from a benchmark image (Set14's are about 500 px), larger ones from a training photo
    const what = await photo(input, w, h, firstImage(join(data, ...(w * h <= 512 * 512 ? ['benchmark', 'Set14'] : ['train', 'sun-hays80']))));
    const ours = () => timed(process.execPath, [cli, 'upscale', input, '-o', join(dir, 'ours.png'), '--model', model, '--force', '--no-progress']);
    const theirs = () => timed(python, [torchScript, input, join(dir, 'theirs.png')]);
    const o: number[] = [];
    const t: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) o.push(ours()), t.push(theirs());
      else t.push(theirs()), o.push(ours());
      console.log(`  ${w}x${h} round ${r + 1}: ours ${o.at(-1)!.toFixed(2)} s, torch ${t.at(-1)!.toFixed(2)} s, ratio ${(o.at(-1)! / t.at(-1)!).toFixed(2)}`);
    }
    console.log(`${w}x${h} -> ${4 * w}x${4 * h} (${what}): ours ${median(o).toFixed(2)} s, torch ${median(t).toFixed(2)} s (medians), ours/torch ${(median(o) / median(t)).toFixed(2)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
