#!/usr/bin/env node
// The `srgan` command line. Each subcommand lives in cli/commands/<name>.ts and is added here
// explicitly. Errors meant for people (SrError) print as one line; anything else is a bug and
// keeps its stack.
import { Command } from 'commander';
import { SrError } from '../util/errors.js';
import { packageVersion } from '../util/package_info.js';

type Register = (program: Command) => void;

// Each subcommand's module is loaded only when it is the one run (or for help): `upscale` need not
// load OpenCV (video), HDF5 (VGG weights) or SQLite (MOS), a tenth of a second of a short run.
const COMMANDS: Array<[name: string, load: () => Promise<Register>]> = [
  ['info', async () => (await import('./commands/info.js')).registerInfoCommand],
  ['train', async () => (await import('./commands/train.js')).registerTrainCommand],
  ['package-model', async () => (await import('./commands/package_model.js')).registerPackageModelCommand],
  ['eval', async () => (await import('./commands/eval.js')).registerEvalCommand],
  ['upscale', async () => (await import('./commands/upscale.js')).registerUpscaleCommand],
  ['export', async () => (await import('./commands/export.js')).registerExportCommand],
  ['mos', async () => (await import('./commands/mos.js')).registerMosCommand],
  ['web', async () => (await import('./commands/web.js')).registerWebCommand],
  ['video', async () => (await import('./commands/video.js')).registerVideoCommand],
  ['eval-video', async () => (await import('./commands/eval_video.js')).registerEvalVideoCommand],
  ['queue', async () => (await import('./commands/queue.js')).registerQueueCommand],
  ['make-actions', async () => (await import('./commands/make_actions.js')).registerMakeActionsCommand],
  ['eval-recognition', async () => (await import('./commands/eval_recognition.js')).registerEvalRecognitionCommand],
];

/** The program with every subcommand, or only `only` when it names one. */
export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command();
  program
    .name('srgan')
    .description('Photo-realistic super-resolution: SRResNet and SRGAN (Ledig et al. 2017), video SR (Zhang et al. 2019)')
    .version(packageVersion(), '-V, --version')
    .option('--backend <name>', 'TF.js backend: auto, wasm, tensorflow (if @tensorflow/tfjs-node is installed), cpu (slow, checks only); env SRGAN_BACKEND')
    .showHelpAfterError();
  const chosen = COMMANDS.some(([name]) => name === only) ? COMMANDS.filter(([name]) => name === only) : COMMANDS;
  for (const [, load] of chosen) (await load())(program);
  return program;
}

/** The subcommand argv names: the first argument that is not an option (or --backend's value). */
function subcommand(argv: string[]): string | undefined {
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--backend') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(subcommand(argv))).parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof SrError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!);
if (invokedDirectly || process.argv[1]?.endsWith('/srgan')) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
