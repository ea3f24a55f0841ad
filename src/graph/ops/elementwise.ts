import { add as addKernel } from '../../kernels/elementwise.js';
import type { Tensor } from '../../gpu/tensor.js';
import { record } from '../tape.js';

/** a + b; backward: both inputs receive dy (the tape's accumulation copies nothing it does not need). */
export function add(a: Tensor, b: Tensor, name = 'add'): Tensor {
  const y = addKernel(a, b, name);
  return record('Add', [a, b], y, [], (dy, needs) => [needs[0] ? dy.retain() : null, needs[1] ? dy.retain() : null]);
}
