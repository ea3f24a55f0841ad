/**
 * Unsqueeze: x with new axes of size 1 inserted at the listed positions of the result (`axes`: an attribute before
 * opset 13, a constant input from 13; negative ones count from the end of the result). PyTorch's shape arithmetic
 * uses it on scalars — x.size(0) is a rank-0 Gather, made a one-element vector by Unsqueeze before a Concat. A view,
 * like Reshape: no kernel, no copy, and the backward is dy seen with x's shape.
 */
import { check } from '../../gpu/errors.js';
import type { Shape, Tensor } from '../../gpu/tensor.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';
import { held, readAxes, resolveAxes, type AxesAttrs } from './squeeze.js';

export function unsqueezeShape(a: AxesAttrs, x: Shape): number[] {
  check(a.axes !== null && a.axes.length > 0, 'axes are required');
  const rank = x.length + a.axes!.length;
  const axes = resolveAxes(a.axes!, rank);
  const rest = [...x];
  return Array.from({ length: rank }, (_, d) => (axes.includes(d) ? 1 : rest.shift()!));
}

const view = (t: HostTensor, shape: Shape): HostTensor => ({ shape: held(shape), data: t.data });

export const Unsqueeze = defineOp<AxesAttrs>({
  name: 'Unsqueeze',
  onnx: { types: ['Unsqueeze'], arity: [1, 1], attrInputs: [1], attrs: (r) => ({ axes: readAxes(r) }) },
  shape: ([x], a) => [unsqueezeShape(a, x!)],
  forward: ([x], a, ctx) => ({ outputs: [x!.reshape(unsqueezeShape(a, x!.shape), ctx.name)] }),
  backward: ({ dys: [dy], inputShapes: [xShape], name }) => [dy!.reshape(held(xShape!), `grad(${name})`)],
  keepsChannels: (_, [x], [y]) => x![0] === y![0] && x![1] === y![1],
  reference: {
    forward: ([x], a) => [view(x!, unsqueezeShape(a, x!.shape))],
    backward: ([dy], [x]) => [view(dy!, x!.shape)],
  },
  doc: {
    forward: 'y = x with new axes of size 1 inserted: the same values seen with another shape, no kernel, no copy.',
    backward: 'Inserting an axis of size 1 relabels indices without moving values, so dx is dy seen with x’s shape.',
    saves: 'nothing but x’s shape.',
  },
  describe: (a) => `axes [${(a.axes ?? []).join(',')}]`,
  checks: [
    { name: 'Unsqueeze [3,4] axes 0,−1 → [1,3,4,1]', inputs: () => [host([3, 4], new Rng(251).uniforms(12))], attrs: { axes: [0, -1] } },
    { name: 'Unsqueeze [2,5] axes 3,1 → [2,1,5,1]', inputs: () => [host([2, 5], new Rng(252).uniforms(10))], attrs: { axes: [3, 1] } },
  ],
});

export function unsqueeze(x: Tensor, axes: readonly number[], name = 'unsqueeze'): Tensor {
  return apply1(Unsqueeze, [x], { axes }, name);
}
