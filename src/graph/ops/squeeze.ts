/**
 * Squeeze: x without some of its axes of size 1 — the listed ones (`axes`: an attribute before opset 13, an optional
 * constant input from 13), or every axis of size 1 when none is listed. Like Reshape, a view: the same values in the
 * same order under another shape, no kernel, no copy; and so is its backward, dx = dy seen with x's shape. (A rank-0
 * result is held as [1] on the GPU, as every scalar is.)
 */
import { check, fmtShape } from '../../gpu/errors.js';
import type { Shape, Tensor } from '../../gpu/tensor.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp, type AttrReader } from '../op.js';

export interface AxesAttrs {
  /** the axes (negative ones count from the end); null: Squeeze's every axis of size 1 */
  axes: readonly number[] | null;
}

/** Reads `axes` from the attribute (before opset 13) or the constant input 1 (from 13). */
export function readAxes(r: AttrReader): number[] | null {
  if (r.opset < 13) return r.ints('axes') ?? null;
  if (!r.node.inputs[1]) return null;
  const v = r.constant(1);
  if (v === undefined) r.fail(`axes '${r.node.inputs[1]}' must be a constant (an initializer, a Constant, or computed from them)`);
  return [...v!];
}

/** The axes resolved against a rank, checked: in range, none twice. */
export function resolveAxes(axes: readonly number[], rank: number): number[] {
  const out = axes.map((a) => {
    check(Number.isInteger(a) && a >= -rank && a < rank, () => `axis ${a} is out of range for rank ${rank}`);
    return a < 0 ? a + rank : a;
  });
  check(new Set(out).size === out.length, () => `axes [${axes.join(',')}] name an axis twice`);
  return out;
}

export function squeezeShape(a: AxesAttrs, x: Shape): number[] {
  if (!a.axes) return x.filter((d) => d !== 1);
  const axes = resolveAxes(a.axes, x.length);
  for (const d of axes) check(x[d] === 1, () => `axis ${d} of ${fmtShape(x)} has size ${x[d]}, not 1: it cannot be squeezed`);
  return x.filter((_, d) => !axes.includes(d));
}

/** The GPU's and the references' form of a shape: a scalar as [1]. */
export const held = (s: Shape): number[] => (s.length ? [...s] : [1]);
const view = (t: HostTensor, shape: Shape): HostTensor => ({ shape: held(shape), data: t.data });

export const Squeeze = defineOp<AxesAttrs>({
  name: 'Squeeze',
  onnx: { types: ['Squeeze'], arity: [1, 1], attrInputs: [1], attrs: (r) => ({ axes: readAxes(r) }) },
  shape: ([x], a) => [squeezeShape(a, x!)],
  forward: ([x], a, ctx) => ({ outputs: [x!.reshape(held(squeezeShape(a, x!.shape)), ctx.name)] }),
  backward: ({ dys: [dy], inputShapes: [xShape], name }) => [dy!.reshape(held(xShape!), `grad(${name})`)],
  keepsChannels: (_, [x], [y]) => x![0] === y![0] && x![1] === y![1],
  reference: {
    forward: ([x], a) => [view(x!, squeezeShape(a, x!.shape))],
    backward: ([dy], [x]) => [view(dy!, x!.shape)],
  },
  doc: {
    forward: 'y = x without (some of) its axes of size 1: the same values seen with another shape, no kernel, no copy.',
    backward: 'Removing an axis of size 1 relabels indices without moving values, so dx is dy seen with x’s shape.',
    saves: 'nothing but x’s shape.',
  },
  describe: (a) => (a.axes ? `axes [${a.axes.join(',')}]` : 'all axes of size 1'),
  checks: [
    { name: 'Squeeze [2,1,3,1] axes 1,−1', inputs: () => [host([2, 1, 3, 1], new Rng(241).uniforms(6))], attrs: { axes: [1, -1] } },
    { name: 'Squeeze [1,4,1,1] every axis of size 1', inputs: () => [host([1, 4, 1, 1], new Rng(242).uniforms(4))], attrs: { axes: null } },
  ],
});

export function squeeze(x: Tensor, axes: readonly number[] | null, name = 'squeeze'): Tensor {
  return apply1(Squeeze, [x], { axes }, name);
}
