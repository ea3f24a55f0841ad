import { add as addKernel, scale as scaleKernel } from '../../kernels/elementwise.js';
import { roll as rollKernel, rollBackward } from '../../kernels/image.js';
import { sum as sumKernel, sumBackward, sumOfSquares as sumOfSquaresKernel, sumOfSquaresBackward } from '../../kernels/reduce.js';
import type { Tensor } from '../../gpu/tensor.js';
import { record } from '../tape.js';

/** a + b. Backward: OP_DOCS.Add (src/graph/op-docs.ts); dy is passed on retained, not copied. */
export function add(a: Tensor, b: Tensor, name = 'add'): Tensor {
  const y = addKernel(a, b, name);
  return record('Add', [a, b], y, [], (dy, needs) => [needs[0] ? dy.retain() : null, needs[1] ? dy.retain() : null]);
}

/** s · x. Backward: OP_DOCS.Scale (src/graph/op-docs.ts). */
export function scale(x: Tensor, s: number, name = 'scale'): Tensor {
  const y = scaleKernel(x, s, name);
  return record('Scale', [x], y, [], (dy) => [scaleKernel(dy, s, 'scale.dx')], `×${s}`);
}

/** Σx as a 1-element tensor. Backward: OP_DOCS.Sum (src/graph/op-docs.ts). */
export function sum(x: Tensor, name = 'sum'): Tensor {
  const y = sumKernel(x, name);
  const shape = [...x.shape];
  return record('Sum', [x], y, [], (dy) => [sumBackward(dy, shape)]);
}

/** Σx² as a 1-element tensor (the λ‖I‖² regularizer). Backward: OP_DOCS.SumOfSquares (src/graph/op-docs.ts). */
export function sumOfSquares(x: Tensor, name = 'sum_of_squares'): Tensor {
  const y = sumOfSquaresKernel(x, name);
  return record('SumOfSquares', [x], y, [x], (dy) => [sumOfSquaresBackward(dy, x)]);
}

/**
 * x rolled circularly by ox pixels along W and oy along H (numpy.roll semantics: the jitter of the class
 * visualization). Backward: OP_DOCS.Roll (src/graph/op-docs.ts).
 */
export function roll(x: Tensor, ox: number, oy: number, name = 'roll'): Tensor {
  const y = rollKernel(x, ox, oy, name);
  return record('Roll', [x], y, [], (dy) => [rollBackward(dy, ox, oy)], `ox=${ox} oy=${oy}`);
}
