// `srgan mos serve`: the rating web app over node:http.
//
// Routes (nothing else answers):
//   GET  /            welcome and calibration for a new visitor; the next image for a known rater
//   POST /start       makes a rater (secret token in a cookie and in the page's links)
//   GET  /r/<token>   the resume link: sets the cookie again, e.g. on another device
//   POST /rate        r, item, score: one rating
//   GET  /img/<id>    an image, by opaque id only
//   GET  /mos.js      keyboard shortcuts
// The only file-system access a request can cause is reading images/<id>.png for an id that is in
// the study's item table; no part of a URL is ever joined to a path. Every refusal happens before
// the single INSERT, so a refused request writes nothing.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../util/random.js';
import { HttpError, closeServer, listen, parseCookies, readBody, readFields, redirect, send, sendJson } from '../util/http.js';
import { ITEM_ID, openStudy, type Study } from './study.js';
import type { ItemRow, RaterRow } from './db.js';
import { MOS_SCRIPT, donePage, errorPage, ratePage, welcomePage } from './pages.js';

export const COOKIE = 'mos_rater';
/** A rating form is under 100 bytes; anything near this is not one. */
export const BODY_LIMIT = 2048;
const TOKEN = /^[0-9a-f]{32}$/;

const CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
const HTML = 'text/html; charset=utf-8';

/** The rater's private order of the study items: a Fisher-Yates shuffle seeded by the rater. */
export function raterOrder(items: readonly ItemRow[], seed: number): ItemRow[] {
  const out = [...items];
  const rng = new Rng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export interface MosServer {
  server: Server;
  url: string;
  study: Study;
  close(): Promise<void>;
}

/** Raters a study accepts in all, and new raters one client address may make per hour. */
export const DEFAULT_MAX_RATERS = 200;
export const DEFAULT_MAX_RATERS_PER_CLIENT = 10;
const CLIENT_WINDOW_MS = 3600_000;

export interface ServeOptions {
  port?: number;
  host?: string;
  /** POST /start is unauthenticated: raters in all (default 200; the database's count, so it survives restarts) */
  maxRaters?: number;
  /** new raters per client address per hour (default 10; a lab behind one address may need more) */
  maxRatersPerClient?: number;
  /** called for each accepted rating (the CLI logs them) */
  onRating?: (raterId: number, index: number, total: number) => void;
}

export async function serveStudy(dir: string, opts: ServeOptions = {}): Promise<MosServer> {
  const study = await openStudy(dir);
  const total = study.studyItems.length;
  const maxRaters = opts.maxRaters ?? DEFAULT_MAX_RATERS;
  const perClient = opts.maxRatersPerClient ?? DEFAULT_MAX_RATERS_PER_CLIENT;
  const startsByClient = new Map<string, number[]>(); // address -> times of its recent new raters

  /** 429 unless one more rater fits both bounds; records the start when it does. */
  function admitRater(req: IncomingMessage): void {
    if (study.db.counts().raters >= maxRaters) throw new HttpError(429, `this study already has its ${maxRaters} raters`);
    const client = req.socket.remoteAddress ?? 'unknown';
    const now = Date.now();
    const recent = (startsByClient.get(client) ?? []).filter((t) => now - t < CLIENT_WINDOW_MS);
    if (recent.length >= perClient) throw new HttpError(429, `too many new raters from your address (${perClient} an hour); use your resume link, or try again later`);
    recent.push(now);
    startsByClient.set(client, recent);
    // Forget addresses that have gone quiet, so the map cannot grow without bound either.
    if (startsByClient.size > 10_000) for (const [k, v] of startsByClient) if (v.every((t) => now - t >= CLIENT_WINDOW_MS)) startsByClient.delete(k);
  }
  const { calibration } = study.manifest;

  function rater(req: IncomingMessage, fields?: Record<string, string>, query?: URLSearchParams): RaterRow | undefined {
    // The form field and the query come first: they carry the rater a page was made for, even
    // when another rater's cookie is set in the same browser.
    const token = fields?.['r'] ?? query?.get('r') ?? parseCookies(req)[COOKIE];
    if (!token || !TOKEN.test(token)) return undefined;
    return study.db.raterByToken(token);
  }

  function cookie(token: string): string {
    return `${COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000`;
  }

  function nextItem(r: RaterRow): { item: ItemRow; index: number } | undefined {
    const rated = study.db.ratedItemIds(r.id);
    const order = raterOrder(study.studyItems, r.seed);
    const item = order.find((it) => !rated.has(it.id));
    return item ? { item, index: rated.size + 1 } : undefined;
  }

  function origin(req: IncomingMessage): string {
    return `http://${req.headers.host ?? 'localhost'}`;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://study.invalid');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const get = method === 'GET' || method === 'HEAD';
    const wantsJson = (req.headers.accept ?? '').includes('application/json');

    if (get && path === '/') {
      const r = rater(req, undefined, url.searchParams);
      if (!r) {
        send(res, 200, welcomePage({ calibrationLow: calibration.low, calibrationHigh: calibration.high, total }), HTML, { 'Cache-Control': 'no-store', 'Content-Security-Policy': CSP });
        return;
      }
      const next = nextItem(r);
      const page = next
        ? ratePage({ token: r.token, raterId: r.id, itemId: next.item.id, index: next.index, total, resumeUrl: `${origin(req)}/r/${r.token}` })
        : donePage({ raterId: r.id, total });
      send(res, 200, page, HTML, { 'Cache-Control': 'no-store', 'Content-Security-Policy': CSP, 'Set-Cookie': cookie(r.token) });
      return;
    }
    if (get && path === '/mos.js') {
      send(res, 200, MOS_SCRIPT, 'text/javascript; charset=utf-8', { 'Cache-Control': 'no-cache' });
      return;
    }
    if (get && path.startsWith('/img/')) {
      const id = path.slice('/img/'.length);
      const item = ITEM_ID.test(id) ? study.items.get(id) : undefined;
      if (!item) throw new HttpError(404, 'no such image');
      // The path comes from the item table, never from the URL.
      const bytes = await readFile(join(study.dir, item.file));
      send(res, 200, bytes, 'image/png', { 'Cache-Control': 'private, max-age=86400' });
      return;
    }
    if (get && path.startsWith('/r/')) {
      const token = path.slice(3);
      const r = TOKEN.test(token) ? study.db.raterByToken(token) : undefined;
      if (!r) throw new HttpError(404, 'this resume link is not known to the study');
      redirect(res, `/?r=${r.token}`, { 'Set-Cookie': cookie(r.token) });
      return;
    }
    if (method === 'POST' && path === '/start') {
      // The calibration page sends no fields; reading the body anyway caps what a client can push.
      await readBody(req, BODY_LIMIT);
      admitRater(req);
      const r = study.db.createRater();
      if (wantsJson) sendJson(res, 201, { rater: r.id, token: r.token }, { 'Set-Cookie': cookie(r.token) });
      else redirect(res, `/?r=${r.token}`, { 'Set-Cookie': cookie(r.token) });
      return;
    }
    if (method === 'POST' && path === '/rate') {
      const f = await readFields(req, BODY_LIMIT);
      const r = rater(req, f);
      if (!r) throw new HttpError(403, 'unknown rater: open the study page first');
      const itemId = f['item'] ?? '';
      const item = ITEM_ID.test(itemId) ? study.items.get(itemId) : undefined;
      if (!item || item.role !== 'study') throw new HttpError(404, 'unknown image id');
      const scoreText = f['score'] ?? '';
      if (!/^[1-5]$/.test(scoreText)) throw new HttpError(400, `score must be one of 1, 2, 3, 4, 5 (got '${scoreText.slice(0, 20)}')`);
      const added = study.db.addRating(r.id, item, Number(scoreText));
      if (!added) throw new HttpError(409, 'you have already rated this image');
      const next = nextItem(r);
      opts.onRating?.(r.id, next ? next.index - 1 : total, total);
      if (wantsJson) sendJson(res, 200, { ok: true, rated: next ? next.index - 1 : total, total, next: next?.item.id ?? null });
      else redirect(res, `/?r=${r.token}`);
      return;
    }
    if (['GET', 'HEAD', 'POST'].includes(method)) throw new HttpError(404, 'not found');
    throw new HttpError(405, `method ${method} not allowed`);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const message = err instanceof HttpError ? err.message : 'internal error';
      if (status === 500) process.stderr.write(`mos serve: ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const wantsJson = (req.headers.accept ?? '').includes('application/json');
      // A refused upload is not read to its end; closing the connection stops the client sending it.
      const extra: Record<string, string> = status === 413 ? { Connection: 'close' } : {};
      if (wantsJson) sendJson(res, status, { error: message }, extra);
      else send(res, status, errorPage(status, message), HTML, { 'Cache-Control': 'no-store', 'Content-Security-Policy': CSP, ...extra });
    });
  });
  // Slow or stuck clients must not hold connections forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  let listening: { url: string; port: number };
  try {
    listening = await listen(server, { port: opts.port ?? 8080, host: opts.host ?? '127.0.0.1' });
  } catch (err) {
    study.db.close();
    throw err;
  }
  return {
    server,
    url: listening.url,
    study,
    close: async () => {
      await closeServer(server);
      study.db.close();
    },
  };
}
