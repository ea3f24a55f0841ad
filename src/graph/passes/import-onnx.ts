/**
 * Pass 1, import: the parsed ONNX graph (src/graph/onnx/parse.ts) becomes the engine's graph. Each ONNX node becomes a
 * node of the engine op that implements its type (the registry, src/graph/ops/index.ts); initializers and Constant
 * nodes become constants. Inputs that an op reads as attributes (Reshape's shape, Clip's bounds) and omitted optional
 * inputs leave the input list; each op's input count is checked here, so that a Conv without its weights is refused
 * by name before anything else looks at it. The attributes are read by the next pass, once constants are folded.
 */
import { PixelpropError, check } from '../../gpu/errors.js';
import type { Constant, Graph, Node } from '../ir.js';
import { describeNode } from '../op.js';
import type { OnnxGraph } from '../onnx/ir.js';
import { ONNX_OPS } from '../ops/index.js';

/** The ONNX op types the engine runs (the parser refuses the others before decoding any tensor). */
export function supportedOnnxOps(): string[] {
  return [...ONNX_OPS.keys(), 'Constant'].sort();
}

export function importOnnx(onnx: OnnxGraph): Graph {
  check(
    onnx.inputs.length === 1,
    () => `the model has ${onnx.inputs.length} inputs (${onnx.inputs.map((i) => i.name).join(', ')}); pixelprop runs models with one image input`,
  );
  const input = onnx.inputs[0]!;
  const constants = new Map<string, Constant>();
  for (const [name, t] of onnx.initializers) constants.set(name, { ...t });
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
    input: { name: input.name, dims: input.dims },
    outputs: onnx.outputs.map((o) => o.name),
    nodes,
    constants,
    opset: onnx.opset,
    aliases: new Map(),
    hidden: new Map(),
  };
}
