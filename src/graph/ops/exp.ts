/**
 * Exp, y = e^z (a decomposed softmax; ONNX's Exp).
 *
 * Backward: de^z/dz = e^z = y, so dz = dy · y: read from y alone.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export const Exp = defineActivation<Record<string, never>>({
  name: 'Exp',
  onnx: { types: ['Exp'], params: () => ({}) },
  code: 'EXP',
  gradFrom: 'y',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => Math.exp(z),
  df: (_z, y) => y,
  doc: () => ({
    forward: 'y = e^z, element by element.',
    backward: activationBackwardDoc('f′(z) = e^z = y: the exponential is its own derivative.'),
    saves: 'y.',
  }),
  checks: [{ params: {} }],
});
