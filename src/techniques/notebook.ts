/**
 * CS231n's "Network Visualization" notebook (PyTorch version, SqueezeNet 1.1), as the page's Notebook view runs it:
 * the figures' choices (which photo is fooled into which class, which classes are visualized) and the experiment
 * that answers the notebook's inline question. The techniques themselves are saliency.ts, fool.ts and classviz.ts,
 * with their defaults (FOOL_DEFAULTS, CLASS_VISUALIZATION_DEFAULTS) being the notebook's.
 *
 * The inline question: "A friend suggests that in order to find an image that maximizes the correct score, we can
 * perform gradient ascent on the input image, but instead of the gradient we can actually use the saliency map in
 * each step to update the image. Is this assertion correct? Why or why not?" — answered by running both ascents
 * (scoreAscent) from the same photo with the same step length, and showing both scores.
 */
import { PixelpropError, check } from '../gpu/errors.js';
import { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import type { RgbImage8 } from '../image/image.js';
import { IMAGENET_NORMALIZATION, deprocess, type Normalization } from '../image/preprocess.js';
import { FOOL_DEFAULTS } from './fool.js';
import { classScoreGradient, classify, oneHotSeed } from './gradient.js';

/** The fooling figure: the sample photo the page fools, and the notebook's target class, stingray. */
export const NOTEBOOK_FOOL = { sample: 'coffee.png', target: 6 } as const;

/** The class visualizations: the notebook's tarantula, then the classes it suggests trying. */
export const NOTEBOOK_CLASSES: readonly number[] = [76 /* tarantula */, 366 /* gorilla */, 604 /* hourglass */, 749 /* quill */, 278 /* kit fox */];

/** What an ascent step follows: the gradient ∂s_y/∂X, or the saliency map max_c |∂s_y/∂X| put in every channel. */
export type AscentDirection = 'gradient' | 'saliency';

export interface AscentRun {
  direction: AscentDirection;
  /** s_y of X before each step and after the last one: steps + 1 scores */
  scores: number[];
  /** X after the last step, as a picture */
  image: RgbImage8;
  /** the softmax probability of the class after the last step, and the class the network then predicts */
  finalProb: number;
  finalClass: number;
}

/**
 * The direction a step of the given kind takes from the gradient g [3, H, W]: g itself, or the saliency map
 * M[h, w] = max_c |g[c, h, w]| in all three channels — which is never negative, so the step can only brighten pixels,
 * whatever the sign of their effect on the score.
 */
export function ascentDirection(g: Float32Array, h: number, w: number, direction: AscentDirection): Float32Array {
  if (direction === 'gradient') return g;
  const plane = h * w;
  const d = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    const m = Math.max(Math.abs(g[i]!), Math.abs(g[plane + i]!), Math.abs(g[2 * plane + i]!));
    d[i] = d[plane + i] = d[2 * plane + i] = m;
  }
  return d;
}

/**
 * `steps` steps of ascent on s_y from x [1, 3, H, W] (left unchanged), each X ← X + lr · d / ‖d‖₂ with d the
 * gradient or the saliency map (ascentDirection): the step the fooling images take (FOOL_DEFAULTS.lr by default), so
 * that both directions move X by the same length and only their direction differs.
 */
export async function scoreAscent(
  model: Model,
  x: Tensor,
  classIndex: number,
  options: { direction: AscentDirection; steps: number; lr?: number; normalization?: Normalization; signal?: AbortSignal },
): Promise<AscentRun> {
  const { direction, steps } = options;
  const lr = options.lr ?? FOOL_DEFAULTS.lr;
  check(x.shape.length === 4 && x.shape[0] === 1 && x.shape[1] === 3, () => `score ascent: expected one image [1,3,H,W], got [${x.shape.join(',')}]`);
  check(Number.isInteger(steps) && steps >= 1, () => `score ascent: steps ${steps} must be a positive integer`);
  check(Number.isFinite(lr) && lr > 0, () => `score ascent: learning rate ${lr} must be a finite number > 0`);
  oneHotSeed(model, [classIndex]); // checks the class is one of the model's
  const [, , h, w] = x.shape as [number, number, number, number];
  const values = await x.read();
  const X = Tensor.from(x.gpu, x.shape, values, `ascent.${direction}`);
  const scores: number[] = [];
  try {
    for (let step = 0; step < steps && !options.signal?.aborted; step++) {
      const { scores: s, grad } = classScoreGradient(model, X, [classIndex]);
      try {
        scores.push((await s.read())[classIndex]!);
        const d = ascentDirection(await grad.read(), h, w, direction);
        let norm = 0;
        for (const v of d) norm += v * v;
        norm = Math.sqrt(norm);
        if (!(norm > 0)) throw new PixelpropError(`score ascent: the ${direction} is zero, there is no direction to step in`);
        for (let i = 0; i < values.length; i++) values[i] = values[i]! + (lr * d[i]!) / norm;
        X.upload(values);
      } finally {
        s.dispose();
        grad.dispose();
      }
    }
    const final = await classify(model, X);
    scores.push(final.scores[classIndex]!);
    return {
      direction,
      scores,
      image: deprocess(values, h, w, { normalization: options.normalization ?? IMAGENET_NORMALIZATION }),
      finalProb: final.probs[classIndex]!,
      finalClass: final.argmax,
    };
  } finally {
    X.dispose();
  }
}
