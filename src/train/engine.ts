// What a replica asks of the engine that computes its gradients: for one micro-batch of one
// phase, the gradient of the trained network's weights, its moved batch-norm statistics and
// the loss terms. The weights come from the replica's NetStates; the engine never changes them.
import type { Losses, Shard } from './shard.js';
import type { NetState } from './net_state.js';
import type { Phase } from './objectives.js';

export const ENGINES = ['onnx', 'tfjs'] as const;
export type EngineName = (typeof ENGINES)[number];

export interface MicroResult {
  grads: Float32Array;
  /** The trained network's moving statistics after this micro-batch. */
  stats: Float32Array;
  losses: Losses;
}

export interface StepEngine {
  readonly name: EngineName;
  /**
   * `index` numbers the micro-batches of a step: a d phase uses the generator output that the
   * g phase computed for the micro-batch of the same index.
   */
  gradients(phase: Phase, shard: Shard, index: number, nets: { g: NetState; d?: NetState }): Promise<MicroResult>;
  dispose(): Promise<void>;
}
