// Small helpers over node:http shared by the studio and the MOS server. No framework: both servers
// have a handful of fixed routes, and owning the body reader is what lets us cap its size.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { SrError } from './errors.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Headers every response carries: no sniffing, no framing by other sites, no referrer leaks. */
export const BASE_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

export function send(res: ServerResponse, status: number, body: string | Uint8Array, type: string, headers: Record<string, string> = {}): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { ...BASE_HEADERS, 'Content-Type': type, 'Content-Length': String(buf.byteLength), ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : buf);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8', { 'Cache-Control': 'no-store', ...headers });
}

export function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { ...BASE_HEADERS, Location: location, 'Content-Length': '0', 'Cache-Control': 'no-store', ...headers });
  res.end();
}

/**
 * Reads a request body of at most `limit` bytes. A larger declared Content-Length is refused
 * before anything is read; a body that grows past the limit while streaming is cut off. Either
 * way the caller gets a 413 and has not acted on a partial body.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limit) {
      req.resume(); // drain so the connection can answer
      reject(new HttpError(413, `request body of ${declared} bytes is over the ${limit}-byte limit`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(new HttpError(413, `request body is over the ${limit}-byte limit`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolveBody(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(err);
      }
    });
  });
}

/** Form or JSON body as a flat string map; anything else is a 415. */
export async function readFields(req: IncomingMessage, limit: number): Promise<Record<string, string>> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded' && type !== 'application/json') {
    req.resume();
    throw new HttpError(415, `send application/x-www-form-urlencoded or application/json, not '${type || 'no content type'}'`);
  }
  const body = (await readBody(req, limit)).toString('utf8');
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  if (type === 'application/json') {
    let v: unknown;
    try {
      v = JSON.parse(body);
    } catch {
      throw new HttpError(400, 'body is not valid JSON');
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, 'JSON body must be an object');
    for (const [k, val] of Object.entries(v)) if (typeof val === 'string' || typeof val === 'number') out[k] = String(val);
  } else {
    for (const [k, val] of new URLSearchParams(body)) out[k] = val;
  }
  return out;
}

export function parseCookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const k = part.slice(0, i).trim();
    try {
      out[k] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      /* a malformed cookie is as good as none */
    }
  }
  return out;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export interface ListenOptions {
  port: number;
  host: string;
}

/** Starts listening; port 0 picks a free one. SrError on a port in use or a bad host. */
export function listen(server: Server, o: ListenOptions): Promise<{ url: string; port: number }> {
  return new Promise((resolveListen, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the port is in use (pick another with --port)' : err.code === 'EACCES' ? 'permission denied (ports below 1024 need root)' : err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' ? 'no such address on this machine' : err.message;
      reject(new SrError(`cannot listen on ${o.host}:${o.port}: ${why}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(o.port, o.host, () => {
      server.off('error', onError);
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : o.port;
      const host = o.host.includes(':') ? `[${o.host}]` : o.host;
      resolveListen({ url: `http://${host}:${port}/`, port });
    });
  });
}

/** Closes the server and every open keep-alive connection. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    server.close(() => resolveClose());
    server.closeAllConnections();
  });
}

/** Keeps a server up until SIGINT or SIGTERM, then closes it (ratings and uploads are on disk already). */
export function serveUntilSignal(server: { close(): Promise<void> }): Promise<void> {
  return new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
