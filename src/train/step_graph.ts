// One phase of a training step as an ONNX graph: the networks' forward passes in training mode,
// the objective's loss terms, and reverse-mode gradients of the trained network's weights.
//
//   inputs   lr, hr (NHWC, as the datasets hand them over), the mode's per-pixel data,
//            g/<weight> and d/<weight> for every weight of the networks the phase runs
//            (d phase: fake, the generator output of the g phase, NCHW)
//   outputs  loss/<term>, total, grad/<weight> and stat/<moving statistic> of the trained
//            network, and sr (NCHW) when a later phase needs the generator's output
//
// The optimiser stays outside the graph, on flat arrays (net_state.ts), because data-parallel
// replicas must average gradients between computing and applying them.
import { GraphBuilder, ONNX_INT64, type Value } from '../graph/builder.js';
import { Tape } from '../graph/tape.js';
import { emitNetwork, emitVgg19 } from '../graph/network.js';
import { toNchw } from '../graph/ops.js';
import type { NetSpec } from '../models/spec.js';
import type { NamedArray } from '../models/safetensors.js';
import { CONTENT_LAYERS } from '../losses/perceptual.js';
import type { NetState } from './net_state.js';
import type { Objective, Phase, LossSettings, GraphPhase } from './objectives.js';

export interface StepShape {
  /** Samples in the micro-batch. */
  n: number;
  /** Frames per sample (video modes: 1 for sosr, 2 for tosr). */
  frames: number;
  lrSize: number;
  hrSize: number;
  auxChannels: number;
  /** recognizer: classes of the labels */
  classes?: number;
}

export interface StepGraphSpec {
  objective: Objective;
  phase: Phase;
  shape: StepShape;
  nets: { g: { spec: NetSpec; state: NetState }; d?: { spec: NetSpec; state: NetState } };
  /** Frozen VGG19 weights when the content loss is a VGG loss; they become initializers. */
  vgg?: NamedArray[];
  settings: LossSettings;
}

export interface StepGraph {
  bytes: Uint8Array;
  termNames: string[];
  /** Whether the graph returns `sr` (the generator output a d phase needs). */
  returnsSr: boolean;
  /** ONNX op types, in graph order. */
  ops: string[];
}

export function buildStepGraph(s: StepGraphSpec): StepGraph {
  const g = new GraphBuilder();
  const t = new Tape(g);
  const { n, frames, lrSize, hrSize } = s.shape;
  const trained = s.phase === 'g' ? 'g' : 'd';
  const netWeights = (prefix: 'g' | 'd', state: NetState) => {
    const m = new Map<string, Value>();
    for (const slot of state.trainable) {
      const v = g.input(`${prefix}/${slot.name}`, slot.shape);
      m.set(slot.name, prefix === trained ? t.watch(v) : v);
    }
    for (const slot of state.stats) m.set(slot.name, g.input(`${prefix}/${slot.name}`, slot.shape));
    return m;
  };
  const gw = s.phase === 'g' ? netWeights('g', s.nets.g.state) : null;
  const dw = s.nets.d ? netWeights('d', s.nets.d.state) : null;

  const inputs: Record<string, Value> = {};
  for (const [name, shape] of Object.entries(s.objective.inputs?.(s.shape) ?? {})) inputs[name] = g.input(name, shape);
  // An objective with inputs of its own has no images: lr and hr stand for its first input then.
  const own = Object.values(inputs)[0];
  const hr = own ?? toNchw(t, g.input('hr', [n * frames, hrSize, hrSize, 3]));
  const lr = own ?? (s.phase === 'g' ? toNchw(t, g.input('lr', [n * frames, lrSize, lrSize, 3])) : hr);
  const aux: GraphPhase['aux'] = {};
  if (s.phase === 'g' && s.objective.name === 'sosr') {
    aux.weights = g.input('aux/weights', [n, 1, hrSize, hrSize]);
  }
  if (s.phase === 'g' && s.objective.name === 'tosr') {
    const px = n * hrSize * hrSize;
    aux.warpIndices = g.input('aux/warp_indices', [4 * px], ONNX_INT64);
    aux.warpWeights = g.input('aux/warp_weights', [4, px, 1]);
    aux.mask = g.input('aux/mask', [n, 1, hrSize, hrSize]);
  }
  const fake = s.phase === 'd' ? g.input('fake', [n, 3, hrSize, hrSize]) : undefined;

  let statsOut = new Map<string, Value>();
  // In the d phase each call moves the statistics from where the previous call left them, as the
  // TF.js layer does when it runs on the real batch and then on the fake one.
  let dStats = dw;
  const runG = (x: Value) => {
    const r = emitNetwork(t, s.nets.g.spec, x, gw!);
    if (trained === 'g') statsOut = r.stats;
    return r.outputs;
  };
  const vggWeights = new Map<string, Value>();
  for (const a of s.vgg ?? []) vggWeights.set(a.name, g.constant(a.data, a.shape));
  const phase: GraphPhase = {
    t,
    lr,
    hr,
    ...(fake ? { fake } : {}),
    aux,
    settings: s.settings,
    inputs,
    generator: (x) => runG(x)[0]!,
    outputs: (x) => runG(x),
    discriminator: (x) => {
      const r = emitNetwork(t, s.nets.d!.spec, x, dStats!);
      if (trained === 'd') {
        statsOut = r.stats;
        dStats = new Map([...dw!, ...r.stats]);
      }
      return r.outputs[0]!;
    },
    vgg: (x) => emitVgg19(t, x, CONTENT_LAYERS[s.settings.content as keyof typeof CONTENT_LAYERS], vggWeights),
  };
  const loss = s.objective.graphLoss(s.phase, phase);
  for (const [name, v] of Object.entries(loss.terms)) g.output(v, `loss/${name}`);
  g.output(loss.total, 'total');
  const grads = t.backward(loss.total);
  const state = (trained === 'g' ? s.nets.g : s.nets.d!).state;
  const weights = trained === 'g' ? gw! : dw!;
  for (const slot of state.trainable) {
    const d = grads.get(weights.get(slot.name)!.name);
    // A weight the loss does not reach (none in these networks) still gets its zero gradient.
    g.output(d ?? g.constant(new Float32Array(slot.size), slot.shape), `grad/${slot.name}`);
  }
  for (const slot of state.stats) {
    const v = statsOut.get(slot.name);
    if (!v) throw new Error(`internal: the ${trained} phase did not move statistic '${slot.name}'`);
    g.output(v, `stat/${slot.name}`);
  }
  const returnsSr = loss.sr !== undefined;
  if (loss.sr) g.output(loss.sr, 'sr');
  return { bytes: g.encode(`${s.objective.name}_${s.phase}_step`), termNames: Object.keys(loss.terms), returnsSr, ops: g.opTypes.slice() };
}
