/**
 * How far an attribution map can be trusted — two measurements that make a comparison of methods more than a gallery.
 *
 * Deletion and insertion (V. Petsiuk, A. Das, K. Saenko, "RISE: Randomized Input Sampling for Explanation of
 * Black-box Models", BMVC 2018): order the pixels by the map, most important first. Deletion removes them in that
 * order (replaced by the mean colour, 0 after normalization) and records the class probability after each step: a
 * good map makes it fall fast (low area under the curve). Insertion starts from a blurred image and puts the pixels
 * back in that order: a good map makes it rise fast (high area). `steps` + 1 images per curve, run as batched
 * forwards; AUC by the trapezoid rule over the fraction of pixels, [0, 1].
 *
 * The randomization test (J. Adebayo, J. Gilmer, M. Muelly, I. Goodfellow, M. Hardt, B. Kim, "Sanity Checks for
 * Saliency Maps", NeurIPS 2018): a map that explains the model must change when the model's weights are replaced by
 * random ones. Cascading: the layers are randomized from the top down, cumulatively; independent: one layer at a
 * time, the others trained. Each map is compared with the trained model's by Spearman's rank correlation (of the
 * absolute values, and of the values) and by SSIM (Wang et al. 2004) of the maps scaled to [0, 1]: values near 1
 * mean the map did not notice. The trained weights are restored afterwards and checked bit for bit.
 */
import { check } from '../../gpu/errors.js';
import { Tensor } from '../../gpu/tensor.js';
import type { Model } from '../../graph/model.js';
import { host } from '../../kernels/host.js';
import { gaussianBlur } from '../../kernels/image.js';
import { softmaxRef } from '../../kernels/softmax.js';
import { revealPixels } from '../../kernels/attribution.js';
import { Rng } from '../../util/rng.js';
import type { AttributionResult } from './common.js';

export interface Curve {
  kind: 'deletion' | 'insertion';
  /** the fraction of pixels removed (deletion) or inserted (insertion) at each point: 0, 1/steps, …, 1 */
  fractions: number[];
  /** the class probability at each point */
  probs: number[];
  /** area under the curve over [0, 1] */
  auc: number;
}

export interface CurveOptions {
  /** points per curve − 1 (default 32) */
  steps?: number;
  /** images per forward pass (default 16, at most the device's largest batch) */
  batch?: number;
  /** insertion's start: x blurred with this σ in pixels (default 10) */
  blurSigma?: number;
}

export const CURVE_DEFAULTS = { steps: 32, batch: 16, blurSigma: 10 } as const;

/** Each pixel's place in the order of `map` (largest first; ties in pixel order), as a u32 rank per pixel. */
export function ranksOf(map: ArrayLike<number>): Uint32Array {
  const order = Array.from({ length: map.length }, (_, i) => i).sort((a, b) => map[b]! - map[a]! || a - b);
  const rank = new Uint32Array(map.length);
  order.forEach((pixel, r) => (rank[pixel] = r));
  return rank;
}

function trapezoid(xs: readonly number[], ys: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < xs.length; i++) area += ((xs[i]! - xs[i - 1]!) * (ys[i]! + ys[i - 1]!)) / 2;
  return area;
}

/** Deletion and insertion curves of image `image` of x for its class, ordered by `map` ([H, W] of that image). */
export async function deletionInsertion(
  model: Model,
  x: Tensor,
  image: number,
  cls: number,
  map: ArrayLike<number>,
  options: CurveOptions = {},
): Promise<{ deletion: Curve; insertion: Curve }> {
  const [, c, h, w] = x.shape as [number, number, number, number];
  check(map.length === h * w, () => `deletion/insertion: a map of ${map.length} values for a ${h}×${w} image`);
  const steps = options.steps ?? CURVE_DEFAULTS.steps;
  check(Number.isInteger(steps) && steps > 0, () => `deletion/insertion: steps ${steps} must be a positive integer`);
  const batch = Math.min(options.batch ?? CURVE_DEFAULTS.batch, Math.max(1, model.maxBatch()));
  const gpu = model.gpu;
  const one = Tensor.empty(gpu, [1, c, h, w], 'curve.image');
  gpu.copy(x.buffer, one.buffer, one.bytes, image * one.bytes);
  const blank = Tensor.zeros(gpu, [1, c, h, w], 'curve.blank'); // the mean colour
  const blurred = gaussianBlur(one, options.blurSigma ?? CURVE_DEFAULTS.blurSigma, 'curve.blurred');
  const rank = gpu.constantBuffer(ranksOf(map), 'curve.ranks');
  const fractions = Array.from({ length: steps + 1 }, (_, k) => k / steps);
  const counts = fractions.map((f) => Math.round(f * h * w));
  const k = model.numClasses;
  try {
    const curve = async (kind: Curve['kind'], from: Tensor, to: Tensor): Promise<Curve> => {
      const probs: number[] = [];
      for (let first = 0; first < counts.length; first += batch) {
        const chunk = counts.slice(first, first + batch);
        const mixes = revealPixels(from, to, 0, rank, gpu.constantBuffer(Uint32Array.from(chunk), 'curve.counts'), chunk.length, `curve.${kind}`);
        const scores = model.forward(mixes);
        mixes.dispose();
        const values = await scores.read();
        scores.dispose();
        for (let q = 0; q < chunk.length; q++) probs.push(softmaxRef(host([1, k], values.subarray(q * k, (q + 1) * k))).data[cls]!);
      }
      return { kind, fractions, probs, auc: trapezoid(fractions, probs) };
    };
    // Deletion moves from the image to the blank one; insertion from the blurred image to the image.
    return { deletion: await curve('deletion', one, blank), insertion: await curve('insertion', blurred, one) };
  } finally {
    for (const t of [one, blank, blurred]) t.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Similarity of maps

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

/** The map scaled to [0, 1] (a constant map to 0). */
function unitRange(m: ArrayLike<number>): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < m.length; i++) {
    lo = Math.min(lo, m[i]!);
    hi = Math.max(hi, m[i]!);
  }
  const span = hi - lo;
  return Float64Array.from({ length: m.length }, (_, i) => (span > 0 ? (m[i]! - lo) / span : 0));
}

/**
 * SSIM (Z. Wang, A. Bovik, H. Sheikh, E. Simoncelli, IEEE TIP 2004) of two [h, w] maps scaled to [0, 1]: the mean over
 * the image of (2μ_aμ_b + C1)(2σ_ab + C2) / ((μ_a² + μ_b² + C1)(σ_a² + σ_b² + C2)), local statistics under an 11×11
 * Gaussian window of σ 1.5, C1 = (0.01)², C2 = (0.03)² — the paper's constants, as scikit-image's
 * structural_similarity(gaussian_weights=True, use_sample_covariance=False) computes them: edges by reflection, and the
 * mean taken away from the window's radius (5 pixels) of each border, where the reflected statistics are not the image's.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number): number {
  check(a.length === h * w && b.length === h * w, () => `ssim: maps of ${a.length} and ${b.length} values for ${h}×${w}`);
  check(h >= 11 && w >= 11, () => `ssim: a ${h}×${w} map is smaller than the 11×11 window`);
  const x = unitRange(a);
  const y = unitRange(b);
  const radius = 5;
  const taps = Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * 1.5 * 1.5)));
  const total = taps.reduce((s, t) => s + t, 0);
  const kernel = taps.map((t) => t / total);
  const reflect = (i: number, n: number): number => (i < 0 ? -i - 1 : i >= n ? 2 * n - i - 1 : i);
  const blur = (v: Float64Array): Float64Array => {
    const tmp = new Float64Array(h * w);
    const out = new Float64Array(h * w);
    for (let r = 0; r < h; r++)
      for (let cc = 0; cc < w; cc++) {
        let s = 0;
        for (let k = -radius; k <= radius; k++) s += kernel[k + radius]! * v[r * w + reflect(cc + k, w)]!;
        tmp[r * w + cc] = s;
      }
    for (let r = 0; r < h; r++)
      for (let cc = 0; cc < w; cc++) {
        let s = 0;
        for (let k = -radius; k <= radius; k++) s += kernel[k + radius]! * tmp[reflect(r + k, h) * w + cc]!;
        out[r * w + cc] = s;
      }
    return out;
  };
  const mx = blur(x);
  const my = blur(y);
  const xx = blur(x.map((v) => v * v));
  const yy = blur(y.map((v) => v * v));
  const xy = blur(x.map((v, i) => v * y[i]!));
  const [c1, c2] = [0.01 ** 2, 0.03 ** 2];
  let sum = 0;
  for (let r = radius; r < h - radius; r++)
    for (let cc = radius; cc < w - radius; cc++) {
      const i = r * w + cc;
      const vx = xx[i]! - mx[i]! ** 2;
      const vy = yy[i]! - my[i]! ** 2;
      const cov = xy[i]! - mx[i]! * my[i]!;
      sum += ((2 * mx[i]! * my[i]! + c1) * (2 * cov + c2)) / ((mx[i]! ** 2 + my[i]! ** 2 + c1) * (vx + vy + c2));
    }
  return sum / ((h - 2 * radius) * (w - 2 * radius));
}

// ---------------------------------------------------------------------------------------------------------------
// The randomization test

export interface Layer {
  /** a name a person recognizes: the ONNX node's, or a Fire module's ("fire9") */
  name: string;
  /** the model's weight tensors (Model.weights keys) it holds */
  weights: string[];
}

/** Ops that pass a value through for the purpose of finding which conv feeds which. */
const PASS_THROUGH = new Set(['Relu', 'Clip', 'Dropout', 'Identity', 'BatchNormalization']);

/**
 * The model's parametrized layers, bottom up: a Fire module (a squeeze conv and the expand convs whose outputs one
 * Concat joins) is one layer, any other Conv or Gemm is a layer of its own; numbered in graph order as the SqueezeNet
 * paper does (conv1, fire2 … fire9, conv10; fc for a Gemm).
 */
export function layersOf(model: Model): Layer[] {
  const nodes = model.onnx.nodes;
  type N = (typeof nodes)[number];
  const producer = new Map<string, N>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const source = (value: string): N | undefined => {
    let n = producer.get(value);
    while (n && PASS_THROUGH.has(n.opType)) n = producer.get(n.inputs[0]!);
    return n;
  };
  const weightsOf = (n: N): string[] => n.inputs.slice(1).filter((i) => model.weights.has(i));
  const parametrized = nodes.filter((n) => (n.opType === 'Conv' || n.opType === 'Gemm') && weightsOf(n).length > 0);
  const blockOf = new Map<N, N[]>();
  for (const cat of nodes.filter((n) => n.opType === 'Concat')) {
    const expands = cat.inputs.map(source);
    if (expands.length < 2 || !expands.every((e) => e?.opType === 'Conv')) continue;
    const squeezes = new Set(expands.map((e) => source(e!.inputs[0]!)));
    const squeeze = squeezes.size === 1 ? [...squeezes][0] : undefined;
    const block = [...(squeeze?.opType === 'Conv' ? [squeeze] : []), ...(expands as N[])];
    if (block.some((n) => blockOf.has(n))) continue;
    for (const n of block) blockOf.set(n, block);
  }
  const layers: Layer[] = [];
  const seen = new Set<N[]>();
  for (const n of parametrized) {
    const block = blockOf.get(n) ?? [n];
    if (seen.has(block)) continue;
    seen.add(block);
    const k = layers.length + 1;
    const name = block.length > 1 ? `fire${k}` : n.opType === 'Gemm' ? `fc${k}` : `conv${k}`;
    layers.push({ name, weights: block.flatMap(weightsOf) });
  }
  return layers;
}

/** He initialization for a weight tensor (fan_in = the product of its dims after the first), zeros for a bias. */
export function randomWeights(shape: readonly number[], rng: Rng): Float32Array {
  const size = shape.reduce((a, b) => a * b, 1);
  if (shape.length === 1) return new Float32Array(size);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  return Float32Array.from(rng.normals(size, Math.sqrt(2 / fanIn)));
}

export interface RandomizationScore {
  method: string;
  /** the last layer randomized (cascading: with every layer above it; independent: alone) */
  layer: string;
  /** Spearman's ρ of |map| and of map against the trained model's, and SSIM of the maps scaled to [0, 1] */
  spearmanAbs: number;
  spearman: number;
  ssim: number;
}

export interface RandomizationResult {
  mode: 'cascading' | 'independent';
  /** the layers in the order they were randomized */
  layers: string[];
  /** per image, method and layer */
  scores: RandomizationScore[][];
  /** the maps, when asked for: [image][method] → per step (0 = trained) */
  maps?: Float32Array[][][];
  /** the trained weights were put back and give the same scores, bit for bit */
  restored: boolean;
}

/**
 * The randomization test of `methods` on x [N,3,H,W]: each method's maps for the trained model and after each
 * randomization step. `layers` limits the steps (default: every parametrized layer); `attribute` computes one method's
 * maps for all images (classes fixed to the trained model's prediction, as Adebayo et al. do).
 */
export async function randomizationTest(
  model: Model,
  x: Tensor,
  methods: readonly string[],
  attribute: (method: string, classes: readonly number[]) => Promise<AttributionResult>,
  options: { mode?: 'cascading' | 'independent'; layers?: readonly string[]; seed?: number; keepMaps?: boolean; onStep?: (done: number, total: number) => void } = {},
): Promise<RandomizationResult> {
  const mode = options.mode ?? 'cascading';
  const all = layersOf(model);
  const topDown = [...all].reverse();
  const chosen = options.layers ? options.layers.map((name) => {
    const l = all.find((a) => a.name === name);
    check(l !== undefined, () => `randomization test: the model has no layer '${name}' (layers: ${all.map((a) => a.name).join(', ')})`);
    return l!;
  }) : topDown;
  const [n, , h, w] = x.shape as [number, number, number, number];
  const rng = new Rng(options.seed ?? 0);
  const trained = new Map<string, Float32Array>();
  for (const l of all) for (const name of l.weights) trained.set(name, await model.weights.get(name)!.read());
  const scoresBefore = model.forward(x);
  const before = await scoresBefore.read();
  scoresBefore.dispose();
  const classes = Array.from({ length: n }, (_, i) => {
    const row = before.subarray(i * model.numClasses, (i + 1) * model.numClasses);
    return row.indexOf(Math.max(...row));
  });
  const maps = async (): Promise<Float32Array[][]> => {
    const out: Float32Array[][] = Array.from({ length: n }, () => []);
    for (const m of methods) {
      const r = await attribute(m, classes);
      for (let i = 0; i < n; i++) out[i]!.push(r.map.slice(i * h * w, (i + 1) * h * w));
    }
    return out;
  };
  const restoreAll = (): void => {
    for (const [name, values] of trained) model.weights.get(name)!.upload(values);
  };
  const randomize = (layer: Layer): void => {
    for (const name of layer.weights) {
      const t = model.weights.get(name)!;
      t.upload(randomWeights(t.shape, rng));
    }
  };
  const scores: RandomizationScore[][] = Array.from({ length: n }, () => []);
  const kept: Float32Array[][][] = Array.from({ length: n }, () => methods.map(() => []));
  try {
    const original = await maps();
    original.forEach((perMethod, i) => perMethod.forEach((m, k) => kept[i]![k]!.push(m)));
    // Cascading randomizes from the top down through `chosen` (the cut points), including every layer above each.
    let done = 0;
    for (const layer of chosen) {
      if (mode === 'cascading') {
        const upTo = topDown.indexOf(layer);
        for (const l of topDown.slice(0, upTo + 1)) randomize(l);
      } else {
        restoreAll();
        randomize(layer);
      }
      const now = await maps();
      for (let i = 0; i < n; i++) {
        methods.forEach((method, k) => {
          const a = original[i]![k]!;
          const b = now[i]![k]!;
          scores[i]!.push({
            method,
            layer: layer.name,
            spearmanAbs: rankCorrelation(a.map(Math.abs), b.map(Math.abs)),
            spearman: rankCorrelation(a, b),
            ssim: ssim(a, b, h, w),
          });
          kept[i]![k]!.push(b);
        });
      }
      options.onStep?.(++done, chosen.length);
    }
  } finally {
    restoreAll();
  }
  const after = model.forward(x);
  const values = await after.read();
  after.dispose();
  return {
    mode,
    layers: chosen.map((l) => l.name),
    scores,
    ...(options.keepMaps && { maps: kept }),
    restored: values.every((v, i) => Object.is(v, before[i])),
  };
}
