// The upscalers a worker keeps loaded, by model and engine, so consecutive jobs of a batch reuse
// one ONNX session instead of loading the weights again. Jobs running at once share an upscaler
// (its engine spreads their tiles over its threads). At most `keep` idle ones stay loaded.
import { loadModelSource, sourceKey, type ModelSpec } from '../inference/model_source.js';
import { Upscaler } from '../inference/upscale.js';
import type { EngineName } from '../inference/engine.js';

interface Entry {
  upscaler: Promise<Upscaler>;
  users: number;
}

export interface UpscalerLease {
  upscaler: Upscaler;
  release(): void;
}

export class UpscalerPool {
  private readonly entries = new Map<string, Entry>();

  /** `threads`: ONNX Runtime threads of each upscaler (one single-threaded session per thread). */
  constructor(private readonly threads: number, private readonly keep = 2) {}

  async acquire(spec: ModelSpec, engine: EngineName): Promise<UpscalerLease> {
    const key = JSON.stringify([sourceKey(spec), engine]);
    let e = this.entries.get(key);
    if (!e) {
      const entry: Entry = { upscaler: loadModelSource(spec).then((src) => Upscaler.fromSource(src, { engine, threads: this.threads })), users: 0 };
      // A failed load is not kept: the next job tries again (the file may have been fixed).
      entry.upscaler.catch(() => this.entries.get(key) === entry && this.entries.delete(key));
      e = entry;
    }
    this.entries.delete(key);
    this.entries.set(key, e); // most recently used last
    e.users += 1;
    const entry = e;
    try {
      const upscaler = await entry.upscaler;
      let released = false;
      return {
        upscaler,
        release: () => {
          if (released) return;
          released = true;
          entry.users -= 1;
          this.trim();
        },
      };
    } catch (err) {
      entry.users -= 1;
      throw err;
    }
  }

  private trim(): void {
    for (const [key, e] of this.entries) {
      if (this.entries.size <= this.keep) break;
      if (e.users > 0) continue;
      this.entries.delete(key);
      void e.upscaler.then((u) => u.dispose(), () => undefined);
    }
  }

  async dispose(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.upscaler.then((u) => u.dispose(), () => undefined)));
  }
}
