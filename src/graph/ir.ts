/**
 * The engine's graph: what the model-building passes (src/graph/passes/) read and write. Each node is an engine op
 * (src/graph/op.ts) with its attributes, reading and writing values by their ONNX names; constants are the weights
 * and whatever the passes folded. Plain data: no GPU, so every pass can be tested alone and printed (`pixelprop info
 * --passes`).
 */
import { PixelpropError, fmtShape } from '../gpu/errors.js';
import type { Shape } from '../gpu/tensor.js';
import { describeAttrs, type AnyOp } from './op.js';
import type { OnnxNode } from './onnx/ir.js';

/** A constant tensor: float32 (weights, folded values) or int64 (shapes, axes), with its ONNX dims ([] = scalar). */
export type Constant = { dims: number[] } & ({ type: 'float32'; data: Float32Array } | { type: 'int64'; data: number[] });

export interface Node {
  op: AnyOp;
  /** the op's attributes (undefined until the fold pass reads them: constant inputs may be folded values) */
  attrs: unknown;
  /** the ONNX node it came from (the first, after fusion) */
  name: string;
  /** value names; omitted optional inputs and inputs read as attributes are left out */
  inputs: string[];
  outputs: string[];
  /** the ONNX nodes it computes, in order: one, or several after fusion */
  sources: readonly OnnxNode[];
}

/** A graph input as declared: numbers for fixed sizes, strings for symbolic ones. */
export interface GraphInput {
  name: string;
  dims: readonly (number | string)[];
}

export interface Graph {
  /** the inputs a run feeds (an image model has one; inputs bound at load time became constants) */
  inputs: readonly GraphInput[];
  outputs: readonly string[];
  nodes: readonly Node[];
  constants: ReadonlyMap<string, Constant>;
  opset: number;
  /** values that are other values under another name (Identity, Dropout), resolved */
  aliases: ReadonlyMap<string, string>;
  /**
   * values computed inside a fused node and never stored — a conv's output before its fused activation, the slices
   * of a concatenation the convs write in place — each with the node that hides it (to ask for one, the model runs
   * its unfused graph)
   */
  hidden: ReadonlyMap<string, string>;
}

/**
 * The input shapes a model is built and checked at: as declared, a symbolic batch (the first dimension) taken as 1 —
 * what an exporter traced, and what the file promises to work at. The fold pass infers shapes at them (a Shape node
 * folds to these sizes; a Reshape target frozen at the declared batch follows the real batch later, see
 * src/graph/ops/reshape.ts), the shapes pass checks every shape rule at them. A model with one input — a batch of
 * images — then runs at any batch: the batch comes from the input. Undefined for an input with another symbolic size;
 * a scalar input is held as [1], as on the GPU.
 */
export function declaredShapes(g: Graph): Map<string, number[] | undefined> {
  return new Map(
    g.inputs.map((i) => {
      const dims = i.dims.length === 0 ? [1] : i.dims.map((d, k) => (k === 0 && typeof d !== 'number' ? 1 : d));
      return [i.name, dims.every((d) => typeof d === 'number') ? (dims as number[]) : undefined];
    }),
  );
}

/** The same, every input's sizes required to be fixed after the batch. */
export function loadShapes(g: Graph): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const [name, s] of declaredShapes(g)) {
    if (!s) throw new PixelpropError(`input '${name}' has symbolic sizes after the batch: pixelprop needs fixed sizes there`);
    shapes.set(name, s);
  }
  return shapes;
}

/** The batch the file declares (its only input's, or the first input's, dim 0), or null when symbolic. */
export function declaredBatch(g: Graph): number | null {
  const d = g.inputs[0]?.dims[0];
  return typeof d === 'number' ? d : null;
}

/** The graph as text, a node a line: op, attributes, name, output shapes when known. */
export function describeGraph(g: Graph, shapes?: ReadonlyMap<string, Shape>): string {
  if (g.nodes.length === 0) return '(no nodes)';
  const label = (n: Node): string => {
    const info = n.attrs === undefined ? '' : describeAttrs(n.op, n.attrs);
    return `${n.op.name}${info ? ` {${info}}` : ''}`;
  };
  const opWidth = Math.min(48, Math.max(...g.nodes.map((n) => label(n).length)));
  const nameWidth = Math.min(32, Math.max(...g.nodes.map((n) => n.name.length)));
  return g.nodes
    .map((n) => {
      const outs = n.outputs.map((o) => (shapes?.get(o) ? `${o} ${fmtShape(shapes.get(o)!)}` : o)).join(', ');
      const fused = n.sources.length > 1 ? `  (${n.sources.map((s) => s.name).join(' + ')})` : '';
      return `${label(n).padEnd(opWidth)}  ${n.name.padEnd(nameWidth)}  → ${outs}${fused}`;
    })
    .join('\n');
}
