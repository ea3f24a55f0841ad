/**
 * Fooling images — C. Szegedy, W. Zaremba, I. Sutskever, J. Bruna, D. Erhan, I. Goodfellow, R. Fergus, "Intriguing
 * properties of neural networks", ICLR 2014 (arXiv:1312.6199): an imperceptible change of a correctly classified
 * image makes the network output any class we like. As in CS231n's make_fooling_image, by gradient ascent on the
 * target's unnormalized score with a step of fixed length:
 *
 *     X ← X + lr · g / ‖g‖₂,      g = ∂s_target/∂X,
 *
 * stopping as soon as argmax s(X) = target, after at most maxIters steps. ‖g‖₂ is computed and used on the GPU, so an
 * iteration reads back nothing but the argmax (4 bytes).
 *
 * A fooling image only counts once it is saved: the float image that fools may stop fooling after rounding to 8 bits
 * (the step near the decision boundary can be smaller than the rounding). So when X fools, it is quantized — deprocess
 * to bytes, re-preprocess — and the quantized image replaces X. The next iteration's forward pass then classifies
 * exactly what would be saved: if it is the target we are done, if not the ascent simply goes on from there (these
 * are the `extraIterations`) until the 8-bit image fools or maxIters is reached.
 */
import { check, fmtShape } from '../gpu/errors.js';
import { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { l2Norm } from '../kernels/reduce.js';
import { axpyByNormInPlace } from '../kernels/elementwise.js';
import { toFloat, type RgbImage8 } from '../image/image.js';
import { IMAGENET_NORMALIZATION, deprocess, normalize, type Normalization } from '../image/preprocess.js';
import { classScoreGradient, classify, oneHotSeed, predictedClasses, verdictOf, type Verdict } from './gradient.js';
import { checkRange, type NumberRange } from './ranges.js';

export interface FoolOptions {
  /** length of each step in normalized-pixel units (default 1, CS231n's) */
  lr?: number;
  /** at most this many steps (default 100) */
  maxIters?: number;
  /** called after each forward pass with the steps taken so far, the class predicted for X and the target's score */
  onIteration?: (info: { iteration: number; predicted: number; score: number }) => void;
  /** the model's preprocessing, to round X to the 8-bit picture it stands for (default: ImageNet's mean/std) */
  normalization?: Normalization;
}

export const FOOL_DEFAULTS = { lr: 1, maxIters: 100 } as const;

/** The range of each numeric setting: a step of lr normalized units; 10⁴ crosses the whole image space in one. */
export const FOOL_RANGES = {
  lr: { min: 0, max: 1e4, aboveMin: true },
  maxIters: { min: 1, max: 100_000, integer: true },
} as const satisfies Record<string, NumberRange>;

/** Controls for a run that someone watches (the web page): a live image and a way to stop. */
export interface FoolLive {
  /**
   * A live view: called after the forward pass of every `imageEvery`-th iteration with X's 8-bit picture and the
   * scores [K] of that same forward pass (what the network says about exactly this picture's float values). Costs a
   * read of X and of the scores, so only when asked for.
   */
  onImage?: (info: { iteration: number; image: RgbImage8; scores: Float32Array }) => void;
  /** call onImage at iterations 0, K, 2K, … (default 1: every iteration) */
  imageEvery?: number;
  /**
   * Checked after each forward pass, before the step: once aborted, no further step is taken and the result
   * describes X as it is then (rounded to 8 bits and classified, as after maxIters), with `stopped` set.
   */
  signal?: AbortSignal;
}

export interface FoolResult {
  target: number;
  /** the saved (8-bit) image is classified as the target */
  fooled: boolean;
  /** gradient steps taken in all */
  iterations: number;
  /** steps taken after the float image first fooled because its 8-bit version did not (0 when rounding was harmless) */
  extraIterations: number;
  /** how many times a fooling float image was rounded to 8 bits to be checked (0: x was already classified as the target) */
  roundings: number;
  /** the signal ended the ascent before the target was reached and before maxIters */
  stopped: boolean;
  /** softmax probability of the target for the saved image */
  targetProb: number;
  /** the class predicted for the image as given, and for the saved image */
  originalClass: number;
  finalClass: number;
  /** max and root-sum-square of the per-byte difference saved − original, in 0–255 units over all 3·H·W values */
  linf: number;
  l2: number;
  /** the original as the network sees it (preprocessed, rounded to 8 bits) and the fooling image as saved */
  original: RgbImage8;
  image: RgbImage8;
}

/** X's 8-bit picture and the normalized values of that picture (what preprocessing the saved PNG gives). */
function quantize(chw: Float32Array, h: number, w: number, normalization: Normalization): { image: RgbImage8; chw: Float32Array } {
  const image = deprocess(chw, h, w, { normalization });
  return { image, chw: normalize(toFloat(image), normalization) };
}

/** L∞ and L2 norms of b − a over all bytes. */
function byteDistance(a: RgbImage8, b: RgbImage8): { linf: number; l2: number } {
  let linf = 0;
  let squares = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = b.data[i]! - a.data[i]!;
    linf = Math.max(linf, Math.abs(d));
    squares += d * d;
  }
  return { linf, l2: Math.sqrt(squares) };
}

function checkOptions(model: Model, x: Tensor, target: number, options: FoolOptions & FoolLive): { lr: number; maxIters: number; imageEvery: number } {
  const o = { ...FOOL_DEFAULTS, imageEvery: 1, ...options };
  check(x.shape.length === 4 && x.shape[0] === 1 && x.shape[1] === 3, () => `fool: expected one image [1,3,H,W], got ${fmtShape(x.shape)}`);
  check(Number.isFinite(o.lr) && o.lr > 0, () => `fool: learning rate ${o.lr} must be a finite number > 0`);
  check(Number.isInteger(o.maxIters) && o.maxIters > 0, () => `fool: maxIters ${o.maxIters} must be a positive integer`);
  check(Number.isInteger(o.imageEvery) && o.imageEvery > 0, () => `fool: imageEvery ${o.imageEvery} must be a positive integer`);
  for (const [key, range] of Object.entries(FOOL_RANGES)) checkRange(o[key as keyof typeof FOOL_RANGES], range, `fool: ${key}`);
  oneHotSeed(model, [target]); // checks the target is a class of the model
  return o;
}

/** A fooling image of x [1, 3, H, W] (a preprocessed image, left unchanged) for class `target`. */
export async function fool(model: Model, x: Tensor, target: number, options: FoolOptions & FoolLive = {}): Promise<FoolResult> {
  const { lr, maxIters, imageEvery } = checkOptions(model, x, target, options);
  const [, , h, w] = x.shape as [number, number, number, number];
  const gpu = x.gpu;
  const normalization = options.normalization ?? IMAGENET_NORMALIZATION;
  const original = deprocess(await x.read(), h, w, { normalization });
  // X is this function's own copy, updated in place: the loop allocates no tensor of its own.
  const X = Tensor.empty(gpu, x.shape, 'fooling');
  gpu.copy(x.buffer, X.buffer, x.bytes);
  let iterations = 0;
  let firstFooledAt: number | null = null;
  let roundings = 0;
  let stopped = false;
  let rounded = false; // X holds exactly what its 8-bit picture preprocesses to
  let originalClass = -1;
  // Set when the loop ends: the verdict on the saved 8-bit image, if the last forward pass was of that image.
  let final: Verdict | null = null;
  try {
    for (;;) {
      const { scores, grad } = classScoreGradient(model, X, [target]);
      try {
        const [predicted] = await predictedClasses(scores); // the iteration's only read-back
        if (originalClass < 0) originalClass = predicted!;
        if (options.onIteration) {
          // Only for a progress display: 4 more bytes, the target's score.
          const score = new Float32Array(await gpu.read(scores.buffer, 4, 4 * target))[0]!;
          options.onIteration({ iteration: iterations, predicted: predicted!, score });
        }
        if (options.onImage && iterations % imageEvery === 0) {
          options.onImage({ iteration: iterations, image: deprocess(await X.read(), h, w, { normalization }), scores: await scores.read() });
        }
        if (predicted === target) {
          if (rounded) {
            final = await verdictOf(scores); // X is an 8-bit picture, and it fools: done
            break;
          }
          // X fools, but perhaps not once rounded: go on from the rounded image, which the next forward classifies.
          firstFooledAt ??= iterations;
          roundings++;
          X.upload(quantize(await X.read(), h, w, normalization).chw);
          rounded = true;
          continue;
        }
        rounded = false;
        if (iterations >= maxIters) break;
        if (options.signal?.aborted) {
          stopped = true;
          break;
        }
        const norm = l2Norm(grad);
        axpyByNormInPlace(X, lr, grad, norm);
        norm.dispose();
        iterations++;
      } finally {
        scores.dispose();
        grad.dispose();
      }
    }
    // The verdict is on the saved bytes: after maxIters, round X and classify that; then the softmax, in float64.
    const q = quantize(await X.read(), h, w, normalization);
    if (!final) {
      X.upload(q.chw);
      final = await classify(model, X);
    }
    const finalClass = final.argmax;
    return {
      target,
      fooled: finalClass === target,
      iterations,
      extraIterations: firstFooledAt === null ? 0 : iterations - firstFooledAt,
      roundings,
      stopped,
      targetProb: final.probs[target]!,
      originalClass,
      finalClass,
      ...byteDistance(original, q.image),
      original,
      image: q.image,
    };
  } finally {
    X.dispose();
  }
}
