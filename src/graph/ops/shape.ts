/**
 * Shape: the dims of x as an int64 vector — x.size() in PyTorch. Opset 15's `start` and `end` keep a range of them
 * (negative ones count from the end; both clamped to [0, rank]). x need not be a constant: the fold pass knows every
 * value's static shape (at the declared batch, 1 when symbolic), so Shape is always computed while the model is
 * built. A file whose input has other symbolic sizes than the batch has no static shape there, and is refused.
 */
import { check } from '../../gpu/errors.js';
import { defineFoldOp, float32, int64 } from '../fold-op.js';

export interface ShapeAttrs {
  start: number;
  end: number | null;
}

export const Shape = defineFoldOp<ShapeAttrs>({
  name: 'Shape',
  onnx: {
    types: ['Shape'],
    arity: [1, 1],
    attrs: (r) => ({ start: r.int('start', 0), end: r.has('end') ? r.int('end', 0) : null }),
  },
  fold: ([x], a) => {
    if (!x?.dims) return undefined;
    const rank = x.dims.length;
    const clamp = (v: number): number => Math.min(Math.max(v < 0 ? v + rank : v, 0), rank);
    const dims = x.dims.slice(clamp(a.start), a.end === null ? rank : clamp(a.end));
    check(dims.length > 0, () => `Shape keeps no dimension of rank ${rank} (start ${a.start}, end ${a.end}): pixelprop has no empty tensors`);
    return [int64([dims.length], dims)];
  },
  doc: 'the dims of x as an int64 vector (a range of them with start/end), read from x’s static shape.',
  describe: (a) => (a.start !== 0 || a.end !== null ? `dims ${a.start}:${a.end ?? ''}` : ''),
  foldChecks: [
    { name: 'Shape of a computed [1,3,8,8]', inputs: [{ dims: [1, 3, 8, 8] }], attrs: { start: 0, end: null }, expected: int64([4], [1, 3, 8, 8]) },
    { name: 'Shape of a constant [2,5], start −1', inputs: [{ dims: [2, 5], constant: float32([2, 5], new Float32Array(10)) }], attrs: { start: -1, end: null }, expected: int64([1], [5]) },
    { name: 'Shape [4,3,2,1], start 1 end −1', inputs: [{ dims: [4, 3, 2, 1] }], attrs: { start: 1, end: -1 }, expected: int64([2], [3, 2]) },
  ],
});
