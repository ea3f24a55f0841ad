/**
 * LeakyRelu, y = z for z ≥ 0 and α·z below (ONNX default α = 0.01): a ReLU that lets a little gradient through where
 * it is off.
 *
 * Backward: f′(z) = 1 for z > 0 and α for z < 0; at z = 0 we take α, as PyTorch does (its leaky_relu_backward tests
 * z > 0), so that gradients compare with autograd. It reads z: with α ≤ 0 the sign of y does not tell the side.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export const LeakyRelu = defineActivation<{ alpha: number }>({
  name: 'LeakyRelu',
  onnx: { types: ['LeakyRelu'], params: (r) => ({ alpha: r.float('alpha', 0.01) }) },
  code: 'LEAKY_RELU',
  gradFrom: 'z',
  kernelParams: (p) => ({ alpha: p.alpha, beta: 0 }),
  f: (z, p) => (z >= 0 ? z : p.alpha * z),
  df: (z, _y, p) => (z > 0 ? 1 : p.alpha),
  doc: (p) => ({
    forward: `y = z where z ≥ 0, ${p.alpha}·z where z < 0, element by element.`,
    backward: activationBackwardDoc(`f′(z) = 1 where z > 0 and ${p.alpha} elsewhere: the units that are off still pass ${p.alpha} of dy.`),
    saves: 'z.',
  }),
  info: (p) => `α ${p.alpha}`,
  checks: [{ params: { alpha: 0.01 }, kinks: [0] }, { params: { alpha: -0.5 }, kinks: [0] }],
});
