/**
 * Pass 2, fold constants: reads every node's attributes — now, because an attribute may come from a constant input
 * (Reshape's shape, Clip's bounds, Slice's starts) — and computes on the CPU every node it can, replacing it by its
 * outputs as new constants:
 *
 * - a node whose inputs are all constants, through the op's own float64 reference, rounded to float32 as the GPU
 *   would store it; a node whose inputs are all int64 (shape arithmetic) yields int64 — computed in float64, exact
 *   below 2^53, and truncated toward zero as ONNX's integer Div is;
 * - a node whose op knows better (`fold`: Cast and ConstantOfShape choose their output type; Shape needs only the
 *   static shape of its input, computed or not).
 *
 * The shapes of the computed values are inferred as the pass goes, at the declared batch (1 where the batch is
 * symbolic: PyTorch traced the model at some batch, and `x.view(x.size(0), −1)` folds to a Reshape to [1, −1], which
 * src/graph/ops/reshape.ts then makes follow the real batch). That is what lets the shape subgraphs PyTorch emits —
 * Shape → Gather → Unsqueeze → Concat → Reshape — fold away entirely.
 *
 * Constants keep their ONNX dims here ([] for a scalar; the GPU and the float64 references hold a scalar as [1]), so
 * that a folded value's dims are its op's shape rule applied to its inputs' dims: Gather of a scalar index drops an
 * axis, Unsqueeze adds one back. Ops that exist only for shape arithmetic (`foldOnly`) are refused, naming the node,
 * when they cannot be computed here; and no int64 value may reach a node that runs on the GPU (it computes in float32)
 * — but where the op says an int64 constant stands for a number (`int64AsFloat`: Pow's integer exponent), which the
 * node then reads as a float32 copy.
 */
import { PixelpropError, check, fmtShape } from '../../gpu/errors.js';
import { sizeOf, type Shape } from '../../gpu/tensor.js';
import type { ConvTuning } from '../../kernels/conv2d-tiled.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { declaredBatch, declaredShapes, type Constant, type Graph, type Node } from '../ir.js';
import { attrReader, describeNode, type AnyOp, type FoldInput } from '../op.js';

export interface FoldOptions {
  /** kernel switches for the ablation benchmark, handed to the ops' attributes */
  tuning?: ConvTuning;
}

/** Errors from an op's rules name the node they happened in. */
export function inNode<T>(node: Node, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PixelpropError && !e.message.startsWith('node ')) throw new PixelpropError(`${describeNode(node.sources[0]!)}: ${e.message}`);
    throw e;
  }
}

/** A constant as the float64 references and the GPU hold it (a scalar as [1]). */
export function toHost(c: Constant): HostTensor {
  return host(c.dims.length ? c.dims : [1], c.data);
}

/**
 * The outputs of `op` on these inputs, computed now, or undefined when that is not possible (an input is computed,
 * and the op has no `fold` that can do without it). Throws, naming nothing (the caller adds the node), when the
 * inputs do not fit the op.
 */
export function evaluate(op: AnyOp, inputs: readonly FoldInput[], attrs: unknown): Constant[] | undefined {
  if (op.fold) return op.fold(inputs, attrs);
  if (inputs.length === 0 || inputs.some((i) => !i.constant)) return undefined;
  const constants = inputs.map((i) => i.constant!);
  const outputs = op.reference.forward(constants.map(toHost), attrs);
  const dims = op.shape(
    constants.map((c) => c.dims),
    attrs,
  );
  const int = constants.every((c) => c.type === 'int64');
  return outputs.map((t, k): Constant => {
    const d = [...dims[k]!];
    check(sizeOf(d) === t.data.length, () => `${op.name}: the shape rule gives ${fmtShape(d)} for ${t.data.length} values`);
    return int ? { dims: d, type: 'int64', data: Array.from(t.data, Math.trunc) } : { dims: d, type: 'float32', data: Float32Array.from(t.data) };
  });
}

export function foldConstants(g: Graph, options: FoldOptions = {}): Graph {
  const constants = new Map(g.constants);
  const resolve = (name: string): string => g.aliases.get(name) ?? name;
  const batch = declaredBatch(g) ?? 1;
  // The static shape of each computed value at the declared batch (undefined: not static, e.g. a symbolic image size).
  const shapes = new Map<string, Shape | undefined>(declaredShapes(g));
  const dimsOf = (name: string): Shape | undefined => {
    const c = constants.get(name);
    return c ? c.dims : shapes.get(name);
  };
  const nodes: Node[] = [];
  for (const node of g.nodes) {
    const reader = attrReader(node.sources[0]!, {
      opset: g.opset,
      declaredBatch: batch,
      tuning: options.tuning,
      constantOf: (name) => constants.get(resolve(name)),
    });
    const attrs = node.attrs ?? inNode(node, () => node.op.onnx?.attrs(reader));
    const inputs = node.inputs.map((name): FoldInput => {
      const c = constants.get(resolve(name));
      const dims = dimsOf(resolve(name));
      return { ...(dims && { dims }), ...(c && { constant: c }) };
    });
    const folded = inNode(node, () => evaluate(node.op, inputs, attrs));
    if (folded) {
      node.outputs.forEach((name, k) => constants.set(name, folded[k]!));
      continue;
    }
    const onGpu = inNode(node, () => withFloatOperands(node, inputs, constants));
    inNode(node, () => refuseOnGpu(onGpu, inputs));
    nodes.push({ ...onGpu, attrs });
    const ins = inputs.map((i) => (i.constant ? (i.dims!.length ? i.dims : [1]) : i.dims));
    const outs = ins.every((s) => s !== undefined) ? inNode(node, () => node.op.shape(ins as Shape[], attrs)) : [];
    node.outputs.forEach((name, k) => shapes.set(name, outs[k]));
  }
  return { ...g, nodes, constants };
}

/**
 * The node reading float32 copies of its int64 constants that stand for numbers (OpDefinition.int64AsFloat), under
 * names of their own: the int64 constant itself may be shape arithmetic for other nodes. `inputs` is updated in place.
 */
function withFloatOperands(node: Node, inputs: FoldInput[], constants: Map<string, Constant>): Node {
  let names = node.inputs;
  for (const k of node.op.int64AsFloat ?? []) {
    const c = inputs[k]?.constant;
    if (c?.type !== 'int64') continue;
    const tooLarge = c.data.find((v) => Math.abs(v) > 2 ** 24);
    if (tooLarge !== undefined) {
      throw new PixelpropError(`input '${node.inputs[k]}' holds the int64 value ${tooLarge}, which the float32 ${node.op.name} operand cannot hold exactly (|v| ≤ 2^24)`);
    }
    const name = `${node.inputs[k]} (as float32)`;
    if (!constants.has(name)) constants.set(name, { dims: c.dims, type: 'float32', data: Float32Array.from(c.data) });
    inputs[k] = { ...inputs[k], constant: constants.get(name)! };
    names = names.map((n, j) => (j === k ? name : n));
  }
  return names === node.inputs ? node : { ...node, inputs: names };
}

/** A node that stays for the GPU: refused if it is shape arithmetic, or if it would read an int64 value. */
function refuseOnGpu(node: Node, inputs: readonly FoldInput[]): void {
  if (node.op.foldOnly) {
    const k = inputs.findIndex((i) => !i.constant);
    const why = node.op.fold && !inputs[k]?.dims ? `the shape of input '${node.inputs[k]}' is not static` : `input '${node.inputs[k]}' is computed, not a constant`;
    throw new PixelpropError(`${why}: ${node.op.name} is shape arithmetic, which pixelprop does only while building the model`);
  }
  const k = inputs.findIndex((i) => i.constant?.type === 'int64');
  if (k >= 0) {
    throw new PixelpropError(
      `input '${node.inputs[k]}' is int64 (shape arithmetic), but the node runs on the GPU in float32 (its input '${node.inputs[inputs.findIndex((i) => !i.constant)]}' is computed)`,
    );
  }
}
