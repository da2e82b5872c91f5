// `srgan upscale`: one image, a folder, a glob or a list of files, through a shipped model or a
// weights file, tiled, on ONNX Runtime (default) or TF.js.
//
// Where outputs go (the extension follows --format, else the input's own format; GIF becomes PNG):
//   one file, no -o       <dir>/<stem>_x<s>.<ext>, next to the input
//   one file, -o FILE     FILE (format from its extension unless --format)
//   -o DIR (existing, or ending in /, or several inputs)   DIR/<stem>.<ext>
//   a folder, no -o       <folder>_x<s>/<stem>.<ext>, a sibling folder (so a second run does not
//                         pick up the first run's outputs as inputs)
//   files or globs, no -o next to each input, <stem>_x<s>.<ext>
// Nothing is overwritten (inputs included) without --force. Each output is written atomically. A
// file that fails is reported and skipped; the exit code is 1 unless every file succeeded.
// Limits are checked from the header, before decoding: the input's pixels (--max-pixels) and the
// output's (--max-output-pixels). Ctrl-C stops at the next tile, says which files were done and
// which were not, and exits 130.
import type { Command } from 'commander';
import { withDefaults, type Io } from '../io.js';
import { parseNumber, parseOptionalNumber, parseScale } from '../parse.js';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { SrError } from '../../util/errors.js';
import { ProgressReporter } from '../../util/progress.js';
import { expandGlob, hasGlobChars } from '../../util/glob.js';
import { IMAGE_EXTENSIONS, listImages, imageSize, formatFromPath, checkFormatSize, checkInputPixels, imageOutputName, writeBackFormat, FORMAT_EXTENSIONS, DEFAULT_MAX_PIXELS, type ImageFormat } from '../../io/image.js';
import { loadModelSource, DEFAULT_MODEL, type ModelSpec } from '../../inference/model_source.js';
import { checkEngineName, DEFAULT_ENGINE, type EngineName } from '../../inference/engine.js';
import { Upscaler, upscaleFile, checkOutputSize, DEFAULT_MAX_OUTPUT_PIXELS } from '../../inference/upscale.js';
import { initBackend, type BackendRequest } from '../../tfjs/backend.js';
import { checkTiling, DEFAULT_TILE, DEFAULT_OVERLAP } from '../../inference/tiling.js';
import { EXIT_INTERRUPTED } from '../../util/errors.js';
import { onInterrupt } from '../../util/interrupt.js';

/** The flags of addModelOptions(), as commander hands them over. */
export interface ModelFlags {
  model?: string;
  scale?: string;
  alpha?: string;
  blend?: string;
  format?: string;
  quality: string;
  tile: string;
  overlap: string;
  engine: string;
}

interface UpscaleFlags extends ModelFlags {
  output?: string;
  maxPixels: string;
  maxOutputPixels: string;
  threads?: string;
  force?: boolean;
  progress: boolean;
}

const OUTPUT_FORMATS: readonly ImageFormat[] = ['png', 'jpeg', 'webp', 'tiff'];

interface Job {
  input: string;
  output: string;
  format: ImageFormat;
}

interface Inputs {
  files: string[];
  /** Inputs that named nothing (missing file, glob without matches): reported as failures. */
  missing: Array<{ input: string; why: string }>;
  /** The one argument was a folder. */
  folder: string | null;
}

async function collectInputs(args: string[]): Promise<Inputs> {
  const files: string[] = [];
  const missing: Inputs['missing'] = [];
  let folder: string | null = null;
  for (const a of args) {
    const st = existsSync(a) ? statSync(a) : null;
    if (st?.isDirectory()) {
      try {
        files.push(...(await listImages(a)));
      } catch (err) {
        missing.push({ input: a, why: reason(err) });
      }
      if (args.length === 1) folder = a;
    } else if (st) {
      files.push(a);
    } else if (hasGlobChars(a)) {
      const hits = (await expandGlob(a)).filter((f) => IMAGE_EXTENSIONS.has(extname(f).toLowerCase()));
      if (hits.length === 0) missing.push({ input: a, why: 'no image files match this pattern' });
      files.push(...hits);
    } else {
      missing.push({ input: a, why: 'no such file or folder' });
    }
  }
  return { files: [...new Set(files)], missing, folder };
}

/** `--format`: png, jpeg (or jpg), webp, tiff; undefined keeps each input's format. */
export function parseFormatFlag(value: string | undefined): ImageFormat | undefined {
  if (value === undefined) return undefined;
  const f = (value.toLowerCase() === 'jpg' ? 'jpeg' : value.toLowerCase()) as ImageFormat;
  if (!OUTPUT_FORMATS.includes(f)) throw new SrError(`--format must be one of ${OUTPUT_FORMATS.join(', ')}, got '${value}'`);
  return f;
}

function planJobs(inputs: Inputs, output: string | undefined, scale: number, format: ImageFormat | undefined): Job[] {
  const fmt = (input: string) => format ?? writeBackFormat(input);
  const { files } = inputs;
  const single = files.length === 1 && inputs.folder === null && inputs.missing.length === 0;
  if (output !== undefined) {
    const isDir = output.endsWith('/') || output.endsWith(sep) || (existsSync(output) && statSync(output).isDirectory());
    if (single && !isDir) {
      const f = format ?? formatFromPath(output);
      return [{ input: files[0]!, output, format: f }];
    }
    if (!isDir && IMAGE_EXTENSIONS.has(extname(output).toLowerCase())) {
      const n = files.length + inputs.missing.length;
      throw new SrError(`-o ${output} names one image file, but there ${inputs.folder !== null ? `is a folder of ${files.length} images` : `are ${n} inputs`}; give a folder for the outputs (e.g. -o ${join(dirname(output), basename(output, extname(output)))}/)`);
    }
    return files.map((input) => ({ input, output: join(output, imageOutputName(input, format)), format: fmt(input) }));
  }
  if (inputs.folder !== null) {
    const dir = resolve(inputs.folder) + `_x${scale}`;
    return files.map((input) => ({ input, output: join(dir, imageOutputName(input, format)), format: fmt(input) }));
  }
  return files.map((input) => ({ input, output: join(dirname(input), `${basename(input, extname(input))}_x${scale}${FORMAT_EXTENSIONS[fmt(input)]}`), format: fmt(input) }));
}

export function modelSpecFromFlags(flags: { model?: string; scale?: string; alpha?: string; blend?: string }): ModelSpec {
  const spec: { -readonly [K in keyof ModelSpec]: ModelSpec[K] } = {};
  if (flags.scale !== undefined) spec.scale = parseScale(flags.scale);
  if (flags.alpha !== undefined) {
    const a = parseNumber(flags.alpha, '--alpha', { min: 0, max: 1 });
    if (flags.model !== undefined) throw new SrError('--alpha blends the models given by --blend (default srresnet,srgan); it cannot be combined with --model');
    spec.alpha = a;
    if (flags.blend !== undefined) {
      const parts = flags.blend.split(',').map((s) => s.trim());
      if (parts.length !== 2 || parts.some((p) => p === '')) throw new SrError(`--blend takes two models separated by a comma (e.g. srresnet,srgan), got '${flags.blend}'`);
      spec.blend = [parts[0]!, parts[1]!];
    }
  } else {
    if (flags.blend !== undefined) throw new SrError('--blend needs --alpha (0 = first model, 1 = second)');
    spec.model = flags.model ?? DEFAULT_MODEL;
  }
  return spec;
}

/** The model, output and tiling options that `upscale` and `queue add` share. */
export function addModelOptions(cmd: Command, modelHelp = `srresnet, srgan, or a .safetensors / .onnx file (default ${DEFAULT_MODEL})`): Command {
  return cmd
    .option('--model <name|path>', modelHelp)
    .option('--scale <n>', 'upscaling factor of the shipped model (default 4)')
    .option('--alpha <a>', 'network interpolation: 0 = first --blend model (srresnet), 1 = second (srgan)')
    .option('--blend <a,b>', 'the two models --alpha blends (names or weights files)', undefined)
    .option('--format <fmt>', "output format: png, jpeg, webp, tiff (default: the input's)")
    .option('--quality <q>', 'JPEG/WebP quality 1..100', '95')
    .option('--tile <px>', 'tiles hold at most px x px LR pixels (memory per engine thread grows with it)', String(DEFAULT_TILE))
    .option('--overlap <px>', 'overlap between tiles in LR pixels', String(DEFAULT_OVERLAP))
    .option('--engine <name>', 'onnx (ONNX Runtime) or tfjs (TF.js WASM)', DEFAULT_ENGINE);
}

export interface ModelSettings {
  spec: ModelSpec;
  engine: EngineName;
  tileSize: number;
  overlap: number;
  quality: number;
  /** undefined: each input's own format */
  format: ImageFormat | undefined;
}

/** Checks the flags of addModelOptions(); SrError naming the first bad one. */
export function modelSettingsFromFlags(flags: ModelFlags): ModelSettings {
  const tileSize = parseNumber(flags.tile, '--tile', { int: true, min: 16, max: 4096 });
  const overlap = parseNumber(flags.overlap, '--overlap', { int: true, min: 0, max: 1024 });
  checkTiling(tileSize, overlap);
  const engine = checkEngineName(flags.engine);
  const quality = parseNumber(flags.quality, '--quality', { int: true, min: 1, max: 100 });
  const format = parseFormatFlag(flags.format);
  return { spec: modelSpecFromFlags(flags), engine, tileSize, overlap, quality, format };
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Megapixels from a flag, as a pixel count. */
function parseMegapixels(flag: string, v: string): number {
  return Math.round(parseNumber(v, flag, { above: 0, unit: 'megapixels' }) * 1e6);
}

export function registerUpscaleCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  const cmd = program
    .command('upscale')
    .description(`super-resolve images with a shipped model (srgan by default) or a weights file; outputs are <name>_x4.<ext> next to a single input, <folder>_x4/ for a folder, or under -o`)
    .argument('<inputs...>', 'image files, folders or globs')
    .option('-o, --output <path>', 'output file (one input) or folder');
  addModelOptions(cmd)
    .option('--threads <n>', 'CPU threads for ONNX Runtime (default: all)')
    .option('--max-pixels <MP>', 'refuse inputs larger than this, in megapixels', String(DEFAULT_MAX_PIXELS / 1e6))
    .option('--max-output-pixels <MP>', 'refuse inputs whose output would be larger than this, in megapixels', String(DEFAULT_MAX_OUTPUT_PIXELS / 1e6))
    .option('--force', 'overwrite existing outputs (and inputs, if an output path names one)')
    .option('--no-progress', 'no progress bar')
    .action(async (args: string[], flags: UpscaleFlags) => {
      const t0 = performance.now();
      const { spec, engine, tileSize, overlap, quality, format } = modelSettingsFromFlags(flags);
      const threads = parseOptionalNumber(flags.threads, '--threads', { int: true, min: 1, max: 256 });
      const maxPixels = parseMegapixels('--max-pixels', flags.maxPixels);
      const maxOutputPixels = parseMegapixels('--max-output-pixels', flags.maxOutputPixels);

      const inputs = await collectInputs(args);
      const failures: Array<{ input: string; why: string }> = [...inputs.missing];
      if (inputs.files.length === 0) {
        if (failures.length === 1) throw new SrError(failures[0]!.why.includes(failures[0]!.input) ? failures[0]!.why : `${failures[0]!.input}: ${failures[0]!.why}`);
        for (const f of failures) io.err.write(`error: ${f.input}: ${f.why}\n`);
        throw new SrError(`nothing to upscale (${args.join(', ')})`);
      }
      // Weights first: the output names carry the scale, and a bad model should fail before any work.
      const src = await loadModelSource(spec);
      const jobs = planJobs(inputs, flags.output, src.scale, format);

      // Refuse clobbering before any model work: existing outputs, inputs, and two inputs sharing an output.
      const inputSet = new Set(inputs.files.map((f) => resolve(f)));
      const claimed = new Map<string, string>();
      const todo: Job[] = [];
      for (const j of jobs) {
        const out = resolve(j.output);
        let why: string | null = null;
        if (claimed.has(out)) why = `its output ${j.output} is also the output of ${claimed.get(out)}`;
        else if (!flags.force && inputSet.has(out)) why = `the output ${j.output} is an input; refusing to overwrite it (use --force)`;
        else if (!flags.force && existsSync(out)) why = `${j.output} exists; refusing to overwrite it (use --force)`;
        claimed.set(out, j.input);
        if (why) failures.push({ input: j.input, why });
        else todo.push(j);
      }
      // Sizes from the headers, before any model work: what is over a limit is refused at once.
      for (const j of [...todo]) {
        try {
          const { width, height } = await imageSize(j.input);
          checkInputPixels(j.input, width, height, maxPixels);
          checkOutputSize(j.input, width, height, src.scale, maxOutputPixels);
          checkFormatSize(j.format, width * src.scale, height * src.scale, j.output);
        } catch (err) {
          failures.push({ input: j.input, why: reason(err).replace(`${j.input}: `, '') });
          todo.splice(todo.indexOf(j), 1);
        }
      }
      for (const f of failures) io.err.write(`error: ${f.input}: ${f.why}\n`);

      let done = 0;
      let outPixels = 0;
      const finished: Job[] = [];
      let interrupted = false;
      if (todo.length > 0) {
        // TF.js runs the tfjs engine and builds the graph the ONNX export reads: honour --backend.
        await initBackend({ backend: program.opts()['backend'] as BackendRequest | undefined, quiet: true });
        const up = await Upscaler.fromSource(src, { engine, threads, tileSize, overlap });
        const late: string[] = [];
        const fileBar = todo.length > 1 && flags.progress ? new ProgressReporter({ total: todo.length, label: 'upscale', unit: 'files' }) : null;
        // Lines written under a live bar would be torn; with a bar, messages wait for its end.
        const say = (line: string) => (fileBar ? late.push(line) : io.err.write(line));
        const interrupt = onInterrupt('stopping at the next tile; no partial file is left');
        try {
          for (const [i, j] of todo.entries()) {
            let tileBar: ProgressReporter | null = null;
            try {
              const r = await upscaleFile(up, j.input, j.output, {
                format: j.format,
                quality,
                maxPixels,
                maxOutputPixels,
                signal: interrupt.signal,
                onWarning: (w) => say(`warning: ${w}\n`),
                onLoaded: (img) => {
                  if (img.alpha && j.format === 'jpeg') say(`warning: ${j.input}: JPEG has no alpha channel; transparency is dropped in ${j.output}\n`);
                },
                onProgress: (p) => {
                  if (fileBar || !flags.progress || p.total < 2) return;
                  tileBar ??= new ProgressReporter({ total: p.total, label: basename(j.input), unit: 'tiles' });
                  tileBar.update(p.done);
                },
              });
              const { input: img, output: out } = r;
              done++;
              finished.push(j);
              outPixels += out.width * out.height;
              if (!fileBar && todo.length === 1) io.err.write(`${j.input} (${img.width}x${img.height}) -> ${j.output} (${out.width}x${out.height})\n`);
            } catch (err) {
              if (interrupt.signal.aborted) {
                interrupted = true;
                break;
              }
              // Messages from the image reader already start with the file name.
              const why = reason(err).replace(`${j.input}: `, '');
              failures.push({ input: j.input, why });
              say(`error: ${j.input}: ${why}\n`);
            } finally {
              (tileBar as ProgressReporter | null)?.stop();
            }
            fileBar?.update(i + 1);
          }
        } finally {
          interrupt.dispose();
          fileBar?.stop();
          for (const line of late) io.err.write(line);
          await up.dispose();
        }
      }
      if (interrupted) {
        const notDone = todo.filter((j) => !finished.includes(j) && !failures.some((f) => f.input === j.input));
        io.err.write(`interrupted: ${finished.length} of ${todo.length} file${todo.length === 1 ? '' : 's'} done, ${notDone.length} not done${failures.length ? `, ${failures.length} failed` : ''}\n`);
        for (const j of finished) io.err.write(`done:     ${j.input} -> ${j.output}\n`);
        notDone.forEach((j, k) => io.err.write(`not done: ${j.input}${k === 0 ? ' (stopped in the middle; nothing written)' : ''}\n`));
        io.setExitCode(EXIT_INTERRUPTED);
        return;
      }
      const secs = (performance.now() - t0) / 1000;
      const modelName = spec.alpha !== undefined ? `${(spec.blend ?? ['srresnet', 'srgan']).map((m) => basename(m)).join('+')} at alpha ${spec.alpha}` : basename(spec.model!);
      const total = done + failures.length;
      io.out.write(
        `upscaled ${done} of ${total} file${total === 1 ? '' : 's'} x${src.scale} with ${modelName} on ${engine}: ${(outPixels / 1e6).toFixed(2)} MP out in ${secs.toFixed(1)} s` +
          (failures.length ? `, ${failures.length} failed` : '') +
          '\n',
      );
      if (failures.length > 0) io.setExitCode(1);
    });
}
