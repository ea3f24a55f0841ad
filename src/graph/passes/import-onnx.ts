/**
 * Pass 1, import: the parsed ONNX graph (src/graph/onnx/parse.ts) becomes the engine's graph. Each ONNX node becomes a
 * node of the engine op that implements its type (the registry, src/graph/ops/index.ts); initializers and Constant
 * nodes become constants, and so do graph inputs given a value at load time (`bind`). Inputs that an op reads as
 * attributes (Reshape's shape, Clip's bounds) and omitted optional inputs leave the input list; each op's input count
 * is checked here, so that a Conv without its weights is refused by name before anything else looks at it. The attributes are read by the next pass, once constants are folded.
 */
import { PixelpropError, check, fmtShape } from '../../gpu/errors.js';
import type { Constant, Graph, GraphInput, Node } from '../ir.js';
import { describeNode } from '../op.js';
import type { OnnxGraph, OnnxTensor } from '../onnx/ir.js';
import { ONNX_OPS } from '../ops/index.js';

/** The ONNX op types the engine runs (the parser refuses the others before decoding any tensor). */
export function supportedOnnxOps(): string[] {
  return [...ONNX_OPS.keys(), 'Constant'].sort();
}

export interface ImportOptions {
  /**
   * Values for graph inputs, given at load time: each becomes a constant. For inputs that are parameters rather than
   * data — int64 inputs (shapes, axes, indices: pixelprop computes in float32) and inputs read only as attributes
   * (Reshape's shape, Clip's bounds); `parameterInputs` lists them. `pixelprop run` binds them from the test data.
   */
  bind?: ReadonlyMap<string, OnnxTensor>;
}

/**
 * The graph inputs that cannot be fed at run time and must be bound at load time: int64 ones, and those that every
 * node reading them reads as an attribute (an `attrInputs` position of its op) or as shape arithmetic (a `foldOnly`
 * op, such as Range).
 */
export function parameterInputs(onnx: OnnxGraph): string[] {
  const asData = new Set<string>();
  for (const node of onnx.nodes) {
    const op = ONNX_OPS.get(node.opType);
    if (op?.foldOnly) continue;
    const attrInputs = new Set(op?.onnx?.attrInputs ?? []);
    node.inputs.forEach((name, k) => {
      if (!attrInputs.has(k)) asData.add(name);
    });
  }
  return onnx.inputs.filter((i) => i.elemType === 'int64' || !asData.has(i.name)).map((i) => i.name);
}

export function importOnnx(onnx: OnnxGraph, options: ImportOptions = {}): Graph {
  const constants = new Map<string, Constant>();
  for (const [name, t] of onnx.initializers) constants.set(name, { ...t });
  const bind = options.bind ?? new Map<string, OnnxTensor>();
  for (const name of bind.keys()) {
    check(
      onnx.inputs.some((i) => i.name === name),
      () => `a value is given for '${name}', which is not an input of the model (inputs: ${onnx.inputs.map((i) => i.name).join(', ')})`,
    );
  }
  const inputs: GraphInput[] = [];
  for (const input of onnx.inputs) {
    const value = bind.get(input.name);
    if (value) {
      const fits = value.dims.length === input.dims.length && input.dims.every((d, k) => typeof d !== 'number' || d === value.dims[k]);
      check(fits, () => `the value given for input '${input.name}' is ${fmtShape(value.dims)}, the model declares [${input.dims.join(',')}]`);
      check(
        input.elemType === value.type || input.elemType.startsWith('type '),
        () => `the value given for input '${input.name}' is ${value.type}, the model declares ${input.elemType}`,
      );
      constants.set(input.name, { dims: [...value.dims], ...(value.type === 'float32' ? { type: 'float32', data: value.data } : { type: 'int64', data: value.data }) });
      continue;
    }
    if (input.elemType === 'int64') {
      throw new PixelpropError(
        `input '${input.name}' is int64: pixelprop computes in float32, so an int64 input can only be a shape parameter — give its value when loading the model`,
      );
    }
    check(input.elemType === 'float32', () => `input '${input.name}' has type ${input.elemType}; pixelprop's inputs are float32`);
    inputs.push({ name: input.name, dims: input.dims });
  }
  const nodes: Node[] = [];
  for (const node of onnx.nodes) {
    if (node.opType === 'Constant') {
      const value = node.attrs.value;
      if (value === undefined || typeof value !== 'object' || Array.isArray(value)) {
        throw new PixelpropError(`${describeNode(node)}: only the 'value' attribute (a tensor) is supported`);
      }
      constants.set(node.outputs[0]!, { ...value });
      continue;
    }
    const op = ONNX_OPS.get(node.opType);
    if (!op?.onnx) throw new PixelpropError(`${describeNode(node)}: op not supported (supported: ${supportedOnnxOps().join(', ')})`);
    const attrInputs = new Set(op.onnx.attrInputs ?? []);
    const inputs = node.inputs.filter((name, k) => name !== '' && !attrInputs.has(k));
    const [min, max] = op.onnx.arity;
    const want = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} or ${max}`;
    check(inputs.length >= min && inputs.length <= max, () => `${describeNode(node)}: has ${inputs.length} input(s), the op takes ${want}`);
    nodes.push({ op, attrs: undefined, name: node.name, inputs, outputs: node.outputs.filter(Boolean), sources: [node] });
  }
  return {
    inputs,
    outputs: onnx.outputs.map((o) => o.name),
    nodes,
    constants,
    opset: onnx.opset,
    aliases: new Map(),
    hidden: new Map(),
  };
}
