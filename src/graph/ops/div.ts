/**
 * Div: y = a / b with numpy broadcasting (GELU's x / √2; a decomposed LayerNorm's (x − μ) / √(σ² + ε); normalizing
 * constants). Division by zero gives ±∞ or NaN, as IEEE (and ONNX) say.
 *
 * Backward. ∂y/∂a = 1/b and ∂y/∂b = −a/b²: da = dy / b and db = −dy · a / b², each summed over the axes that operand
 * was broadcast along.
 */
import { binaryBackwardDoc, defineBinary } from '../binary.js';

export const Div = defineBinary({
  name: 'Div',
  code: 'DIV',
  f: (a, b) => a / b,
  da: (_a, b) => 1 / b,
  db: (a, b) => -a / (b * b),
  reads: { a: ['b'], b: ['a', 'b'] },
  doc: {
    forward: 'y = a / b, element by element over the broadcast shape.',
    backward: binaryBackwardDoc('∂y/∂a = 1/b and ∂y/∂b = −a/b²'),
    saves: 'b for da; a and b for db.',
  },
  // The checks keep |b| in [0.5, 2): near b = 0 the quotient and its derivatives explode.
  ranges: { b: { lo: 0.5, hi: 2, signed: true } },
});
