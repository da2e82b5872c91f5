#!/usr/bin/env node
// The `srgan` command line. Each subcommand lives in cli/commands/<name>.ts and is added here
// explicitly. Errors meant for people (SrError) print as one line; anything else is a bug and
// keeps its stack.
import { Command } from 'commander';
import { SrError } from '../util/errors.js';
import { packageVersion } from '../util/package_info.js';
import { registerInfoCommand } from './commands/info.js';
import { registerTrainCommand } from './commands/train.js';
import { registerPackageModelCommand } from './commands/package_model.js';
import { registerEvalCommand } from './commands/eval.js';
import { registerUpscaleCommand } from './commands/upscale.js';
import { registerExportCommand } from './commands/export.js';
import { registerModelMethods } from '../inference/eval_methods.js';
import { registerMosCommand } from './commands/mos.js';
import { registerWebCommand } from './commands/web.js';
import { registerVideoCommand } from './commands/video.js';
import { registerEvalVideoCommand } from './commands/eval_video.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('srgan')
    .description('Photo-realistic super-resolution: SRResNet and SRGAN (Ledig et al. 2017), video SR (Zhang et al. 2019)')
    .version(packageVersion(), '-V, --version')
    .option('--backend <name>', 'TF.js backend: auto, wasm, tensorflow (if @tensorflow/tfjs-node is installed), cpu (slow, checks only); env SRGAN_BACKEND')
    .showHelpAfterError();
  registerInfoCommand(program);
  registerTrainCommand(program);
  registerPackageModelCommand(program);
  registerEvalCommand(program);
  registerUpscaleCommand(program);
  registerExportCommand(program);
  registerModelMethods(); // lets `eval --methods` name srresnet, srgan or a weights file
  registerMosCommand(program);
  registerWebCommand(program);
  registerVideoCommand(program);
  registerEvalVideoCommand(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
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
