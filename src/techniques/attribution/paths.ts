/**
 * Attributions from gradients averaged over many inputs — along a path, or over noise — each run in chunks of `batch`
 * inputs (src/techniques/gradient.ts, gradientsOverInputs), so that memory stays that of one chunk whatever the count.
 *
 *   Integrated Gradients (M. Sundararajan, A. Taly, Q. Yan, "Axiomatic Attribution for Deep Networks", ICML 2017):
 *       IG(x) = (x − x′) ⊙ ∫₀¹ ∇s_y(x′ + α(x − x′)) dα  ≈  (x − x′) ⊙ Σ_k w_k ∇s_y(x′ + α_k(x − x′)),
 *       with Gauss–Legendre's m nodes α_k and weights w_k (as Captum's default), or the midpoint rule α_k = (k + ½)/m,
 *       w_k = 1/m. Completeness: Σ IG = s_y(x) − s_y(x′) exactly for the integral; the result reports how far the
 *       m-point sum is from it. Baselines x′: black, a blurred x (Fong & Vedaldi's blur;
 *       Sturmfels et al., Distill 2020), or uniform noise.
 *   Expected Gradients (G. Erion et al., "Improving performance of deep learning models with axiomatic attribution
 *   priors and expected gradients", Nature Machine Intelligence 2021) — GradientSHAP in Captum:
 *       EG(x) = E_{x′∼D, α∼U(0,1)} [(x − x′) ⊙ ∇s_y(x′ + α(x − x′))],   m random (x′, α) pairs.
 *   SmoothGrad² (S. Hooker et al., "A Benchmark for Interpretability Methods in Deep Neural Networks", NeurIPS 2019):
 *       E[g²] over noisy copies x + N(0, σ²);   VarGrad (J. Adebayo et al., "Local Explanation Methods for Deep Neural
 *       Networks Lack Sensitivity to Parameter Values", ICLR workshop 2018):  Var[g] = E[g²] − E[g]².
 */
import { check } from '../../gpu/errors.js';
import { Tensor } from '../../gpu/tensor.js';
import type { Model } from '../../graph/model.js';
import { axpyInPlace } from '../../kernels/elementwise.js';
import { gaussianBlur } from '../../kernels/image.js';
import { gaussLegendre, pathPoints, pathProducts } from '../../kernels/path.js';
import { sumStrided } from '../../kernels/reduce.js';
import { accumulateSampleMean, channelAbsMax, channelSum, multiply, noisyCopies } from '../../kernels/technique.js';
import { NORMALIZED_MAX, NORMALIZED_MIN } from '../../image/preprocess.js';
import { Rng } from '../../util/rng.js';
import { gradientsOverInputs } from '../gradient.js';
import { checkImages, gradientAt, release, type AttributionResult } from './common.js';

export type PathMethod = 'integrated-gradients' | 'expected-gradients' | 'smoothgrad-squared' | 'vargrad';
export const PATH_METHODS: readonly PathMethod[] = ['integrated-gradients', 'expected-gradients', 'smoothgrad-squared', 'vargrad'];

export type BaselineKind = 'black' | 'blur' | 'noise';
export type Quadrature = 'gauss-legendre' | 'midpoint';
export const QUADRATURES: readonly Quadrature[] = ['gauss-legendre', 'midpoint'];
export const BASELINES: readonly BaselineKind[] = ['black', 'blur', 'noise'];

export interface PathOptions {
  /** Integrated Gradients' x′ (default black); Expected Gradients draws its x′ from uniform noise */
  baseline?: BaselineKind;
  /** points per image: path points (IG, default 64), random samples (EG, SG², VarGrad, default 32) */
  steps?: number;
  /** inputs per forward/backward pass (default 16, at most the device's largest batch) */
  batch?: number;
  /** SG², VarGrad: σ of the noise as a fraction of the image's value range (default 0.15) */
  noise?: number;
  /** the seed of every random draw (default 0) */
  seed?: number;
  /** the normalized values of black and white per channel (default: ImageNet's mean/std preprocessing) */
  pixelRange?: { lo: readonly number[]; hi: readonly number[] };
  /** blur baseline: σ in pixels (default 10) */
  blurSigma?: number;
  /** Integrated Gradients' quadrature: Gauss–Legendre nodes and weights (default, as Captum), or midpoints */
  quadrature?: Quadrature;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export const PATH_DEFAULTS = {
  baseline: 'black',
  igSteps: 64,
  samples: 32,
  batch: 16,
  noise: 0.15,
  seed: 0,
  blurSigma: 10,
  quadrature: 'gauss-legendre',
} as const;

function settings(model: Model, method: PathMethod, o: PathOptions) {
  const steps = o.steps ?? (method === 'integrated-gradients' ? PATH_DEFAULTS.igSteps : PATH_DEFAULTS.samples);
  const batch = Math.min(o.batch ?? PATH_DEFAULTS.batch, Math.max(1, model.maxBatch()));
  check(Number.isInteger(steps) && steps > 0, () => `${method}: steps ${steps} must be a positive integer`);
  check(Number.isInteger(batch) && batch > 0, () => `${method}: batch ${batch} must be a positive integer`);
  const baseline = o.baseline ?? PATH_DEFAULTS.baseline;
  check(BASELINES.includes(baseline), () => `${method}: unknown baseline '${baseline}' (baselines: ${BASELINES.join(', ')})`);
  const noise = o.noise ?? PATH_DEFAULTS.noise;
  check(Number.isFinite(noise) && noise >= 0, () => `${method}: noise ${noise} must be a finite number ≥ 0`);
  const seed = o.seed ?? PATH_DEFAULTS.seed;
  check(Number.isInteger(seed), () => `${method}: seed ${seed} must be an integer`);
  const blurSigma = o.blurSigma ?? PATH_DEFAULTS.blurSigma;
  const range = o.pixelRange ?? { lo: NORMALIZED_MIN, hi: NORMALIZED_MAX };
  const quadrature = o.quadrature ?? PATH_DEFAULTS.quadrature;
  check(QUADRATURES.includes(quadrature), () => `${method}: unknown quadrature '${quadrature}' (${QUADRATURES.join(', ')})`);
  return { steps, batch, baseline, noise, seed, blurSigma, range, quadrature };
}

function checkRange(range: { lo: readonly number[]; hi: readonly number[] }, channels: number): void {
  check(range.lo.length === channels && range.hi.length === channels, () => `pixelRange gives ${range.lo.length} channel(s) for images of ${channels}`);
}

/** Uniform noise images [count, C, H, W] between black and white per channel. */
function noiseImages(model: Model, shape: readonly number[], count: number, range: { lo: readonly number[]; hi: readonly number[] }, rng: Rng): Tensor {
  const [, c, h, w] = shape as [number, number, number, number];
  checkRange(range, c);
  const data = new Float32Array(count * c * h * w);
  for (let k = 0; k < count; k++)
    for (let ch = 0; ch < c; ch++) {
      const [lo, hi] = [range.lo[ch]!, range.hi[ch]!]; // one per channel: checked in pathAttribution
      for (let p = 0; p < h * w; p++) data[(k * c + ch) * h * w + p] = lo + (hi - lo) * rng.uniform();
    }
  return Tensor.from(model.gpu, [count, c, h, w], data, 'baseline.noise');
}

/** Integrated Gradients' baseline x′ for image i of x, [1, C, H, W]. */
function baselineOf(model: Model, x: Tensor, i: number, kind: BaselineKind, o: ReturnType<typeof settings>, rng: Rng): Tensor {
  const [, c, h, w] = x.shape as [number, number, number, number];
  if (kind === 'noise') return noiseImages(model, x.shape, 1, o.range, rng);
  if (kind === 'black') {
    const data = new Float32Array(c * h * w);
    checkRange(o.range, c);
    for (let ch = 0; ch < c; ch++) data.fill(o.range.lo[ch]!, ch * h * w, (ch + 1) * h * w);
    return Tensor.from(model.gpu, [1, c, h, w], data, 'baseline.black');
  }
  // blur: x[i] blurred with a wide Gaussian, the image with its details (and little else) removed
  const one = Tensor.empty(model.gpu, [1, c, h, w], 'baseline.image');
  model.gpu.copy(x.buffer, one.buffer, one.bytes, i * one.bytes);
  const blurred = gaussianBlur(one, o.blurSigma, 'baseline.blur');
  one.dispose();
  return blurred;
}

/** Σ over each image's elements, read back: [N]. */
async function totals(t: Tensor): Promise<number[]> {
  const n = t.shape[0]!;
  const per = t.size / n;
  const sums = sumStrided(t, { outputs: n, length: per, outStride: per, inStride: 1 }, [n], 'totals');
  try {
    return Array.from(await sums.read());
  } finally {
    sums.dispose();
  }
}

export async function pathAttribution(
  model: Model,
  x: Tensor,
  method: PathMethod,
  classes?: readonly number[],
  options: PathOptions = {},
): Promise<AttributionResult> {
  check(PATH_METHODS.includes(method), () => `unknown path method '${method}' (methods: ${PATH_METHODS.join(', ')})`);
  const [n, c, h, w] = checkImages(x, method);
  const o = settings(model, method, options);
  const clean = await gradientAt(model, x, classes); // the classes, and s(x) for completeness
  const rng = new Rng(o.seed);
  const attributions = Tensor.zeros(model.gpu, x.shape, `${method}.attributions`);
  const squares = method === 'vargrad' ? Tensor.zeros(model.gpu, x.shape, 'vargrad.squares') : null;
  const baselineScores = new Array<number>(n).fill(0);
  let map: Tensor | null = null;
  try {
    for (let i = 0; i < n; i++) {
      const cls = clean.classes[i]!;
      const progress = (done: number): void => options.onProgress?.(i * o.steps + done, n * o.steps);
      if (method === 'integrated-gradients' || method === 'expected-gradients') {
        const ig = method === 'integrated-gradients';
        const baseline = ig ? baselineOf(model, x, i, o.baseline, o, rng) : null;
        if (baseline) baselineScores[i] = await scoreOf(model, baseline, cls);
        // IG: the quadrature's nodes α_k and weights w_k on [0, 1]; EG: α ~ U(0, 1), w = 1/m, a fresh baseline per point.
        const rule = ig ? quadratureRule(o.quadrature, o.steps) : null;
        let chunk: { baselines: Tensor; weights: Tensor } | null = null;
        await gradientsOverInputs(model, {
          total: o.steps,
          batch: o.batch,
          classOf: cls,
          make: (start, count) => {
            const alphas = Array.from({ length: count }, (_, k) => (rule ? rule.nodes[start + k]! : rng.uniform()));
            const weights = Array.from({ length: count }, (_, k) => (rule ? rule.weights[start + k]! : 1 / o.steps));
            chunk = {
              baselines: baseline ? baseline.retain() : noiseImages(model, x.shape, count, o.range, rng),
              weights: Tensor.from(model.gpu, [count], weights, 'weights'),
            };
            const a = Tensor.from(model.gpu, [count], alphas, 'alphas');
            const points = pathPoints(x, i, chunk.baselines, a, `${method}.points`);
            a.dispose();
            return points;
          },
          consume: (grad) => {
            const c = chunk!;
            const products = pathProducts(x, i, c.baselines, grad, c.weights, `${method}.products`);
            accumulateSampleMean(attributions, i, products, 1); // the weights are in the products: a plain sum
            for (const t of [products, c.baselines, c.weights]) t.dispose();
            chunk = null;
          },
          signal: options.signal,
          onProgress: progress,
        });
        baseline?.dispose();
      } else {
        const ranges = await valueRange(x, i);
        const std = o.noise * ranges;
        await gradientsOverInputs(model, {
          total: o.steps,
          batch: o.batch,
          classOf: cls,
          make: (_, count) => {
            const noise = Tensor.from(model.gpu, [count, c, h, w], Float32Array.from(rng.normals(count * c * h * w)), 'noise');
            const noisy = noisyCopies(x, i, noise, std);
            noise.dispose();
            return noisy;
          },
          consume: (grad) => {
            const g2 = multiply(grad, grad, 'g²');
            accumulateSampleMean(method === 'vargrad' ? squares! : attributions, i, g2, 1 / o.steps);
            if (method === 'vargrad') accumulateSampleMean(attributions, i, grad, 1 / o.steps);
            g2.dispose();
          },
          signal: options.signal,
          onProgress: progress,
        });
      }
      options.signal?.throwIfAborted();
    }
    if (squares) {
      // Var[g] = E[g²] − E[g]²: attributions holds E[g]; make it E[g²] − E[g]⊙E[g] in place.
      const meanSquared = multiply(attributions, attributions, 'E[g]²');
      axpyInPlace(squares, -1, meanSquared);
      meanSquared.dispose();
      model.gpu.copy(squares.buffer, attributions.buffer, attributions.bytes);
    }
    const sums = method === 'integrated-gradients' || method === 'expected-gradients';
    map = sums ? channelSum(attributions, `${method}.map`) : channelAbsMax(attributions, `${method}.map`);
    const result: AttributionResult = {
      method,
      classes: clean.classes,
      predicted: clean.predicted,
      map: await map.read(),
      shape: [n, h, w],
      attributions: await attributions.read(),
      scores: await clean.scores.read(),
    };
    if (method === 'integrated-gradients') {
      const k = model.numClasses;
      const attributionSum = await totals(attributions);
      const scoreDelta = clean.classes.map((cls, i) => result.scores[i * k + cls]! - baselineScores[i]!);
      result.completeness = {
        attributionSum,
        scoreDelta,
        relError: attributionSum.map((s, i) => Math.abs(s - scoreDelta[i]!) / Math.max(Math.abs(scoreDelta[i]!), 1e-12)),
      };
    }
    return result;
  } finally {
    map?.dispose();
    squares?.dispose();
    attributions.dispose();
    release(clean);
  }
}

/** The nodes and weights of Integrated Gradients' m-point quadrature on [0, 1]. */
function quadratureRule(kind: Quadrature, m: number): { nodes: number[]; weights: number[] } {
  if (kind === 'gauss-legendre') return gaussLegendre(m);
  return { nodes: Array.from({ length: m }, (_, k) => (k + 0.5) / m), weights: new Array<number>(m).fill(1 / m) };
}

/** s_y of one image. */
async function scoreOf(model: Model, image: Tensor, cls: number): Promise<number> {
  const scores = model.forward(image);
  try {
    return (await scores.read())[cls]!;
  } finally {
    scores.dispose();
  }
}

/** max − min of image i's values (the scale of SmoothGrad's noise). */
async function valueRange(x: Tensor, i: number): Promise<number> {
  const per = x.size / x.shape[0]!;
  const values = new Float32Array(await x.gpu.read(x.buffer, per * 4, i * per * 4));
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return hi - lo;
}
