/**
 * What every attribution method returns, and the steps they share: the gradient at the given or predicted classes,
 * maps read back, checks of the input.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import type { Tensor } from '../../gpu/tensor.js';
import type { Model } from '../../graph/model.js';
import { argmaxIndices } from '../../kernels/reduce.js';
import { classScoreGradient, oneHotSeed, predictedClassGradient, type GradientOptions, type ScoreGradient } from '../gradient.js';

export interface AttributionResult {
  method: string;
  /** the class each map is of: the given ones, or the predicted ones */
  classes: number[];
  /** the classes the network predicts for the images as given */
  predicted: number[];
  /**
   * the maps [N, H, W], row-major, in the method's own units: a CAM (≥ 0), max_c |g| for gradient-like methods,
   * Σ_c a for attributions that sum to a score difference (Integrated Gradients, gradient × input, LRP, occlusion)
   */
  map: Float32Array;
  shape: [number, number, number];
  /** per-channel attributions [N, 3, H, W], for the methods that have them */
  attributions?: Float32Array;
  /** the class scores of the images as given, [N, K] */
  scores: Float32Array;
  /** CAMs: the layer, and the map at its resolution */
  layer?: string;
  coarse?: { map: Float32Array; shape: [number, number, number] };
  /** path methods: Σ attributions against s(x) − s(baseline), per image (the completeness axiom) */
  completeness?: { attributionSum: number[]; scoreDelta: number[]; relError: number[] };
}

/** x as images [N, C, H, W] (C is 3 for photos; the model checks its own input shape). */
export function checkImages(x: Tensor, what: string): [number, number, number, number] {
  check(x.shape.length === 4, () => `${what}: expected images [N,C,H,W], got ${fmtShape(x.shape)}`);
  return x.shape as unknown as [number, number, number, number];
}

/** The gradient at `classes`, or at the predicted classes when none are given; the classes it used. */
export async function gradientAt(
  model: Model,
  x: Tensor,
  classes: readonly number[] | undefined,
  options: GradientOptions = {},
): Promise<ScoreGradient & { classes: number[]; predicted: number[] }> {
  if (classes) {
    check(classes.length === x.shape[0], () => `${classes.length} classes for ${x.shape[0]} images`);
    oneHotSeed(model, classes); // checks each is a class of the model
    const r = classScoreGradient(model, x, classes, options);
    return { ...r, classes: [...classes], predicted: await argmaxIndices(r.scores) };
  }
  const r = await predictedClassGradient(model, x, options);
  return { ...r, predicted: r.classes };
}

/** Releases what a ScoreGradient holds. */
export function release(r: ScoreGradient): void {
  r.scores.dispose();
  r.grad.dispose();
  for (const { activation, grad } of r.layers.values()) {
    activation.dispose();
    grad.dispose();
  }
}
