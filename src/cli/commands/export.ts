// `srgan export`: a generator as a standard ONNX file (batch norm folded, NCHW, dynamic H and W;
// see src/inference/onnx_export.ts for the graph's contract).
import type { Command } from 'commander';
import { withDefaults, type Io } from '../io.js';
import { parseNumber } from '../parse.js';
import { existsSync } from 'node:fs';
import { SrError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/atomic.js';
import { initBackend, type BackendRequest } from '../../tfjs/backend.js';
import { loadModelSource, buildFromSource } from '../../inference/model_source.js';
import { exportOnnx, DEFAULT_OPSET, MIN_OPSET, MAX_OPSET } from '../../inference/onnx_export.js';
import { modelSpecFromFlags } from './upscale.js';

interface ExportFlags {
  model?: string;
  scale?: string;
  alpha?: string;
  blend?: string;
  format: string;
  output: string;
  opset: string;
  force?: boolean;
}

export function registerExportCommand(program: Command, given: Partial<Io> = {}): void {
  const io = withDefaults(given);
  program
    .command('export')
    .description("write a generator as an ONNX model: input 'lr' NCHW [N,3,H,W] RGB in [0,1], output 'sr' NCHW [N,3,sH,sW] in [-1,1]; H, W dynamic")
    .option('--model <name|path>', 'srresnet, srgan, or a .safetensors weights file (default srgan)')
    .option('--scale <n>', 'upscaling factor of the shipped model (default 4)')
    .option('--alpha <a>', 'export the network interpolation of the --blend pair at alpha (0..1)')
    .option('--blend <a,b>', 'the two models --alpha blends (default srresnet,srgan)')
    .option('--format <fmt>', 'export format (only onnx)', 'onnx')
    .requiredOption('-o, --output <file>', 'where to write the model (e.g. model.onnx)')
    .option('--opset <n>', `ONNX opset, ${MIN_OPSET}..${MAX_OPSET}`, String(DEFAULT_OPSET))
    .option('--force', 'overwrite an existing output file')
    .action(async (flags: ExportFlags) => {
      if (flags.format.toLowerCase() !== 'onnx') throw new SrError(`--format '${flags.format}' is not supported; the only export format is onnx`);
      const opset = parseNumber(flags.opset, '--opset', { int: true, min: MIN_OPSET, max: MAX_OPSET });
      if (!flags.force && existsSync(flags.output)) throw new SrError(`${flags.output} exists; refusing to overwrite it (use --force)`);
      const src = await loadModelSource(modelSpecFromFlags(flags));
      if (src.kind === 'onnx') throw new SrError(`${src.label} is already an ONNX file`);
      await initBackend({ backend: program.opts()['backend'] as BackendRequest | undefined, quiet: true });
      const model = buildFromSource(src);
      let result;
      try {
        result = exportOnnx(model, { opset, config: src.config, metadata: { 'srgan-js.source': src.label } });
      } finally {
        model.dispose();
      }
      await writeFileAtomic(flags.output, result.bytes);
      io.out.write(
        `wrote ${flags.output}: ONNX opset ${opset}, x${src.scale}, ${result.ops.length} nodes (${result.folded} batch norms folded into convolutions), ${(result.bytes.length / 1e6).toFixed(2)} MB\n` +
          `input 'lr' float32 [N,3,H,W] RGB in [0,1]; output 'sr' float32 [N,3,${src.scale}H,${src.scale}W] RGB in [-1,1]: map with (y+1)/2 and clip\n`,
      );
    });
}
