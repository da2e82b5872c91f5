// The ONNX graphs of the shipped models, exported at build time (scripts/export_shipped.mjs writes
// dist/models/<name>.onnx), so that `srgan upscale` need not build the network in TF.js and export
// it on every run: about a quarter of a second of a 3 s upscale of a small photo. Each graph has a
// sidecar (<name>.onnx.json) with the sha256 of the weights file and of the exporter's compiled
// code it was made from; a graph that matches either no longer is ignored, and the run exports in
// memory as it would without it. Nothing is written at run time.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../util/package_info.js';
import { writeFileAtomic } from '../util/atomic.js';

export const PREBUILT_DIR = join(packageRoot, 'dist', 'models');

// The compiled files that decide what a weights file exports to.
const EXPORTER_FILES = ['./onnx_export.js', './onnx_proto.js', './onnx_engine.js', '../models/srresnet.js', '../models/layers/pixel_shuffle.js', '../models/weights.js'];

interface Sidecar {
  weights: string;
  exporter: string;
}

function sha256(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

let revision: string | undefined;
/** Hash of the exporter's code as it runs now. */
export function exporterRevision(): string {
  revision ??= sha256(...EXPORTER_FILES.map((f) => readFileSync(fileURLToPath(new URL(f, import.meta.url)))));
  return revision;
}

function paths(weightsFile: string, dir: string): { onnx: string; sidecar: string } {
  const onnx = join(dir, `${basename(weightsFile, extname(weightsFile))}.onnx`);
  return { onnx, sidecar: `${onnx}.json` };
}

/** The prebuilt graph of `weightsFile`, or null when there is none that matches it and this code. */
export async function readPrebuilt(weightsFile: string, dir = PREBUILT_DIR): Promise<Uint8Array | null> {
  const p = paths(weightsFile, dir);
  try {
    const side = JSON.parse(await readFile(p.sidecar, 'utf8')) as Sidecar;
    if (side.exporter !== exporterRevision() || side.weights !== sha256(await readFile(weightsFile))) return null;
    return new Uint8Array(await readFile(p.onnx));
  } catch {
    return null;
  }
}

/** Stores `bytes` as the graph of `weightsFile` (the build's export step). */
export async function writePrebuilt(weightsFile: string, bytes: Uint8Array, dir = PREBUILT_DIR): Promise<string> {
  const p = paths(weightsFile, dir);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(p.onnx, bytes);
  const side: Sidecar = { weights: sha256(await readFile(weightsFile)), exporter: exporterRevision() };
  await writeFileAtomic(p.sidecar, JSON.stringify(side, null, 2) + '\n');
  return p.onnx;
}
