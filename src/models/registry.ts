// Architectures are registered by name and built from a small, validated config object, so the
// CLI, trainer, evaluator and exporter all find a network the same way:
//   buildModel({ type: 'srresnet', scale: 4, blocks: 16 })
// Registration is explicit (models/index.ts imports each architecture), never by scanning files.
import type * as tfl from '@tensorflow/tfjs-layers';
import { SrError, closest } from '../util/errors.js';
import { namedRegistry } from '../util/registry.js';
import type { NetSpec } from './spec.js';

export type ConfigValue = number | string | boolean;
export type ModelConfig = { readonly type: string } & Readonly<Record<string, ConfigValue>>;

export interface FieldSpec {
  kind: 'int' | 'number' | 'string' | 'boolean';
  default: ConfigValue;
  /** Allowed values (for int/string fields), or [min, max] via min/max. */
  oneOf?: readonly ConfigValue[];
  min?: number;
  max?: number;
  help: string;
}

export interface Architecture<C extends ModelConfig = ModelConfig> {
  name: string;
  description: string;
  fields: Readonly<Record<string, FieldSpec>>;
  build(config: C): tfl.LayersModel;
  /** The layer list both engines read (models/spec.ts); networks the trainer never trains may lack one. */
  describe?(config: C): NetSpec;
  /** Parameter count from the formula, independent of TF.js (tests compare the two). */
  paramCount(config: C): number;
  /** Forward-pass FLOPs (multiply + add = 2) for an input of h x w pixels, documented per architecture. */
  flops?(config: C, h: number, w: number): number;
}

const registry = namedRegistry<Architecture>('model type');

export function registerArchitecture<C extends ModelConfig>(arch: Architecture<C>): void {
  registry.register(arch.name, arch as unknown as Architecture);
}

export function architectureNames(): string[] {
  return registry.names();
}

export function getArchitecture(name: string): Architecture {
  return registry.get(name);
}

/** Fills defaults and checks every field; returns a frozen config. Unknown keys are an error. */
export function resolveConfig(input: { type: string } & Record<string, unknown>): ModelConfig {
  const arch = getArchitecture(input.type);
  const out: Record<string, ConfigValue> = { type: arch.name };
  for (const key of Object.keys(input)) {
    if (key !== 'type' && !(key in arch.fields)) {
      const hint = closest(key, Object.keys(arch.fields));
      throw new SrError(`'${arch.name}' has no option '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}; options: ${Object.keys(arch.fields).join(', ')}`);
    }
  }
  for (const [key, spec] of Object.entries(arch.fields)) {
    const raw = input[key] ?? spec.default;
    out[key] = checkField(`${arch.name}.${key}`, spec, raw);
  }
  return Object.freeze(out) as ModelConfig;
}

/**
 * One value against its spec; `where` names it in the message the way its reader knows it
 * (`srresnet.scale` in a model config, `--scale` for a training flag).
 */
export function checkField(where: string, spec: Pick<FieldSpec, 'kind' | 'oneOf' | 'min' | 'max'>, raw: unknown): ConfigValue {
  let v: ConfigValue;
  if (spec.kind === 'int' || spec.kind === 'number') {
    const n = typeof raw === 'string' ? Number(raw) : raw;
    if (typeof n !== 'number' || !Number.isFinite(n)) throw new SrError(`${where} must be a number, got ${JSON.stringify(raw)}`);
    if (spec.kind === 'int' && !Number.isInteger(n)) throw new SrError(`${where} must be a whole number, got ${n}`);
    const what = spec.kind === 'int' ? 'a whole number ' : '';
    if (spec.min !== undefined && n < spec.min) throw new SrError(`${where} must be ${what}>= ${spec.min}, got ${n}`);
    if (spec.max !== undefined && n > spec.max) throw new SrError(`${where} must be ${what}<= ${spec.max}, got ${n}`);
    v = n;
  } else if (spec.kind === 'boolean') {
    if (typeof raw !== 'boolean') throw new SrError(`${where} must be true or false, got ${JSON.stringify(raw)}`);
    v = raw;
  } else {
    if (typeof raw !== 'string') throw new SrError(`${where} must be text, got ${JSON.stringify(raw)}`);
    v = raw;
  }
  if (spec.oneOf && !spec.oneOf.includes(v)) {
    const choices = spec.oneOf.map(String);
    const list = choices.length > 1 ? `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}` : choices.join('');
    throw new SrError(`${where} must be ${list}, got ${typeof v === 'string' ? `'${v}'` : v}`);
  }
  return v;
}

/** Validates the config and builds the network. */
export function buildModel(config: { type: string } & Record<string, unknown>): tfl.LayersModel {
  const resolved = resolveConfig(config);
  return getArchitecture(resolved.type).build(resolved);
}
