/**
 * Sum and SumOfSquares of every element, as one-element tensors (the techniques' ops: a class score's batch total, and
 * the ‖I‖² of the class visualization's regularizer). The sums are trees on the GPU (src/kernels/reduce.ts explains
 * why: float32 error ~log2(n)·ε rather than ~n·ε).
 *
 * Backward. ∂(Σ x)/∂x_i = 1: every element receives dy. ∂(Σ x²)/∂x_i = 2·x_i: dx = 2 · x · dy.
 */
import type { Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { reduceAllRef, sumBackward, sumBackwardRef, sum as sumKernel, sumOfSquaresBackward, sumOfSquaresBackwardRef, sumOfSquares as sumOfSquaresKernel } from '../../kernels/reduce.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const Sum = defineOp<Record<string, never>>({
  name: 'Sum',
  shape: () => [[1]],
  forward: ([x], _, ctx) => ({ outputs: [sumKernel(x!, ctx.name)] }),
  backward: ({ dys: [dy], inputShapes: [xShape] }) => [sumBackward(dy!, xShape!)],
  reference: {
    forward: ([x]) => [reduceAllRef(x!, 'sum')],
    backward: ([dy], [x]) => [sumBackwardRef(dy!, x!.shape)],
  },
  doc: { forward: 'y = Σ x, one number.', backward: '∂(Σ x)/∂x_i = 1: every element receives dy.', saves: 'nothing but x’s shape.' },
  checks: [{ name: 'Sum [2,3,4,5]', inputs: () => [random([2, 3, 4, 5], 92)], attrs: {} }],
});

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

export function sum(x: Tensor, name = 'sum'): Tensor {
  return apply1(Sum, [x], {}, name);
}

export function sumOfSquares(x: Tensor, name = 'sum_of_squares'): Tensor {
  return apply1(SumOfSquares, [x], {}, name);
}
