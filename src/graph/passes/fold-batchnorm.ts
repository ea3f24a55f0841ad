/**
 * Pass fold-batchnorm: a BatchNormalization whose input is a Conv's output read by nothing else becomes part of that
 * conv. Both are affine per output channel o, so their composition is one convolution with new weights and bias:
 *
 *   BN(conv(x))[o] = (Σ w[o]·x + b[o] − μ[o]) · s[o] + β[o],   s[o] = γ[o] / √(σ²[o] + ε)
 *                  = Σ (w[o]·s[o])·x + ((b[o] − μ[o])·s[o] + β[o])
 *
 *   w′[o,c,kh,kw] = w[o,c,kh,kw] · s[o]        b′[o] = (b[o] − μ[o]) · s[o] + β[o]     (b = 0 without a bias)
 *
 * computed in float64 from the file's float32 numbers and stored in float32, so the folded conv differs from conv then
 * BN only by float32 rounding. ResNet has a BN after every conv: folding removes 20 (ResNet-18) to 53 (ResNet-50)
 * passes over activation memory and their kernels, forward and backward. A normalization that does not follow a conv
 * alone (DenseNet's, after a Concat) stays a BatchNormalization node.
 *
 * Runs right after `fold`, so the attributes are read and constants folded (PyTorch exports some weights through
 * Identity nodes), and before fusion, so the conv has no epilogue yet. The conv's own output, never stored now, is
 * recorded as hidden: a technique that asks for it gets the graph built without this pass.
 */
import type { Constant, Graph, Node } from '../ir.js';
import { BatchNormalization, type BatchNormAttrs } from '../ops/batch-norm.js';
import { Conv, type ConvAttrs } from '../ops/conv.js';
import { NO_ACTIVATION } from '../activation.js';

function floatConstant(g: Graph, name: string | undefined): (Constant & { type: 'float32' }) | undefined {
  const c = name === undefined ? undefined : g.constants.get(name);
  return c?.type === 'float32' ? c : undefined;
}

/** A constant name not yet taken, from `base`. */
function freshName(taken: ReadonlyMap<string, unknown>, base: string): string {
  let name = base;
  for (let k = 2; taken.has(name); k++) name = `${base}_${k}`;
  return name;
}

export function foldBatchNorms(g: Graph): Graph {
  const producer = new Map<string, Node>();
  const readers = new Map<string, number>();
  for (const n of g.nodes) {
    for (const o of n.outputs) producer.set(o, n);
    for (const i of new Set(n.inputs)) readers.set(i, (readers.get(i) ?? 0) + 1);
  }
  const isOutput = new Set(g.outputs);
  const constants = new Map(g.constants);
  const hidden = new Map(g.hidden);
  const foldedAway = new Set<Node>();
  const replaced = new Map<Node, Node>();

  for (const bn of g.nodes) {
    if (bn.op !== BatchNormalization) continue;
    const z = bn.inputs[0]!;
    const conv = producer.get(z);
    if (!conv || conv.op !== Conv || replaced.has(conv) || (conv.attrs as ConvAttrs).activation !== NO_ACTIVATION) continue;
    if (readers.get(z) !== 1 || isOutput.has(z)) continue;
    const w = floatConstant(g, conv.inputs[1]);
    const b = conv.inputs.length > 2 ? floatConstant(g, conv.inputs[2]) : undefined;
    const [gamma, beta, mean, variance] = bn.inputs.slice(1).map((name) => floatConstant(g, name));
    if (!w || (conv.inputs.length > 2 && !b) || !gamma || !beta || !mean || !variance) continue; // weights computed at run time
    const channels = w.dims[0]!;
    const perChannel = [gamma, beta, mean, variance, ...(b ? [b] : [])];
    if (w.dims.length !== 4 || perChannel.some((c) => c.data.length !== channels)) continue; // the shapes pass names the mismatch

    const { epsilon } = bn.attrs as BatchNormAttrs;
    const perOutput = w.data.length / channels;
    const folded = new Float32Array(w.data.length);
    const bias = new Float32Array(channels);
    for (let o = 0; o < channels; o++) {
      const s = gamma.data[o]! / Math.sqrt(variance.data[o]! + epsilon); // float64
      for (let j = o * perOutput; j < (o + 1) * perOutput; j++) folded[j] = w.data[j]! * s;
      bias[o] = ((b ? b.data[o]! : 0) - mean.data[o]!) * s + beta.data[o]!;
    }
    const out = bn.outputs[0]!;
    const wName = freshName(constants, `${out}.folded_weight`);
    constants.set(wName, { dims: [...w.dims], type: 'float32', data: folded });
    const bName = freshName(constants, `${out}.folded_bias`);
    constants.set(bName, { dims: [channels], type: 'float32', data: bias });

    foldedAway.add(bn);
    hidden.set(z, conv.name);
    replaced.set(conv, { ...conv, inputs: [conv.inputs[0]!, wName, bName], outputs: bn.outputs, sources: [...conv.sources, ...bn.sources] });
  }
  const nodes = g.nodes.filter((n) => !foldedAway.has(n)).map((n) => replaced.get(n) ?? n);
  return { ...g, nodes, constants, hidden };
}
