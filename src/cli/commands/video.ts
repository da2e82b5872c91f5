// `srgan video <in> -o <out>`: upscale every frame of a video, keeping its frame rate, frame count
// and audio. See src/video/upscale_video.ts for how the frames stream.
import type { Command } from 'commander';
import { withDefaults, type Io } from '../io.js';
import { initBackend } from '../../tfjs/backend.js';
import { SrError, EXIT_INTERRUPTED } from '../../util/errors.js';
import { onInterrupt } from '../../util/interrupt.js';
import { ProgressReporter } from '../../util/progress.js';
import { checkEngineName } from '../../inference/engine.js';
import { DEFAULT_MODEL } from '../../inference/model_names.js';
import { isInterpolation, resolveMethod } from '../../inference/methods.js';
import { upscaleVideo } from '../../video/upscale_video.js';
import { parseNumber, parseScale } from '../parse.js';

interface VideoFlags {
  output?: string;
  model?: string;
  scale?: string;
  engine?: string;
  threads?: string;
  tile?: string;
  codec?: string;
  crf?: string;
  preset?: string;
  ffmpeg?: string;
  queue?: string;
  force?: boolean;
  progress?: boolean;
}

export function registerVideoCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  program
    .command('video')
    .description('upscale a video frame by frame (ffmpeg decodes and encodes; audio is copied, frame rate and count kept)')
    .argument('<input>', 'video file (anything ffmpeg reads)')
    .option('-o, --output <file>', 'output video: .mp4, .mkv, .mov, .webm or .avi')
    .option('--model <name|path>', `srresnet, srgan, a .safetensors / .onnx file, or bicubic / bilinear / nearest (default ${DEFAULT_MODEL})`)
    .option('--scale <n>', 'upscaling factor (default 4; a model file has its own)')
    .option('--engine <name>', 'onnx (ONNX Runtime) or tfjs (TF.js WASM)')
    .option('--threads <n>', 'CPU threads for ONNX Runtime (default: all)')
    .option('--tile <px>', 'tile size in LR pixels for large frames')
    .option('--codec <name>', 'ffmpeg video encoder (default libx264; libvpx-vp9 for .webm, mpeg4 for .avi)')
    .option('--crf <n>', 'constant rate factor for libx264 / libvpx-vp9 (default 18 / 30; lower is better)')
    .option('--preset <name>', 'libx264 preset (default medium)')
    .option('--ffmpeg <path>', 'ffmpeg binary (default: $SRGAN_FFMPEG, then ffmpeg on PATH; ffprobe is taken from beside it)')
    .option('--queue <n>', 'decoded frames buffered ahead of the upscaler (default 4)')
    .option('--force', 'replace the output file if it exists')
    .option('--no-progress', 'no progress bar')
    .action(async (input: string, flags: VideoFlags) => {
      if (!flags.output) throw new SrError('say where the upscaled video goes: -o <file.mp4>');
      const model = flags.model ?? DEFAULT_MODEL;
      const asked = flags.scale !== undefined ? parseScale(flags.scale) : undefined;
      if (!isInterpolation(model)) await initBackend({ backend: program.opts()['backend'], quiet: true });
      const method = await resolveMethod(model, {
        ...(flags.engine ? { engine: checkEngineName(flags.engine) } : {}),
        ...(flags.threads ? { threads: parseNumber(flags.threads, '--threads', { int: true, min: 1 }) } : {}),
        ...(flags.tile ? { tileSize: parseNumber(flags.tile, '--tile', { int: true, min: 16 }) } : {}),
      });
      // A model file has its own factor; --scale may only repeat it (upscaleVideo checks).
      const scale = asked ?? method.scale ?? 4;
      const interrupt = onInterrupt('stopping and removing the unfinished output', io.err);
      let progress: ProgressReporter | null = null;
      try {
        const r = await upscaleVideo({
          input,
          output: flags.output,
          method,
          scale,
          ...(flags.ffmpeg ? { ffmpeg: flags.ffmpeg } : {}),
          ...(flags.codec ? { codec: flags.codec } : {}),
          ...(flags.crf !== undefined ? { crf: parseNumber(flags.crf, '--crf', { int: true, min: 0 }) } : {}),
          ...(flags.preset ? { preset: flags.preset } : {}),
          ...(flags.queue ? { queue: parseNumber(flags.queue, '--queue', { int: true, min: 1 }) } : {}),
          overwrite: flags.force === true,
          signal: interrupt.signal,
          onStart: (info, tools) => {
            const audio = info.audio.length ? `audio ${info.audio.map((a) => a.codec).join(', ')} (copied)` : 'no audio';
            io.err.write(
              `${input}: ${info.codec} ${info.width}x${info.height} at ${info.fpsText} fps, ${info.frames ?? '?'}${info.framesExact ? '' : ' (estimated)'} frames, ${audio}; ` +
                `x${scale} with ${method.name}; ffmpeg ${tools.version}\n`,
            );
            progress = new ProgressReporter({ total: info.frames ?? 0, label: 'video', unit: 'frames', enabled: flags.progress !== false });
          },
          onFrame: (done) => progress?.update(done),
        });
        (progress as ProgressReporter | null)?.stop();
        io.out.write(
          `wrote ${flags.output}: ${r.frames} frames, ${r.outWidth}x${r.outHeight} at ${r.info.fpsText} fps` +
            `${r.info.audio.length ? ', audio copied' : ''} in ${r.seconds.toFixed(1)} s (${(r.frames / r.seconds).toFixed(2)} frames/s)\n`,
        );
      } catch (err) {
        (progress as ProgressReporter | null)?.stop();
        if (interrupt.signal.aborted) throw new SrError(err instanceof Error ? err.message : String(err), { cause: err, exitCode: EXIT_INTERRUPTED });
        throw err;
      } finally {
        interrupt.dispose();
        await method.dispose?.();
      }
    });
}
