// `srgan eval-recognition`: SR methods judged by a two-stream action recognizer's top-1 accuracy
// on degraded test videos (src/action/eval_recognition.ts): a table, results.json and a bar plot.
import type { Command } from 'commander';
import { mkdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { initBackend } from '../../tfjs/backend.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { packageVersion } from '../../util/package_info.js';
import { lazyProgress } from '../../util/progress.js';
import { onInterrupt } from '../../util/interrupt.js';
import { evaluateRecognition, formatRecognitionTable, recognitionPlot } from '../../action/eval_recognition.js';
import { parseCount, parseScale } from '../parse.js';
import { parseMethods } from './eval_video.js';
import { withDefaults, type Io } from '../io.js';

interface Flags {
  data: string;
  methods: string;
  scale: string;
  recognizer: string;
  out?: string;
  positions?: string;
  maxFrames?: string;
}

export function registerEvalRecognitionCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  program
    .command('eval-recognition')
    .description('top-1 action recognition (spatial, temporal, fused) on test videos degraded x scale and upscaled by each SR method (Zhang et al. 2019)')
    .requiredOption('--data <folder>', 'action dataset with classInd.txt, trainlist01.txt and testlist01.txt (UCF101 layout)')
    .requiredOption('--recognizer <run or weights>', "a 'train recognizer' run folder or its recognizer.safetensors")
    .option('--methods <list>', "comma-separated: hr (no degradation), bicubic, srresnet, srgan, weights files; 'name=path' names one (e.g. sosr=runs/sosr/generator.safetensors)", 'hr,bicubic')
    .option('--scale <n>', 'degradation and upscaling factor', '4')
    .option('--positions <n>', 'samples averaged per video (default 5; the paper: 25)')
    .option('--max-frames <n>', 'frames read per video (default 32)')
    .option('--out <dir>', 'where results.json and recognition.svg go (default ./eval-out/recognition-<data>-x<scale>)')
    .action(async (flags: Flags) => {
      const scale = parseScale(flags.scale);
      const methods = parseMethods(flags.methods);
      await initBackend({ backend: program.opts()['backend'], quiet: true });
      const interrupt = onInterrupt('stopping after this video');
      const progress = lazyProgress('eval-recognition', 'videos');
      try {
        const r = await evaluateRecognition({
          data: flags.data,
          methods,
          scale,
          recognizer: flags.recognizer,
          ...(flags.positions ? { positions: parseCount(flags.positions, '--positions') } : {}),
          ...(flags.maxFrames ? { maxFrames: parseCount(flags.maxFrames, '--max-frames') } : {}),
          signal: interrupt.signal,
          onVideo: (done, total) => progress.update(done, total),
        });
        progress.stop();
        const outDir = resolve(flags.out ?? join('eval-out', `recognition-${basename(resolve(flags.data))}-x${scale}`));
        await mkdir(outDir, { recursive: true });
        const json = { tool: `srgan-js ${packageVersion()}`, date: new Date().toISOString(), data: resolve(flags.data), recognizer: resolve(flags.recognizer), methodSpecs: Object.fromEntries(methods.map((m) => [m.name, m.spec])), ...r };
        await writeFileAtomic(join(outDir, 'results.json'), JSON.stringify(json, null, 2) + '\n');
        await writeFileAtomic(join(outDir, 'recognition.svg'), recognitionPlot(r));
        io.out.write(formatRecognitionTable(r));
        io.out.write(`results: ${join(outDir, 'results.json')}; plot: ${join(outDir, 'recognition.svg')} (${r.seconds.toFixed(1)} s)\n`);
      } finally {
        interrupt.dispose();
      }
    });
}
