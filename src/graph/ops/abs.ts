/**
 * Abs, y = |z|.
 *
 * Backward: d|z|/dz = sign z, ±1 away from 0; at the kink z = 0 we take 0, as PyTorch does (its abs backward is
 * dy · sgn(z)), so that gradients compare with autograd. It reads z: y = |z| has forgotten the sign.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export const Abs = defineActivation<Record<string, never>>({
  name: 'Abs',
  onnx: { types: ['Abs'], params: () => ({}) },
  code: 'ABS',
  gradFrom: 'z',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => Math.abs(z),
  df: (z) => Math.sign(z),
  doc: () => ({
    forward: 'y = |z|, element by element.',
    backward: activationBackwardDoc('f′(z) = sign z: +1 for z > 0, −1 for z < 0, and 0 at z = 0 (as PyTorch).'),
    saves: 'z.',
  }),
  checks: [{ params: {}, kinks: [0] }],
});
