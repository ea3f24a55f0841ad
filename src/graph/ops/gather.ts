/**
 * Gather (ONNX's, along one axis): y = x taken at the positions `indices` along `axis` — numpy's take. y's shape is
 * x's before the axis, then the indices' shape, then x's after it: a scalar index removes the axis (PyTorch's
 * x.size(0) is Gather(Shape(x), 0)), a matrix of indices replaces it by two. Negative indices count from the end.
 * The indices must be constants (pixelprop computes in float32 and has no integer tensors); on constant data the fold
 * pass computes the whole node while the model is built — shape arithmetic — and on computed data it runs on the GPU.
 *
 * Backward. y[…, j, …] = x[…, indices[j], …], so ∂y[…,j,…]/∂x[…,k,…] is 1 when indices[j] = k and 0 otherwise:
 * dx[…, k, …] = Σ_{j : indices[j] = k} dy[…, j, …] — a position gathered twice receives both gradients, one never
 * gathered receives 0.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import type { Shape, Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { gatherAxis, gatherAxisBackward, gatherAxisBackwardRef, gatherAxisRef, type GatherSpec } from '../../kernels/layout.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';
import { held } from './squeeze.js';

export interface GatherAttrs {
  axis: number;
  /** the indices in row-major order, as given (negative ones count from the end) */
  indices: readonly number[];
  /** their ONNX dims ([] for one scalar index) */
  indicesDims: readonly number[];
}

/** The resolved axis and indices for data of shape x, checked. */
export function gatherSpec(a: GatherAttrs, x: Shape): GatherSpec {
  check(x.length >= 1, 'Gather needs data of rank ≥ 1');
  check(Number.isInteger(a.axis) && a.axis >= -x.length && a.axis < x.length, () => `axis ${a.axis} is out of range for ${fmtShape(x)}`);
  const axis = a.axis < 0 ? a.axis + x.length : a.axis;
  const n = x[axis]!;
  const indices = a.indices.map((k) => {
    check(Number.isInteger(k) && k >= -n && k < n, () => `index ${k} is out of range for axis ${axis} of ${fmtShape(x)} (size ${n})`);
    return k < 0 ? k + n : k;
  });
  return { axis, indices };
}

export function gatherShape(a: GatherAttrs, x: Shape): number[] {
  const { axis } = gatherSpec(a, x);
  return [...x.slice(0, axis), ...a.indicesDims, ...x.slice(axis + 1)];
}

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const Gather = defineOp<GatherAttrs>({
  name: 'Gather',
  onnx: {
    types: ['Gather'],
    arity: [1, 1],
    attrInputs: [1],
    attrs: (r) => {
      const indices = r.constantTensor(1);
      if (!indices) r.fail(`indices '${r.node.inputs[1] ?? ''}' must be a constant (an initializer, a Constant, or computed from them)`);
      return { axis: r.int('axis', 0), indices: Array.from(indices!.data), indicesDims: [...indices!.dims] };
    },
  },
  shape: ([x], a) => [gatherShape(a, x!)],
  forward: ([x], a, ctx) => ({ outputs: [gatherAxis(x!, gatherSpec(a, x!.shape), held(gatherShape(a, x!.shape)), ctx.name)] }),
  backward: ({ dys: [dy], attrs: a, inputShapes: [xShape], name }) => [gatherAxisBackward(dy!, gatherSpec(a, xShape!), xShape!, `grad(${name})`)],
  // Gathering along an axis after the channels keeps every channel's gradient in its channel.
  keepsChannels: (a, [x]) => gatherSpec(a, x!).axis >= 2,
  reference: {
    forward: ([x], a) => [gatherAxisRef(x!, gatherSpec(a, x!.shape), held(gatherShape(a, x!.shape)))],
    backward: ([dy], [x], _, a) => [gatherAxisBackwardRef(dy!, gatherSpec(a, x!.shape), x!.shape)],
  },
  doc: {
    forward: 'y = x taken at the given indices along one axis (numpy’s take): y[…, j, …] = x[…, indices[j], …].',
    backward:
      '∂y[…,j,…]/∂x[…,k,…] is 1 when indices[j] = k, else 0, so dx[…,k,…] = Σ over the j with indices[j] = k of ' +
      'dy[…,j,…]: a position gathered twice receives both gradients, one never gathered receives 0.',
    saves: 'nothing but the indices and x’s shape.',
  },
  describe: (a) => `axis ${a.axis}, indices ${a.indicesDims.length ? fmtShape(a.indicesDims) : a.indices[0]}`,
  checks: [
    {
      name: 'Gather [2,5,3] axis 1, indices [[0,4],[−1,2]] (4 twice)',
      inputs: () => [random([2, 5, 3], 261)],
      attrs: { axis: 1, indices: [0, 4, -1, 2], indicesDims: [2, 2] },
    },
    { name: 'Gather [4,3] axis 0, scalar index 2', inputs: () => [random([4, 3], 262)], attrs: { axis: 0, indices: [2], indicesDims: [] } },
    { name: 'Gather [2,3,6] axis −1, indices [5,0,0,3]', inputs: () => [random([2, 3, 6], 263)], attrs: { axis: -1, indices: [5, 0, 0, 3], indicesDims: [4] } },
  ],
});

export function gather(x: Tensor, attrs: GatherAttrs, name = 'gather'): Tensor {
  return apply1(Gather, [x], attrs, name);
}
