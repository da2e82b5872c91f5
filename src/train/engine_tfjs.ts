// The reference training engine: TF.js (WASM) with its own autodiff. The replica's NetStates are
// mirrored into the TF.js models before each micro-batch; only what changed is copied.
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { namedWeights } from '../models/weights.js';
import { warpPlan } from '../video/warp.js';
import type { StepEngine, MicroResult } from './engine.js';
import type { NetState } from './net_state.js';
import type { Objective, Phase, LossSettings, TfjsPhase } from './objectives.js';
import { splitFlowAux, type Shard, type Losses } from './shard.js';

export interface TfjsEngineOptions {
  objective: Objective;
  models: { g: tfl.LayersModel; d?: tfl.LayersModel };
  vgg?: tfl.LayersModel;
  settings: LossSettings;
}

function flatten(tensors: readonly tf.Tensor[]): Float32Array {
  const out = new Float32Array(tensors.reduce((a, t) => a + t.size, 0));
  let off = 0;
  for (const t of tensors) {
    out.set(t.dataSync() as Float32Array, off);
    off += t.size;
  }
  return out;
}

export class TfjsEngine implements StepEngine {
  readonly name = 'tfjs' as const;
  private readonly fakes = new Map<number, tf.Tensor4D>();
  private readonly mirrored = new Map<NetState, number>();

  constructor(private readonly o: TfjsEngineOptions) {}

  private mirror(state: NetState, model: tfl.LayersModel): void {
    if (this.mirrored.get(state) === state.version) return;
    state.push(model);
    this.mirrored.set(state, state.version);
  }

  private trainables(model: tfl.LayersModel): tf.Variable[] {
    return namedWeights(model).filter((w) => w.variable.trainable).map((w) => w.variable.read() as tf.Variable);
  }

  async gradients(phase: Phase, s: Shard, index: number, nets: { g: NetState; d?: NetState }): Promise<MicroResult> {
    const { g: gModel, d: dModel } = this.o.models;
    this.mirror(nets.g, gModel);
    if (nets.d && dModel) this.mirror(nets.d, dModel);
    const frames = s.frames ?? 1;
    const shape = { n: s.n, frames, lrSize: s.lrSize, hrSize: s.hrSize, auxChannels: s.auxChannels ?? 0, ...(s.classes ? { classes: s.classes } : {}) };
    const own = this.o.objective.inputs?.(shape);
    const data = own ? this.o.objective.feed!(s) : {};
    const inputs = Object.fromEntries(Object.entries(own ?? {}).map(([k, dims]) => [k, tf.tensor(data[k]!, dims)]));
    // objectives with inputs of their own have no images
    const lr = own ? tf.zeros([1, 1, 1, 3]) as tf.Tensor4D : tf.tensor4d(s.lr, [s.n * frames, s.lrSize, s.lrSize, 3]);
    const hr = own ? tf.zeros([1, 1, 1, 3]) as tf.Tensor4D : tf.tensor4d(s.hr, [s.n * frames, s.hrSize, s.hrSize, 3]);
    const aux = phase === 'g' ? this.auxInputs(s) : {};
    const model = phase === 'g' ? gModel : dModel!;
    const parts: Record<string, tf.Scalar> = {};
    try {
      const { value, grads } = tf.variableGrads(() => {
        const p: TfjsPhase = {
          lr, hr, aux, inputs, generator: gModel, settings: this.o.settings,
          ...(dModel ? { discriminator: dModel } : {}),
          ...(this.o.vgg ? { vgg: this.o.vgg } : {}),
          ...(phase === 'd' ? { fake: this.takeFake(index) } : {}),
        };
        const r = this.o.objective.tfjsLoss(phase, p);
        for (const [k, v] of Object.entries(r.terms)) parts[k] = tf.keep(v);
        if (r.sr) this.fakes.set(index, tf.keep(r.sr));
        return r.total;
      }, this.trainables(model));
      const ordered = this.trainables(model).map((v) => grads[v.name]!);
      const losses: Losses = {};
      for (const [k, t] of Object.entries(parts)) losses[k] = t.dataSync()[0]!;
      losses[phase === 'g' ? 'g_total' : 'd_total'] = value.dataSync()[0]!;
      const result = { grads: flatten(ordered), stats: this.readStats(model), losses };
      tf.dispose([value, ...Object.values(grads)]);
      // The layers moved their statistics in place: the NetStates are still the truth.
      this.mirrored.delete(nets.g);
      if (nets.d) this.mirrored.delete(nets.d);
      return result;
    } finally {
      tf.dispose([lr, hr, ...Object.values(inputs), ...Object.values(parts)]);
      aux.plan?.dispose();
      tf.dispose([aux.weights, aux.mask].filter((t): t is tf.Tensor4D => t !== undefined));
      if (phase === 'd') {
        this.fakes.get(index)?.dispose();
        this.fakes.delete(index);
      }
    }
  }

  private takeFake(index: number): tf.Tensor4D {
    const f = this.fakes.get(index);
    if (!f) throw new Error('discriminator phase without a preceding generator phase');
    return f;
  }

  private readStats(model: tfl.LayersModel): Float32Array {
    return flatten(namedWeights(model).filter((w) => !w.variable.trainable).map((w) => w.variable.read()));
  }

  /** The per-pixel inputs of the video losses, from the shard's aux data. */
  private auxInputs(s: Shard): TfjsPhase['aux'] {
    const name = this.o.objective.name;
    if (name !== 'sosr' && name !== 'tosr') return {};
    const P = s.hrSize;
    const aux = s.aux;
    if (!aux) throw new Error(`${name} needs per-pixel data with each sample (a sequence dataset)`);
    if (name === 'sosr') return { weights: tf.tensor4d(aux, [s.n, P, P, 1]) };
    const px = s.n * P * P;
    const { flow, mask } = splitFlowAux(aux, px);
    return { plan: warpPlan(flow, s.n, P, P), mask: tf.tensor4d(mask, [s.n, P, P, 1]) };
  }

  async dispose(): Promise<void> {
    tf.dispose([...this.fakes.values()]);
    this.fakes.clear();
  }
}
