/**
 * Transpose: the axes of x reordered, y[o_0, …, o_{r−1}] = x[i] with i_{perm[d]} = o_d (ONNX's `perm`; by default the
 * axes reversed). ConvNeXt's permutes between NCHW and NHWC and ShuffleNet's channel shuffle are Transposes.
 *
 * Backward. y only relabels the elements of x, one-to-one: ∂y_o/∂x_i is 1 for the one o that reads i. So dx_i = dy_o for
 * that o — dy transposed back, by the inverse permutation (inverse[perm[d]] = d). Nothing is saved.
 */
import type { Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { checkPerm, inversePerm, transpose as transposeKernel, transposeRef, transposeShape } from '../../kernels/layout.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export interface TransposeAttrs {
  /** the output's axis d is the input's axis perm[d]; null: reversed (ONNX's default, which depends on the rank) */
  perm: readonly number[] | null;
}

const permFor = (a: TransposeAttrs, rank: number): number[] => (a.perm ? [...a.perm] : Array.from({ length: rank }, (_, d) => rank - 1 - d));
const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const Transpose = defineOp<TransposeAttrs>({
  name: 'Transpose',
  onnx: {
    types: ['Transpose'],
    arity: [1, 1],
    attrs: (r) => {
      const perm = r.ints('perm');
      if (perm) checkPerm(perm, perm.length);
      return { perm: perm ?? null };
    },
  },
  shape: ([x], a) => [transposeShape(x!, permFor(a, x!.length))],
  forward: ([x], a, ctx) => ({ outputs: [transposeKernel(x!, permFor(a, x!.shape.length), ctx.name)] }),
  backward: ({ dys: [dy], attrs: a, inputShapes: [xShape], name }) => [transposeKernel(dy!, inversePerm(permFor(a, xShape!.length)), `grad(${name})`)],
  // Channels stay on axis 1 only when the permutation keeps axes 0 and 1 where they are.
  keepsChannels: (a, [x]) => {
    const perm = permFor(a, x!.length);
    return perm[0] === 0 && perm[1] === 1;
  },
  reference: {
    forward: ([x], a) => [transposeRef(x!, permFor(a, x!.shape.length))],
    backward: ([dy], [x], _, a) => [transposeRef(dy!, inversePerm(permFor(a, x!.shape.length)))],
  },
  doc: {
    forward: 'y = x with its axes reordered: y[o₀,…,o_{r−1}] = x[i] with i_{perm[d]} = o_d (default: the axes reversed).',
    backward:
      'A transpose only relabels the elements, one-to-one: each x_i is read by exactly one y_o, with ∂y_o/∂x_i = 1. So ' +
      'dx_i = dy_o: dy transposed back by the inverse permutation (inverse[perm[d]] = d).',
    saves: 'nothing but the permutation.',
  },
  describe: (a) => (a.perm ? `perm [${a.perm.join(',')}]` : 'reversed'),
  checks: [
    { name: 'Transpose [2,3,4,5] NCHW→NHWC (perm 0,2,3,1)', inputs: () => [random([2, 3, 4, 5], 201)], attrs: { perm: [0, 2, 3, 1] } },
    { name: 'Transpose [2,3,4] default (reversed)', inputs: () => [random([2, 3, 4], 202)], attrs: { perm: null } },
    { name: 'Transpose [1,2,3,2,5] channel shuffle (perm 0,2,1,3,4)', inputs: () => [random([1, 2, 3, 2, 5], 203)], attrs: { perm: [0, 2, 1, 3, 4] } },
    { name: 'Transpose [3,1,4,2,2,3] rank 6 (perm 5,3,0,1,4,2)', inputs: () => [random([3, 1, 4, 2, 2, 3], 204)], attrs: { perm: [5, 3, 0, 1, 4, 2] } },
  ],
});

export function transpose(x: Tensor, perm: readonly number[], name = 'transpose'): Tensor {
  return apply1(Transpose, [x], { perm }, name);
}
