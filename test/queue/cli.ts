// The `srgan` command as the queue tests use it: short commands run to their end, workers run as
// separate processes (so that one can be SIGKILLed) whose log lines the tests wait for.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(process.cwd(), 'dist', 'src', 'cli', 'main.js');

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `srgan <args>` to its end. `env` is added to this process's environment. */
export function srgan(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `srgan <args>` in the background (async, so the test's event loop keeps serving workers' pipes). */
export function srganAsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

export class WorkerProcess {
  readonly child: ChildProcess;
  log = '';
  private waiters: Array<{ re: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  readonly exited: Promise<number | null>;

  constructor(redis: string, extra: string[] = []) {
    this.child = spawn(process.execPath, [CLI, 'queue', 'worker', '--redis', redis, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (d: Buffer) => {
      this.log += d.toString();
      this.waiters = this.waiters.filter((w) => {
        const m = this.log.match(w.re);
        if (m) w.resolve(m);
        return !m;
      });
    };
    this.child.stdout!.on('data', take);
    this.child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(signal ? null : code)));
  }

  /** Resolves with the first match of `re` in the log (already there, or to come). */
  waitFor(re: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
    const m = this.log.match(re);
    if (m) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker log never matched ${re} in ${timeoutMs} ms:\n${this.log}`)), timeoutMs);
      this.waiters.push({
        re,
        resolve: (found) => {
          clearTimeout(timer);
          resolve(found);
        },
      });
    });
  }

  /** Ctrl-C: the worker finishes its jobs and exits; resolves with its exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGINT');
    return this.exited;
  }
}
