/**
 * AveragePool: y = the mean of x over each window, with or without the padded taps in the count
 * (count_include_pad; the divisor rule is explained in src/kernels/pool.ts).
 *
 * Backward. y_o = (1/d_o) Σ_{i ∈ window o} x_i with a divisor d_o that does not depend on x, so ∂y_o/∂x_i = 1/d_o for
 * each input of the window: dy_o is spread evenly, dy_o/d_o to each, and an input in several windows sums what it gets.
 */
import type { Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { averagePoolBackward, averagePoolBackwardRef, averagePoolForward, averagePoolRef, poolGeometry, poolOutputShape, type AveragePoolAttributes } from '../../kernels/pool.js';
import type { Shape } from '../../gpu/tensor.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';
import { describePool, poolAttributesFor, poolAttrs, readPoolAttrs, type PoolAttrs } from './max-pool.js';

export interface AveragePoolAttrs extends PoolAttrs {
  countIncludePad: boolean;
}

function attributesFor(a: AveragePoolAttrs, x: Shape): AveragePoolAttributes {
  return { ...poolAttributesFor(a, x), countIncludePad: a.countIncludePad };
}

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const AveragePool = defineOp<AveragePoolAttrs>({
  name: 'AveragePool',
  onnx: { types: ['AveragePool'], arity: [1, 1], attrs: (r) => ({ ...readPoolAttrs(r), countIncludePad: r.int('count_include_pad', 0) === 1 }) },
  shape: ([x], a) => [poolOutputShape(poolGeometry('AveragePool', x!, attributesFor(a, x!)))],
  forward: ([x], a, ctx) => ({ outputs: [averagePoolForward(x!, attributesFor(a, x!.shape), ctx.name)] }),
  backward: ({ dys: [dy], attrs: a, inputShapes: [xShape] }) => [averagePoolBackward(dy!, xShape!, attributesFor(a, xShape!))],
  reference: {
    forward: ([x], a) => [averagePoolRef(x!, attributesFor(a, x!.shape))],
    backward: ([dy], [x], _, a) => [averagePoolBackwardRef(dy!, x!.shape, attributesFor(a, x!.shape))],
  },
  doc: {
    forward: 'y = the mean of x over each k×k window (stride s), with or without the padded taps in the count.',
    backward:
      'y_o = (1/d_o) Σ_{i ∈ window o} x_i, so ∂y_o/∂x_i = 1/d_o for each input of the window: dy_o is spread evenly, ' +
      'dy_o/d_o to each, and an input in several windows sums what it gets.',
    saves: 'nothing but x’s shape.',
  },
  describe: (a) => `${describePool(a)}${a.countIncludePad ? ' incl-pad' : ''}`,
  checks: [
    {
      name: 'AveragePool 3×3 s2 pads 1 ceil [2,3,6,6]',
      inputs: () => [random([2, 3, 6, 6], 4)],
      attrs: { ...poolAttrs({ kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: true }), countIncludePad: false },
    },
    {
      name: 'AveragePool 3×2 s2,1 pads 1,0,1,1 ceil count_include_pad [1,3,6,5]',
      inputs: () => [random([1, 3, 6, 5], 5)],
      attrs: { ...poolAttrs({ kernelShape: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1], ceilMode: true }), countIncludePad: true },
    },
  ],
});

export function averagePool(x: Tensor, attrs: AveragePoolAttrs, name = 'averagepool'): Tensor {
  return apply1(AveragePool, [x], attrs, name);
}
