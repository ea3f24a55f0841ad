/**
 * Whether a model can be run on images at all, checked once it is loaded and before any image is resized for it:
 * its input must be a square RGB image [N, 3, S, S] of a side the preprocessing accepts (MAX_INPUT_SIDE) whose
 * activations fit this device's buffers, and its first output must read as scores [N, K] (src/graph/scores.ts).
 * A model that declares an input of 40000 × 40000 otherwise got as far as allocating 19 GB for the resized image.
 */
import { PixelpropError, fmtShape } from '../gpu/errors.js';
import type { Model } from '../graph/model.js';
import { MAX_INPUT_SIDE } from '../image/preprocess.js';

/** The side S of the model's input; a one-line PixelpropError when the model cannot take images here. */
export function checkImageModel(model: Model): number {
  const size = model.imageSize(); // [N, 3, S, S], or an error saying what the input is
  const shape = fmtShape(model.inputShape(1));
  if (size > MAX_INPUT_SIDE) {
    throw new PixelpropError(`the model's input ${shape} is larger than ${MAX_INPUT_SIDE}×${MAX_INPUT_SIDE}, the largest image input pixelprop prepares`);
  }
  try {
    model.checkBatch(1);
  } catch (e) {
    if (!(e instanceof PixelpropError)) throw e;
    throw new PixelpropError(`the model's input ${shape} is too large for this device: ${e.message}`);
  }
  void model.numClasses; // throws when the output cannot be read as [N, classes]
  return size;
}
