// An ONNX graph written node by node, with every value's shape known when it is made. The
// training-step graphs are built for one batch and patch size at a time, so static shapes cost
// nothing and let each op emitter compute reshape targets and reduction counts itself.
import { attributes, encodeModel, floatTensor, valueInfo, ONNX_FLOAT, type AttrValue, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../inference/onnx_proto.js';
import { packageVersion } from '../util/package_info.js';

export const ONNX_INT64 = 7;
/** Opset of the generated graphs: ScatterND's reduction needs 16; 17 matches the exporter. */
export const GRAPH_OPSET = 17;

export interface Value {
  readonly name: string;
  readonly shape: readonly number[];
}

export type Attrs = Readonly<Record<string, AttrValue>>;

/** Attribute helper: a float attribute (plain numbers are ints). */
export const float = (f: number): { float: number } => ({ float: f });

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly inits: OnnxTensor[] = [];
  readonly inputs: OnnxValueInfo[] = [];
  readonly outputs: OnnxValueInfo[] = [];
  private counter = 0;
  /** Prefix of the node names made now (a layer name; '<layer>~grad' for its gradient), for profiles. */
  scope = '';
  private readonly constCache = new Map<string, Value>();
  /** Op type per node, in order (profiles and tests read it). */
  readonly opTypes: string[] = [];

  fresh(prefix: string): string {
    return `${prefix}:${this.counter++}`;
  }

  input(name: string, shape: readonly number[], elemType = ONNX_FLOAT): Value {
    this.inputs.push(valueInfo(name, shape, elemType));
    return { name, shape };
  }

  output(v: Value, name: string): void {
    if (v.name !== name) this.node('Identity', [v], {}, v.shape, name);
    this.outputs.push(valueInfo(name, v.shape));
  }

  /** One node with one output of the given shape. */
  node(op: string, inputs: ReadonlyArray<Value | string>, attrs: Attrs, shape: readonly number[], outName?: string): Value {
    const name = outName ?? this.fresh(op);
    this.nodes.push({
      name: `${this.scope ? `${this.scope}/` : ''}${op}#${this.nodes.length}`,
      op_type: op,
      input: inputs.map((v) => (typeof v === 'string' ? v : v.name)),
      output: [name],
      attribute: attributes(attrs),
    });
    this.opTypes.push(op);
    return { name, shape: [...shape] };
  }

  /** A float32 initializer; small constants are shared by value. */
  constant(data: ArrayLike<number>, dims: readonly number[]): Value {
    const key = data.length <= 16 ? `f${dims.join('x')}:${Array.from(data).join(',')}` : null;
    if (key && this.constCache.has(key)) return this.constCache.get(key)!;
    const name = this.fresh('const');
    this.inits.push(floatTensor(name, dims, Float32Array.from(data)));
    const v = { name, shape: [...dims] };
    if (key) this.constCache.set(key, v);
    return v;
  }

  scalar(x: number): Value {
    return this.constant([x], []);
  }

  /** An int64 initializer (shapes, axes, indices). */
  int64(data: ArrayLike<number>, dims: readonly number[] = [data.length]): Value {
    const key = data.length <= 16 ? `i${dims.join('x')}:${Array.from(data).join(',')}` : null;
    if (key && this.constCache.has(key)) return this.constCache.get(key)!;
    const name = this.fresh('i64');
    const arr = BigInt64Array.from(Array.from(data, (x) => BigInt(x)));
    this.inits.push({ name, dims: [...dims], data_type: ONNX_INT64, raw_data: new Uint8Array(arr.buffer) });
    const v = { name, shape: [...dims] };
    if (key) this.constCache.set(key, v);
    return v;
  }

  encode(graphName: string): Uint8Array {
    return encodeModel({
      ir_version: 8,
      producer_name: 'srgan-js',
      producer_version: packageVersion(),
      opset_import: [{ domain: '', version: GRAPH_OPSET }],
      graph: { name: graphName, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
  }
}
