/**
 * Tanh, y = tanh z = (e^z − e^(−z)) / (e^z + e^(−z)). The GPU computes it without forming e^(2|z|) (which overflows
 * past |z| ≈ 44 and would turn the textbook quotient into ∞/∞ = NaN) — shaders/activation.wgsl, tanh_f32.
 *
 * Backward: d tanh z/dz = 1 − tanh² z = 1 − y², so dz = dy · (1 − y²): read from y alone.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export const Tanh = defineActivation<Record<string, never>>({
  name: 'Tanh',
  onnx: { types: ['Tanh'], params: () => ({}) },
  code: 'TANH',
  gradFrom: 'y',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => Math.tanh(z),
  df: (_z, y) => 1 - y * y,
  doc: () => ({
    forward: 'y = tanh z, element by element.',
    backward: activationBackwardDoc('f′(z) = 1 − tanh² z = 1 − y²: the output alone gives the slope.'),
    saves: 'y.',
  }),
  checks: [{ params: {} }],
});
