/**
 * SumOfSquares of every element, as a one-element tensor: the ‖I‖² of the class visualization's regularizer (the
 * techniques' op). The sum is a tree on the GPU (src/kernels/reduce.ts explains why: float32 error ~log2(n)·ε rather
 * than ~n·ε).
 *
 * Backward. ∂(Σ x²)/∂x_i = 2·x_i: dx = 2 · x · dy.
 */
import type { Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { reduceAllRef, sumOfSquaresBackward, sumOfSquaresBackwardRef, sumOfSquares as sumOfSquaresKernel } from '../../kernels/reduce.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const SumOfSquares = defineOp<Record<string, never>>({
  name: 'SumOfSquares',
  shape: () => [[1]],
  forward: ([x], _, ctx) => ({ outputs: [sumOfSquaresKernel(x!, ctx.name)], saved: ctx.recording ? { x: x! } : {} }),
  backward: ({ dys: [dy], saved }) => [sumOfSquaresBackward(dy!, saved.x!)],
  reference: {
    forward: ([x]) => [reduceAllRef(x!, 'sumOfSquares')],
    backward: ([dy], [x]) => [sumOfSquaresBackwardRef(dy!, x!)],
  },
  doc: { forward: 'y = Σ x² (the λ‖I‖² regularizer).', backward: '∂(Σ x²)/∂x_i = 2·x_i: dx = 2 · x · dy.', saves: 'x.' },
  checks: [{ name: 'SumOfSquares [2,3,4,5]', inputs: () => [random([2, 3, 4, 5], 93)], attrs: {} }],
});

export function sumOfSquares(x: Tensor, name = 'sum_of_squares'): Tensor {
  return apply1(SumOfSquares, [x], {}, name);
}
