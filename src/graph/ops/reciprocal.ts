/**
 * Reciprocal, y = 1/z (ONNX's Reciprocal). At z = 0 it is ±∞ (IEEE's 1/±0); its checks draw z from [0.25, 4) and
 * (−4, −0.25], away from the pole, where finite differences stay meaningful.
 *
 * Backward: d(1/z)/dz = −1/z² = −y², so dz = −dy · y²: read from y alone.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export const Reciprocal = defineActivation<Record<string, never>>({
  name: 'Reciprocal',
  onnx: { types: ['Reciprocal'], params: () => ({}) },
  code: 'RECIPROCAL',
  gradFrom: 'y',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => 1 / z,
  df: (_z, y) => -y * y,
  doc: () => ({
    forward: 'y = 1/z, element by element (±∞ at z = ±0).',
    backward: activationBackwardDoc('f′(z) = −1/z² = −y².'),
    saves: 'y.',
  }),
  checks: [
    { params: {}, range: [0.25, 4] },
    { params: {}, range: [-4, -0.25] },
  ],
});
