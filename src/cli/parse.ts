// Flag parsing shared by the subcommands, so every command words the same mistake the same way.
import { SrError } from '../util/errors.js';

/** An upscaling factor from a flag: a whole number 2..8. */
export function parseScale(value: string): number {
  const scale = Number(value);
  if (!(Number.isInteger(scale) && scale >= 2 && scale <= 8)) throw new SrError(`--scale must be an integer 2..8, got '${value}'`);
  return scale;
}

/**
 * An alpha sweep ("0,0.25,0.5,0.75,1"): network-interpolation weights from 0 (SRResNet) to 1
 * (SRGAN), each once. Returned in the order given; a bad list is one line naming the bad entry.
 */
export function parseAlphaList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => p === '')) {
    throw new SrError(`--alpha-sweep takes numbers from 0 to 1 separated by commas (e.g. 0,0.25,0.5,0.75,1), got '${value}'`);
  }
  const out: number[] = [];
  for (const p of parts) {
    const a = Number(p);
    if (!Number.isFinite(a)) throw new SrError(`--alpha-sweep: '${p}' is not a number (give values from 0 to 1, e.g. 0,0.5,1)`);
    if (a < 0 || a > 1) throw new SrError(`--alpha-sweep: ${p} is outside 0..1 (0 = srresnet, 1 = srgan)`);
    if (out.includes(a)) throw new SrError(`--alpha-sweep: ${p} is listed twice`);
    out.push(a);
  }
  return out;
}

/** A count from a flag: a whole number >= 1. */
export function parseCount(value: string, flag: string): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1)) throw new SrError(`${flag} must be a whole number >= 1, got '${value}'`);
  return n;
}
