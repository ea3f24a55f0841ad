/**
 * GatherElements: y has the shape of the (constant) indices, and each y element is the x element at its own position
 * but with the coordinate on `axis` replaced by its index — y[i, j] = x[indices[i, j], j] for axis 0 (PyTorch's
 * torch.gather). Negative indices count from the end.
 *
 * Backward. y[i] is a copy of one x element, so ∂y[i]/∂x[p] is 1 for that p: dx[p] = Σ dy[i] over every i that read p
 * (an element read twice receives both gradients, one never read 0).
 */
import { check, fmtShape } from '../../gpu/errors.js';
import type { Shape, Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { gatherElements, gatherElementsBackward, gatherElementsBackwardRef, gatherElementsRef, type GatherElementsSpec } from '../../kernels/layout.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export interface GatherElementsAttrs {
  axis: number;
  /** as given (negative ones count from the end), row-major */
  indices: readonly number[];
  indicesShape: readonly number[];
}

export function gatherElementsSpec(a: GatherElementsAttrs, x: Shape): GatherElementsSpec {
  check(Number.isInteger(a.axis) && a.axis >= -x.length && a.axis < x.length, () => `axis ${a.axis} is out of range for ${fmtShape(x)}`);
  const axis = a.axis < 0 ? a.axis + x.length : a.axis;
  const n = x[axis]!;
  const indices = a.indices.map((k) => {
    check(Number.isInteger(k) && k >= -n && k < n, () => `index ${k} is out of range for axis ${axis} of ${fmtShape(x)}`);
    return k < 0 ? k + n : k;
  });
  return { axis, indices, indicesShape: a.indicesShape.length ? a.indicesShape : [1] };
}

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const GatherElements = defineOp<GatherElementsAttrs>({
  name: 'GatherElements',
  onnx: {
    types: ['GatherElements'],
    arity: [1, 1],
    attrInputs: [1],
    attrs: (r) => {
      const indices = r.constantTensor(1);
      if (!indices) r.fail(`indices '${r.node.inputs[1] ?? ''}' must be a constant (an initializer, a Constant, or computed from them)`);
      return { axis: r.int('axis', 0), indices: Array.from(indices!.data), indicesShape: [...indices!.dims] };
    },
  },
  shape: ([x], a) => [[...gatherElementsSpec(a, x!).indicesShape]],
  forward: ([x], a, ctx) => ({ outputs: [gatherElements(x!, gatherElementsSpec(a, x!.shape), ctx.name)] }),
  backward: ({ dys: [dy], attrs: a, inputShapes: [xShape], name }) => [gatherElementsBackward(dy!, gatherElementsSpec(a, xShape!), xShape!, `grad(${name})`)],
  reference: {
    forward: ([x], a) => [gatherElementsRef(x!, gatherElementsSpec(a, x!.shape))],
    backward: ([dy], [x], _, a) => [gatherElementsBackwardRef(dy!, gatherElementsSpec(a, x!.shape), x!.shape)],
  },
  doc: {
    forward: 'y[i] = x at i’s own position with its coordinate on the axis replaced by indices[i] (torch.gather).',
    backward: 'Each y element copies one x element, so dx[p] = Σ dy[i] over every i that read p: repeated reads add up, unread elements get 0.',
    saves: 'nothing but the indices and x’s shape.',
  },
  describe: (a) => `axis ${a.axis}, indices ${fmtShape(a.indicesShape)}`,
  checks: [
    {
      name: 'GatherElements [3,4] axis 1, indices [3,2] (repeats, negatives)',
      inputs: () => [random([3, 4], 321)],
      attrs: { axis: 1, indices: [0, 3, -1, 3, 2, 2], indicesShape: [3, 2] },
    },
    {
      name: 'GatherElements [2,3,2] axis 0, indices [2,2,2] (smaller off the axis)',
      inputs: () => [random([2, 3, 2], 322)],
      attrs: { axis: 0, indices: [1, 0, 1, 1, 0, 0, 1, 0], indicesShape: [2, 2, 2] },
    },
  ],
});

export function gatherElementsOp(x: Tensor, attrs: GatherElementsAttrs, name = 'gather_elements'): Tensor {
  return apply1(GatherElements, [x], attrs, name);
}
