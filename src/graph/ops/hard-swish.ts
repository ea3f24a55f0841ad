/**
 * HardSwish, y = z · max(0, min(1, z/6 + 1/2)) (ONNX opset 14; MobileNetV3).
 *
 * Backward: 0 for z < −3, 1 for z > 3, and d/dz (z·(z/6 + 1/2)) = z/3 + 1/2 between (PyTorch's convention at the
 * corners). Not monotonic, so y does not tell z: the backward reads z, and a conv with a fused HardSwish keeps z when
 * a gradient will be asked for.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export const HardSwish = defineActivation<Record<string, never>>({
  name: 'HardSwish',
  onnx: { types: ['HardSwish'], params: () => ({}) },
  code: 'HARD_SWISH',
  gradFrom: 'z',
  kernelParams: () => ({ alpha: 0, beta: 0 }),
  f: (z) => z * Math.max(0, Math.min(1, z / 6 + 0.5)),
  df: (z) => (z < -3 ? 0 : z > 3 ? 1 : z / 3 + 0.5),
  doc: () => ({
    forward: 'y = z · max(0, min(1, z/6 + 1/2)), element by element.',
    backward: activationBackwardDoc(
      'f′(z) = 0 below −3, 1 above 3, and z/3 + 1/2 between (the product rule on z·(z/6 + 1/2)). y does not determine z ' +
        '(the function dips below 0 and comes back), so the backward reads z.',
    ),
    saves: 'z.',
  }),
  checks: [{ params: {}, kinks: [-3, 3] }],
});
