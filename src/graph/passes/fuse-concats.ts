/**
 * Pass 5, fuse concatenations of convolutions: a channel Concat whose inputs are all convolutions read by nothing else,
 * with one epilogue (a SqueezeNet Fire module's expand layer), becomes one ConvConcat node whose convs write their
 * slices of the output in place (src/graph/ops/conv-concat.ts). The convs' own outputs become hidden values.
 */
import type { Shape } from '../../gpu/tensor.js';
import { loadShapes, type Graph, type Node } from '../ir.js';
import { Concat, type ConcatAttrs } from '../ops/concat.js';
import { Conv, type ConvAttrs } from '../ops/conv.js';
import { ConvConcat, convConcatSupports, type ConvConcatAttrs } from '../ops/conv-concat.js';
import { NO_ACTIVATION, sameActivation } from '../activation.js';
import { constantShape, inferShapes } from './shapes.js';

export function fuseConcats(g: Graph): Graph {
  if (!g.inputs.every((i) => i.dims.slice(1).every((d) => typeof d === 'number'))) return g; // the shapes pass will refuse it
  const shapes = inferShapes(g, loadShapes(g));
  const shapeOf = (name: string): Shape => shapes.get(name) ?? constantShape(g, name)!;
  const producer = new Map<string, Node>();
  const uses = new Map<string, number>();
  for (const n of g.nodes) {
    n.outputs.forEach((o) => producer.set(o, n));
    n.inputs.forEach((i) => uses.set(i, (uses.get(i) ?? 0) + 1));
  }
  const isOutput = new Set(g.outputs);
  const hidden = new Map(g.hidden);
  const fusedParts = new Set<Node>();
  const replacement = new Map<Node, Node>();
  for (const cat of g.nodes) {
    if (cat.op !== Concat) continue;
    const out = shapeOf(cat.outputs[0]!);
    const axis = (cat.attrs as ConcatAttrs).axis;
    if (out.length !== 4 || (axis !== 1 && axis !== -3)) continue;
    const parts = cat.inputs.map((v) => producer.get(v));
    const first = parts[0]?.attrs as ConvAttrs | undefined;
    const fusable = parts.every(
      (p, k) =>
        p !== undefined &&
        p.op === Conv &&
        sameActivation((p.attrs as ConvAttrs).activation, first!.activation) &&
        !first!.activation.fn.gradFromZ &&
        uses.get(cat.inputs[k]!) === 1 &&
        !isOutput.has(cat.inputs[k]!) &&
        !fusedParts.has(p),
    );
    if (!fusable || new Set(parts).size !== parts.length) continue;
    const convs = parts as Node[];
    const attrs: ConvConcatAttrs = {
      parts: convs.map((p) => ({ conv: { ...(p.attrs as ConvAttrs), activation: NO_ACTIVATION }, hasBias: p.inputs.length > 2 })),
      activation: first!.activation,
      ...(first!.tuning && { tuning: first!.tuning }),
    };
    const inputs = convs.flatMap((p) => p.inputs);
    if (!convConcatSupports(inputs.map(shapeOf), attrs)) continue;
    convs.forEach((p) => {
      fusedParts.add(p);
      hidden.set(p.outputs[0]!, cat.name);
    });
    replacement.set(cat, { op: ConvConcat, attrs, name: cat.name, inputs, outputs: cat.outputs, sources: [...convs.flatMap((p) => p.sources), ...cat.sources] });
  }
  if (replacement.size === 0) return g;
  const nodes = g.nodes.filter((n) => !fusedParts.has(n)).map((n) => replacement.get(n) ?? n);
  return { ...g, nodes, hidden };
}
