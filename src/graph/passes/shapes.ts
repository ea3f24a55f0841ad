/**
 * Shape inference: every value's shape for a given input shape, node by node through the ops' shape rules. The model
 * runs it at load time for batch 1 (a model whose attributes don't fit its tensors fails then, with the node named,
 * before anything is uploaded) and again for each new batch size, before allocating anything.
 */
import { PixelpropError, check, fmtShape } from '../../gpu/errors.js';
import type { Shape } from '../../gpu/tensor.js';
import { loadShapes, type Graph } from '../ir.js';
import { inNode } from './fold-constants.js';

/** A constant's shape ([] — a scalar — is held as [1], as on the GPU). */
export function constantShape(g: Graph, name: string): Shape | undefined {
  const c = g.constants.get(name);
  return c ? (c.dims.length ? c.dims : [1]) : undefined;
}

/**
 * Every value's shape for given input shapes (by input name; a single shape for a model with one input), node by node
 * through the ops' shape rules.
 */
export function inferShapes(g: Graph, inputShapes: Shape | ReadonlyMap<string, Shape>): Map<string, Shape> {
  let given: ReadonlyMap<string, Shape>;
  if (inputShapes instanceof Map) given = inputShapes;
  else {
    check(g.inputs.length === 1, () => `the model has ${g.inputs.length} inputs; give each one's shape by name`);
    given = new Map([[g.inputs[0]!.name, inputShapes as Shape]]);
  }
  const shapes = new Map<string, Shape>();
  for (const input of g.inputs) {
    const s = given.get(input.name);
    if (!s) throw new PixelpropError(`no shape given for the model's input '${input.name}'`);
    shapes.set(input.name, s);
  }
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

/** The pass form: checks that every shape rule holds at batch 1 (and that the inputs have fixed sizes after the batch). */
export function checkShapes(g: Graph): Graph {
  for (const input of g.inputs) {
    const dims = input.dims;
    if (!dims.every((d, i) => i === 0 || (typeof d === 'number' && d > 0))) {
      throw new PixelpropError(`input '${input.name}' has dims ${fmtShape(dims as number[])}: pixelprop needs fixed sizes after the batch`);
    }
  }
  inferShapes(g, loadShapes(g));
  return g;
}
