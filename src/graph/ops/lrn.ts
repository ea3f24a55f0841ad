/**
 * LRN, local response normalization across channels (ONNX LRN; AlexNet and GoogLeNet of the ONNX zoo): each activation
 * divided by a power of the energy of its channel neighbourhood at the same position,
 *
 *   y_c = x_c / (bias + (α/size) · Σ_{i ∈ W(c)} x_i²)^β,   W(c) = [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉] ∩ [0, C).
 *
 * Attributes: size (required), alpha (1e-4), beta (0.75), bias (1).
 *
 * Backward (derivation in shaders/lrn.wgsl). With s_k the base of channel k's denominator, y_k depends on x_c directly
 * and, for every k whose window holds c, through s_k:
 *   dx_c = dy_c · s_c^(−β) − (2αβ/size) · x_c · Σ_{k : c ∈ W(k)} dy_k · y_k / s_k.
 */
import { fmtShape } from '../../gpu/errors.js';
import { sizeOf } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { lrnBackward, lrnBackwardRef, lrnDims, lrnForward, lrnRef, type LrnParams } from '../../kernels/lrn.js';
import { Rng } from '../../util/rng.js';
import { defineOp } from '../op.js';

function lrnCheck(shape: number[], l: LrnParams, seed: number, what: string) {
  return {
    name: `LRN ${fmtShape(shape)} size ${l.size} α ${l.alpha} β ${l.beta} bias ${l.bias} (${what})`,
    inputs: () => [host(shape, new Rng(seed).uniforms(sizeOf(shape), -2, 2))],
    attrs: l,
  };
}

export const Lrn = defineOp<LrnParams>({
  name: 'LRN',
  onnx: {
    types: ['LRN'],
    arity: [1, 1],
    attrs: (r) => {
      if (!r.has('size')) r.fail('the size attribute is required');
      const size = r.int('size', 0);
      if (size < 1) r.fail(`size ${size} must be at least 1`);
      return { size, alpha: r.float('alpha', 1e-4), beta: r.float('beta', 0.75), bias: r.float('bias', 1) };
    },
  },
  shape: ([x], l) => (lrnDims(x!, l), [x!]),
  forward: ([x], l, ctx) => {
    const { y, scale } = lrnForward(x!, l, ctx.recording, ctx.name);
    return { outputs: [y], saved: ctx.recording ? { x: x!, y, scale: scale! } : {} };
  },
  backward: ({ dys: [dy], saved, attrs, name }) => [lrnBackward(dy!, saved.x!, saved.y!, saved.scale!, attrs, `grad(${name})`)],
  reference: {
    forward: ([x], l) => [lrnRef(x!, l)],
    backward: ([dy], [x], _, l) => [lrnBackwardRef(dy!, x!, l)],
  },
  doc: {
    forward: 'y_c = x_c / (bias + (α/size)·Σ_{i ∈ W(c)} x_i²)^β: each activation divided by a power of the energy of the size channels around it.',
    backward:
      'y_k reads x_c directly (k = c) and through its denominator for every k whose window holds c: with s_k the base of ' +
      'the denominator, ∂y_k/∂x_c = δ_kc·s_k^(−β) − β·x_k·s_k^(−β−1)·(α/size)·2x_c, so dx_c = dy_c·s_c^(−β) − ' +
      '(2αβ/size)·x_c·Σ_{k ∋ c} dy_k·y_k/s_k.',
    saves: 'x, y, and the bases s of the denominators.',
  },
  describe: (l) => `size ${l.size} α ${l.alpha} β ${l.beta} bias ${l.bias}`,
  checks: [
    lrnCheck([2, 7, 3, 3], { size: 5, alpha: 1e-4, beta: 0.75, bias: 1 }, 501, "AlexNet's and GoogLeNet's"),
    lrnCheck([2, 6, 2, 3], { size: 3, alpha: 2, beta: 0.75, bias: 1 }, 502, 'a large α: the cross-channel terms matter'),
    lrnCheck([1, 5, 4], { size: 4, alpha: 1.5, beta: 0.5, bias: 2 }, 503, 'an even size: the window reaches one further up'),
  ],
});
