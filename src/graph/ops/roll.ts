/**
 * Roll: y = x shifted circularly by (ox, oy) pixels along W and H (numpy.roll semantics) — the jitter of the class
 * visualization.
 *
 * Backward: a roll is a permutation P of the elements, y = P x, so dx = Pᵀ dy = P⁻¹ dy: the roll back by (−ox, −oy).
 */
import type { Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { roll as rollKernel, rollBackward, rollRef } from '../../kernels/image.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export interface RollAttrs {
  ox: number;
  oy: number;
}

export const Roll = defineOp<RollAttrs>({
  name: 'Roll',
  shape: ([x]) => [x!],
  forward: ([x], { ox, oy }, ctx) => ({ outputs: [rollKernel(x!, ox, oy, ctx.name)] }),
  backward: ({ dys: [dy], attrs: { ox, oy } }) => [rollBackward(dy!, ox, oy)],
  reference: {
    forward: ([x], { ox, oy }) => [rollRef(x!, ox, oy)],
    backward: ([dy], _, __, { ox, oy }) => [rollRef(dy!, -ox, -oy)],
  },
  doc: {
    forward: 'y = x shifted circularly by (ox, oy) pixels (numpy.roll): the jitter of the class visualization.',
    backward: 'A roll is a permutation of the pixels, so the gradient is rolled back: dx = roll(dy, −ox, −oy).',
    saves: 'nothing.',
  },
  describe: ({ ox, oy }) => `ox=${ox} oy=${oy}`,
  checks: [
    { name: 'Roll [2,3,5,7] by (2, -3)', inputs: () => [host([2, 3, 5, 7], new Rng(94).uniforms(210))], attrs: { ox: 2, oy: -3 } },
    { name: 'Roll [1,2,4,3] by (-7, 9)', inputs: () => [host([1, 2, 4, 3], new Rng(95).uniforms(24))], attrs: { ox: -7, oy: 9 } },
  ],
});

export function roll(x: Tensor, ox: number, oy: number, name = 'roll'): Tensor {
  return apply1(Roll, [x], { ox, oy }, name);
}
