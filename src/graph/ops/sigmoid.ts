/**
 * Sigmoid, y = 1 / (1 + e^(−z)).
 *
 * Backward: σ′(z) = e^(−z) / (1 + e^(−z))² = σ(z)·(1 − σ(z)), so dz = dy · y·(1 − y): computed from y alone.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export const Sigmoid = defineActivation<Record<string, never>>({
  name: 'Sigmoid',
  onnx: { types: ['Sigmoid'], params: () => ({}) },
  code: 'SIGMOID',
  gradFrom: 'y',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => 1 / (1 + Math.exp(-z)),
  df: (_z, y) => y * (1 - y),
  doc: () => ({
    forward: 'y = σ(z) = 1 / (1 + e^(−z)), element by element.',
    backward: activationBackwardDoc('σ′(z) = σ(z)·(1 − σ(z)) = y·(1 − y): the output alone gives the slope.'),
    saves: 'y.',
  }),
  checks: [{ params: {} }],
});
