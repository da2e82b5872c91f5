// The subset of onnx.proto (github.com/onnx/onnx, onnx/onnx.proto3) that the exporter writes and
// the tests read back. Field numbers are ONNX's own: a file encoded with these definitions is a
// standard ModelProto that any ONNX runtime loads. Unused fields are left out; protobuf readers
// skip what they do not know, so leaving them out is safe in both directions.
import protobuf from 'protobufjs';

const ONNX_SUBSET = `
syntax = "proto3";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0; FLOAT = 1; INT = 2; STRING = 3; TENSOR = 4; GRAPH = 5;
    FLOATS = 6; INTS = 7; STRINGS = 8; TENSORS = 9; GRAPHS = 10;
  }
  string name = 1;
  float f = 2;
  int64 i = 3;
  bytes s = 4;
  TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  string doc_string = 13;
  AttributeType type = 20;
}

message ValueInfoProto {
  string name = 1;
  TypeProto type = 2;
  string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  string name = 3;
  string op_type = 4;
  repeated AttributeProto attribute = 5;
  string doc_string = 6;
  string domain = 7;
}

message StringStringEntryProto {
  string key = 1;
  string value = 2;
}

message ModelProto {
  int64 ir_version = 1;
  string producer_name = 2;
  string producer_version = 3;
  string domain = 4;
  int64 model_version = 5;
  string doc_string = 6;
  GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
}

message GraphProto {
  repeated NodeProto node = 1;
  string name = 2;
  repeated TensorProto initializer = 5;
  string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  enum DataType {
    UNDEFINED = 0; FLOAT = 1; UINT8 = 2; INT8 = 3; UINT16 = 4; INT16 = 5; INT32 = 6; INT64 = 7;
    STRING = 8; BOOL = 9; FLOAT16 = 10; DOUBLE = 11; UINT32 = 12; UINT64 = 13;
  }
  repeated int64 dims = 1;
  int32 data_type = 2;
  repeated float float_data = 4;
  repeated int64 int64_data = 7;
  string name = 8;
  bytes raw_data = 9;
  string doc_string = 12;
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    string denotation = 3;
  }
  repeated Dimension dim = 1;
}

message TypeProto {
  message Tensor {
    int32 elem_type = 1;
    TensorShapeProto shape = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
  }
  string denotation = 6;
}

message OperatorSetIdProto {
  string domain = 1;
  int64 version = 2;
}
`;

export const ONNX_FLOAT = 1;
export const ATTR_FLOAT = 1;
export const ATTR_INT = 2;
export const ATTR_STRING = 3;
export const ATTR_INTS = 7;

let root: protobuf.Root | null = null;

/** The onnx.ModelProto message type (parsed once, on first use). */
export function modelProtoType(): protobuf.Type {
  root ??= protobuf.parse(ONNX_SUBSET, { keepCase: true }).root;
  return root.lookupType('onnx.ModelProto');
}

// Plain-object shapes of the messages, as protobufjs's fromObject/toObject see them.
export interface OnnxAttribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
}
export interface OnnxNode {
  name: string;
  op_type: string;
  input: string[];
  output: string[];
  attribute?: OnnxAttribute[];
}
export interface OnnxTensor {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}
export interface OnnxDim {
  dim_value?: number;
  dim_param?: string;
}
export interface OnnxValueInfo {
  name: string;
  doc_string?: string;
  type: { tensor_type: { elem_type: number; shape: { dim: OnnxDim[] } } };
}
export interface OnnxModel {
  ir_version: number;
  producer_name: string;
  producer_version: string;
  doc_string?: string;
  opset_import: Array<{ domain: string; version: number }>;
  metadata_props?: Array<{ key: string; value: string }>;
  graph: {
    name: string;
    node: OnnxNode[];
    initializer: OnnxTensor[];
    input: OnnxValueInfo[];
    output: OnnxValueInfo[];
  };
}

// Builders of the messages from plain values, shared by the exporter, the graph builder and the
// studio's demo models, so that every ONNX file the project writes is written one way.

/** An attribute's value: numbers are ints, arrays lists of ints, strings bytes, `{ float }` a float. */
export type AttrValue = number | readonly number[] | string | { float: number };

export function attribute(name: string, v: AttrValue): OnnxAttribute {
  if (typeof v === 'number') return { name, type: ATTR_INT, i: v };
  if (typeof v === 'string') return { name, type: ATTR_STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: ATTR_INTS, ints: [...(v as number[])] };
  return { name, type: ATTR_FLOAT, f: (v as { float: number }).float };
}

export function attributes(attrs: Readonly<Record<string, AttrValue>>): OnnxAttribute[] {
  return Object.entries(attrs).map(([k, v]) => attribute(k, v));
}

/** A tensor's name, element type and shape; string dims are symbolic (dim_param). */
export function valueInfo(name: string, dims: ReadonlyArray<number | string>, elemType = ONNX_FLOAT, doc?: string): OnnxValueInfo {
  const v: OnnxValueInfo = { name, type: { tensor_type: { elem_type: elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } } } };
  if (doc !== undefined) v.doc_string = doc;
  return v;
}

/** A float32 initializer holding a copy of `data`. */
export function floatTensor(name: string, dims: readonly number[], data: Float32Array): OnnxTensor {
  // ONNX raw_data is little-endian, as are the typed arrays on every platform Node supports.
  return { name, dims: [...dims], data_type: ONNX_FLOAT, raw_data: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
}

export function encodeModel(model: OnnxModel): Uint8Array {
  const T = modelProtoType();
  const msg = T.fromObject(model);
  const err = T.verify(msg);
  if (err) throw new Error(`internal: ONNX model does not verify: ${err}`);
  return T.encode(msg).finish();
}

/** Decodes a ModelProto with int64 fields as numbers and bytes as Uint8Array (tests, .onnx inputs). */
export function decodeModel(bytes: Uint8Array): OnnxModel {
  const T = modelProtoType();
  return T.toObject(T.decode(bytes), { longs: Number, defaults: false, arrays: true }) as OnnxModel;
}
