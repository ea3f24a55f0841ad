/**
 * Expand: x broadcast to a shape (a constant int64 input), numpy-style in both directions: the two shapes are aligned
 * at their last axes, and along each axis the sizes must be equal or one of them 1; the result takes the larger. An
 * axis where x has size 1 and the result n repeats x's one value n times — a pad in 'wrap' mode by n − 1, which is how
 * it runs (x first seen with leading 1s up to the result's rank: a view).
 *
 * Backward. Each x element is copied to every position of the axes it was broadcast along, so its gradient is the
 * sum of dy over them: dy folded back along each broadcast axis.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import type { Shape, Tensor } from '../../gpu/tensor.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { pad, padBackward, padBackwardRef, padRef, type PadSpec } from '../../kernels/layout.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export interface ExpandAttrs {
  shape: readonly number[];
}

/** x with leading 1s up to the result's rank, and the wrap pad that broadcasts it. */
export function expandLayout(a: ExpandAttrs, x: Shape): { aligned: number[]; spec: PadSpec; out: number[] } {
  const rank = Math.max(x.length, a.shape.length);
  const aligned = [...new Array<number>(rank - x.length).fill(1), ...x];
  const target = [...new Array<number>(rank - a.shape.length).fill(1), ...a.shape];
  const out = aligned.map((n, d) => {
    const t = target[d]!;
    check(Number.isInteger(t) && t >= 1, () => `shape ${fmtShape(a.shape)} has a size ${t} (pixelprop has no empty tensors)`);
    check(n === t || n === 1 || t === 1, () => `${fmtShape(x)} cannot be broadcast to ${fmtShape(a.shape)} (axis ${d}: ${n} vs ${t})`);
    return Math.max(n, t);
  });
  return { aligned, out, spec: { begin: out.map(() => 0), end: out.map((n, d) => n - aligned[d]!), mode: 'wrap', value: 0 } };
}

const view = (t: HostTensor, shape: Shape): HostTensor => ({ shape: [...shape], data: t.data });
const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const Expand = defineOp<ExpandAttrs>({
  name: 'Expand',
  onnx: {
    types: ['Expand'],
    arity: [1, 1],
    attrInputs: [1],
    attrs: (r) => {
      const shape = r.constant(1);
      if (!shape) r.fail(`shape '${r.node.inputs[1] ?? ''}' must be a constant (an initializer, a Constant, or computed from them)`);
      return { shape: [...shape!] };
    },
  },
  shape: ([x], a) => [expandLayout(a, x!).out],
  forward: ([x], a, ctx) => {
    const { aligned, spec } = expandLayout(a, x!.shape);
    const seen = x!.reshape(aligned);
    try {
      return { outputs: [pad(seen, spec, ctx.name)] };
    } finally {
      seen.dispose();
    }
  },
  backward: ({ dys: [dy], attrs: a, inputShapes: [xShape], name }) => {
    const { aligned, spec } = expandLayout(a, xShape!);
    const folded = padBackward(dy!, spec, aligned, `grad(${name})`);
    const dx = folded.reshape(xShape!);
    folded.dispose();
    return [dx];
  },
  keepsChannels: (a, [x], [y]) => x!.length === y!.length && x![0] === y![0] && x![1] === y![1],
  reference: {
    forward: ([x], a) => {
      const { aligned, spec } = expandLayout(a, x!.shape);
      return [padRef(view(x!, aligned), spec)];
    },
    backward: ([dy], [x], _, a) => {
      const { aligned, spec } = expandLayout(a, x!.shape);
      return [view(padBackwardRef(dy!, spec, aligned), x!.shape)];
    },
  },
  doc: {
    forward: 'y = x broadcast to a shape (numpy rules, both ways): an axis of size 1 repeats its value along the result’s axis.',
    backward: 'Each x element is copied along every axis it was broadcast along, so dx is dy summed over those axes.',
    saves: 'nothing but x’s shape.',
  },
  describe: (a) => `to ${fmtShape(a.shape)}`,
  checks: [
    { name: 'Expand [3,1] to [2,3,4]', inputs: () => [random([3, 1], 291)], attrs: { shape: [2, 3, 4] } },
    { name: 'Expand [2,1,4,1] to [1,3,1,5] (both ways)', inputs: () => [random([2, 1, 4, 1], 292)], attrs: { shape: [1, 3, 1, 5] } },
  ],
});

export function expand(x: Tensor, shape: readonly number[], name = 'expand'): Tensor {
  return apply1(Expand, [x], { shape }, name);
}
