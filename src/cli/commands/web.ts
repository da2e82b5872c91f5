// `srgan web`: the upscaling studio, served on this machine and run in the browser.
import type { Command } from 'commander';
import { withDefaults, type Io } from '../io.js';
import { parseOptionalNumber, parsePort } from '../parse.js';
import { SrError } from '../../util/errors.js';
import { serveUntilSignal } from '../../util/http.js';
import { basename, extname } from 'node:path';
import { catalogFromDir, shippedCatalog, tinyCatalog, weightsCatalog, type ModelCatalog } from '../../web/models.js';
import { serveStudio } from '../../web/server.js';

interface WebFlags {
  port: string;
  host: string;
  modelDir?: string;
  weights?: string;
  tinyModels?: boolean;
  dial?: string;
  maxPixels?: string;
}

export function registerWebCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  program
    .command('web')
    .description('the upscaling studio: drop an image in the browser, x4 with the shipped models (onnxruntime-web, WebGPU or WASM), compare, download')
    .option('--port <n>', 'TCP port (0 picks a free one)', '8080')
    .option('--host <addr>', 'address to bind', '127.0.0.1')
    .option('--weights <a[,b]>', 'serve these .safetensors generators (e.g. from srgan train) instead of the shipped models; with two, the alpha dial blends them')
    .option('--model-dir <folder>', 'serve the .onnx files of this folder instead of the shipped models')
    .option('--dial <from,to>', 'the two models (file names without .onnx) the alpha dial blends; default srresnet*, srgan*')
    .option('--tiny-models', 'serve two tiny untrained models (to try the page without trained weights)')
    .option('--max-pixels <n>', 'largest input the page accepts, in pixels (default 1048576)')
    .action(async (flags: WebFlags) => {
      if ([flags.modelDir, flags.tinyModels, flags.weights].filter((f) => f !== undefined).length > 1) throw new SrError('give one of --weights, --model-dir and --tiny-models');
      let dial: [string, string] | undefined;
      if (flags.dial !== undefined) {
        const parts = flags.dial.split(',').map((s) => s.trim());
        if (parts.length !== 2 || !parts[0] || !parts[1]) throw new SrError(`--dial takes two model names separated by a comma, got '${flags.dial}'`);
        if (!flags.modelDir) throw new SrError('--dial applies to --model-dir');
        dial = [parts[0], parts[1]];
      }
      const maxPixels = parseOptionalNumber(flags.maxPixels, '--max-pixels', { int: true, min: 1 });
      let catalog: ModelCatalog;
      if (flags.tinyModels) catalog = tinyCatalog();
      else if (flags.modelDir) catalog = await catalogFromDir(flags.modelDir, dial);
      else if (flags.weights) {
        const files = flags.weights.split(',').map((f) => f.trim()).filter((f) => f.length > 0);
        if (files.length < 1 || files.length > 2) throw new SrError(`--weights takes one or two .safetensors files, got '${flags.weights}'`);
        const ids = files.map((f) => basename(f, extname(f)).toLowerCase().replace(/[^a-z0-9_-]+/g, '-') || 'model');
        if (ids[1] === ids[0]) ids[1] += '-2';
        catalog = await weightsCatalog(files.map((f, i) => ({ id: ids[i]!, label: basename(f), model: f })), `weights ${files.join(', ')}`);
      } else catalog = await shippedCatalog();
      const s = await serveStudio({ catalog, port: parsePort(flags.port), host: flags.host, limits: maxPixels ? { maxPixels } : {} });
      io.out.write(`srgan studio: ${catalog.source}${catalog.dial ? `, alpha dial ${catalog.dial.from} -> ${catalog.dial.to}` : ''}\n`);
      io.out.write(`open ${s.url}   (Ctrl-C stops)\n`);
      await serveUntilSignal(s);
    });
}
