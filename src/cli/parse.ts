// Flag parsing shared by the subcommands, so every command words the same mistake the same way.
import { SrError } from '../util/errors.js';

/** What a number flag accepts; the error message is made from it. */
export interface NumberRule {
  /** whole numbers only */
  int?: boolean;
  min?: number;
  max?: number;
  /** an open lower bound (a positive amount: above 0) */
  above?: number;
  /** what it counts, for the message: 'seconds', 'megapixels' */
  unit?: string;
}

function describe(r: NumberRule): string {
  const range =
    r.min !== undefined && r.max !== undefined ? ` from ${r.min} to ${r.max}`
    : r.min !== undefined ? ` >= ${r.min}`
    : r.above !== undefined ? ` > ${r.above}`
    : r.max !== undefined ? ` <= ${r.max}`
    : '';
  return `${r.int ? 'a whole number' : 'a number'}${r.unit ? ` of ${r.unit}` : ''}${range}`;
}

/** A number from a flag's text, e.g. parseNumber(v, '--tile', { int: true, min: 16, max: 4096 }). */
export function parseNumber(value: string, flag: string, rule: NumberRule = {}): number {
  const n = value.trim() === '' ? NaN : Number(value);
  const ok =
    Number.isFinite(n) && (!rule.int || Number.isInteger(n)) && (rule.min === undefined || n >= rule.min) &&
    (rule.max === undefined || n <= rule.max) && (rule.above === undefined || n > rule.above);
  if (!ok) throw new SrError(`${flag} must be ${describe(rule)}, got '${value}'`);
  return n;
}

/** parseNumber for a flag that may be absent. */
export function parseOptionalNumber(value: string | undefined, flag: string, rule: NumberRule = {}): number | undefined {
  return value === undefined ? undefined : parseNumber(value, flag, rule);
}

/** A TCP port from a flag (0: any free port). */
export function parsePort(value: string): number {
  return parseNumber(value, '--port', { int: true, min: 0, max: 65535 });
}

/** An upscaling factor from a flag: a whole number 2..8. */
export function parseScale(value: string): number {
  return parseNumber(value, '--scale', { int: true, min: 2, max: 8 });
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
  return parseNumber(value, flag, { int: true, min: 1 });
}
