// Shared by the MOS tests: a small study made through the CLI, and raw HTTP requests (fetch would
// normalise '..' out of a path before the server ever saw it).
import { request } from 'node:http';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerMosCommand } from '../../src/cli/commands/mos.js';
import { makeImageFolder } from '../helpers/images.js';

export async function runMos(args: string[]): Promise<{ out: string; err: string }> {
  let out = '';
  let err = '';
  const program = new Command().exitOverride();
  registerMosCommand(program, { out: { write: (s: string) => (out += s) }, err: { write: (s: string) => (err += s) } });
  await program.parseAsync(['node', 'srgan', 'mos', ...args]);
  return { out, err };
}

/** Two synthetic photographs, nearest and bicubic and the HR: 6 items to rate; calibrated with a third. */
export async function makeStudy(dir: string, methods = 'nearest,bicubic'): Promise<string> {
  const data = await makeImageFolder(join(dir, 'photos'), 2, 160, 120, 11);
  const calibration = await makeImageFolder(join(dir, 'calibration'), 1, 160, 120, 31);
  const study = join(dir, 'study');
  await runMos(['create', '--data', data, '--methods', methods, '--out', study, '--calibration', calibration]);
  return study;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export function raw(port: number, method: string, path: string, o: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: o.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    // The server may answer (413) and close before an oversized body is fully sent; the answer
    // still arrives, so such a write error only fails the request if no answer follows.
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE' || e.code === 'ECONNRESET') setTimeout(() => reject(e), 3000).unref();
      else reject(e);
    });
    if (o.body !== undefined) req.write(o.body);
    req.end();
  });
}

export function form(fields: Record<string, string>): { headers: Record<string, string>; body: string } {
  return { headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, body: new URLSearchParams(fields).toString() };
}
