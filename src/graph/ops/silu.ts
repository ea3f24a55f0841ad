/**
 * SiLU (swish), y = z · σ(z) — EfficientNet's activation. ONNX has no SiLU op: PyTorch exports it as Sigmoid then Mul,
 * which the model's fusion pass recognizes; the op exists so that a convolution can take it as its epilogue.
 *
 * Backward: the product rule, f′(z) = σ(z) + z·σ(z)·(1 − σ(z)) = σ(z)·(1 + z·(1 − σ(z))), from z.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

export const Silu = defineActivation<Record<string, never>>({
  name: 'Silu',
  code: 'SILU',
  gradFrom: 'z',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => z * sigmoid(z),
  df: (z) => {
    const s = sigmoid(z);
    return s * (1 + z * (1 - s));
  },
  doc: () => ({
    forward: 'y = z · σ(z), element by element (swish).',
    backward: activationBackwardDoc('by the product rule f′(z) = σ(z)·(1 + z·(1 − σ(z))), from z (y does not determine z).'),
    saves: 'z.',
  }),
  checks: [{ params: {} }],
});
