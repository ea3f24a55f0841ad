/**
 * HardSigmoid, y = max(0, min(1, α·z + β)) (ONNX defaults α = 0.2, β = 0.5; PyTorch exports its hardsigmoid as
 * α = 1/6, β = 1/2) — MobileNetV3's gates.
 *
 * Backward: f′(z) = α strictly inside the ramp (0 < y < 1) and 0 on the flats, read from y.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

export interface HardSigmoidParams {
  alpha: number;
  beta: number;
}

export const HardSigmoid = defineActivation<HardSigmoidParams>({
  name: 'HardSigmoid',
  onnx: { types: ['HardSigmoid'], params: (r) => ({ alpha: r.float('alpha', 0.2), beta: r.float('beta', 0.5) }) },
  code: 'HARD_SIGMOID',
  gradFrom: 'y',
  kernelParams: (p) => ({ alpha: p.alpha, beta: p.beta }),
  f: (z, p) => Math.max(0, Math.min(1, p.alpha * z + p.beta)),
  df: (_z, y, p) => (y > 0 && y < 1 ? p.alpha : 0),
  doc: (p) => ({
    forward: `y = max(0, min(1, ${p.alpha}·z + ${p.beta})), element by element: a piecewise-linear sigmoid.`,
    backward: activationBackwardDoc(`f′(z) = ${p.alpha} on the ramp (0 < y < 1) and 0 on the flats, so y alone gives it.`),
    saves: 'y.',
  }),
  info: (p) => `α ${p.alpha} β ${p.beta}`,
  checks: [{ params: { alpha: 0.2, beta: 0.5 }, kinks: [-2.5, 2.5] }],
});
