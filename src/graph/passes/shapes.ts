/**
 * Shape inference: every value's shape for a given input shape, node by node through the ops' shape rules. The model
 * runs it at load time for batch 1 (a model whose attributes don't fit its tensors fails then, with the node named,
 * before anything is uploaded) and again for each new batch size, before allocating anything.
 */
import { PixelpropError, fmtShape } from '../../gpu/errors.js';
import type { Shape } from '../../gpu/tensor.js';
import type { Graph } from '../ir.js';
import { inNode } from './fold-constants.js';

/** A constant's shape ([] — a scalar — is held as [1], as on the GPU). */
export function constantShape(g: Graph, name: string): Shape | undefined {
  const c = g.constants.get(name);
  return c ? (c.dims.length ? c.dims : [1]) : undefined;
}

export function inferShapes(g: Graph, inputShape: Shape): Map<string, Shape> {
  const shapes = new Map<string, Shape>([[g.input.name, inputShape]]);
  for (const node of g.nodes) {
    const ins = node.inputs.map((name) => {
      const s = shapes.get(name) ?? constantShape(g, name);
      if (!s) throw new PixelpropError(`node '${node.name}' (${node.sources[0]!.opType}): input '${name}' is neither computed nor a constant`);
      return s;
    });
    const outs = inNode(node, () => node.op.shape(ins, node.attrs));
    node.outputs.forEach((name, k) => shapes.set(name, outs[k]!));
  }
  return shapes;
}

/** The pass form: checks that every shape rule holds at batch 1 (and that the input has fixed sizes after the batch). */
export function checkShapes(g: Graph): Graph {
  const dims = g.input.dims;
  if (!(dims.length > 0 && dims.every((d, i) => i === 0 || (typeof d === 'number' && d > 0)))) {
    throw new PixelpropError(`input '${g.input.name}' has dims ${fmtShape(dims as number[])}: pixelprop needs fixed sizes after the batch`);
  }
  inferShapes(g, dims.map((d, i) => (i === 0 ? 1 : (d as number))));
  return g;
}
