/**
 * Clip, y = min(max(z, lo), hi) — ReLU6 = Clip(0, 6) in MobileNet. ONNX gives the bounds as attributes `min`/`max` up to
 * opset 6 and as optional constant inputs 1 and 2 from opset 11 (empty: unbounded on that side).
 *
 * Backward: ∂y/∂z is 1 strictly between the bounds and 0 outside (and, as for PyTorch's ReLU6/Hardtanh, at them), so
 * dz = dy · [lo < y < hi] — read from y, so that a conv with a fused Clip needs no z.
 */
import { activationBackwardDoc, defineActivation } from '../activation.js';

/** float32's largest finite value: "unbounded" as a WGSL constant can say it. */
const F32_MAX = 3.4028234663852886e38;

export interface ClipParams {
  min: number;
  max: number;
}

export const Clip = defineActivation<ClipParams>({
  name: 'Clip',
  onnx: {
    types: ['Clip'],
    attrInputs: [1, 2],
    params: (r) => {
      let min = r.float('min', -F32_MAX);
      let max = r.float('max', F32_MAX);
      if (r.opset >= 11) {
        for (const [index, which] of [[1, 'min'], [2, 'max']] as const) {
          const name = r.node.inputs[index];
          if (!name) continue;
          const v = r.constant(index);
          if (v === undefined) r.fail(`the ${which} input '${name}' must be a constant (an initializer or a Constant node)`);
          if (v!.length !== 1) r.fail(`the ${which} input '${name}' must hold one value, not ${v!.length}`);
          if (which === 'min') min = v![0]!;
          else max = v![0]!;
        }
      }
      if (!(min <= max)) r.fail(`min ${min} is greater than max ${max}`);
      return { min: Math.max(min, -F32_MAX), max: Math.min(max, F32_MAX) };
    },
  },
  code: 'CLIP',
  gradFrom: 'y',
  kernelParams: (p) => ({ alpha: p.min, beta: p.max }),
  f: (z, p) => Math.min(Math.max(z, p.min), p.max),
  df: (_z, y, p) => (y > p.min && y < p.max ? 1 : 0),
  doc: (p) => ({
    forward: `y = min(max(z, ${fmt(p.min)}), ${fmt(p.max)}), element by element${p.min === 0 && p.max === 6 ? ' (ReLU6)' : ''}.`,
    backward: activationBackwardDoc(
      `f′(z) is 1 strictly between the bounds and 0 outside, so dz = dy · [${fmt(p.min)} < y < ${fmt(p.max)}]: clipped ` +
        'units pass no gradient. y alone tells which, so a conv with a fused Clip needs no z.',
    ),
    saves: 'y.',
  }),
  info: (p) => `${fmt(p.min)}…${fmt(p.max)}`,
  checks: [
    { params: { min: 0, max: 6 }, kinks: [0, 6] },
    { params: { min: -1.5, max: 0.5 }, kinks: [-1.5, 0.5] },
  ],
});

function fmt(v: number): string {
  return Math.abs(v) >= F32_MAX ? (v > 0 ? '∞' : '−∞') : String(v);
}
