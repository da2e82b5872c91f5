// One copy of everything a training step needs (networks, their weights and Adam state, the
// gradient engine), able to run in the main thread or in a worker thread. A step runs the
// objective's phases in order (SRGAN: generator, then discriminator). In each phase every replica
// computes the gradient of its shard, the exchange averages the gradients of all replicas, and
// each replica applies the same averaged gradient, so the replicas stay identical.
//
// Batch-norm statistics are per shard (as in data-parallel training without SyncBN). To keep a
// run independent of how many threads execute it, a replica can also process its shard as
// several micro-batches (`accumulate`): 1 worker x 2 micro-batches computes exactly what 2
// workers x 1 micro-batch do, up to float rounding.
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildModel, getArchitecture, type ModelConfig } from '../models/index.js';
import { modelToArrays } from '../models/weights.js';
import type { NamedArray } from '../models/safetensors.js';
import { CONTENT_LAYERS, type ContentLoss } from '../losses/perceptual.js';
import type { PixelLoss } from '../losses/pixel.js';
import { loadVgg19 } from '../models/vgg19_weights.js';
import type { GradientExchange } from './exchange.js';
import { NetState } from './net_state.js';
import { getObjective, type Objective, type Phase, type GridPenalty } from './objectives.js';
import type { StepEngine, EngineName } from './engine.js';
import { OnnxEngine } from './engine_onnx.js';
import { TfjsEngine } from './engine_tfjs.js';
import { meanOf, splitShard, type Shard, type Losses } from './shard.js';

export type { Phase } from './objectives.js';
export { meanOf, splitShard, type Shard, type Losses } from './shard.js';

export interface ReplicaSetup {
  mode: string;
  generator: ModelConfig;
  discriminator?: ModelConfig;
  content: ContentLoss;
  /** The generator's pixel loss (default mse). */
  pixelLoss?: PixelLoss;
  vggWeights?: string;
  advWeight: number;
  /** srgan: the sub-pixel grid penalty (absent: none) */
  grid?: GridPenalty;
  beta1: number;
  /** tosr: lambda of the temporal terms */
  temporalWeight?: number;
  /** Which engine computes the gradients (default onnx). */
  engine?: EngineName;
  /** onnx: intra-op threads of this replica's sessions (default 1). */
  threads?: number;
}

interface Net {
  model: tfl.LayersModel;
  state: NetState;
}

export class Replica {
  readonly g: Net;
  readonly d?: Net;
  readonly objective: Objective;
  private engine!: StepEngine;

  private constructor(readonly setup: ReplicaSetup, readonly exchange: GradientExchange, readonly accumulate: number) {
    this.objective = getObjective(setup.mode);
    const adam = { beta1: setup.beta1, beta2: 0.999, epsilon: 1e-8 };
    const net = (config: ModelConfig): Net => {
      const model = buildModel(config);
      const state = new NetState(model, adam);
      state.pull(model);
      return { model, state };
    };
    this.g = net(setup.generator);
    if (this.objective.phases.includes('d')) {
      if (!setup.discriminator) throw new Error(`${setup.mode} mode needs a discriminator config`);
      this.d = net(setup.discriminator);
    }
  }

  static async create(setup: ReplicaSetup, exchange: GradientExchange, accumulate = 1): Promise<Replica> {
    const r = new Replica(setup, exchange, accumulate);
    const vgg = setup.content !== 'mse' ? await loadVgg19(setup.vggWeights!, [CONTENT_LAYERS[setup.content]]) : undefined;
    const settings = {
      content: setup.content, pixel: setup.pixelLoss ?? 'mse', advWeight: setup.advWeight, temporalWeight: setup.temporalWeight ?? 1,
      ...(setup.grid ? { grid: setup.grid } : {}),
    };
    if ((setup.engine ?? 'onnx') === 'tfjs') {
      r.engine = new TfjsEngine({ objective: r.objective, models: { g: r.g.model, ...(r.d ? { d: r.d.model } : {}) }, ...(vgg ? { vgg } : {}), settings });
    } else {
      const describe = (c: ModelConfig) => {
        const arch = getArchitecture(c.type);
        if (!arch.describe) throw new Error(`architecture '${c.type}' has no description for the ONNX training engine`);
        return arch.describe(c);
      };
      const vggArrays = vgg ? modelToArrays(vgg) : undefined;
      vgg?.dispose();
      r.engine = new OnnxEngine({
        objective: r.objective,
        specs: { g: describe(setup.generator), ...(setup.discriminator && r.d ? { d: describe(setup.discriminator) } : {}) },
        settings,
        ...(vggArrays ? { vgg: vggArrays } : {}),
        threads: setup.threads ?? 1,
      });
    }
    return r;
  }

  get engineName(): EngineName {
    return this.engine.name;
  }

  /** Takes the models' weights as the training state (after an initialisation done on the models). */
  pullModels(): void {
    this.g.state.pull(this.g.model);
    if (this.d) this.d.state.pull(this.d.model);
  }

  /** Writes the training state into the models (before validating or saving with them). */
  syncModels(): void {
    this.g.state.push(this.g.model);
    if (this.d) this.d.state.push(this.d.model);
  }

  private nets(): { g: NetState; d?: NetState } {
    return { g: this.g.state, ...(this.d ? { d: this.d.state } : {}) };
  }

  /**
   * Runs one phase on this replica's shard: local gradient (averaged over micro-batches),
   * exchange, identical update everywhere. Returns the losses averaged over all replicas.
   */
  async step(phase: Phase, shard: Shard, learningRate: number): Promise<Losses> {
    const net = phase === 'g' ? this.g : this.d!;
    const micro = splitShard(shard, this.accumulate);
    const gradList: Float32Array[] = [];
    const statList: Float32Array[] = [];
    const lossList: Losses[] = [];
    // Each micro-batch moves the moving statistics from the same starting point, as separate
    // replicas would; the results are averaged below.
    for (let i = 0; i < micro.length; i++) {
      const r = await this.engine.gradients(phase, micro[i]!, i, this.nets());
      gradList.push(r.grads);
      statList.push(r.stats);
      lossList.push(r.losses);
    }
    const names = Object.keys(lossList[0]!);
    const localLoss = Float32Array.from(names.map((k) => lossList.reduce((a, l) => a + l[k]!, 0) / lossList.length));
    const grads = gradList.length === 1 ? gradList[0]! : meanOf(gradList);
    const stats = statList.length === 1 ? statList[0]! : meanOf(statList);
    // One exchange per phase: gradients, then statistics and losses appended.
    const packed = new Float32Array(grads.length + stats.length + localLoss.length);
    packed.set(grads, 0);
    packed.set(stats, grads.length);
    packed.set(localLoss, grads.length + stats.length);
    const avg = this.exchange.size > 1 ? await this.exchange.allReduceMean(packed) : packed;
    net.state.applyAdam(avg.subarray(0, grads.length), learningRate);
    net.state.setStats(avg.subarray(grads.length, grads.length + stats.length));
    const out: Losses = {};
    names.forEach((k, i) => (out[k] = avg[grads.length + stats.length + i]!));
    return out;
  }

  /** Weights and optimizer moments of every network, by stable name (copies). */
  state(): { g: NamedArray[]; d?: NamedArray[]; opt: NamedArray[]; optStep: { g: number; d: number } } {
    const copy = (a: NamedArray[]) => a.map((x) => ({ ...x, data: x.data.slice() }));
    return {
      g: copy(this.g.state.arrays()),
      ...(this.d ? { d: copy(this.d.state.arrays()) } : {}),
      opt: copy([...this.g.state.optimizerArrays('G/'), ...(this.d ? this.d.state.optimizerArrays('D/') : [])]),
      optStep: { g: this.g.state.step, d: this.d ? this.d.state.step : 0 },
    };
  }

  loadState(s: { g: NamedArray[]; d?: NamedArray[]; opt?: NamedArray[]; optStep?: { g: number; d: number } }, source: string): void {
    if (s.opt && !s.optStep) throw new Error(`${source}: optimizer moments without their step count`);
    const opt = s.opt ? new Map(s.opt.map((a) => [a.name, a])) : null;
    this.g.state.load(new Map(s.g.map((a) => [a.name, a])), source, opt ? { prefix: 'G/', arrays: opt, step: s.optStep!.g } : undefined);
    if (this.d && s.d) this.d.state.load(new Map(s.d.map((a) => [a.name, a])), source, opt ? { prefix: 'D/', arrays: opt, step: s.optStep!.d } : undefined);
    this.syncModels();
  }

  async dispose(): Promise<void> {
    await this.engine.dispose();
    this.g.model.dispose();
    this.d?.model.dispose();
  }
}
