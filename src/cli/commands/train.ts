// `srgan train srresnet|srgan|sosr|tosr|recognizer ...`: flags over an optional config file (JSON or YAML).
import type { Command } from 'commander';
import { initBackend } from '../../engine/backend.js';
import { readConfigFile, resolveOptions, type TrainMode } from '../../train/options.js';
import { train } from '../../train/trainer.js';
import { abandonCheckpointSave } from '../../train/checkpoint.js';
import { SrError } from '../../util/errors.js';
import { checkOutputFolder } from '../../util/out_dir.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Flags {
  [k: string]: string | boolean | undefined;
}

const FLAG_TO_OPTION: Record<string, string> = {
  data: 'data', out: 'out', val: 'val', scale: 'scale', steps: 'steps', batch: 'batch', patch: 'patch', lr: 'lr',
  lrSchedule: 'lrSchedule', beta1: 'beta1', workers: 'workers', accumulate: 'accumulate', seed: 'seed', blocks: 'blocks',
  channels: 'channels', discChannels: 'discChannels', content: 'content', vggWeights: 'vggWeights', advWeight: 'advWeight',
  init: 'init', genInit: 'genInit', logEvery: 'logEvery', valEvery: 'valEvery', ckptEvery: 'ckptEvery', keep: 'keepCheckpoints', dataWorkers: 'dataWorkers',
  temporalWeight: 'temporalWeight', motionEps: 'motionEps', videoFrames: 'videoFrames', engine: 'engine', threads: 'threads', stack: 'stack',
};

function addCommon(cmd: Command, dataHelp = "folder of HR training images (several: 'a,b')"): Command {
  return cmd
    .requiredOption('--data <folder>', dataHelp)
    .requiredOption('--out <run folder>', 'where checkpoints, logs, curves and samples go')
    .option('--config <file>', 'JSON or YAML file with any of these options (flags override it)')
    .option('--val <folder>', 'HR images for validation (PSNR/SSIM with the evaluation protocol)')
    .option('--scale <n>', 'upscaling factor: 2, 4 or 8 (default 4)')
    .option('--steps <n>', 'total training steps')
    .option('--batch <n>', 'images per step (default 16)')
    .option('--patch <n>', 'HR crop side (default 96)')
    .option('--lr <rate>', 'constant learning rate (default 1e-4)')
    .option('--lr-schedule <list>', "piecewise-constant rates, e.g. '1e-4@0,1e-5@100000'")
    .option('--beta1 <b>', 'Adam beta1 (default 0.9)')
    .option('--engine <name>', "what computes the gradients: 'onnx' (ONNX Runtime's native kernels) or 'tfjs' (the TF.js reference) (default onnx)")
    .option('--workers <n>', 'data-parallel replicas, one per thread (default: one per core, except srgan on onnx: 1 with --threads = cores)')
    .option('--threads <n>', 'onnx: threads of each replica (default: the cores divided by --workers)')
    .option('--accumulate <n>', 'micro-batches per replica (default 1; 1 worker x 2 = 2 workers x 1)')
    .option('--seed <n>', 'seed for weights and data (default 1)')
    .option('--gen-init <kind>', "generator start without --init: 'interpolate' (SRResNet begins as linear x2 per stage) or 'random' (default interpolate)")
    .option('--blocks <n>', 'residual blocks of the generator (default 16)')
    .option('--channels <n>', 'generator feature channels (default 64)')
    .option('--log-every <n>', 'steps between log lines (default 10)')
    .option('--val-every <n>', 'steps between validations (default 500)')
    .option('--ckpt-every <n>', 'steps between checkpoints (default 200)')
    .option('--keep <n>', 'checkpoints kept (default 3)')
    .option('--data-workers <n>', 'threads decoding and cropping images (default 1)')
    .option('--resume', 'continue the run in --out from its newest checkpoint')
    .option('--no-progress', 'plain log lines instead of a progress bar');
}

async function runTrain(mode: TrainMode, flags: Flags, program: Command): Promise<void> {
  const fromFile = flags['config'] ? readConfigFile(String(flags['config'])) : {};
  const fromFlags: Record<string, unknown> = {};
  for (const [flag, opt] of Object.entries(FLAG_TO_OPTION)) if (flags[flag] !== undefined) fromFlags[opt] = flags[flag];
  // On --resume the run's own config is the base, so a resumed run trains what it started with.
  let base: Record<string, unknown> = {};
  if (flags['resume'] && typeof flags['out'] === 'string' && existsSync(join(flags['out'], 'config.json'))) {
    const saved = JSON.parse(readFileSync(join(flags['out'], 'config.json'), 'utf8')) as Record<string, unknown>;
    if (saved['mode'] !== mode) throw new SrError(`${flags['out']} is a '${String(saved['mode'])}' run; resume it with 'train ${String(saved['mode'])}'`);
    delete saved['backend'];
    delete saved['keepCheckpoints'];
    base = saved;
  }
  const opts = resolveOptions(mode, base, fromFile, fromFlags);
  checkOutputFolder(opts.out, '--out');
  const backend = await initBackend({ backend: program.opts()['backend'] });
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts += 1;
    if (interrupts > 1) {
      abandonCheckpointSave(opts.out);
      process.exit(130);
    }
    process.stderr.write('\ninterrupt: finishing this step and saving a checkpoint (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const r = await train(opts, { resume: flags['resume'] === true, signal: controller.signal, backend, progress: flags['progress'] !== false && process.stderr.isTTY === true });
    if (r.lastVal) process.stdout.write(`validation: PSNR ${r.lastVal.psnr.toFixed(3)} dB, SSIM ${r.lastVal.ssim.toFixed(4)} at step ${r.lastVal.step}\n`);
    if (r.interrupted) process.exitCode = 130;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export function registerTrainCommand(program: Command): void {
  const train = program.command('train').description('train SRResNet, SRGAN, the video modes SoSR / ToSR, or the action recognizer (resumable, data-parallel)');
  addCommon(train.command('srresnet').description('SRResNet with the pixel-wise MSE loss (Adam, beta1 0.9)'))
    .option('--init <weights>', 'generator weights to start from (fine-tuning; default: seeded random weights)')
    .action((flags: Flags) => runTrain('srresnet', flags, program));
  addCommon(train.command('srgan').description('SRGAN: generator from --init, perceptual loss = content + adv-weight x -log D(G(x))'))
    .option('--init <weights>', 'SRResNet weights to start the generator from (the paper does)')
    .option('--content <loss>', 'content loss: mse, vgg22 or vgg54 (default mse)')
    .option('--vgg-weights <file>', 'VGG19 ImageNet weights (Keras .h5 or TF.js folder) for vgg22/vgg54')
    .option('--adv-weight <w>', 'weight of the adversarial loss (default 1e-3)')
    .option('--disc-channels <n>', 'discriminator base channels (default 64)')
    .action((flags: Flags) => runTrain('srgan', flags, program));
  // The video modes of Zhang, Liu & Xiong (ICCV 2019). --data holds photos (sequences are
  // synthesised from them with known flow) and/or videos (flow estimated on the HR frames).
  const video = (cmd: Command) =>
    addCommon(cmd, 'folder of HR photos (sequences are synthesised from them) and/or videos')
      .option('--video-frames <n>', 'frames decoded from the start of each training video (default 32)')
      .option('--init <weights>', 'generator weights to start from (e.g. a trained SRResNet)');
  video(train.command('sosr').description('spatial-oriented video SR: pixel MSE weighted by the HR optical-flow magnitude, so moving regions dominate'))
    .option('--motion-eps <e>', 'how much static pixels still count: w = (eps + |f|/m) / mean(eps + |f|/m), m = max(mean |f|, 1 px) (default 0.1)')
    .action((flags: Flags) => runTrain('sosr', flags, program));
  video(train.command('tosr').description('temporal-oriented video SR: MSE + lambda (|W(SR_t) - SR_t-1|^2 + |W(SR_t) - HR_t-1|^2) on consecutive frames, W = warp by HR flow'))
    .option('--temporal-weight <lambda>', 'weight of the two temporal terms (default 1)')
    .action((flags: Flags) => runTrain('tosr', flags, program));
  // The two-stream recognizer that judges video SR by action recognition (src/action/).
  addCommon(train.command('recognizer').description('two-stream action recognizer (spatial RGB + temporal stacked-flow CNNs, late fusion) on <class>/<video> folders'), 'action dataset: <class>/<video> folders, optionally with UCF101 split lists (classInd.txt, trainlist01.txt, testlist01.txt)')
    .option('--stack <n>', 'L, flow fields stacked for the temporal stream (default 4; the paper: 10)')
    .option('--video-frames <n>', 'frames decoded from the start of each video (default 32)')
    .addHelpText('after', '\n--patch is the frame side the recognizer sees (default 64; videos are centre-cropped square and resized), --channels the width of each stream (default 16).')
    .action((flags: Flags) => runTrain('recognizer', flags, program));
}
