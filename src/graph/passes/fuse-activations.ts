/**
 * Pass 4, fuse activations: a Conv whose output is read only by an activation (ReLU, Clip, Sigmoid, …: the ops marked
 * `epilogue`) becomes one Conv that applies the activation to each result before storing it — no pass over memory for
 * the activation, no intermediate tensor. SqueezeNet has 26 such pairs, MobileNetV2 35. The conv's own output becomes
 * a hidden value (a technique that asks for it gets the unfused graph).
 */
import { NO_ACTIVATION, type Activation } from '../activation.js';
import type { Graph, Node } from '../ir.js';
import { Conv, type ConvAttrs } from '../ops/conv.js';

export function fuseActivations(g: Graph): Graph {
  const consumers = new Map<string, Node[]>();
  for (const n of g.nodes) for (const i of n.inputs) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  const isOutput = new Set(g.outputs);
  const hidden = new Map(g.hidden);
  const fusedAway = new Set<Node>();
  const replaced = new Map<Node, Node>();
  for (const conv of g.nodes) {
    if (conv.op !== Conv || (conv.attrs as ConvAttrs).activation !== NO_ACTIVATION) continue;
    const z = conv.outputs[0]!;
    const users = consumers.get(z) ?? [];
    const act = users[0];
    if (users.length !== 1 || !act!.op.epilogue || isOutput.has(z)) continue;
    fusedAway.add(act!);
    hidden.set(z, conv.name);
    replaced.set(conv, {
      ...conv,
      attrs: { ...(conv.attrs as ConvAttrs), activation: act!.attrs as Activation },
      outputs: act!.outputs,
      sources: [...conv.sources, ...act!.sources],
    });
  }
  const nodes = g.nodes.filter((n) => !fusedAway.has(n)).map((n) => replaced.get(n) ?? n);
  return { ...g, nodes, hidden };
}
