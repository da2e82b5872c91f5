// Super-resolution methods the evaluation can run, by name. The interpolation baselines live here;
// learned models plug in through registerMethodResolver, so this module never imports the model
// code (and evaluating bicubic never loads TF.js).
import { SrError, closest } from '../util/errors.js';
import type { Image } from '../io/image.js';
import { imresize, imresizeAs8 } from '../data/resize.js';

export interface Method {
  name: string;
  run(lr: Image, scale: number): Promise<Image>;
}

export type MethodResolver = (name: string) => Method | undefined | Promise<Method | undefined>;

interface ResolverEntry {
  resolve: MethodResolver;
  /** Names (or forms such as 'srresnet-x4', '<weights.json>') listed when a name is unknown. */
  known: () => readonly string[];
}

const builtins = new Map<string, () => Method>([
  [
    'nearest',
    () => ({
      name: 'nearest',
      // Replication keeps samples as they are, so no rounding is involved.
      run: async (lr, scale) => imresize(lr, { scale }, 'nearest'),
    }),
  ],
  [
    'bicubic',
    () => ({
      name: 'bicubic',
      // MATLAB imresize on the uint8 LR, as the literature's bicubic rows were made.
      run: async (lr, scale) => imresizeAs8(lr, { scale }, 'bicubic'),
    }),
  ],
  [
    'bilinear',
    () => ({
      name: 'bilinear',
      run: async (lr, scale) => imresizeAs8(lr, { scale }, 'bilinear'),
    }),
  ],
]);

const resolvers: ResolverEntry[] = [];

// Network interpolation between the two shipped models is a method too: 'alpha=0.25' is
// (1 - 0.25) SRResNet + 0.25 SRGAN. The name is defined here, with no model code, so the
// evaluation can build the names of an alpha sweep; the inference side resolves them.
const ALPHA_PREFIX = 'alpha=';

/** The method name of the blend at `alpha` ('alpha=0.25'). */
export function alphaMethodName(alpha: number): string {
  return `${ALPHA_PREFIX}${alpha}`;
}

/** The alpha of a blend's method name, or undefined when `name` is not one (or alpha is not in 0..1). */
export function alphaOfMethodName(name: string): number | undefined {
  if (!name.startsWith(ALPHA_PREFIX)) return undefined;
  const text = name.slice(ALPHA_PREFIX.length).trim();
  const a = Number(text);
  return text !== '' && Number.isFinite(a) && a >= 0 && a <= 1 ? a : undefined;
}

/**
 * Adds a resolver consulted (in registration order, after the built-in names) for names this
 * module does not know, e.g. model names or weight paths. Returns a function that removes it.
 */
export function registerMethodResolver(resolve: MethodResolver, known: () => readonly string[] = () => []): () => void {
  const entry = { resolve, known };
  resolvers.push(entry);
  return () => {
    const i = resolvers.indexOf(entry);
    if (i >= 0) resolvers.splice(i, 1);
  };
}

export function knownMethodNames(): string[] {
  const names = [...builtins.keys()];
  for (const r of resolvers) for (const n of r.known()) if (!names.includes(n)) names.push(n);
  return names;
}

export async function resolveMethod(name: string): Promise<Method> {
  const b = builtins.get(name);
  if (b) return b();
  for (const r of resolvers) {
    const m = await r.resolve(name);
    if (m) return m;
  }
  const known = knownMethodNames();
  const hint = closest(name, known);
  throw new SrError(`unknown method '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}; known methods: ${known.join(', ')}`);
}

/** Parses "a,b,c" and resolves every name, reporting the first unknown one. */
export async function resolveMethods(list: string): Promise<Method[]> {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (names.length === 0) throw new SrError(`no methods given (known methods: ${knownMethodNames().join(', ')})`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new SrError(`method '${dup}' is listed twice`);
  const out: Method[] = [];
  for (const n of names) out.push(await resolveMethod(n));
  return out;
}
