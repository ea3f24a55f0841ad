/**
 * Add: y = a + b with numpy broadcasting — a residual connection (equal shapes), a bias (a [C] onto channels-last
 * [N,H,W,C]; a [K] onto the scores [N,K]), a constant (GELU's 1 + erf(·)).
 *
 * Backward. ∂y/∂a = ∂y/∂b = 1: an operand of the result's shape receives dy unchanged (no kernel: the same tensor), and
 * a broadcast operand the sum of dy over the axes it was repeated along — a bias [K] gets the column sums of dy.
 */
import type { Tensor } from '../../gpu/tensor.js';
import { binaryBackwardDoc, defineBinary, operand } from '../binary.js';

export const Add = defineBinary({
  name: 'Add',
  code: 'ADD',
  f: (a, b) => a + b,
  da: () => 1,
  db: () => 1,
  reads: { a: [], b: [] },
  doc: {
    forward: 'y = a + b, element by element over the broadcast shape.',
    backward: binaryBackwardDoc('∂y/∂a = ∂y/∂b = 1 (both operands receive dy unchanged)'),
    saves: 'nothing but the shapes.',
  },
  // The checks of the Add this op replaced (equal shapes, or a suffix bias through a Gemm), kept as they were.
  extraChecks: [
    { name: 'Add [2,3,4] + [2,3,4]', inputs: () => [operand([2, 3, 4], 71), operand([2, 3, 4], 72)], attrs: {} },
    { name: 'Add [2,3,4,5] + [4,5] (broadcast)', inputs: () => [operand([2, 3, 4, 5], 73), operand([4, 5], 74)], attrs: {} },
  ],
});

/** a + b on the GPU, recorded on the tape. */
export function add(a: Tensor, b: Tensor, name = 'add'): Tensor {
  return Add.apply(a, b, name);
}
