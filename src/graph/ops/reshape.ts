/**
 * Reshape and Flatten: the same values seen with another shape. No kernel, no copy — the output shares the input's
 * buffer (Tensor.reshape) — and none backward either: reshaping relabels indices without moving values, so dx is dy
 * seen with x's shape.
 *
 * The target: Reshape's `shape` input (a constant; 0 copies the input's dim unless allowzero, −1 takes what is left),
 * or Flatten's axis (everything before it becomes rows, everything after columns). A shape frozen at export time with
 * the declared batch — the zoo's [1, 1000], or PyTorch's x.view(1, −1) traced at batch 1 — follows the batch actually
 * given, so that the images of a batch stay apart: pixelprop runs a model declared for batch B on any batch, and a
 * Reshape to [B, ...] is read as "per image". (Strict ONNX would merge a batch of 3 into one row [1, 3K] here; nothing
 * downstream of a classifier's flatten means that.)
 */
import { check, fmtShape } from '../../gpu/errors.js';
import { sizeOf, type Shape, type Tensor } from '../../gpu/tensor.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export type ReshapeAttrs =
  | { kind: 'shape'; target: readonly number[]; allowZero: boolean; declaredBatch: number | null }
  | { kind: 'flatten'; axis: number };

/** The output shape for an input of shape x. */
export function reshapeTarget(a: ReshapeAttrs, x: Shape): number[] {
  if (a.kind === 'flatten') {
    const axis = a.axis < 0 ? a.axis + x.length : a.axis;
    check(axis >= 0 && axis <= x.length, () => `Flatten axis ${a.axis} is out of range for ${fmtShape(x)}`);
    return [sizeOf(x.slice(0, axis)), sizeOf(x.slice(axis))];
  }
  const target = a.target.map((d, i) => (d === 0 && !a.allowZero ? x[i]! : d));
  check(target.filter((d) => d === -1).length <= 1, () => `shape ${fmtShape(a.target)} has more than one -1`);
  if (a.declaredBatch !== null && target[0] === a.declaredBatch && x[0] !== a.declaredBatch) {
    const perItem = sizeOf(x) / x[0]!;
    const fits = target.includes(-1) ? target.indexOf(-1) > 0 : sizeOf(target) === perItem * a.declaredBatch;
    if (fits) target[0] = x[0]!;
  }
  const known = target.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const total = sizeOf(x);
  const out = target.map((d) => (d === -1 ? total / known : d));
  check(out.every((d) => Number.isInteger(d) && d > 0) && sizeOf(out) === total, () => `cannot reshape ${fmtShape(x)} to ${fmtShape(a.target)}`);
  return out;
}

const view = (t: HostTensor, shape: Shape): HostTensor => ({ shape: [...shape], data: t.data });

export const Reshape = defineOp<ReshapeAttrs>({
  name: 'Reshape',
  onnx: {
    types: ['Reshape', 'Flatten'],
    arity: [1, 1],
    attrInputs: [1],
    attrs: (r) => {
      if (r.node.opType === 'Flatten') return { kind: 'flatten', axis: r.int('axis', 1) };
      const target = r.constant(1);
      if (target === undefined) r.fail(`the target shape '${r.node.inputs[1] ?? ''}' must be an initializer or a Constant`);
      return { kind: 'shape', target: target!, allowZero: r.int('allowzero', 0) === 1, declaredBatch: r.declaredBatch };
    },
  },
  shape: ([x], a) => [reshapeTarget(a, x!)],
  forward: ([x], a, ctx) => ({ outputs: [x!.reshape(reshapeTarget(a, x!.shape), ctx.name)] }),
  backward: ({ dys: [dy], inputShapes: [xShape], name }) => [dy!.reshape(xShape!, `grad(${name})`)],
  // A reshape that keeps axes 0 and 1 keeps each channel's (or class's) values together: zero channels stay zero.
  keepsChannels: (_, [x], [y]) => x![0] === y![0] && x![1] === y![1],
  reference: {
    forward: ([x], a) => [view(x!, reshapeTarget(a, x!.shape))],
    backward: ([dy], [x]) => [view(dy!, x!.shape)],
  },
  doc: {
    forward: 'the same values seen with another shape (Reshape, Flatten): no kernel, no copy.',
    backward: 'Reshaping relabels indices without moving values, so dx is dy seen with x’s shape — again no copy.',
    saves: 'nothing but x’s shape.',
  },
  describe: (a) => (a.kind === 'flatten' ? `flatten at ${a.axis}` : `to ${fmtShape(a.target)}`),
  checks: [
    {
      name: 'Reshape [2,3,4] to [0,−1]',
      inputs: () => [host([2, 3, 4], new Rng(41).uniforms(24))],
      attrs: { kind: 'shape', target: [0, -1], allowZero: false, declaredBatch: null },
    },
  ],
});

export function reshape(x: Tensor, shape: Shape, name = 'reshape'): Tensor {
  return apply1(Reshape, [x], { kind: 'shape', target: [...shape], allowZero: true, declaredBatch: null }, name);
}
