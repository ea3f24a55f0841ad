import { logSoftmaxBackward, logSoftmaxForward, softmaxBackward, softmaxForward } from '../../kernels/softmax.js';
import type { Tensor } from '../../gpu/tensor.js';
import { record } from '../tape.js';

/** Softmax over the last axis of [rows, cols]. Backward: OP_DOCS.Softmax (src/graph/op-docs.ts); kernels in src/kernels/softmax.ts. */
export function softmax(x: Tensor, name = 'softmax'): Tensor {
  const y = softmaxForward(x, name);
  return record('Softmax', [x], y, [y], (dy) => [softmaxBackward(dy, y)]);
}

/** LogSoftmax over the last axis of [rows, cols]. Backward: OP_DOCS.LogSoftmax (src/graph/op-docs.ts). */
export function logSoftmax(x: Tensor, name = 'log_softmax'): Tensor {
  const y = logSoftmaxForward(x, name);
  return record('LogSoftmax', [x], y, [y], (dy) => [logSoftmaxBackward(dy, y)]);
}
