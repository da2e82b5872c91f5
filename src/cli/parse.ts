// Flag parsing shared by the subcommands, so every command words the same mistake the same way.
import { SrError } from '../util/errors.js';

/** An upscaling factor from a flag: a whole number 2..8. */
export function parseScale(value: string): number {
  const scale = Number(value);
  if (!(Number.isInteger(scale) && scale >= 2 && scale <= 8)) throw new SrError(`--scale must be an integer 2..8, got '${value}'`);
  return scale;
}

/** A count from a flag: a whole number >= 1. */
export function parseCount(value: string, flag: string): number {
  const n = Number(value);
  if (!(Number.isInteger(n) && n >= 1)) throw new SrError(`${flag} must be a whole number >= 1, got '${value}'`);
  return n;
}
