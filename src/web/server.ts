// `srgan web`: serves the studio page, its compiled modules, onnxruntime-web's files and the
// models. Everything is read-only and GET: a path selects from fixed lists built at start (the
// page's modules, onnxruntime-web's dist files, the model ids), never joins a URL to a path.
//
// Routes:
//   GET /                          the page
//   GET /app/<path>.js[.map]       the compiled page and worker modules and the modules they import
//                                  (dist/src/web/client, dist/src/image, ...), at their paths under dist/src
//   GET /ort/<file>                onnxruntime-web's dist files (.mjs, .wasm)
//   GET /models/index.json         the catalog: models, the alpha dial, size limits
//   GET /models/<id>.onnx          a model
//   GET /models/interp.onnx?alpha= network interpolation between the dial's two models
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, extname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SrError } from '../util/errors.js';
import { HttpError, closeServer, listen, send, sendJson } from '../util/http.js';
import { STUDIO_HTML } from './page.js';
import type { ModelCatalog } from './models.js';
import type { Catalog } from './client/protocol.js';

export interface StudioLimits {
  maxPixels: number;
  maxSide: number;
  maxFileBytes: number;
}

export const DEFAULT_LIMITS: StudioLimits = { maxPixels: 1 << 20, maxSide: 2048, maxFileBytes: 25_000_000 };

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
};

// Cross-origin isolation gives the page SharedArrayBuffer, which onnxruntime-web's threaded WASM
// needs; everything is served from this origin, so nothing breaks under it.
const ISOLATION = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; img-src 'self' blob: data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

async function fileTable(dir: string, keep: (name: string) => boolean): Promise<Map<string, string>> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return new Map(names.filter(keep).map((n) => [n, join(dir, n)]));
}

const ENTRY_MODULES = ['web/client/studio.js', 'web/client/worker.js'];

/**
 * The page's modules and everything they import, by path under `root` (dist/src), with their
 * source maps. The browser resolves the relative imports itself, so serving the compiled tree's
 * paths needs no bundler; a module that reaches a package or a Node API cannot load in the
 * browser, and is refused here rather than there.
 */
export async function moduleTable(root: string): Promise<Map<string, string>> {
  const table = new Map<string, string>();
  const todo = [...ENTRY_MODULES];
  while (todo.length > 0) {
    const rel = todo.pop()!;
    if (table.has(rel)) continue;
    const file = join(root, rel);
    const text = await readFile(file, 'utf8').catch(() => null);
    if (text === null) throw new SrError(`the studio's module ${rel} is missing from ${root}; build the package first (npm run build)`);
    table.set(rel, file);
    if (existsSync(file + '.map')) table.set(rel + '.map', file + '.map');
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm)) {
      const spec = (m[1] ?? m[2])!;
      if (!spec.startsWith('.')) throw new SrError(`the studio's module ${rel} imports '${spec}', which a browser cannot load from this server`);
      const target = posix.normalize(posix.join(posix.dirname(rel), spec));
      if (target.startsWith('..')) throw new SrError(`the studio's module ${rel} imports '${spec}', outside ${root}`);
      todo.push(target);
    }
  }
  return table;
}

function ortDistDir(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  } catch (err) {
    throw new SrError('onnxruntime-web is not installed (npm install onnxruntime-web); the studio serves its files to the browser', { cause: err });
  }
}

export interface StudioServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

export interface StudioOptions {
  catalog: ModelCatalog;
  port?: number;
  host?: string;
  limits?: Partial<StudioLimits>;
  /** the compiled tree the page's modules are served from (default: dist/src, the folder above this one) */
  moduleRoot?: string;
}

/** Alpha as the dial sends it: a decimal in [0, 1] with at most 4 places. */
export function parseAlpha(v: string | null): number {
  if (v === null || !/^(0(\.\d{1,4})?|1(\.0{1,4})?|\.\d{1,4})$/.test(v)) throw new HttpError(400, `alpha must be a number from 0 to 1, got '${(v ?? '').slice(0, 20)}'`);
  return Math.round(Number(v) * 100) / 100;
}

export async function serveStudio(o: StudioOptions): Promise<StudioServer> {
  const limits = { ...DEFAULT_LIMITS, ...o.limits };
  const app = await moduleTable(o.moduleRoot ?? fileURLToPath(new URL('../', import.meta.url)));
  const ort = await fileTable(ortDistDir(), (n) => /^ort[\w.-]*\.(mjs|wasm)$/.test(n));
  const models = new Map(o.catalog.models.map((m) => [m.id, m]));
  const catalog: Catalog = {
    source: o.catalog.source,
    models: o.catalog.models.map(({ load: _load, ...m }) => ({ ...m, url: `/models/${m.id}.onnx` })),
    dial: o.catalog.dial ? { from: o.catalog.dial.from, to: o.catalog.dial.to, note: o.catalog.dial.note, url: '/models/interp.onnx' } : null,
    limits,
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `method ${req.method} not allowed`);
    const url = new URL(req.url ?? '/', 'http://studio.invalid');
    const path = url.pathname;
    if (path === '/' || path === '/index.html') {
      send(res, 200, STUDIO_HTML, 'text/html; charset=utf-8', { ...ISOLATION, 'Content-Security-Policy': CSP, 'Cache-Control': 'no-cache' });
      return;
    }
    if (path.startsWith('/app/') || path.startsWith('/ort/')) {
      const table = path.startsWith('/app/') ? app : ort;
      const file = table.get(path.slice(5));
      if (!file) throw new HttpError(404, 'not found');
      const cache = path.startsWith('/ort/') ? 'public, max-age=86400' : 'no-cache';
      send(res, 200, await readFile(file), TYPES[extname(file)] ?? 'application/octet-stream', { ...ISOLATION, 'Cache-Control': cache });
      return;
    }
    if (path === '/models/index.json') {
      sendJson(res, 200, catalog, ISOLATION);
      return;
    }
    if (path === '/models/interp.onnx') {
      if (!o.catalog.dial) throw new HttpError(404, 'this server has no pair of models to interpolate');
      const alpha = parseAlpha(url.searchParams.get('alpha'));
      const bytes = await o.catalog.dial.load(alpha);
      send(res, 200, bytes, 'application/octet-stream', { ...ISOLATION, 'Cache-Control': 'public, max-age=3600' });
      return;
    }
    const m = /^\/models\/([\w-]+)\.onnx$/.exec(path);
    const model = m ? models.get(m[1]!) : undefined;
    if (model) {
      send(res, 200, await model.load(), 'application/octet-stream', { ...ISOLATION, 'Cache-Control': 'public, max-age=3600' });
      return;
    }
    throw new HttpError(404, 'not found');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const msg = err instanceof HttpError || err instanceof SrError ? err.message : 'internal error';
      if (!(err instanceof HttpError)) process.stderr.write(`srgan web: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      if (res.headersSent) res.destroy();
      else send(res, status, msg + '\n', 'text/plain; charset=utf-8', ISOLATION);
    });
  });
  server.requestTimeout = 60_000;
  const l = await listen(server, { port: o.port ?? 8080, host: o.host ?? '127.0.0.1' });
  return { server, url: l.url, close: () => closeServer(server) };
}
