/**
 * ConstantOfShape: a tensor of the given shape (an int64 vector, the input) filled with one value (the `value`
 * attribute, a one-element tensor: float32 0 by default, or an int64). Its input is shape arithmetic, so the whole
 * node is computed while the model is built.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import { sizeOf } from '../../gpu/tensor.js';
import type { Constant } from '../ir.js';
import { defineFoldOp, float32, int64 } from '../fold-op.js';

export interface ConstantOfShapeAttrs {
  value: Constant;
}

export const ConstantOfShape = defineFoldOp<ConstantOfShapeAttrs>({
  name: 'ConstantOfShape',
  onnx: {
    types: ['ConstantOfShape'],
    arity: [1, 1],
    attrs: (r) => {
      const v = r.node.attrs.value;
      if (v === undefined) return { value: float32([1], [0]) };
      if (typeof v !== 'object' || Array.isArray(v)) r.fail('attribute value must be a tensor');
      const t = v as Constant;
      if (t.data.length !== 1) r.fail(`attribute value must hold one number, holds ${t.data.length}`);
      return { value: t };
    },
  },
  fold: ([shape], a) => {
    const c = shape?.constant;
    if (!c) return undefined;
    check(c.type === 'int64' && c.dims.length === 1, () => `the shape must be an int64 vector, is ${c.type} ${fmtShape(c.dims)}`);
    const dims = Array.from(c.data);
    check(dims.every((d) => Number.isInteger(d) && d > 0), () => `shape ${fmtShape(dims)}: pixelprop has no empty tensors`);
    check(sizeOf(dims) <= 2 ** 28, () => `shape ${fmtShape(dims)} has more than 2^28 elements`);
    const v = a.value.data[0]!;
    return [a.value.type === 'int64' ? int64(dims, new Array<number>(sizeOf(dims)).fill(v)) : float32(dims, new Float32Array(sizeOf(dims)).fill(v))];
  },
  doc: 'a tensor of the given shape filled with one value (default float 0).',
  describe: (a) => `value ${a.value.data[0]}`,
  foldChecks: [
    { name: 'ConstantOfShape [2,3] of int64 1', inputs: [{ dims: [2], constant: int64([2], [2, 3]) }], attrs: { value: int64([1], [1]) }, expected: int64([2, 3], [1, 1, 1, 1, 1, 1]) },
    { name: 'ConstantOfShape [4] default', inputs: [{ dims: [1], constant: int64([1], [4]) }], attrs: { value: float32([1], [0]) }, expected: float32([4], [0, 0, 0, 0]) },
  ],
});
