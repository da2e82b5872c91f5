// The training engine on ONNX Runtime's native CPU kernels: one generated graph per phase and
// micro-batch shape (step_graph.ts), built on first use and kept for the run.
import ort from 'onnxruntime-node';
import type { NetSpec } from '../models/spec.js';
import type { NamedArray } from '../models/safetensors.js';
import { warpTables } from '../video/warp.js';
import { buildStepGraph, type StepGraph, type StepShape } from './step_graph.js';
import type { StepEngine, MicroResult } from './engine.js';
import type { NetState } from './net_state.js';
import type { Objective, Phase, LossSettings } from './objectives.js';
import { splitFlowAux, type Shard, type Losses } from './shard.js';

export interface OnnxEngineOptions {
  objective: Objective;
  specs: { g: NetSpec; d?: NetSpec };
  settings: LossSettings;
  vgg?: NamedArray[];
  /** Intra-op threads of each session. */
  threads: number;
  /** ONNX Runtime's per-node profiler writes a JSON trace with this prefix (benchmarks). */
  profilePrefix?: string;
}

interface Compiled {
  graph: StepGraph;
  session: ort.InferenceSession;
}

export class OnnxEngine implements StepEngine {
  readonly name = 'onnx' as const;
  private readonly compiled = new Map<string, Compiled>();
  /** NCHW generator outputs of the last g phase, by micro-batch index (the d phase's fakes). */
  private readonly fakes = new Map<number, ort.Tensor>();

  constructor(private readonly o: OnnxEngineOptions) {}

  private async session(phase: Phase, shape: StepShape, nets: { g: NetState; d?: NetState }): Promise<Compiled> {
    const key = `${phase}:${shape.n}:${shape.frames}:${shape.lrSize}:${shape.hrSize}:${shape.auxChannels}:${shape.classes ?? 0}`;
    const hit = this.compiled.get(key);
    if (hit) return hit;
    const graph = buildStepGraph({
      objective: this.o.objective,
      phase,
      shape,
      nets: { g: { spec: this.o.specs.g, state: nets.g }, ...(this.o.specs.d && nets.d ? { d: { spec: this.o.specs.d, state: nets.d } } : {}) },
      ...(this.o.vgg ? { vgg: this.o.vgg } : {}),
      settings: this.o.settings,
    });
    const session = await ort.InferenceSession.create(graph.bytes, {
      intraOpNumThreads: this.o.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // Idle pool threads would spin between steps and steal the data workers' core.
      extra: { session: { intra_op: { allow_spinning: '0' } } },
      logSeverityLevel: 3,
      ...(this.o.profilePrefix ? { enableProfiling: true, profileFilePrefix: `${this.o.profilePrefix}-${phase}` } : {}),
    });
    const c = { graph, session };
    this.compiled.set(key, c);
    return c;
  }

  /** The step graph of a phase and shape, as built for the session (tests and profiles read it). */
  async graphFor(phase: Phase, shape: StepShape, nets: { g: NetState; d?: NetState }): Promise<StepGraph> {
    return (await this.session(phase, shape, nets)).graph;
  }

  async gradients(phase: Phase, s: Shard, index: number, nets: { g: NetState; d?: NetState }): Promise<MicroResult> {
    const frames = s.frames ?? 1;
    const shape: StepShape = { n: s.n, frames, lrSize: s.lrSize, hrSize: s.hrSize, auxChannels: s.auxChannels ?? 0, ...(s.classes ? { classes: s.classes } : {}) };
    const { graph, session } = await this.session(phase, shape, nets);
    const feeds: Record<string, ort.Tensor> = {};
    const feedNet = (prefix: string, st: NetState) => {
      for (const slot of st.trainable) feeds[`${prefix}/${slot.name}`] = new ort.Tensor('float32', st.weights.subarray(slot.offset, slot.offset + slot.size), slot.shape);
      for (const slot of st.stats) feeds[`${prefix}/${slot.name}`] = new ort.Tensor('float32', st.statValues.subarray(slot.offset, slot.offset + slot.size), slot.shape);
    };
    if (phase === 'g') feedNet('g', nets.g);
    if (nets.d && this.o.specs.d) feedNet('d', nets.d);
    const P = s.hrSize;
    const own = this.o.objective.inputs?.(shape);
    if (own) {
      const data = this.o.objective.feed!(s);
      for (const [name, dims] of Object.entries(own)) feeds[name] = new ort.Tensor('float32', data[name]!, dims);
    } else if (phase === 'g') {
      feeds['hr'] = new ort.Tensor('float32', s.hr, [s.n * frames, P, P, 3]);
      feeds['lr'] = new ort.Tensor('float32', s.lr, [s.n * frames, s.lrSize, s.lrSize, 3]);
      Object.assign(feeds, this.auxFeeds(s));
    } else {
      feeds['hr'] = new ort.Tensor('float32', s.hr, [s.n * frames, P, P, 3]);
      const fake = this.fakes.get(index);
      if (!fake) throw new Error('discriminator phase without a preceding generator phase');
      feeds['fake'] = fake;
    }
    const out = await session.run(feeds);
    const trained = phase === 'g' ? nets.g : nets.d!;
    const grads = new Float32Array(trained.weights.length);
    for (const slot of trained.trainable) grads.set(out[`grad/${slot.name}`]!.data as Float32Array, slot.offset);
    const stats = new Float32Array(trained.statValues.length);
    for (const slot of trained.stats) stats.set(out[`stat/${slot.name}`]!.data as Float32Array, slot.offset);
    const losses: Losses = {};
    for (const name of graph.termNames) losses[name] = (out[`loss/${name}`]!.data as Float32Array)[0]!;
    losses[phase === 'g' ? 'g_total' : 'd_total'] = (out['total']!.data as Float32Array)[0]!;
    if (phase === 'd') this.fakes.delete(index);
    for (const [name, tensor] of Object.entries(out)) {
      if (name === 'sr' && graph.returnsSr) this.fakes.set(index, tensor);
      else tensor.dispose();
    }
    return { grads, stats, losses };
  }

  private auxFeeds(s: Shard): Record<string, ort.Tensor> {
    const name = this.o.objective.name;
    if (name !== 'sosr' && name !== 'tosr') return {};
    const aux = s.aux;
    const P = s.hrSize;
    if (!aux) throw new Error(`${name} needs per-pixel data with each sample (a sequence dataset)`);
    // One channel per pixel is the same bytes in NHWC and NCHW.
    if (name === 'sosr') return { 'aux/weights': new ort.Tensor('float32', aux, [s.n, 1, P, P]) };
    const px = s.n * P * P;
    const { flow, mask } = splitFlowAux(aux, px);
    const w = warpTables(flow, s.n, P, P);
    return {
      'aux/warp_indices': new ort.Tensor('int64', BigInt64Array.from(w.indices, (v) => BigInt(v)), [w.indices.length]),
      'aux/warp_weights': new ort.Tensor('float32', w.weights, [4, px, 1]),
      'aux/mask': new ort.Tensor('float32', mask, [s.n, 1, P, P]),
    };
  }

  async dispose(): Promise<void> {
    for (const t of this.fakes.values()) t.dispose();
    this.fakes.clear();
    for (const c of this.compiled.values()) await c.session.release();
    this.compiled.clear();
  }
}
