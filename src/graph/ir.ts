/**
 * The engine's graph: what the model-building passes (src/graph/passes/) read and write. Each node is an engine op
 * (src/graph/op.ts) with its attributes, reading and writing values by their ONNX names; constants are the weights
 * and whatever the passes folded. Plain data: no GPU, so every pass can be tested alone and printed (`pixelprop info
 * --passes`).
 */
import { fmtShape } from '../gpu/errors.js';
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

export interface Graph {
  input: { name: string; dims: readonly (number | string)[] };
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

/** The batch-1 shape of the model's input (numbers after the batch; the batch set to 1). */
export function batch1Input(g: Graph): number[] {
  return g.input.dims.map((d, i) => (i === 0 ? 1 : (d as number)));
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
