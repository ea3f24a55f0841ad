/**
 * Saliency maps — K. Simonyan, A. Vedaldi, A. Zisserman, "Deep Inside Convolutional Networks: Visualising Image
 * Classification Models and Saliency Maps", ICLR workshop 2014 (arXiv:1312.6034), section 3:
 *
 *     M[h, w] = max_c | ∂s_y / ∂x[c, h, w] |
 *
 * the magnitude of the class score's derivative at each pixel, its largest over the colour channels: how much a small
 * change of that pixel moves the score. y defaults to the class the network predicts. N images take one forward and
 * one backward pass together (images of a batch do not interact, see gradient.ts).
 *
 * Variants:
 * - SmoothGrad — D. Smilkov, N. Thorat, B. Kim, F. Viégas, M. Wattenberg, "SmoothGrad: removing noise by adding
 *   noise", arXiv:1706.03825 (2017): M̂ = (1/n) Σ_k M(x + N(0, σ²)), σ = noise · (max x − min x), the mean of the maps
 *   of n noisy copies. Copies run in chunks of `batch` images, so memory stays that of one chunk whatever n is.
 * - gradient × input — A. Shrikumar, P. Greenside, A. Shcherbina, A. Kundaje, "Not Just a Black Box: Learning
 *   Important Features Through Propagating Activation Differences", arXiv:1605.01713 (2016):
 *   M[h, w] = max_c | x[c, h, w] · ∂s_y/∂x[c, h, w] |, the per-pixel first-order term of s(x) − s(0), where 0 is the
 *   normalized mean colour. (The max over channels of the magnitude is kept so that all three maps read alike.)
 *
 * All of it runs on the GPU; what comes back is the map [N, H, W] and the gradient [N, 3, H, W] — once, at the end.
 */
import { check, fmtShape } from '../gpu/errors.js';
import { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { accumulateSampleMean, channelAbsMax, multiply, noisyCopies } from '../kernels/technique.js';
import { Rng } from '../util/rng.js';
import { classScoreGradient, gradientsOverInputs, oneHotSeed, predictedClassGradient, predictedClasses } from './gradient.js';
import { SEED_RANGE, checkRange, type NumberRange } from './ranges.js';
import { SCORES_OVERFLOW, checkFinite } from '../util/finite.js';

export type SaliencyMethod = 'vanilla' | 'smoothgrad' | 'gradxinput';
export const SALIENCY_METHODS: readonly SaliencyMethod[] = ['vanilla', 'smoothgrad', 'gradxinput'];

export interface SaliencyOptions {
  /** default 'vanilla' */
  method?: SaliencyMethod;
  /** SmoothGrad: noisy copies per image (default 50, the paper's suggestion) */
  samples?: number;
  /** SmoothGrad: noise level, σ / (max x − min x) of each image (default 0.15; the paper finds 10–20% best) */
  noise?: number;
  /** SmoothGrad: copies per forward/backward pass, which bounds memory (default 10) */
  batch?: number;
  /** SmoothGrad: seed of the noise (default 0) */
  seed?: number;
  /** SmoothGrad: called after each chunk with the noisy copies done so far and their total, for a progress display */
  onProgress?: (done: number, total: number) => void;
}

export const SALIENCY_DEFAULTS = { method: 'vanilla', samples: 50, noise: 0.15, batch: 10, seed: 0 } as const;

/** The range of each numeric setting: noise is σ as a fraction of the image's value range, where 10 is already pure noise. */
export const SALIENCY_RANGES = {
  samples: { min: 1, max: 10_000, integer: true },
  noise: { min: 0, max: 10 },
  seed: SEED_RANGE,
} as const satisfies Record<string, NumberRange>;

/** A way to stop a long SmoothGrad (the web page's Stop button). */
export interface SaliencyLive {
  /**
   * SmoothGrad: checked after each chunk of noisy copies. Once aborted, the remaining copies are skipped and each
   * image's map is the mean over the copies it got (`copies` of the result), which is SmoothGrad with that smaller n;
   * an image left with no copy at all makes the call throw the signal's reason. The other methods are one pass and
   * do not look at it.
   */
  signal?: AbortSignal;
}

export interface SaliencyResult {
  method: SaliencyMethod;
  /** the class each map is of: the given ones, or the predicted ones */
  classes: number[];
  /** the classes the network predicts for the images as given */
  predicted: number[];
  /** the maps, [N, H, W] row-major */
  map: Float32Array;
  /** ∂s_y/∂x, [N, 3, H, W]; for SmoothGrad the mean over the noisy copies */
  grad: Float32Array;
  /** the class scores of the images as given, [N, K] */
  scores: Float32Array;
  /** [N, H, W] */
  shape: [number, number, number];
  /** SmoothGrad: the noisy copies each image's mean is over (`samples`, unless the signal stopped the run early) */
  copies?: number[];
  /** SmoothGrad: the signal ended the run before every copy was done */
  stopped?: boolean;
}

type Settings = Required<Omit<SaliencyOptions, 'onProgress'>> & Pick<SaliencyOptions, 'onProgress'> & SaliencyLive;

function checkOptions(options: SaliencyOptions & SaliencyLive): Settings {
  const o = { ...SALIENCY_DEFAULTS, ...options };
  check(SALIENCY_METHODS.includes(o.method), () => `saliency: unknown method '${o.method}' (methods: ${SALIENCY_METHODS.join(', ')})`);
  check(Number.isInteger(o.samples) && o.samples > 0, () => `saliency: samples ${o.samples} must be a positive integer`);
  check(Number.isInteger(o.batch) && o.batch > 0, () => `saliency: batch ${o.batch} must be a positive integer`);
  check(Number.isFinite(o.noise) && o.noise >= 0, () => `saliency: noise ${o.noise} must be a finite number ≥ 0`);
  check(Number.isInteger(o.seed), () => `saliency: seed ${o.seed} must be an integer`);
  for (const [key, range] of Object.entries(SALIENCY_RANGES)) checkRange(o[key as keyof typeof SALIENCY_RANGES], range, `saliency: ${key}`);
  return o;
}

/** The scores of x and ∂s_y/∂x, for the given classes or — when there are none — for the predicted ones. */
async function scoresAndGradient(
  model: Model,
  x: Tensor,
  classes: readonly number[] | undefined,
): Promise<{ scores: Tensor; grad: Tensor; classes: number[]; predicted: number[] }> {
  if (classes) {
    const { scores, grad } = classScoreGradient(model, x, classes);
    return { scores, grad, classes: [...classes], predicted: await predictedClasses(scores) };
  }
  const { scores, grad, classes: predicted } = await predictedClassGradient(model, x);
  return { scores, grad, classes: predicted, predicted };
}

/** Each image's max − min, the scale SmoothGrad's noise level is relative to (one read of x). */
async function valueRanges(x: Tensor): Promise<number[]> {
  const values = await x.read();
  const per = x.size / x.shape[0]!;
  return Array.from({ length: x.shape[0]! }, (_, i) => {
    let lo = Infinity;
    let hi = -Infinity;
    for (let j = i * per; j < (i + 1) * per; j++) {
      lo = Math.min(lo, values[j]!);
      hi = Math.max(hi, values[j]!);
    }
    return hi - lo;
  });
}

/**
 * SmoothGrad: for each image, `samples` noisy copies in chunks of `batch`; each chunk's maps and gradients are added,
 * scaled by 1/samples, into running means held on the GPU. The noise comes from one seeded Rng on the CPU, so a seed
 * gives the same copies on every adapter.
 *
 * Stopped early (the signal), an image that got k < samples copies holds (1/samples)·Σ_k; multiplying it by
 * samples/k makes it the mean of its k copies — what a run with samples = k gives, up to rounding.
 */
async function smoothGrad(
  model: Model,
  x: Tensor,
  classes: readonly number[],
  o: Settings,
): Promise<{ map: Tensor; grad: Tensor; copies: number[]; stopped: boolean }> {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const ranges = await valueRanges(x);
  const rng = new Rng(o.seed);
  const mapMean = Tensor.zeros(x.gpu, [n, h, w], 'smoothgrad.map');
  const gradMean = Tensor.zeros(x.gpu, x.shape, 'smoothgrad.grad');
  const copies = new Array<number>(n).fill(0);
  let stopped = false;
  try {
    for (let i = 0; i < n && !stopped; i++) {
      const std = o.noise * ranges[i]!;
      const run = await gradientsOverInputs(model, {
        total: o.samples,
        batch: o.batch,
        classOf: classes[i]!,
        make: (_, count) => {
          const noise = Tensor.from(x.gpu, [count, c, h, w], Float32Array.from(rng.normals(count * c * h * w)), 'smoothgrad.noise');
          const noisy = noisyCopies(x, i, noise, std);
          noise.dispose();
          return noisy;
        },
        consume: (grad) => {
          const maps = channelAbsMax(grad);
          accumulateSampleMean(mapMean, i, maps, 1 / o.samples);
          accumulateSampleMean(gradMean, i, grad, 1 / o.samples);
          maps.dispose();
        },
        signal: o.signal,
        onProgress: (done) => o.onProgress?.(i * o.samples + done, n * o.samples),
      });
      copies[i] = run.done;
      // After an image's last chunk, an abort stops the run unless that was the last image (then it is done anyway).
      stopped = run.stopped || (i < n - 1 && o.signal?.aborted === true);
    }
    if (stopped) {
      if (copies.some((k) => k === 0)) o.signal!.throwIfAborted();
      copies.forEach((k, i) => {
        if (k < o.samples) {
          rescaleSample(mapMean, i, o.samples / k);
          rescaleSample(gradMean, i, o.samples / k);
        }
      });
    }
    return { map: mapMean, grad: gradMean, copies, stopped };
  } catch (e) {
    mapMean.dispose();
    gradMean.dispose();
    throw e;
  }
}

/**
 * acc[i] ← factor · acc[i], through accumulateSampleMean (acc[i] += (factor − 1) · copy of acc[i]): the copy is needed
 * because one dispatch may not read and write the same buffer through two bindings.
 */
function rescaleSample(acc: Tensor, i: number, factor: number): void {
  const sampleShape = [1, ...acc.shape.slice(1)];
  const copy = Tensor.empty(acc.gpu, sampleShape, `${acc.name}[${i}]`);
  acc.gpu.copy(acc.buffer, copy.buffer, copy.bytes, i * copy.bytes);
  accumulateSampleMean(acc, i, copy, factor - 1);
  copy.dispose();
}

/**
 * Saliency maps of a batch x [N, 3, H, W] (preprocessed images) for `classes` (one per image; default: the predicted
 * ones). Throws a PixelpropError for bad options or classes before anything runs.
 */
export async function saliency(
  model: Model,
  x: Tensor,
  classes?: readonly number[],
  options: SaliencyOptions & SaliencyLive = {},
): Promise<SaliencyResult> {
  const o = checkOptions(options);
  check(x.shape.length === 4 && x.shape[1] === 3, () => `saliency: expected images [N,3,H,W], got ${fmtShape(x.shape)}`);
  const [n, , h, w] = x.shape as [number, number, number, number];
  if (classes) {
    check(classes.length === n, () => `saliency: ${classes.length} classes for ${n} images`);
    oneHotSeed(model, classes); // checks each class is in range, before any pass runs
  }
  const clean = await scoresAndGradient(model, x, classes);
  let map: Tensor | null = null;
  let grad: Tensor = clean.grad;
  let smooth: { copies: number[]; stopped: boolean } | null = null;
  try {
    if (o.method === 'smoothgrad') {
      const mean = await smoothGrad(model, x, clean.classes, o);
      clean.grad.dispose();
      ({ map, grad } = mean);
      smooth = { copies: mean.copies, stopped: mean.stopped };
    } else if (o.method === 'gradxinput') {
      const product = multiply(grad, x, 'grad_x_input');
      map = channelAbsMax(product, 'saliency');
      product.dispose();
    } else {
      map = channelAbsMax(grad, 'saliency');
    }
    const scores = await clean.scores.read();
    checkFinite(scores, 'the score tensor read back from the GPU', SCORES_OVERFLOW);
    return {
      method: o.method,
      classes: clean.classes,
      predicted: clean.predicted,
      map: await map.read(),
      grad: await grad.read(),
      scores,
      shape: [n, h, w],
      ...smooth,
    };
  } finally {
    map?.dispose();
    grad.dispose();
    clean.scores.dispose();
  }
}
