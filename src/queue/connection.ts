// Where the queue lives: one Redis server, named by a URL (`--redis`, else $SRGAN_REDIS_URL, else
// redis://127.0.0.1:6379). Every machine that adds work or runs a worker uses the same URL.
//
// Short commands (add, status, retry, cancel) connect once and give up at the first failure, so a
// stopped server is a one-line error and not a hang; a worker, once it has connected, keeps
// reconnecting through outages (BullMQ's default), because its jobs come back when Redis does.
import { Queue, type ConnectionOptions } from 'bullmq';
import { SrError } from '../util/errors.js';

export const REDIS_ENV_VAR = 'SRGAN_REDIS_URL';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** BullMQ keys are `<prefix>:<queue>:...`; the batch records are `<prefix>:batch:...`. */
export const KEY_PREFIX = 'srgan';
export const QUEUE_NAME = 'upscale';

const URL_HINT = 'use redis://host:port (rediss:// for TLS; optional user:password@ and /db)';

export interface RedisTarget {
  /** For messages: the URL without its password. */
  readonly label: string;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  readonly tls: boolean;
}

/** Parses and checks a Redis URL; `source` names where it came from, for the error. */
export function parseRedisUrl(text: string, source = '--redis'): RedisTarget {
  const bad = (why: string) => new SrError(`${source} '${text}' is not a usable Redis URL (${why}): ${URL_HINT}`);
  let u: URL;
  try {
    u = new URL(text.trim());
  } catch {
    throw bad(/^[a-z][a-z0-9+.-]*:\/\//i.test(text.trim()) ? 'the host or port is malformed' : 'no redis:// scheme');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`scheme '${u.protocol.replace(/:$/, '')}' is not redis or rediss`);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw bad('no host');
  const port = u.port === '' ? 6379 : Number(u.port);
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) throw bad(`port ${u.port}`);
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,2}$/.test(path)) throw bad(`'/${path}' is not a database number`);
  if (u.search || u.hash) throw bad('query strings and fragments are not understood');
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const auth = username ? `${username}${password ? ':***' : ''}@` : password ? ':***@' : '';
  return {
    label: `${u.protocol}//${auth}${u.host}${path ? `/${path}` : ''}`,
    host,
    port,
    db: path ? Number(path) : 0,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    tls: u.protocol === 'rediss:',
  };
}

/** The URL from the flag, else the environment, else the local default. */
export function redisTarget(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): RedisTarget {
  if (flag !== undefined) return parseRedisUrl(flag, '--redis');
  const fromEnv = env[REDIS_ENV_VAR];
  if (fromEnv !== undefined && fromEnv !== '') return parseRedisUrl(fromEnv, `$${REDIS_ENV_VAR}`);
  return parseRedisUrl(DEFAULT_REDIS_URL);
}

/**
 * ioredis options for the target. `failFast`: one connection attempt, no retries, commands fail
 * while disconnected (short commands); otherwise BullMQ's reconnect-forever defaults (workers).
 */
export function connectionOptions(t: RedisTarget, failFast: boolean): ConnectionOptions {
  return {
    host: t.host,
    port: t.port,
    db: t.db,
    ...(t.username ? { username: t.username } : {}),
    ...(t.password ? { password: t.password } : {}),
    ...(t.tls ? { tls: {} } : {}),
    connectTimeout: 5000,
    // ioredis waits this long for a socket that never opened to close (2 s by default).
    disconnectTimeout: 200,
    ...(failFast ? { retryStrategy: () => null, maxRetriesPerRequest: 1, enableOfflineQueue: false } : {}),
  };
}

/**
 * The commands this package sends besides BullMQ's own. BullMQ's client is ioredis behind a proxy
 * that forwards every ioredis command; this names the few used, with ioredis' signatures.
 */
export interface RedisCommands {
  ping(): Promise<string>;
  hget(key: string, field: string): Promise<string | null>;
  hgetall(key: string): Promise<Record<string, string>>;
  hset(key: string, data: Record<string, string | number>): Promise<number>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
  lindex(key: string, index: number): Promise<string | null>;
  sismember(key: string, member: string): Promise<number>;
  sadd(key: string, ...members: string[]): Promise<number>;
  scard(key: string): Promise<number>;
  zrevrange(key: string, start: number, stop: number): Promise<string[]>;
  del(...keys: string[]): Promise<number>;
  multi(): RedisMulti;
}

export interface RedisMulti {
  hset(key: string, data: Record<string, string | number>): RedisMulti;
  rpush(key: string, ...values: string[]): RedisMulti;
  zadd(key: string, score: number, member: string): RedisMulti;
  del(...keys: string[]): RedisMulti;
  zrem(key: string, member: string): RedisMulti;
  exec(): Promise<Array<[Error | null, unknown]> | null>;
}

export async function redisOf(queue: Queue): Promise<RedisCommands> {
  return (await queue.client) as unknown as RedisCommands;
}

/** Turns a connection failure into the one line a person needs. */
export function unreachable(t: RedisTarget, err: unknown): SrError {
  const why = err instanceof Error ? err.message : String(err);
  if (/NOAUTH|WRONGPASS|invalid password|invalid username/i.test(why)) {
    return new SrError(`Redis at ${t.label} refused the login (${why}): put the right user:password@ in the URL`, { cause: err });
  }
  return new SrError(
    `cannot reach Redis at ${t.label} (${why}): start redis-server there, or point --redis / $${REDIS_ENV_VAR} at a running one`,
    { cause: err },
  );
}

/** Whether an error says the connection to Redis failed (as opposed to a refused command). */
export function isConnectionError(err: unknown): boolean {
  const m = err instanceof Error ? `${err.name} ${err.message}` : String(err);
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest/i.test(m);
}

/**
 * Opens the queue, runs `fn`, closes the queue. A connection lost on the way is reported as
 * `unreachable`; SrErrors pass through.
 */
export async function withQueue<T>(t: RedisTarget, fn: (queue: Queue) => Promise<T>): Promise<T> {
  const queue = await openQueue(t);
  try {
    return await fn(queue);
  } catch (err) {
    if (!(err instanceof SrError) && isConnectionError(err)) throw unreachable(t, err);
    throw err;
  } finally {
    await queue.close().catch(() => undefined);
  }
}

/**
 * The queue, connected and checked (one round trip), for a short command. The caller closes it.
 * SrError when the server cannot be reached.
 */
export async function openQueue(t: RedisTarget): Promise<Queue> {
  const queue = new Queue(QUEUE_NAME, { connection: connectionOptions(t, true), prefix: KEY_PREFIX });
  let lastError: unknown = null;
  // Without a listener an 'error' event would be thrown; the failure surfaces below instead.
  queue.on('error', (err) => (lastError = err));
  try {
    await queue.waitUntilReady();
    await (await redisOf(queue)).ping();
  } catch (err) {
    await queue.close().catch(() => undefined);
    throw unreachable(t, lastError ?? err);
  }
  return queue;
}
