/**
 * Concat: the inputs placed side by side along one axis (any rank; a negative axis counts from the end).
 *
 * Backward. Concat only places each input in its own slice of y, so ∂y/∂x is the identity on that slice and zero
 * elsewhere: each input's gradient is its slice of dy, copied out (only the inputs that need one).
 */
import type { Tensor } from '../../gpu/tensor.js';
import { concatBackward, concatBackwardRef, concatForward, concatLayout, concatRef } from '../../kernels/concat.js';
import { host } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export interface ConcatAttrs {
  axis: number;
}

export const CONCAT_BACKWARD =
  'Concat only places each input in its own slice of y, so ∂y/∂x is the identity on that slice and zero elsewhere: each ' +
  'input’s gradient is its slice of dy, copied out.';

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const Concat = defineOp<ConcatAttrs>({
  name: 'Concat',
  onnx: {
    types: ['Concat'],
    arity: [1, Infinity],
    attrs: (r) => {
      if (!r.has('axis')) r.fail('attribute axis is required');
      return { axis: r.int('axis', 0) };
    },
  },
  shape: (xs, a) => [concatLayout(xs, a.axis).shape],
  forward: (xs, a, ctx) => ({ outputs: [concatForward(xs, a.axis, ctx.name)] }),
  backward: ({ dys: [dy], attrs: a, needs, inputShapes }) => concatBackward(dy!, inputShapes, a.axis, needs),
  reference: {
    forward: (xs, a) => [concatRef(xs, a.axis)],
    backward: ([dy], xs, _, a) => concatBackwardRef(dy!, xs.map((x) => x.shape), a.axis),
  },
  doc: {
    forward: 'y = the inputs placed side by side along one axis.',
    backward: CONCAT_BACKWARD,
    saves: 'nothing but the inputs’ shapes.',
  },
  describe: (a) => `axis ${a.axis}`,
  checks: [
    { name: 'Concat channels [2,3,4,5]+[2,5,4,5]', inputs: () => [random([2, 3, 4, 5], 31), random([2, 5, 4, 5], 32)], attrs: { axis: 1 } },
    {
      name: 'Concat axis -1, three inputs [3,2,1]+[3,2,4]+[3,2,2]',
      inputs: () => [random([3, 2, 1], 33), random([3, 2, 4], 34), random([3, 2, 2], 35)],
      attrs: { axis: -1 },
    },
    { name: 'Concat axis 0 [1,6]+[2,6], gradient of input 1 only', inputs: () => [random([1, 6], 36), random([2, 6], 37)], attrs: { axis: 0 }, wrt: [1] },
  ],
});

export function concat(xs: readonly Tensor[], axis: number, name = 'concat'): Tensor {
  return apply1(Concat, xs, { axis }, name);
}
