/**
 * Scale: y = s · x for a constant s (the techniques' op: λ·‖I‖² in the class visualization's objective).
 *
 * Backward: ∂y/∂x = s, so dx = s · dy — the same kernel.
 */
import type { Tensor } from '../../gpu/tensor.js';
import { scale as scaleKernel, scaleRef } from '../../kernels/elementwise.js';
import { host } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export const Scale = defineOp<{ s: number }>({
  name: 'Scale',
  shape: ([x]) => [x!],
  forward: ([x], { s }, ctx) => ({ outputs: [scaleKernel(x!, s, ctx.name)] }),
  backward: ({ dys: [dy], attrs: { s }, name }) => [scaleKernel(dy!, s, `grad(${name})`)],
  keepsChannels: true,
  reference: {
    forward: ([x], { s }) => [scaleRef(x!, s)],
    backward: ([dy], _, __, { s }) => [scaleRef(dy!, s)],
  },
  doc: { forward: 'y = s · x for a constant s.', backward: '∂y/∂x = s: dx = s · dy.', saves: 'nothing.' },
  describe: ({ s }) => `×${s}`,
  checks: [{ name: 'Scale [2,3,4] by -0.75', inputs: () => [host([2, 3, 4], new Rng(91).uniforms(24))], attrs: { s: -0.75 } }],
});

export function scale(x: Tensor, s: number, name = 'scale'): Tensor {
  return apply1(Scale, [x], { s }, name);
}
