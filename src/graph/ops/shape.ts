import type { Shape, Tensor } from '../../gpu/tensor.js';
import { fmtShape } from '../../gpu/errors.js';
import { record } from '../tape.js';

/**
 * The same values seen with another shape (Reshape, Flatten): no kernel, no copy — the output shares the input's
 * buffer. Backward: reshaping is a permutation-free relabeling of indices, so dx is dy seen with x's shape.
 */
export function reshape(x: Tensor, shape: Shape, name = 'reshape'): Tensor {
  const y = x.reshape(shape, name);
  const xShape = [...x.shape];
  return record('Reshape', [x], y, [], (dy) => [dy.reshape(xShape, `d${x.name}`)], `to ${fmtShape(shape)}`);
}
