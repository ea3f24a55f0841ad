/**
 * Range: start, start + delta, … while below limit (above it for a negative delta) — numpy's arange, from three
 * scalar constants, int64 or float32 (the output's type is theirs). ceil((limit − start) / delta) values, or none
 * (which pixelprop, having no empty tensors, refuses). Computed while the model is built.
 */
import { check } from '../../gpu/errors.js';
import { defineFoldOp, float32, int64 } from '../fold-op.js';

export const Range = defineFoldOp<Record<string, never>>({
  name: 'Range',
  onnx: { types: ['Range'], arity: [3, 3], attrs: () => ({}) },
  fold: (inputs) => {
    const cs = inputs.map((i) => i.constant);
    if (cs.some((c) => !c)) return undefined;
    const [start, limit, delta] = cs.map((c, k) => {
      check(c!.data.length === 1, () => `input ${k} (${['start', 'limit', 'delta'][k]}) must be a scalar, has ${c!.data.length} values`);
      return c!.data[0]!;
    }) as [number, number, number];
    check(delta !== 0, 'delta must not be 0');
    const n = Math.max(Math.ceil((limit - start) / delta), 0);
    check(n > 0, () => `range(${start}, ${limit}, ${delta}) is empty: pixelprop has no empty tensors`);
    check(n <= 2 ** 28, () => `range(${start}, ${limit}, ${delta}) has more than 2^28 values`);
    const values = Array.from({ length: n }, (_, i) => start + i * delta);
    return [cs.every((c) => c!.type === 'int64') ? int64([n], values) : float32([n], values)];
  },
  doc: 'start, start + delta, … up to (not including) limit: numpy’s arange.',
  foldChecks: [
    {
      name: 'Range int64 1 to 10 step 3',
      inputs: [1, 10, 3].map((v) => ({ dims: [], constant: int64([], [v]) })),
      attrs: {},
      expected: int64([3], [1, 4, 7]),
    },
    {
      name: 'Range float32 1 down to −0.5 step −0.5',
      inputs: [1, -0.5, -0.5].map((v) => ({ dims: [], constant: float32([], [v]) })),
      attrs: {},
      expected: float32([3], [1, 0.5, 0]),
    },
  ],
});
