/**
 * The parsed form of an ONNX model: what `parseOnnx` hands to the model builder. Plain data, no protobuf types and no
 * GPU: every int64 of the file is already a JavaScript number (checked to be exact), every float tensor a Float32Array
 * of its own, and the node list is validated (known ops, every input defined) and topologically sorted.
 */

/** Tensor data: float32 weights, or int64 values (shapes, axes) as exact numbers. */
export type OnnxData = { type: 'float32'; data: Float32Array } | { type: 'int64'; data: number[] };

/**
 * A constant tensor (an initializer, or the value of a Constant node). `dims` is row-major; `dims = []` is a scalar
 * with one element. `type` and `data` go together (a discriminated union), so `t.type === 'float32'` narrows `t.data`
 * to a Float32Array.
 */
export type OnnxTensor = { name: string; dims: number[] } & OnnxData;

/** An attribute value: INT(S) and FLOAT(S) as numbers, STRING(S) as decoded strings, TENSOR as an OnnxTensor. */
export type AttrValue = number | number[] | string | string[] | OnnxTensor;

export interface OnnxNode {
  /** The node's name in the file, or `${opType}_${index}` (index in file order) when the file leaves it empty. */
  name: string;
  opType: string;
  /** Value names; an empty string is an omitted optional input (ONNX's convention), kept to preserve positions. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

/**
 * A graph input or output as declared: `dims` holds numbers for fixed sizes and strings for symbolic ones ('N', or
 * '?' when the file names neither); `dims = []` when the file declares no shape. `elemType` is 'float32', 'int64',
 * … (lower-case ONNX type names, FLOAT as 'float32').
 */
export interface OnnxValueInfo {
  name: string;
  dims: (number | string)[];
  elemType: string;
}

export interface OnnxGraph {
  irVersion: number;
  /** The opset version of the default ("" / "ai.onnx") domain. */
  opset: number;
  producer: string;
  /** Real inputs only: graph inputs that are NOT initializers (IR 3 lists initializers among inputs). */
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  /** float32 and int64 tensors, by name. */
  initializers: Map<string, OnnxTensor>;
  /** Topologically sorted (file order kept where the file is already sorted). */
  nodes: OnnxNode[];
}
