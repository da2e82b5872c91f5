// `srgan eval-video`: per-frame PSNR/SSIM and temporal consistency (warping error, tOF) of SR
// methods on HR video, as a table, JSON and a plot of the per-frame values (SVG and PNG).
import type { Command } from 'commander';
import { withDefaults, type Io } from '../io.js';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../../tfjs/backend.js';
import { SrError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { packageVersion } from '../../util/package_info.js';
import { plotSvg, type Series } from '../../util/svg_plot.js';
import { checkEngineName, type EngineName } from '../../inference/engine.js';
import { disposeMethods, isInterpolation, resolveMethod, type Method } from '../../inference/methods.js';
import { evaluateVideo, openSequences, type VideoEvalResult, type FrameScores } from '../../video/eval_video.js';
import { parseOptionalNumber, parseScale } from '../parse.js';

interface Flags {
  methods: string;
  scale: string;
  out?: string;
  border?: string;
  movingThreshold?: string;
  maxFrames?: string;
  engine?: string;
  ffmpeg?: string;
}

const f2 = (v: number) => (v === Infinity ? 'inf' : Number.isNaN(v) ? '-' : v.toFixed(2));

export function formatVideoTable(r: VideoEvalResult): string {
  const w = Math.max(10, ...r.methods.map((m) => m.length));
  const head = `${'method'.padEnd(w)}  ${'PSNR'.padStart(7)}  ${'SSIM'.padStart(7)}  ${'PSNR-mov'.padStart(8)}  ${'PSNR-sta'.padStart(8)}  ${'warp err'.padStart(8)}  ${'tOF'.padStart(6)}`;
  const lines = [
    `${r.sequences.length} sequence(s), ${r.sequences.reduce((a, s) => a + s.frames, 0)} frames, x${r.scale}: PSNR/SSIM on Y (border ${r.border}); ` +
      `PSNR-mov / PSNR-sta on pixels moving >= ${r.movingThreshold} px/frame / the others (frames t >= 1); warping error = MSE (0..255 RGB) of SR_t warped to t-1 by the HR flow vs SR_t-1 on valid pixels; ` +
      `tOF = mean |flow(SR) - flow(HR)| (px)`,
    head,
    '-'.repeat(head.length),
  ];
  for (const m of r.methods) {
    const s = r.mean[m]!;
    lines.push(`${m.padEnd(w)}  ${f2(s.psnr).padStart(7)}  ${s.ssim.toFixed(4).padStart(7)}  ${f2(s.psnrMoving).padStart(8)}  ${f2(s.psnrStatic).padStart(8)}  ${f2(s.warpError).padStart(8)}  ${s.tof.toFixed(3).padStart(6)}`);
  }
  lines.push(`${'HR'.padEnd(w)}  ${'inf'.padStart(7)}  ${'1'.padStart(7)}  ${'inf'.padStart(8)}  ${'inf'.padStart(8)}  ${f2(r.hrWarpError).padStart(8)}  ${'0'.padStart(6)}   (floor: interpolation and flow error)`);
  return lines.join('\n') + '\n';
}

/** `name=path` names a method; otherwise the name is the method itself, or for a run's generator.safetensors the run folder. */
export function parseMethods(list: string): Array<{ name: string; spec: string }> {
  const items = list.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new SrError('--methods is empty');
  const out = items.map((item) => {
    const eq = item.indexOf('=');
    if (eq > 0) return { name: item.slice(0, eq), spec: item.slice(eq + 1) };
    const name = basename(item) === 'generator.safetensors' ? basename(dirname(resolve(item))) : basename(item).replace(/\.(safetensors|onnx)$/i, '');
    return { name, spec: item };
  });
  const dup = out.find((m, i) => out.findIndex((o) => o.name === m.name) !== i);
  if (dup) throw new SrError(`two methods are named '${dup.name}'; name them with name=path`);
  return out;
}

function plotPanels(r: VideoEvalResult): string {
  // Frames of all sequences one after another on the x axis.
  const offsets: number[] = [];
  let acc = 0;
  for (const s of r.sequences) {
    offsets.push(acc);
    acc += s.frames;
  }
  const series = (key: keyof FrameScores): Series[] =>
    r.methods.map((m) => ({
      name: m,
      points: r.sequences.flatMap((s, i) => s.perFrame[m]!.filter((f) => f[key] !== undefined && Number.isFinite(f[key] as number)).map((f): [number, number] => [offsets[i]! + f.frame, f[key] as number])),
    }));
  const x = r.sequences.length > 1 ? 'frame (sequences one after another)' : 'frame';
  return plotSvg([
    { title: 'PSNR per frame (Y)', xLabel: x, yLabel: 'PSNR (dB)', series: series('psnr') },
    { title: 'SSIM per frame (Y)', xLabel: x, yLabel: 'SSIM', series: series('ssim') },
    { title: 'Warping error per frame (lower = steadier)', xLabel: x, yLabel: 'MSE (0..255)', series: series('warpError') },
    { title: 'tOF per frame (lower = truer motion)', xLabel: x, yLabel: 'px', series: series('tof') },
  ]);
}

export function registerEvalVideoCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  program
    .command('eval-video')
    .description('per-frame PSNR/SSIM and temporal consistency (warping error, tOF) of SR methods on HR video')
    .argument('<input>', 'HR video file, folder of frames, or folder of videos / frame folders')
    .option('--methods <list>', "comma-separated: bicubic, bilinear, nearest, srresnet, srgan, weights files (.safetensors/.onnx); 'name=path' names one", 'bicubic')
    .option('--scale <n>', 'upscaling factor', '4')
    .option('--out <dir>', 'where results.json and the plot go (default ./eval-out/video-<input>-x<scale>)')
    .option('--border <px>', 'pixels removed at each side before scoring (default: scale)')
    .option('--moving-threshold <px>', 'HR flow length from which a pixel counts as moving (default 1)')
    .option('--max-frames <n>', 'frames read per sequence (default: all)')
    .option('--engine <name>', 'onnx or tfjs, for learned models')
    .option('--ffmpeg <path>', 'ffmpeg binary, for video files')
    .action(async (input: string, flags: Flags) => {
      const scale = parseScale(flags.scale);
      const border = parseOptionalNumber(flags.border, '--border', { int: true, min: 0 });
      const movingThreshold = parseOptionalNumber(flags.movingThreshold, '--moving-threshold', { min: 0 });
      const maxFrames = parseOptionalNumber(flags.maxFrames, '--max-frames', { int: true, min: 2 });
      const engine: EngineName | undefined = flags.engine ? checkEngineName(flags.engine) : undefined;
      const specs = parseMethods(flags.methods);
      const sequences = await openSequences(input, { ...(flags.ffmpeg ? { ffmpeg: flags.ffmpeg } : {}), ...(maxFrames ? { maxFrames } : {}) });
      if (specs.some((s) => !isInterpolation(s.spec))) await initBackend({ backend: program.opts()['backend'], quiet: true });
      const methods: Method[] = [];
      const t0 = performance.now();
      try {
        for (const s of specs) methods.push({ ...(await resolveMethod(s.spec, engine ? { engine } : {})), name: s.name });
        let frames = 0;
        const r = await evaluateVideo({
          sequences,
          methods,
          scale,
          ...(border !== undefined ? { border } : {}),
          ...(movingThreshold !== undefined ? { movingThreshold } : {}),
          onFrame: (seq, t) => {
            frames++;
            if (t === 0) io.err.write(`${seq} ...\n`);
          },
        });
        const outDir = resolve(flags.out ?? join('eval-out', `video-${basename(resolve(input))}-x${scale}`));
        await mkdir(outDir, { recursive: true });
        const json = {
          tool: `srgan-js ${packageVersion()}`,
          date: new Date().toISOString(),
          input: resolve(input),
          methodSpecs: Object.fromEntries(specs.map((s) => [s.name, s.spec])),
          ...r,
        };
        await writeFileAtomic(join(outDir, 'results.json'), JSON.stringify(json, (_k, v) => (v === Infinity ? 'inf' : typeof v === 'number' && Number.isNaN(v) ? null : v), 2) + '\n');
        const svg = plotPanels(r);
        await writeFileAtomic(join(outDir, 'per-frame.svg'), svg);
        await writeFileAtomic(join(outDir, 'per-frame.png'), await sharp(Buffer.from(svg)).png().toBuffer());
        io.out.write(formatVideoTable(r));
        io.out.write(`results: ${join(outDir, 'results.json')}; plot: ${join(outDir, 'per-frame.png')} (${frames} frames in ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
      } finally {
        await disposeMethods(methods);
      }
    });
}
