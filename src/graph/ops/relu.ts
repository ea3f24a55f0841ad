/**
 * ReLU, y = max(z, 0) — the activation after every SqueezeNet convolution, where the model fuses it into the conv.
 *
 * Backward: ∂y/∂z is 1 where z > 0 and 0 where z < 0; at z = 0 the function has no derivative and we take 0 (as PyTorch
 * and TF do), so dz = dy · [y > 0]. It reads y, not z: y > 0 exactly where z > 0, and a conv with a fused ReLU keeps
 * only y.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export const Relu = defineActivation<Record<string, never>>({
  name: 'Relu',
  onnx: { types: ['Relu'], params: () => ({}) },
  code: 'RELU',
  gradFrom: 'y',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => Math.max(z, 0),
  df: (_z, y) => (y > 0 ? 1 : 0),
  doc: () => ({
    forward: 'y = max(z, 0), element by element.',
    backward: activationBackwardDoc(
      'f′(z) is 1 where z > 0 and 0 elsewhere, so the backward is a gate, dz = dy · [y > 0]: the gradient flows only ' +
        'through units that fired (y > 0 ⇔ z > 0, so y itself tells which, and a conv with a fused ReLU needs no z).',
    ),
    saves: 'y.',
  }),
  checks: [{ params: {}, kinks: [0] }],
});
