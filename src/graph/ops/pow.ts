/**
 * Pow: y = a^b with numpy broadcasting (ONNX Pow). PyTorch exports x.pow(2) and x ** 0.5 with a constant exponent (a
 * decomposed LayerNorm's variance, RMS norms); the base is then the only operand with a gradient, and the tape asks
 * for no other. As C's pow: a^0 = 1 (0^0 too); a negative base has a real power only for an integral exponent (with
 * the sign of its parity); for a fractional one the result is NaN (ONNX leaves it undefined), as is 0 to a negative
 * power infinite.
 *
 * Backward.
 *   ∂y/∂a = b · a^(b−1), taken as 0 where b = 0 (y = 1 does not depend on a; PyTorch does the same, avoiding 0·∞ at a = 0);
 *   ∂y/∂b = a^b · ln a, taken as 0 where a = 0 and b ≥ 0 (PyTorch's convention; for a < 0 it is NaN: ln a is not real).
 * Each is multiplied by dy and summed over the axes its operand was broadcast along.
 *
 * ONNX lets the exponent be an integer type beside a float base (opset 12; the result has the base's type): an int64
 * exponent constant is read as the float32 number it is (int64AsFloat), exact up to 2^24.
 */
import { binaryBackwardDoc, defineBinary, operand, type BinaryAttrs } from '../binary.js';
import type { OpCheckCase } from '../op.js';
import { host } from '../../kernels/host.js';

/** A check with a constant exponent (a scalar, as exported): only the base's gradient is asked for. */
function constantExponent(exponent: number, base: { lo: number; hi: number; signed?: boolean }, seed: number): OpCheckCase<BinaryAttrs> {
  return {
    name: `Pow [2,3,4,5] ^ ${exponent} (constant exponent${base.signed ? ', signed base' : ''})`,
    inputs: () => [operand([2, 3, 4, 5], seed, base), host([1], [exponent])],
    attrs: {},
    wrt: [0],
  };
}

export const Pow = defineBinary({
  name: 'Pow',
  code: 'POW',
  f: (a, b) => Math.pow(a, b),
  da: (a, b) => (b === 0 ? 0 : b * Math.pow(a, b - 1)),
  db: (a, b) => (a === 0 && b >= 0 ? 0 : Math.pow(a, b) * Math.log(a)),
  reads: { a: ['a', 'b'], b: ['a', 'b'] },
  int64AsFloat: [1],
  doc: {
    forward: 'y = a^b, element by element over the broadcast shape (a^0 = 1; a negative base needs an integral exponent).',
    backward: binaryBackwardDoc('∂y/∂a = b·a^(b−1) (0 where b = 0) and ∂y/∂b = a^b·ln a (0 where a = 0 and b ≥ 0)'),
    saves: 'a and b (the gradients read both).',
  },
  // The shared checks take both gradients, so the base stays positive (ln a must be real) and away from 0.
  ranges: { a: { lo: 0.5, hi: 2 }, b: { lo: -2, hi: 2 } },
  extraChecks: [
    constantExponent(2, { lo: -2, hi: 2 }, 201),
    constantExponent(0.5, { lo: 0.25, hi: 2 }, 202),
    constantExponent(3, { lo: 0.25, hi: 2, signed: true }, 203),
    constantExponent(-1.5, { lo: 0.5, hi: 2 }, 204),
  ],
});
