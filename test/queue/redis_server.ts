// A throwaway Redis for the queue tests and the queue benchmark: Debian's redis-server on a free
// loopback port (127.0.0.1 only), no persistence (--save '' --appendonly no), its files in a
// temporary folder that goes when the server exits; stop() ends it. Tests skip with NO_REDIS's
// message where redis-server is not installed (.ci/run installs it).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env['SRGAN_REDIS_SERVER'] ?? 'redis-server';

export const NO_REDIS: string | false =
  spawnSync(REDIS_SERVER, ['--version'], { encoding: 'utf8' }).status === 0
    ? false
    : 'redis-server is not installed here (apt-get install redis-server; CI installs it in .ci/run)';

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Resolves true when the server answers PING on the port. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host: '127.0.0.1', port });
    let got = '';
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    c.setTimeout(500, () => done(false));
    c.on('error', () => done(false));
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) done(got.startsWith('+PONG'));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

export async function startRedis(): Promise<RedisServer> {
  if (NO_REDIS) throw new Error(NO_REDIS);
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'srgan-redis-'));
    const child = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--loglevel', 'warning'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    // Not tempDir(): this runs inside before hooks and tests, and in bench/queue.ts outside
    // node:test. Removing on exit never pulls the folder from under a live server, and also
    // covers a server that dies without stop().
    child.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const t0 = Date.now();
    let up = false;
    while (child.exitCode === null && Date.now() - t0 < 10_000) {
      if ((up = await pings(port))) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    if (up) {
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        stop: async () => {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited(child);
          clearTimeout(timer);
        },
      };
    }
    child.kill('SIGKILL');
    await exited(child);
    // Another process may have taken the port between the probe and the start: try another.
    if (attempt >= 2) throw new Error(`redis-server did not start on 127.0.0.1:${port}: ${err.trim()}`);
  }
}
