/**
 * Neg, y = −z.
 *
 * Backward: d(−z)/dz = −1, so dz = −dy: it reads neither z nor y.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export const Neg = defineActivation<Record<string, never>>({
  name: 'Neg',
  onnx: { types: ['Neg'], params: () => ({}) },
  code: 'NEG',
  // The derivative is a constant; 'y' keeps the backward reading the output, which the tape holds anyway.
  gradFrom: 'y',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => -z,
  df: () => -1,
  doc: () => ({
    forward: 'y = −z, element by element.',
    backward: activationBackwardDoc('f′(z) = −1: the gradient changes sign.'),
    saves: 'nothing it reads (y, by the activations’ convention).',
  }),
  checks: [{ params: {} }],
});
