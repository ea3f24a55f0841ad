/**
 * Split: x cut along one axis into consecutive parts, one output each — Concat run backwards (ShuffleNet's
 * `x.chunk(2, dim=1)`). The parts' sizes come from `split` (an attribute before opset 13, an optional constant input
 * from 13), else x's size is divided evenly among the outputs; opset 18's `num_outputs` makes the last part smaller
 * when it does not divide (ceil(n / k) each, as torch.chunk).
 *
 * Backward. Output k is the slice [offset_k, offset_k + size_k) of x along the axis, each x element in exactly one
 * part, so ∂y_k/∂x is the identity on that slice and zero elsewhere: dx is the outputs' gradients laid side by side —
 * Concat's forward — with zeros for an output the loss does not depend on.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import { Tensor, type Shape } from '../../gpu/tensor.js';
import { concatBackward, concatBackwardRef, concatForward, concatRef } from '../../kernels/concat.js';
import { host } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { apply, defineOp, type AttrReader } from '../op.js';

export interface SplitAttrs {
  axis: number;
  /** the parts' sizes along the axis; null: x's size divided evenly among `outputs` */
  sizes: readonly number[] | null;
  /** how many outputs */
  outputs: number;
  /** opset 18's num_outputs: ceil(n / outputs) each, the last what is left */
  uneven: boolean;
}

/** The parts' sizes along the (resolved) axis for an input of shape x. */
export function splitShapes(a: SplitAttrs, x: Shape): { axis: number; shapes: number[][] } {
  check(Number.isInteger(a.axis) && a.axis >= -x.length && a.axis < x.length, () => `axis ${a.axis} is out of range for ${fmtShape(x)}`);
  const axis = a.axis < 0 ? a.axis + x.length : a.axis;
  const n = x[axis]!;
  let sizes: number[];
  if (a.sizes) {
    sizes = [...a.sizes];
    check(sizes.length === a.outputs, () => `split lists ${sizes.length} sizes for ${a.outputs} outputs`);
    check(
      sizes.reduce((s, d) => s + d, 0) === n,
      () => `split sizes [${sizes.join(',')}] do not add up to axis ${axis} of ${fmtShape(x)} (${n})`,
    );
  } else if (a.uneven) {
    const each = Math.ceil(n / a.outputs);
    sizes = Array.from({ length: a.outputs }, (_, k) => Math.min(each, n - k * each));
  } else {
    check(n % a.outputs === 0, () => `axis ${axis} of ${fmtShape(x)} does not split evenly into ${a.outputs} parts`);
    sizes = new Array<number>(a.outputs).fill(n / a.outputs);
  }
  check(sizes.every((d) => Number.isInteger(d) && d > 0), () => `split sizes [${sizes.join(',')}] of ${fmtShape(x)}: pixelprop has no empty tensors`);
  return { axis, shapes: sizes.map((d) => x.map((s, i) => (i === axis ? d : s))) };
}

function readSplitAttrs(r: AttrReader): SplitAttrs {
  const outputs = r.node.outputs.length;
  const axis = r.int('axis', 0);
  let sizes: number[] | null = null;
  if (r.opset < 13) sizes = r.ints('split') ?? null;
  else if (r.node.inputs[1]) {
    const v = r.constant(1);
    if (v === undefined) r.fail(`split '${r.node.inputs[1]}' must be a constant (an initializer, a Constant, or computed from them)`);
    sizes = [...v!];
  }
  const numOutputs = r.has('num_outputs') ? r.int('num_outputs', outputs) : null;
  if (numOutputs !== null) {
    if (sizes) r.fail('split and num_outputs cannot both be given');
    if (numOutputs !== outputs) r.fail(`num_outputs is ${numOutputs} but the node has ${outputs} outputs`);
  }
  return { axis, sizes, outputs, uneven: numOutputs !== null };
}

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const Split = defineOp<SplitAttrs>({
  name: 'Split',
  onnx: { types: ['Split'], arity: [1, 1], attrInputs: [1], attrs: readSplitAttrs },
  shape: ([x], a) => splitShapes(a, x!).shapes,
  forward: ([x], a, ctx) => {
    const { axis, shapes } = splitShapes(a, x!.shape);
    const parts = concatBackward(x!, shapes, axis) as Tensor[];
    parts.forEach((t, k) => (t.name = `${ctx.name}[${k}]`));
    return { outputs: parts };
  },
  backward: ({ dys, attrs: a, inputShapes: [xShape], name }) => {
    const { axis, shapes } = splitShapes(a, xShape!);
    const gpu = dys.find((dy) => dy !== null)!.gpu;
    const zeros: Tensor[] = []; // the gradients of the outputs nobody used
    const parts = dys.map((dy, k) => {
      if (dy) return dy;
      const zero = Tensor.zeros(gpu, shapes[k]!, `grad(${name}[${k}]) = 0`);
      zeros.push(zero);
      return zero;
    });
    try {
      return [concatForward(parts, axis, `grad(${name})`)];
    } finally {
      for (const z of zeros) z.dispose();
    }
  },
  reference: {
    forward: ([x], a) => {
      const { axis, shapes } = splitShapes(a, x!.shape);
      return concatBackwardRef(x!, shapes, axis);
    },
    backward: (dys, [x], _, a) => [concatRef(dys, splitShapes(a, x!.shape).axis)],
  },
  doc: {
    forward: 'x cut along one axis into consecutive parts y₀, y₁, … (Concat run backwards).',
    backward:
      'Each output is a slice of x, each x element in exactly one: ∂y_k/∂x is the identity on y_k’s slice and zero ' +
      'elsewhere, so dx is the outputs’ gradients laid side by side (Concat’s forward), zeros for an output nobody used.',
    saves: 'nothing but the parts’ sizes.',
  },
  describe: (a) => `axis ${a.axis}, ${a.sizes ? `sizes [${a.sizes.join(',')}]` : `${a.outputs} ${a.uneven ? 'chunks' : 'equal parts'}`}`,
  checks: [
    { name: 'Split [2,6,3,3] channels in 2 (ShuffleNet)', inputs: () => [random([2, 6, 3, 3], 221)], attrs: { axis: 1, sizes: null, outputs: 2, uneven: false } },
    { name: 'Split [3,7] axis −1 sizes 2,4,1', inputs: () => [random([3, 7], 222)], attrs: { axis: -1, sizes: [2, 4, 1], outputs: 3, uneven: false } },
    { name: 'Split [7,2,2] axis 0 num_outputs 3 (3,3,1)', inputs: () => [random([7, 2, 2], 223)], attrs: { axis: 0, sizes: null, outputs: 3, uneven: true } },
  ],
});

export function split(x: Tensor, attrs: SplitAttrs, name = 'split'): Tensor[] {
  return apply(Split, [x], attrs, name);
}
