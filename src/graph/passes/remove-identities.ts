/**
 * Pass 3, aliases: Identity and Dropout (the identity at inference) compute nothing, so their outputs become other
 * names of their inputs and the nodes go — except where one produces a graph output, which must be a value of its own.
 */
import type { Graph, Node } from '../ir.js';
import { Identity } from '../ops/identity.js';

export function removeIdentities(g: Graph): Graph {
  const aliases = new Map(g.aliases);
  const isOutput = new Set(g.outputs);
  const resolve = (name: string): string => aliases.get(name) ?? name;
  const nodes: Node[] = [];
  for (const node of g.nodes) {
    const inputs = node.inputs.map(resolve);
    if (node.op === Identity && !isOutput.has(node.outputs[0]!)) {
      aliases.set(node.outputs[0]!, inputs[0]!);
      continue;
    }
    nodes.push({ ...node, inputs });
  }
  return { ...g, nodes, aliases };
}
