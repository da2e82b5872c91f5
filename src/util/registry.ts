// Things registered by name (architectures, training objectives): one place for the "registered
// twice" check and the unknown-name error with its "did you mean" hint.
import { SrError, closest } from './errors.js';

export interface NamedRegistry<T> {
  register(name: string, item: T): void;
  names(): string[];
  /** The item, or an SrError naming the known ones. */
  get(name: string): T;
}

/** `what` names the kind in errors, e.g. 'model type' or 'training mode'. */
export function namedRegistry<T>(what: string): NamedRegistry<T> {
  const items = new Map<string, T>();
  const names = () => [...items.keys()].sort();
  return {
    register(name, item) {
      if (items.has(name)) throw new Error(`${what} '${name}' registered twice`);
      items.set(name, item);
    },
    names,
    get(name) {
      const item = items.get(name);
      if (item === undefined) {
        const hint = closest(name, names());
        throw new SrError(`unknown ${what} '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}; known: ${names().join(', ')}`);
      }
      return item;
    },
  };
}
