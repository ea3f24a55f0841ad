import type { Shape, Tensor } from '../../gpu/tensor.js';
import { fmtShape } from '../../gpu/errors.js';
import { record } from '../tape.js';

/**
 * The same values seen with another shape (Reshape, Flatten): no kernel, no copy — the output shares the input's
 * buffer. Backward: OP_DOCS.Reshape (src/graph/op-docs.ts).
 */
export function reshape(x: Tensor, shape: Shape, name = 'reshape'): Tensor {
  const y = x.reshape(shape, name);
  const xShape = [...x.shape];
  return record('Reshape', [x], y, [], (dy) => [dy.reshape(xShape, `d${x.name}`)], `to ${fmtShape(shape)}`);
}
