/**
 * The one derivative every technique here is built on: the gradient of a class score with respect to the input
 * pixels,
 *
 *     g = ∂ s_y(x) / ∂x,        s = model(x) ∈ R^{N×K} (unnormalized scores), y = one class per image,
 *
 * computed by one forward pass recorded on a tape and one backward pass seeded with the one-hot matrix e_y: the
 * backward of the last op receives ∂(Σ_i s_{i,y_i})/∂s = e_y, and the chain rule carries it down to x. Images of a
 * batch do not interact, so the gradient of that sum with respect to image i is the gradient of its own score.
 */
import { PixelpropError, check } from '../gpu/errors.js';
import { Tensor } from '../gpu/tensor.js';
import type { Model } from '../graph/model.js';
import { Tape } from '../graph/tape.js';
import { argmaxIndices } from '../kernels/reduce.js';

export interface ScoreGradient {
  /** the scores [N, K] of the forward pass */
  scores: Tensor;
  /** ∂ s_{y_i} / ∂ x_i, the shape of x */
  grad: Tensor;
}

// One-hot seeds are uploaded once per (model, classes) and reused: an optimization loop uploads nothing.
const seeds = new WeakMap<Model, Map<string, Tensor>>();

/** The seed e_y [N, K] for `classes` (cached; do not dispose). */
export function oneHotSeed(model: Model, classes: readonly number[]): Tensor {
  const k = model.numClasses;
  for (const c of classes) check(Number.isInteger(c) && c >= 0 && c < k, () => `class ${c} is out of range: the model has classes 0 to ${k - 1}`);
  let cache = seeds.get(model);
  if (!cache) seeds.set(model, (cache = new Map()));
  const key = classes.join(',');
  let seed = cache.get(key);
  if (!seed || seed.disposed) {
    const data = new Float32Array(classes.length * k);
    classes.forEach((c, i) => (data[i * k + c] = 1));
    // The seed has the scores' own shape: [N, K], or [N, K, 1, 1] for a model that ends at its pooled classifier.
    const trailingOnes = model.shapes.get(model.outputNames[0]!)!.length - 2;
    seed = Tensor.from(model.gpu, [classes.length, k, ...Array<number>(trailingOnes).fill(1)], data, `e_y`);
    seed.nonzeroChannels = [...new Set(classes)].sort((a, b) => a - b); // lets the classifier's backward read only these
    cache.set(key, seed);
  }
  return seed;
}

/** The predicted class of each image: the argmax of its scores read as [N, K] (4 bytes per image read back). */
export async function predictedClasses(scores: Tensor): Promise<number[]> {
  const n = scores.shape[0]!;
  const rows = scores.shape.length === 2 ? scores : scores.reshape([n, scores.size / n]);
  try {
    return await argmaxIndices(rows);
  } finally {
    if (rows !== scores) rows.dispose();
  }
}

/** Scores and ∂s_y/∂x for a batch x [N,3,H,W] and one class per image. The caller disposes both results. */
export function classScoreGradient(model: Model, x: Tensor, classes: readonly number[]): ScoreGradient {
  check(classes.length === x.shape[0], () => `${classes.length} classes for a batch of ${x.shape[0]} images`);
  const seed = oneHotSeed(model, classes);
  const wasLeaf = x.requiresGrad;
  x.requiresGrad = true;
  const tape = new Tape();
  try {
    const scores = tape.record(() => model.forward(x));
    try {
      if (!scores.requiresGrad) throw new PixelpropError('the model output does not depend on its input');
      const [grad] = tape.backward(scores, [x], { seed });
      return { scores, grad: grad! };
    } catch (e) {
      scores.dispose(); // the caller never receives it
      throw e;
    }
  } finally {
    x.requiresGrad = wasLeaf;
    tape.dispose();
  }
}
