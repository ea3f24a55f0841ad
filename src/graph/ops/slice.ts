/**
 * Slice: along each listed axis, the positions start, start + step, … up to (not including) end — numpy's
 * x[start:end:step] — and every other axis whole. ONNX gives starts, ends, axes and steps as attributes before
 * opset 10 and as (constant) inputs from opset 10 on; axes default to 0, 1, …, steps to 1. Out-of-range bounds are
 * clamped as ONNX says: a negative start or end counts from the end (adds the axis size), then with a positive step
 * start is clamped to [0, n] and end to [0, n], with a negative step start to [0, n − 1] and end to [−1, n − 1]. So
 * PyTorch's open end (2^63 − 1, read as +∞) is "to the end", and x[::-1] is start −1, end −∞, step −1.
 *
 * Backward. Each output element is a copy of one input element, and no input element is copied twice, so ∂y_o/∂x_i
 * is 1 for the o that reads i and 0 elsewhere: dx = dy scattered back to the positions it was read from, into zeros
 * (the elements the slice skipped do not affect y).
 */
import { check, fmtShape } from '../../gpu/errors.js';
import type { Shape, Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { slice as sliceKernel, sliceBackward, sliceBackwardRef, sliceRef, type SliceSpec } from '../../kernels/layout.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp, type AttrReader } from '../op.js';

export interface SliceAttrs {
  starts: readonly number[];
  ends: readonly number[];
  /** null: 0, 1, … (one per start) */
  axes: readonly number[] | null;
  /** null: all 1 */
  steps: readonly number[] | null;
}

/** Resolves ONNX's starts/ends/axes/steps for an input of shape x into a start, step and size per axis. */
export function sliceSpec(a: SliceAttrs, x: Shape): SliceSpec {
  const k = a.starts.length;
  check(a.ends.length === k, () => `${k} starts but ${a.ends.length} ends`);
  check(!a.axes || a.axes.length === k, () => `${k} starts but ${a.axes!.length} axes`);
  check(!a.steps || a.steps.length === k, () => `${k} starts but ${a.steps!.length} steps`);
  const spec = x.map((n) => ({ start: 0, step: 1, size: n }));
  const seen = new Set<number>();
  for (let j = 0; j < k; j++) {
    const given = a.axes ? a.axes[j]! : j;
    check(Number.isInteger(given) && given >= -x.length && given < x.length, () => `axis ${given} is out of range for ${fmtShape(x)}`);
    const axis = given < 0 ? given + x.length : given;
    check(!seen.has(axis), () => `axis ${axis} is sliced twice`);
    seen.add(axis);
    const n = x[axis]!;
    const step = a.steps ? a.steps[j]! : 1;
    check(step !== 0 && Number.isInteger(step), () => `step ${step} of axis ${axis} must be a non-zero integer`);
    let start = a.starts[j]!;
    let end = a.ends[j]!;
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (step > 0) {
      start = Math.min(Math.max(start, 0), n);
      end = Math.min(Math.max(end, 0), n);
    } else {
      start = Math.min(Math.max(start, 0), n - 1);
      end = Math.min(Math.max(end, -1), n - 1);
    }
    const size = Math.max(0, Math.ceil((end - start) / step));
    check(size > 0, () => `the slice [${a.starts[j]}:${a.ends[j]}:${step}] of axis ${axis} of ${fmtShape(x)} is empty (pixelprop has no empty tensors)`);
    spec[axis] = { start, step, size };
  }
  return spec;
}

const shapeOf = (spec: SliceSpec): number[] => spec.map((s) => s.size);
const whole = (spec: SliceSpec, x: Shape, axis: number): boolean => spec[axis] === undefined || (spec[axis].start === 0 && spec[axis].step === 1 && spec[axis].size === x[axis]);

function readSliceAttrs(r: AttrReader): SliceAttrs {
  if (r.opset < 10) {
    const starts = r.ints('starts');
    const ends = r.ints('ends');
    if (!starts || !ends) r.fail('attributes starts and ends are required');
    return { starts: starts!, ends: ends!, axes: r.ints('axes') ?? null, steps: null };
  }
  const input = (k: number, what: string): number[] | null => {
    if (!r.node.inputs[k]) return null;
    const v = r.constant(k);
    if (v === undefined) r.fail(`${what} '${r.node.inputs[k]}' must be a constant (an initializer, a Constant, or computed from them)`);
    return [...v!];
  };
  const starts = input(1, 'starts');
  const ends = input(2, 'ends');
  if (!starts || !ends) r.fail('inputs starts and ends are required');
  return { starts: starts!, ends: ends!, axes: input(3, 'axes'), steps: input(4, 'steps') };
}

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const Slice = defineOp<SliceAttrs>({
  name: 'Slice',
  onnx: { types: ['Slice'], arity: [1, 1], attrInputs: [1, 2, 3, 4], attrs: readSliceAttrs },
  shape: ([x], a) => [shapeOf(sliceSpec(a, x!))],
  forward: ([x], a, ctx) => ({ outputs: [sliceKernel(x!, sliceSpec(a, x!.shape), ctx.name)] }),
  backward: ({ dys: [dy], attrs: a, inputShapes: [xShape], name }) => [sliceBackward(dy!, sliceSpec(a, xShape!), xShape!, `grad(${name})`)],
  // A slice that leaves axes 0 and 1 whole keeps channel c of dy in channel c of dx.
  keepsChannels: (a, [x]) => {
    const spec = sliceSpec(a, x!);
    return whole(spec, x!, 0) && whole(spec, x!, 1);
  },
  reference: {
    forward: ([x], a) => [sliceRef(x!, sliceSpec(a, x!.shape))],
    backward: ([dy], [x], _, a) => [sliceBackwardRef(dy!, sliceSpec(a, x!.shape), x!.shape)],
  },
  doc: {
    forward: 'y = x[start:end:step] along each listed axis (numpy slicing; ONNX clamps out-of-range bounds), other axes whole.',
    backward:
      'Each y element is a copy of one x element and no x element is copied twice, so ∂y_o/∂x_i is 1 for the o that ' +
      'reads i and 0 elsewhere: dx is dy scattered back to the positions it was read from, into zeros.',
    saves: 'nothing but x’s shape.',
  },
  describe: (a) => {
    const fmt = (v: number): string => (v === Infinity ? '∞' : v === -Infinity ? '−∞' : String(v));
    return a.starts
      .map((s, j) => `axis ${a.axes ? a.axes[j] : j} ${fmt(s)}:${fmt(a.ends[j]!)}${a.steps && a.steps[j] !== 1 ? `:${a.steps[j]}` : ''}`)
      .join(', ');
  },
  checks: [
    {
      name: 'Slice [2,6,5,4] channels 1:5, width −3:∞',
      inputs: () => [random([2, 6, 5, 4], 211)],
      attrs: { starts: [1, -3], ends: [5, Infinity], axes: [1, -1], steps: null },
    },
    {
      name: 'Slice [3,7,4] steps 2 and −1 (reversed), clamped ends',
      inputs: () => [random([3, 7, 4], 212)],
      attrs: { starts: [0, -1], ends: [100, -Infinity], axes: [1, 2], steps: [2, -1] },
    },
    { name: 'Slice [4,5] default axes, step −2', inputs: () => [random([4, 5], 213)], attrs: { starts: [3, 4], ends: [0, -100], axes: null, steps: [-1, -2] } },
  ],
});

export function slice(x: Tensor, attrs: SliceAttrs, name = 'slice'): Tensor {
  return apply1(Slice, [x], attrs, name);
}
