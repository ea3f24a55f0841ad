/**
 * Pass 2, fold constants: reads every node's attributes — now, because an attribute may come from a constant input
 * (Reshape's shape, Clip's bounds) — and computes on the CPU every node whose inputs are all constants, replacing it by
 * its output as a new constant. The computation is the op's own float64 reference, rounded to float32 as the GPU
 * would store it; a node whose inputs are all int64 (shape arithmetic) yields int64.
 */
import { PixelpropError } from '../../gpu/errors.js';
import type { ConvTuning } from '../../kernels/conv2d-tiled.js';
import { host, type HostTensor } from '../../kernels/host.js';
import type { Constant, Graph, Node } from '../ir.js';
import { attrReader, describeNode } from '../op.js';

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

function toHost(c: Constant): HostTensor {
  return host(c.dims.length ? c.dims : [1], c.data);
}

export function foldConstants(g: Graph, options: FoldOptions = {}): Graph {
  const constants = new Map(g.constants);
  const declaredBatch = typeof g.input.dims[0] === 'number' ? g.input.dims[0] : null;
  const nodes: Node[] = [];
  for (const node of g.nodes) {
    const reader = attrReader(node.sources[0]!, {
      opset: g.opset,
      declaredBatch,
      tuning: options.tuning,
      constantOf: (name) => {
        const c = constants.get(g.aliases.get(name) ?? name);
        return c ? Array.from(c.data) : undefined;
      },
    });
    const attrs = node.attrs ?? node.op.onnx?.attrs(reader);
    const inputs = node.inputs.map((name) => constants.get(name));
    if (node.inputs.length > 0 && inputs.every((c) => c !== undefined)) {
      const outputs = inNode(node, () => node.op.reference.forward(inputs.map((c) => toHost(c!)), attrs));
      const int = inputs.every((c) => c!.type === 'int64');
      node.outputs.forEach((name, k) => {
        const t = outputs[k]!;
        constants.set(name, int ? { dims: [...t.shape], type: 'int64', data: Array.from(t.data) } : { dims: [...t.shape], type: 'float32', data: Float32Array.from(t.data) });
      });
      continue;
    }
    nodes.push({ ...node, attrs });
  }
  return { ...g, nodes, constants };
}
