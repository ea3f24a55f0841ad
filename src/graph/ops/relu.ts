import { reluBackward, reluForward } from '../../kernels/relu.js';
import type { Tensor } from '../../gpu/tensor.js';
import { record } from '../tape.js';

/** y = max(x, 0). Its backward is explained in OP_DOCS.Relu (src/graph/op-docs.ts); kernels in src/kernels/relu.ts. */
export function relu(x: Tensor, name = 'relu'): Tensor {
  const y = reluForward(x, name);
  return record('Relu', [x], y, [y], (dy) => [reluBackward(dy, y)]);
}
