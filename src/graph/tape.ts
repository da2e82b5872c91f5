// Reverse-mode differentiation over a GraphBuilder: every differentiable op records, next to the
// forward nodes it emitted, a closure that emits its gradient nodes. `backward` walks the record
// once in reverse, so the gradient graph is generated op by op with one rule per op type, as
// ONNX Runtime's own training front end does it. Only values that depend on a watched value
// (a trained weight, or an input whose gradient is wanted) carry gradients; a rule is asked only
// for the input gradients that someone needs, so frozen networks (VGG, D in the generator phase)
// cost their input gradients and nothing for their weights.
import { GraphBuilder, type Value } from './builder.js';

export type Grad = Value | null;

interface Entry {
  scope: string;
  ins: readonly Value[];
  outs: readonly Value[];
  back: (gOut: readonly Grad[]) => readonly Grad[];
}

export class Tape {
  private readonly entries: Entry[] = [];
  private readonly live = new Set<string>();

  constructor(readonly g: GraphBuilder) {}

  watch<V extends Value>(v: V): V {
    this.live.add(v.name);
    return v;
  }

  needs(v: Value): boolean {
    return this.live.has(v.name);
  }

  record(ins: readonly Value[], outs: readonly Value[], back: Entry['back']): void {
    if (!ins.some((v) => this.needs(v))) return;
    for (const o of outs) this.live.add(o.name);
    this.entries.push({ scope: this.g.scope, ins, outs, back });
  }

  /** Gradients of the scalar `loss` with respect to every watched value that it depends on. */
  backward(loss: Value): Map<string, Value> {
    const grads = new Map<string, Value>();
    grads.set(loss.name, this.g.constant([1], loss.shape));
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const e = this.entries[i]!;
      const gOut = e.outs.map((o) => grads.get(o.name) ?? null);
      if (gOut.every((x) => x === null)) continue;
      this.g.scope = `${e.scope}~grad`;
      const gIn = e.back(gOut);
      e.ins.forEach((v, k) => {
        const d = gIn[k];
        if (!d || !this.needs(v)) return;
        const prev = grads.get(v.name);
        grads.set(v.name, prev ? this.g.node('Add', [prev, d], {}, v.shape) : d);
      });
    }
    this.g.scope = '';
    return grads;
  }
}
