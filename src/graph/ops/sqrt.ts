/**
 * Sqrt, y = √z (a decomposed LayerNorm's √(σ² + ε); RMS norms). Defined for z ≥ 0; below 0 the result is NaN, as
 * IEEE, numpy and ONNX have it. Its checks draw z from [0.05, 4).
 *
 * Backward: d√z/dz = 1/(2√z) = 1/(2y): read from y (the function's own output), and +∞ at z = 0, where PyTorch gives
 * +∞ too.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export const Sqrt = defineActivation<Record<string, never>>({
  name: 'Sqrt',
  onnx: { types: ['Sqrt'], params: () => ({}) },
  code: 'SQRT',
  gradFrom: 'y',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => Math.sqrt(z),
  df: (_z, y) => 0.5 / y,
  doc: () => ({
    forward: 'y = √z, element by element (NaN for z < 0).',
    backward: activationBackwardDoc('f′(z) = 1/(2√z) = 1/(2y): steep near 0, infinite at 0.'),
    saves: 'y.',
  }),
  checks: [{ params: {}, range: [0.05, 4] }],
});
