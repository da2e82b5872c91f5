// An exponential moving average of a network's trainable weights (Polyak averaging; BasicSR keeps
// one as net_g_ema). The last iterate of Adam jitters around the minimum it approaches, and a
// GAN's generator oscillates against its discriminator; the average sits nearer the middle. A run
// that keeps one validates and ships the average.
import type { NamedArray } from '../models/safetensors.js';
import type { NetState } from './net_state.js';
import { SrError } from '../util/errors.js';

export class WeightAverage {
  readonly values: Float32Array;

  constructor(
    private readonly net: NetState,
    readonly decay: number,
  ) {
    this.values = net.weights.slice();
  }

  /** Folds in the weights after an optimiser step. */
  update(): void {
    const { values, decay } = this;
    const w = this.net.weights;
    const keep = Math.fround(decay);
    const take = Math.fround(1 - decay);
    for (let i = 0; i < values.length; i++) values[i] = keep * values[i]! + take * w[i]!;
  }

  /**
   * The averaged network by name: averaged trainable weights with the current batch-norm moving
   * statistics (themselves averages over recent batches), as BasicSR copies its buffers.
   */
  arrays(): NamedArray[] {
    return this.net.arrays(this.values);
  }

  /** Takes the average saved by a checkpoint; a checkpoint without one restarts it from the weights. */
  load(saved: ReadonlyMap<string, NamedArray> | null, source: string): void {
    if (!saved) {
      this.values.set(this.net.weights);
      return;
    }
    for (const s of this.net.trainable) {
      const a = saved.get(s.name);
      if (!a || a.data.length !== s.size) throw new SrError(`${source}: averaged weight '${s.name}' in generator_ema.safetensors is missing or mis-shaped; remove that file to restart the average from the checkpoint's weights`);
      this.values.set(a.data, s.offset);
    }
  }
}
