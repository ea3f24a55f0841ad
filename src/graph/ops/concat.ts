import { concatBackward, concatForward } from '../../kernels/concat.js';
import type { Tensor } from '../../gpu/tensor.js';
import { record } from '../tape.js';

/**
 * Concat along `axis` (negative counts from the end); backward gives each input its slice of dy, and only to the
 * inputs that require a gradient. Nothing is saved: the backward needs only the shapes.
 */
export function concat(xs: readonly Tensor[], axis: number, name = 'concat'): Tensor {
  const y = concatForward(xs, axis, name);
  const shapes = xs.map((x) => x.shape);
  return record('Concat', [...xs], y, [], (dy, needs) => concatBackward(dy, shapes, axis, needs), `axis ${axis}`);
}
