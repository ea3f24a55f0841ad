import { concatBackward, concatForward } from '../../kernels/concat.js';
import type { Tensor } from '../../gpu/tensor.js';
import { record } from '../tape.js';

/**
 * Concat along `axis` (negative counts from the end). Backward: OP_DOCS.Concat (src/graph/op-docs.ts); only the inputs
 * that require a gradient get their slice.
 */
export function concat(xs: readonly Tensor[], axis: number, name = 'concat'): Tensor {
  const y = concatForward(xs, axis, name);
  const shapes = xs.map((x) => x.shape);
  return record('Concat', [...xs], y, [], (dy, needs) => concatBackward(dy, shapes, axis, needs), `axis ${axis}`);
}
