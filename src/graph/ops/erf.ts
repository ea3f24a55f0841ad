/**
 * Erf, y = erf z = 2/√π ∫₀^z e^(−t²) dt: how PyTorch exports GELU (ConvNeXt, vision transformers) —
 * GELU(x) = x/2 · (1 + erf(x/√2)) becomes Div, Erf, Add, Mul, Mul.
 *
 * WGSL has no erf: the GPU uses a series near 0 and Numerical Recipes' Chebyshev fit of erfc beyond (absolute error
 * < 1.5e-7; shaders/activation.wgsl, erf_f32). The float64 reference sums the series erf z = 2/√π · e^(−z²) · Σ_n 2ⁿ z^(2n+1) /
 * (1·3·…·(2n+1)), whose terms are all positive — no cancellation, so it is exact to float64 rounding for every z
 * (beyond |z| = 6, erf z = ±1 to within 2e-17).
 *
 * Backward: d erf z/dz = 2/√π · e^(−z²), a bell: read from z.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erf in float64 (JavaScript has none). */
export function erf(z: number): number {
  const x = Math.abs(z);
  if (x >= 6) return Math.sign(z);
  if (x === 0) return z;
  // Term n is t_n = 2ⁿ x^(2n+1) / (1·3·…·(2n+1)), so t_n = t_(n−1) · 2x² / (2n+1).
  let term = x;
  let sum = x;
  for (let n = 1; term > 1e-17 * sum; n++) {
    term *= (2 * x * x) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(z) * TWO_OVER_SQRT_PI * Math.exp(-x * x) * sum;
}

export const Erf = defineActivation<Record<string, never>>({
  name: 'Erf',
  onnx: { types: ['Erf'], params: () => ({}) },
  code: 'ERF',
  gradFrom: 'z',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => erf(z),
  df: (z) => TWO_OVER_SQRT_PI * Math.exp(-z * z),
  doc: () => ({
    forward: 'y = erf z = 2/√π ∫₀^z e^(−t²) dt, element by element.',
    backward: activationBackwardDoc('f′(z) = 2/√π · e^(−z²): largest at 0 and vanishing for |z| beyond 3.'),
    saves: 'z.',
  }),
  checks: [{ params: {} }],
});
