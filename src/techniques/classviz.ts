/**
 * Class visualization: the image the network finds most typical of a class, by gradient ascent on the class score
 * from random noise —
 *
 *   K. Simonyan, A. Vedaldi, A. Zisserman, "Deep Inside Convolutional Networks: Visualising Image Classification
 *   Models and Saliency Maps", ICLR workshop 2014 (arXiv:1312.6034), section 2:   I* = argmax_I  s_y(I) − λ‖I‖²₂,
 *
 * with the image priors of J. Yosinski, J. Clune, A. Nguyen, T. Fuchs, H. Lipson, "Understanding Neural Networks
 * Through Deep Visualization", ICML Deep Learning workshop 2015 (arXiv:1506.06579) — jitter, blur, clipping — in the
 * form of CS231n's create_class_visualization. One iteration:
 *
 *     g  = ∇_I [ s_y(roll(I, ox, oy)) − λ‖I‖² ]     (ox, oy) uniform in [−jitter, jitter]²: a shifted view each step
 *     I ← I + lr·g     (or lr·g/‖g‖₂ with normalizedStep)
 *     I ← (1 − decay)·I                    Yosinski's weight decay, as he applies it: a shrink after the step
 *     I ← clamp(I, black, white)           per channel: stay a displayable picture
 *     every blurEvery-th iteration (t = 0, K, 2K, …, as CS231n's `t % blur_every == 0`): I ← Gaussian(σ) ∗ I
 *
 * The objective is built on the tape (Roll, the model, SumOfSquares, Scale), so g comes back from one backward pass
 * already shifted back — the Roll op's backward is the roll by (−ox, −oy) — and with the regularizer's −2λI in it.
 * (CS231n steps the shifted image and shifts it back; a roll is a permutation, so the two are the same image.)
 *
 * The start is CS231n's `torch.randn(1, 3, 224, 224).mul_(1.0)`: standard normal noise in normalized units. The noise
 * and the jitter come from one seeded Rng on the CPU, so a seed gives the same run on the same adapter. Everything
 * else stays on the GPU; only the snapshots (and, for a progress display, the score) are read back.
 *
 * Differences from CS231n: the jitter is drawn from [−J, J] (the TensorFlow version of the assignment) rather than
 * [0, J] (its PyTorch version); both are circular shifts, the symmetric range just does not favour one direction.
 */
import { check } from '../gpu/errors.js';
import { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { roll } from '../graph/ops/roll.js';
import { scale } from '../graph/ops/scale.js';
import { sumOfSquares } from '../graph/ops/sum-of-squares.js';
import { axpyByNormInPlace, axpyInPlace, clampChannelsInPlace } from '../kernels/elementwise.js';
import { gaussianBlurInPlace, gaussianWeights } from '../kernels/image.js';
import { l2Norm } from '../kernels/reduce.js';
import { scaleInPlace } from '../kernels/technique.js';
import type { RgbImage8 } from '../image/image.js';
import { IMAGENET_NORMALIZATION, MAX_INPUT_SIDE, deprocess, inputRange, type Normalization } from '../image/preprocess.js';
import { Rng } from '../util/rng.js';
import { classScoreGradient, classify, oneHotSeed } from './gradient.js';
import { SEED_RANGE, checkRange, type NumberRange } from './ranges.js';

export interface ClassVisualizationOptions {
  /** gradient steps (default 100) */
  iterations?: number;
  /** step size (default 25) */
  lr?: number;
  /** λ of the L2 penalty λ‖I‖² (default 1e-3) */
  l2?: number;
  /** Yosinski's decay: I ← (1 − decay)·I after each step (default 0) */
  decay?: number;
  /** standard deviation of the blur in pixels (default 0.5) */
  blurSigma?: number;
  /** blur at iterations t = 0, K, 2K, … (default 10) */
  blurEvery?: number;
  /** largest shift of the jitter, in pixels (default 16; 0 turns it off) */
  jitter?: number;
  /** keep a picture every K iterations, and of the last one (default 25) */
  snapshotEvery?: number;
  /** step by lr·g/‖g‖₂ instead of lr·g (default false: the raw gradient, as the assignment does) */
  normalizedStep?: boolean;
  /** seed of the start noise and of the jitter (default 0) */
  seed?: number;
  /** called after each iteration's forward pass with its number (1-based) and the target's score (4 bytes read) */
  onIteration?: (info: { iteration: number; score: number }) => void;
}

export const CLASS_VISUALIZATION_DEFAULTS = {
  iterations: 100,
  lr: 25,
  l2: 1e-3,
  decay: 0,
  blurSigma: 0.5,
  blurEvery: 10,
  jitter: 16,
  snapshotEvery: 25,
  normalizedStep: false,
  seed: 0,
} as const;

/**
 * The range of each numeric setting (the CLI's options and the page's fields take theirs from here). The blur's
 * radius is 4σ: σ ≤ 32 keeps it to 257 taps; the jitter is a circular shift, so any size works, and 1000 is beyond
 * any image this runs on.
 */
export const CLASS_VISUALIZATION_RANGES = {
  iterations: { min: 1, max: 100_000, integer: true },
  lr: { min: 0, max: 1e6, aboveMin: true },
  l2: { min: 0, max: 1e6 },
  decay: { min: 0, max: 0.999 },
  blurSigma: { min: 0, max: 32, aboveMin: true },
  blurEvery: { min: 1, max: 100_000, integer: true },
  jitter: { min: 0, max: 1000, integer: true },
  snapshotEvery: { min: 1, max: 100_000, integer: true },
  seed: SEED_RANGE,
} as const satisfies Record<string, NumberRange>;

/**
 * Controls for a run that someone watches (the web page): a live image and a way to stop. Kept apart from
 * ClassVisualizationOptions, which holds the settings of the run itself (the CLI fills every one of them).
 */
export interface ClassVisualizationLive {
  /**
   * A live view: called after every `imageEvery`-th iteration (its number, 1-based) with the image as the snapshots
   * show it (stretched to [0, 255]). Costs a read of the image, so only when asked for.
   */
  onImage?: (info: { iteration: number; image: RgbImage8 }) => void;
  /** call onImage after iterations K, 2K, … (default 1: every iteration) */
  imageEvery?: number;
  /**
   * Checked after each iteration: once aborted, the run ends there as if `iterations` had been that number — a
   * snapshot of the image is taken, the result describes it, and `stopped` is set. At least one iteration runs.
   */
  signal?: AbortSignal;
}

/**
 * Yosinski et al.'s third hyperparameter set (Figure 3: decay 1e-4, blur width 1.0 every 4 steps), 1000 steps. Their
 * decay replaces the L2 penalty (λ = 0) and is applied as they apply it, as the operator I ← (1 − decay)·I after each
 * step rather than as a gradient term.
 *
 * The learning rate is not theirs: their 100 is for CaffeNet's gradient in 0–255 pixel units, which does not carry
 * over to SqueezeNet's normalized input (one normalized unit is 255·σ ≈ 57 pixel levels). Taken literally, lr 100
 * saturates the image against the clamp: after 1000 steps the tarantula (76, seed 0) scored 39 with p = 0.04 and a
 * wolf spider won; with lr 5 it reached p = 1.0 within 200 steps (score 153 after 1000), in smoother pictures than
 * the CS231n settings give.
 */
export const YOSINSKI_PRESET = { iterations: 1000, lr: 5, l2: 0, decay: 1e-4, blurSigma: 1, blurEvery: 4 } as const;

export interface Snapshot {
  /** iterations done when it was taken */
  iteration: number;
  image: RgbImage8;
}

export interface ClassVisualizationResult {
  target: number;
  /** the final image, stretched to [0, 255] as CS231n's deprocess(should_rescale=True) shows it */
  image: RgbImage8;
  /** the final image in normalized units, [3, H, W] */
  chw: Float32Array;
  snapshots: Snapshot[];
  /** s_y of the start noise and of the final image (unnormalized scores), and the final softmax probability */
  startScore: number;
  finalScore: number;
  finalProb: number;
  /** the class the network predicts for the final image */
  argmax: number;
  /** the iterations run: `iterations`, or fewer when the signal stopped the run */
  iterations: number;
  stopped: boolean;
}

type Settings = Required<Omit<ClassVisualizationOptions, 'onIteration'>> & { imageEvery: number };

function checkOptions(options: ClassVisualizationOptions & ClassVisualizationLive): Settings {
  const o = { ...CLASS_VISUALIZATION_DEFAULTS, imageEvery: 1, ...options };
  const positiveInteger = (v: number, what: string): void =>
    check(Number.isInteger(v) && v > 0, () => `class visualization: ${what} ${v} must be a positive integer`);
  positiveInteger(o.iterations, 'iterations');
  positiveInteger(o.blurEvery, 'blurEvery');
  positiveInteger(o.snapshotEvery, 'snapshotEvery');
  positiveInteger(o.imageEvery, 'imageEvery');
  check(Number.isFinite(o.lr) && o.lr > 0, () => `class visualization: learning rate ${o.lr} must be a finite number > 0`);
  check(Number.isFinite(o.l2) && o.l2 >= 0, () => `class visualization: l2 ${o.l2} must be a finite number ≥ 0`);
  check(Number.isFinite(o.decay) && o.decay >= 0 && o.decay < 1, () => `class visualization: decay ${o.decay} must be in [0, 1)`);
  check(Number.isInteger(o.jitter) && o.jitter >= 0, () => `class visualization: jitter ${o.jitter} must be an integer ≥ 0`);
  check(Number.isInteger(o.seed), () => `class visualization: seed ${o.seed} must be an integer`);
  gaussianWeights(o.blurSigma); // rejects a sigma that is not a finite number > 0
  for (const [key, range] of Object.entries(CLASS_VISUALIZATION_RANGES)) checkRange(o[key as keyof typeof CLASS_VISUALIZATION_RANGES], range, `class visualization: ${key}`);
  return o;
}

/** The score of `target`, its softmax probability and the top class, for one image. */
async function scoreOf(model: Model, image: Tensor, target: number): Promise<{ score: number; prob: number; argmax: number }> {
  const v = await classify(model, image);
  return { score: v.scores[target]!, prob: v.probs[target]!, argmax: v.argmax };
}

/**
 * A class visualization for class `target` of `model` (input [1, 3, H, W] as the model declares it). The model's
 * normalization keeps the image between the values of black and white (inputRange) and turns it into pictures.
 */
export async function classVisualization(
  model: Model,
  target: number,
  options: ClassVisualizationOptions & ClassVisualizationLive & { normalization?: Normalization } = {},
): Promise<ClassVisualizationResult> {
  const o = checkOptions(options);
  oneHotSeed(model, [target]); // checks the target is a class of the model
  const gpu = model.gpu;
  const shape = model.inputShape(1);
  check(shape.length === 4 && shape[1] === 3, () => `class visualization: the model's input [${shape}] is not an RGB image`);
  const [, , h, w] = shape as [number, number, number, number];
  // The start noise has the input's size: refuse a size no image could have before drawing it.
  check(h <= MAX_INPUT_SIDE && w <= MAX_INPUT_SIDE, () => `class visualization: the model's input [${shape}] is larger than ${MAX_INPUT_SIDE}×${MAX_INPUT_SIDE}`);
  model.checkBatch(1);
  const normalization = options.normalization ?? IMAGENET_NORMALIZATION;
  const range = inputRange(normalization);
  const rng = new Rng(o.seed);
  let image = Tensor.from(gpu, shape, Float32Array.from(rng.normals(3 * h * w, 1)), 'class_viz');
  try {
    const start = await scoreOf(model, image, target);
    const snapshots: Snapshot[] = [];
    let done = 0;
    for (let t = 0; t < o.iterations; t++) {
      const ox = rng.int(-o.jitter, o.jitter);
      const oy = rng.int(-o.jitter, o.jitter);
      // g = ∇_I [ s_y(roll(I, ox, oy)) − λ‖I‖² ], all on the tape: the model sees the shifted view, the Roll op's
      // backward shifts the gradient back, and the penalty's gradient −2λI joins it in the same backward pass.
      const jittered = (i: Tensor): Tensor => roll(i, ox, oy, 'class_viz.jittered');
      const penalty = (i: Tensor): Tensor => {
        const squares = sumOfSquares(i, 'class_viz.‖I‖²');
        const term = scale(squares, -o.l2, 'class_viz.−λ‖I‖²');
        squares.dispose();
        return term;
      };
      const { scores, grad } = classScoreGradient(model, image, [target], { view: jittered, ...(o.l2 > 0 && { regularizer: penalty }) });
      if (options.onIteration) {
        const score = new Float32Array(await gpu.read(scores.buffer, 4, 4 * target))[0]!;
        options.onIteration({ iteration: t + 1, score });
      }
      scores.dispose();
      if (o.normalizedStep) {
        const norm = l2Norm(grad);
        axpyByNormInPlace(image, o.lr, grad, norm);
        norm.dispose();
      } else {
        axpyInPlace(image, o.lr, grad);
      }
      grad.dispose();
      if (o.decay > 0) scaleInPlace(image, 1 - o.decay);
      clampChannelsInPlace(image, range.lo, range.hi);
      if (t % o.blurEvery === 0) gaussianBlurInPlace(image, o.blurSigma);
      gpu.flush(); // one submit per iteration
      done = t + 1;
      const last = t === o.iterations - 1;
      let picture: RgbImage8 | null = null; // one read serves the live view and the snapshot
      const read = async (): Promise<RgbImage8> => (picture ??= deprocess(await image.read(), h, w, { rescale: true, normalization }));
      if (options.onImage && done % o.imageEvery === 0) options.onImage({ iteration: done, image: await read() });
      // Checked after the live view, so that a stop asked for from its callback ends the run at the picture it saw.
      const stopping = !last && options.signal?.aborted === true;
      if (done % o.snapshotEvery === 0 || last || stopping) snapshots.push({ iteration: done, image: await read() });
      if (stopping) break;
    }
    const chw = await image.read();
    const final = await scoreOf(model, image, target);
    return {
      target,
      image: snapshots[snapshots.length - 1]!.image,
      chw,
      snapshots,
      startScore: start.score,
      finalScore: final.score,
      finalProb: final.prob,
      argmax: final.argmax,
      iterations: done,
      stopped: done < o.iterations,
    };
  } finally {
    image.dispose();
  }
}
