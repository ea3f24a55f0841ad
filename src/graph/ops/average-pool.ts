/**
 * AveragePool: y = the mean of x over each window, with or without the padded taps in the count
 * (count_include_pad; the divisor rule is explained in src/kernels/pool.ts).
 *
 * Backward. y_o = (1/d_o) Σ_{i ∈ window o} x_i with a divisor d_o that does not depend on x, so ∂y_o/∂x_i = 1/d_o for
 * each input of the window: dy_o is spread evenly, dy_o/d_o to each, and an input in several windows sums what it gets.
 */
import type { Tensor } from '../../gpu/tensor.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { averagePoolBackward, averagePoolBackwardRef, averagePoolForward, averagePoolRef, type AveragePoolAttributes } from '../../kernels/pool.js';
import type { Shape } from '../../gpu/tensor.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';
import { backwardPasses, describePool, forwardPasses, hostView, poolAttrs, poolStages, readPoolAttrs, type PoolAttrs, type PoolStage } from './max-pool.js';

export interface AveragePoolAttrs extends PoolAttrs {
  countIncludePad: boolean;
}

/** The 2-D passes (one; two for a 3-D pool: see PoolAttrs.spatial), each with count_include_pad. */
function passes(a: AveragePoolAttrs, x: Shape): { stages: (PoolStage & { attrs: AveragePoolAttributes })[]; output: number[] } {
  const { stages, output } = poolStages('AveragePool', a, x);
  return { stages: stages.map((s) => ({ ...s, attrs: { ...s.attrs, countIncludePad: a.countIncludePad } })), output };
}

/** dx for dy of y = AveragePool(x), a linear map: its transpose, pass by pass (the backward; LRP's rules reuse it). */
export function averagePoolGradient(dy: Tensor, a: AveragePoolAttrs, xShape: Shape, name = 'averagepool.dx'): Tensor {
  const { stages } = passes(a, xShape);
  return backwardPasses(dy, stages, xShape, name, (v, s, k) => averagePoolBackward(v, s.input, stages[k]!.attrs));
}

/** The same in float64. */
export function averagePoolGradientRef(dy: HostTensor, a: AveragePoolAttrs, xShape: Shape): HostTensor {
  const { stages } = passes(a, xShape);
  return hostView(stages.reduceRight((g, s) => averagePoolBackwardRef(hostView(g, s.output), s.input, s.attrs), dy), xShape);
}

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const AveragePool = defineOp<AveragePoolAttrs>({
  name: 'AveragePool',
  onnx: { types: ['AveragePool'], arity: [1, 1], attrs: (r) => ({ ...readPoolAttrs(r), countIncludePad: r.int('count_include_pad', 0) === 1 }) },
  shape: ([x], a) => [passes(a, x!).output],
  forward: ([x], a, ctx) => {
    const all = passes(a, x!.shape);
    return { outputs: [forwardPasses(x!, all, ctx.name, (v, _, k, name) => averagePoolForward(v, all.stages[k]!.attrs, name))] };
  },
  backward: ({ dys: [dy], attrs: a, inputShapes: [xShape], name }) => [averagePoolGradient(dy!, a, xShape!, `grad(${name})`)],
  reference: {
    forward: ([x], a) => {
      const { stages, output } = passes(a, x!.shape);
      return [hostView(stages.reduce((t, s) => averagePoolRef(hostView(t, s.input), s.attrs), x!), output)];
    },
    backward: ([dy], [x], _, a) => [averagePoolGradientRef(dy!, a, x!.shape)],
  },
  doc: {
    forward:
      'y = the mean of x over each k×k window (stride s), with or without the padded taps in the count; a 3-D window ' +
      'averages over (H, W), then along D (the divisor is a product of per-axis counts, so this is the box’s mean).',
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
    { name: 'AveragePool 1-D k3 s2 pads 1,1 [2,3,8]', inputs: () => [random([2, 3, 8], 6)], attrs: { ...poolAttrs({ kernelShape: [3], strides: [2], pads: [1, 1] }), countIncludePad: false } },
    {
      name: 'AveragePool 3-D k3×2×2 s2,1,2 pads 1,0,1,1,1,0 ceil count_include_pad [1,2,5,4,5]',
      inputs: () => [random([1, 2, 5, 4, 5], 7)],
      attrs: { ...poolAttrs({ kernelShape: [3, 2, 2], strides: [2, 1, 2], pads: [1, 0, 1, 1, 1, 0], ceilMode: true }), countIncludePad: true },
    },
    {
      name: 'AveragePool 3-D k2×2×3 pads 1,1,1,0,0,1 [2,1,3,4,4]',
      inputs: () => [random([2, 1, 3, 4, 4], 8)],
      attrs: { ...poolAttrs({ kernelShape: [2, 2, 3], pads: [1, 1, 1, 0, 0, 1] }), countIncludePad: false },
    },
  ],
});

export function averagePool(x: Tensor, attrs: AveragePoolAttrs, name = 'averagepool'): Tensor {
  return apply1(AveragePool, [x], attrs, name);
}
