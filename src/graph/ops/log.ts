/**
 * Log, y = ln z (ONNX's Log: a decomposed log-softmax). Defined for z > 0: ln 0 = −∞, and below 0 the result is NaN,
 * as IEEE, numpy and ONNX have it. Its checks draw z from [0.05, 4).
 *
 * Backward: d ln z/dz = 1/z, so dz = dy / z: read from z (y would need an exponential to give it back).
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export const Log = defineActivation<Record<string, never>>({
  name: 'Log',
  onnx: { types: ['Log'], params: () => ({}) },
  code: 'LOG',
  gradFrom: 'z',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => Math.log(z),
  df: (z) => 1 / z,
  doc: () => ({
    forward: 'y = ln z, element by element (−∞ at 0, NaN for z < 0).',
    backward: activationBackwardDoc('f′(z) = 1/z.'),
    saves: 'z.',
  }),
  checks: [{ params: {}, range: [0.05, 4] }],
});
