// `srgan train srresnet|srgan|sosr|tosr|recognizer ...`: flags over an optional config file (JSON or YAML).
// The flags, their help and their checks come from the option table (train/options.ts).
import { Option, type Command } from 'commander';
import { withDefaults, type Io } from '../io.js';
import { initBackend } from '../../tfjs/backend.js';
import { TRAIN_FIELDS, fieldApplies, fieldHelp, readConfigFile, resolveOptions, resolveResumedOptions, type TrainField, type TrainMode } from '../../train/options.js';
import { train } from '../../train/trainer.js';
import { abandonCheckpointSave } from '../../train/checkpoint.js';
import { checkRunFolder, readRunConfig } from '../../train/run_dir.js';
import { onInterrupt } from '../../util/interrupt.js';
import { EXIT_INTERRUPTED } from '../../util/errors.js';
import { checkOutputFolder } from '../../util/out_dir.js';

type Flags = Record<string, string | boolean | undefined>;

/** Commander's name for each field's flag ('--keep' -> keep), paired with the field's own name. */
function flagAttributes(mode: TrainMode): Array<[attribute: string, field: string, option: Option]> {
  return Object.entries(TRAIN_FIELDS as Record<string, TrainField<unknown>>)
    .filter(([, f]) => fieldApplies(f, mode))
    .map(([key, f]) => {
      const option = new Option(f.flag, fieldHelp(f, mode));
      return [option.attributeName(), key, option];
    });
}

function addTrainOptions(cmd: Command, mode: TrainMode): Command {
  for (const [, , option] of flagAttributes(mode)) cmd.addOption(option);
  return cmd
    .option('--config <file>', 'JSON or YAML file with any of these options (flags override it)')
    .option('--resume', "continue the run in --out from its newest checkpoint, with the options it was started with (flags change what may change)")
    .option('--no-progress', 'plain log lines instead of a progress bar');
}

async function runTrain(mode: TrainMode, flags: Flags, program: Command, io: Io): Promise<void> {
  const fromFile = flags['config'] ? readConfigFile(String(flags['config'])) : {};
  const fromFlags: Record<string, unknown> = {};
  for (const [attribute, key] of flagAttributes(mode)) if (flags[attribute] !== undefined) fromFlags[key] = flags[attribute];
  // On --resume the run's own config is the base, so a resumed run trains what it started with.
  const out = fromFlags['out'] ?? fromFile['out'];
  const saved = flags['resume'] && typeof out === 'string' ? readRunConfig(out) : null;
  // Without a saved config there is no run to continue: say so, rather than ask for --data.
  if (flags['resume'] && typeof out === 'string' && !saved) checkRunFolder(out, true);
  const opts = saved ? resolveResumedOptions(mode, saved, fromFile, fromFlags) : resolveOptions(mode, fromFile, fromFlags);
  checkOutputFolder(opts.out, '--out');
  const backend = await initBackend({ backend: program.opts()['backend'] });
  const interrupt = onInterrupt('finishing this step and saving a checkpoint', io.err, () => abandonCheckpointSave(opts.out));
  try {
    const r = await train(opts, { resume: flags['resume'] === true, signal: interrupt.signal, backend, progress: flags['progress'] !== false && process.stderr.isTTY === true });
    if (r.lastVal) io.out.write(`validation: PSNR ${r.lastVal.psnr.toFixed(3)} dB, SSIM ${r.lastVal.ssim.toFixed(4)} at step ${r.lastVal.step}\n`);
    if (r.interrupted) io.setExitCode(EXIT_INTERRUPTED);
  } finally {
    interrupt.dispose();
  }
}

const MODES: Array<[TrainMode, string]> = [
  ['srresnet', 'SRResNet with the pixel-wise MSE (or L1) loss (Adam, beta1 0.9)'],
  ['srgan', 'SRGAN: generator from --init, perceptual loss = content + adv-weight x -log D(G(x))'],
  // The video modes of Zhang, Liu & Xiong (ICCV 2019). --data holds photos (sequences are
  // synthesised from them with known flow) and/or videos (flow estimated on the HR frames).
  ['sosr', 'spatial-oriented video SR: pixel MSE weighted by the HR optical-flow magnitude, so moving regions dominate'],
  ['tosr', 'temporal-oriented video SR: MSE + lambda (|W(SR_t) - SR_t-1|^2 + |W(SR_t) - HR_t-1|^2) on consecutive frames, W = warp by HR flow'],
  // The two-stream recognizer that judges video SR by action recognition (src/action/).
  ['recognizer', 'two-stream action recognizer (spatial RGB + temporal stacked-flow CNNs, late fusion) on <class>/<video> folders'],
];

export function registerTrainCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  const train = program.command('train').description('train SRResNet, SRGAN, the video modes SoSR / ToSR, or the action recognizer (resumable, data-parallel)');
  for (const [mode, description] of MODES) {
    addTrainOptions(train.command(mode).description(description), mode).action((flags: Flags) => runTrain(mode, flags, program, io));
  }
}
