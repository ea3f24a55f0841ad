/**
 * The model-randomization sanity check of J. Adebayo, J. Gilmer, M. Muelly, I. Goodfellow, M. Hardt, B. Kim,
 * "Sanity Checks for Saliency Maps", NeurIPS 2018 (arXiv:1810.03292), section 3.1 (runs in the worker): re-initialize
 * the network's weights layer by layer, from the top layer down (cascading: the layers above stay randomized), and
 * recompute the saliency map after each. A map that explains the *trained* network must change as its weights are
 * destroyed; a map that stays the same is showing the image (edges, contrast), not what the network learned.
 *
 * Layers are found in the ONNX graph: a Fire module (SqueezeNet's squeeze conv and the expand convs whose outputs one
 * Concat joins) is one layer, any other Conv or Gemm is a layer of its own; numbered in graph order as the
 * SqueezeNet paper does (conv1, fire2 … fire9, conv10). Weights are drawn from He et al.'s initialization,
 * N(0, 2 / fan_in), with zero biases, from a seeded generator; the trained values are read back first and uploaded
 * again at the end, whatever happens.
 */
import type { Tensor } from '../src/gpu/tensor.js';
import type { Model } from '../src/graph/model.js';
import type { OnnxNode } from '../src/graph/onnx/ir.js';
import { saliency, type SaliencyMethod } from '../src/techniques/saliency.js';
import { Rng } from '../src/util/rng.js';
import type { SanityOutput, SanityStep } from './protocol.js';

export interface Layer {
  name: string;
  /** the GPU weight tensors' names (Model.weights keys): weights and biases of its convolutions */
  weights: string[];
}

/** Ops that pass a value through unchanged for the purpose of finding which conv feeds which. */
const PASS_THROUGH = new Set(['Relu', 'Dropout', 'Identity']);

/** The model's layers, bottom up (see the file comment). */
export function layersOf(model: Model): Layer[] {
  const nodes = model.onnx.nodes;
  const producer = new Map<string, OnnxNode>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  /** the node that computes `value`, looking through ReLUs and dropouts */
  const source = (value: string): OnnxNode | undefined => {
    let n = producer.get(value);
    while (n && PASS_THROUGH.has(n.opType)) n = producer.get(n.inputs[0]!);
    return n;
  };
  const parametrized = nodes.filter((n) => (n.opType === 'Conv' || n.opType === 'Gemm') && n.inputs.slice(1).some((i) => model.weights.has(i)));
  const blockOf = new Map<OnnxNode, OnnxNode[]>();
  for (const cat of nodes.filter((n) => n.opType === 'Concat')) {
    const expands = cat.inputs.map(source);
    if (expands.length < 2 || !expands.every((e) => e?.opType === 'Conv')) continue;
    const squeezes = new Set(expands.map((e) => source(e!.inputs[0]!)));
    const squeeze = squeezes.size === 1 ? [...squeezes][0] : undefined;
    const block = [...(squeeze?.opType === 'Conv' ? [squeeze] : []), ...(expands as OnnxNode[])];
    if (block.some((n) => blockOf.has(n))) continue;
    for (const n of block) blockOf.set(n, block);
  }
  const layers: Layer[] = [];
  const seen = new Set<OnnxNode[]>();
  for (const n of parametrized) {
    const block = blockOf.get(n) ?? [n];
    if (seen.has(block)) continue;
    seen.add(block);
    const k = layers.length + 1;
    const name = block.length > 1 ? `fire${k}` : n.opType === 'Gemm' ? `fc${k}` : `conv${k}`;
    layers.push({ name, weights: block.flatMap((b) => b.inputs.slice(1).filter((i) => model.weights.has(i))) });
  }
  return layers;
}

/** He initialization for a weight tensor (fan_in = the product of its dims after the first), zeros for a bias. */
function randomValues(t: Tensor, rng: Rng): Float32Array {
  if (t.shape.length === 1) return new Float32Array(t.size);
  const fanIn = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return Float32Array.from(rng.normals(t.size, Math.sqrt(2 / fanIn)));
}

/** Spearman's rank correlation: Pearson's correlation of the ranks (tied values share their mean rank). */
export function rankCorrelation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ranks = (v: ArrayLike<number>): Float64Array => {
    const order = Array.from({ length: v.length }, (_, i) => i).sort((i, j) => v[i]! - v[j]!);
    const r = new Float64Array(v.length);
    for (let i = 0; i < order.length; ) {
      let j = i;
      while (j + 1 < order.length && v[order[j + 1]!] === v[order[i]!]) j++;
      for (let k = i; k <= j; k++) r[order[k]!] = (i + j) / 2;
      i = j + 1;
    }
    return r;
  };
  const ra = ranks(a);
  const rb = ranks(b);
  const mean = (ra.length - 1) / 2;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < ra.length; i++) {
    sab += (ra[i]! - mean) * (rb[i]! - mean);
    saa += (ra[i]! - mean) ** 2;
    sbb += (rb[i]! - mean) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/**
 * Runs the cascade on image x for class `classIndex` (the trained network's prediction), handing each map to `emit`
 * as it is ready; stops between layers when the signal is aborted. The trained weights are restored in every case,
 * and checked: the scores of x afterwards must equal, bit for bit, those before.
 */
export async function sanityCheck(
  model: Model,
  x: Tensor,
  classIndex: number,
  options: { seed: number; method: SaliencyMethod; signal: AbortSignal; emit: (step: SanityStep) => void },
): Promise<SanityOutput> {
  const layers = layersOf(model);
  const topDown = [...layers].reverse();
  const rng = new Rng(options.seed);
  const trainedScores = model.forward(x);
  const before = await trainedScores.read();
  trainedScores.dispose();
  const trained = new Map<string, Float32Array>();
  for (const layer of layers) for (const name of layer.weights) trained.set(name, await model.weights.get(name)!.read());
  const mapOf = async (): Promise<{ map: Float32Array; predicted: number }> => {
    const r = await saliency(model, x, [classIndex], { method: options.method });
    return { map: r.map, predicted: r.predicted[0]! };
  };
  let steps = 0;
  let stopped = false;
  try {
    const original = await mapOf();
    options.emit({ label: 'original', randomized: [], map: original.map, rankCorrelation: 1, predicted: original.predicted, of: layers.length + 1 });
    steps++;
    const randomized: string[] = [];
    for (const layer of topDown) {
      if (options.signal.aborted) {
        stopped = true;
        break;
      }
      for (const name of layer.weights) {
        const t = model.weights.get(name)!;
        t.upload(randomValues(t, rng));
      }
      randomized.push(layer.name);
      const { map, predicted } = await mapOf();
      options.emit({ label: layer.name, randomized: [...randomized], map, rankCorrelation: rankCorrelation(original.map, map), predicted, of: layers.length + 1 });
      steps++;
    }
  } finally {
    for (const [name, values] of trained) model.weights.get(name)!.upload(values);
  }
  const scores = model.forward(x);
  const after = await scores.read();
  scores.dispose();
  return { layers: topDown.map((l) => l.name), steps, stopped, restored: after.every((v, i) => Object.is(v, before[i])) };
}
