// Adam (Kingma & Ba 2015), as in the SRGAN paper (beta1 = 0.9). Written out rather than using
// tf.train.adam so that its state is plain named arrays: checkpoints name the moments after the
// model's stable weight names, and every data-parallel replica holds bit-identical state.
import * as tf from '@tensorflow/tfjs-core';
import type { NamedArray } from '../models/safetensors.js';

export interface AdamOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
}

function zeroVariable(like: tf.Tensor): tf.Variable {
  const z = tf.zerosLike(like);
  const v = tf.variable(z, false);
  z.dispose();
  return v;
}

export class Adam {
  private m: tf.Variable[];
  private v: tf.Variable[];
  step = 0;

  constructor(
    private readonly params: readonly tf.Variable[],
    private readonly names: readonly string[],
    private readonly opts: AdamOptions = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  ) {
    this.m = params.map((p) => zeroVariable(p));
    this.v = params.map((p) => zeroVariable(p));
  }

  /** grads[i] belongs to params[i]; the caller keeps ownership of the gradient tensors. */
  apply(grads: readonly tf.Tensor[], learningRate: number): void {
    this.step += 1;
    const { beta1, beta2, epsilon } = this.opts;
    // Bias corrections folded into the step size, as in the paper's Algorithm 1 (final note).
    const alpha = (learningRate * Math.sqrt(1 - beta2 ** this.step)) / (1 - beta1 ** this.step);
    tf.tidy(() => {
      this.params.forEach((p, i) => {
        const g = grads[i]!;
        const m = tf.add(tf.mul(this.m[i]!, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i]!, beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[i]!.assign(m);
        this.v[i]!.assign(v);
        p.assign(tf.sub(p, tf.div(tf.mul(m, alpha), tf.add(tf.sqrt(v), epsilon))));
      });
    });
  }

  state(prefix: string): NamedArray[] {
    const out: NamedArray[] = [];
    this.params.forEach((p, i) => {
      out.push({ name: `${prefix}${this.names[i]}/m`, shape: p.shape.slice(), data: this.m[i]!.dataSync() as Float32Array });
      out.push({ name: `${prefix}${this.names[i]}/v`, shape: p.shape.slice(), data: this.v[i]!.dataSync() as Float32Array });
    });
    return out;
  }

  load(prefix: string, arrays: ReadonlyMap<string, NamedArray>, step: number, source: string): void {
    this.names.forEach((name, i) => {
      for (const [slot, vars] of [['m', this.m], ['v', this.v]] as const) {
        const a = arrays.get(`${prefix}${name}/${slot}`);
        if (!a || a.data.length !== this.params[i]!.size) throw new Error(`${source}: optimizer state for '${name}' (${slot}) is missing or mis-shaped`);
        vars[i]!.assign(tf.tensor(a.data, this.params[i]!.shape));
      }
    });
    this.step = step;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
