/**
 * The element-wise activation kernels (shaders/activation_ops.wgsl) and what a convolution needs to apply an activation
 * as its epilogue: the override constants that select one function of shaders/activation.wgsl.
 *
 * Which function is a code in the WGSL (`const ACT_RELU: u32 = 1u;` …); an activation is named here by that code's
 * name, and the number is read from the shader, so the WGSL file is the numbering's one definition. The functions'
 * float64 references and derivations live with their ops (src/graph/ops/relu.ts, clip.ts, …).
 */
import { PixelpropError } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { shaderSource } from '../gpu/shaders.js';
import { Tensor } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, sameShape } from './common.js';

/** One activation function with its parameters, as the kernels take it. */
export interface ActivationFn {
  /** the NAME of `const ACT_NAME` in shaders/activation.wgsl, e.g. 'RELU' */
  readonly code: string;
  /** ACT_ALPHA and ACT_BETA (Clip's bounds, HardSigmoid's α and β; 0 where unused) */
  readonly alpha: number;
  readonly beta: number;
  /** whether its derivative needs z (the input); otherwise it is computed from y (the output) */
  readonly gradFromZ: boolean;
}

/** y = z: a convolution without an epilogue. */
export const IDENTITY: ActivationFn = Object.freeze({ code: 'NONE', alpha: 0, beta: 0, gradFromZ: false });

let codes: Map<string, number> | null = null;

/** The override constants that make a kernel that links activation.wgsl compute `fn`. */
export function activationConstants(fn: ActivationFn): Record<string, number> {
  codes ??= new Map([...shaderSource('activation').matchAll(/const\s+ACT_(\w+)\s*:\s*u32\s*=\s*(\d+)u?\s*;/g)].map((m) => [m[1]!, Number(m[2])]));
  const code = codes.get(fn.code);
  if (code === undefined) throw new PixelpropError(`activation ACT_${fn.code} is not defined in shaders/activation.wgsl`);
  return { ACTIVATION: code, ACT_ALPHA: fn.alpha, ACT_BETA: fn.beta, GRAD_FROM_Z: fn.gradFromZ ? 1 : 0 };
}

export function isIdentity(fn: ActivationFn): boolean {
  return fn.code === IDENTITY.code;
}

const shader = ['common', 'activation', 'activation_ops'];
const constants = { WG: ELEMENTWISE_WG };
const kernels = {
  forward: defineKernel({ shader, entry: 'activation_forward', constants, params: { n: 'u32' }, bindings: { z: 'read', out: 'read_write' } }),
  backward: defineKernel({
    shader,
    entry: 'activation_backward',
    constants,
    params: { n: 'u32' },
    bindings: { z: 'read?', y: 'read?', dy: 'read', out: 'read_write' },
  }),
  backwardRule: defineKernel({
    shader,
    entry: 'activation_backward_rule',
    constants,
    params: { n: 'u32' },
    bindings: { z: 'read?', y: 'read?', dy: 'read', out: 'read_write' },
  }),
  backward4: defineKernel({
    shader,
    entry: 'activation_backward4',
    constants,
    params: { n: 'u32' },
    bindings: { z4: 'read?', y4: 'read?', dy4: 'read', out4: 'read_write' },
  }),
};

/** y = f(z), element by element. */
export function activationForward(z: Tensor, fn: ActivationFn, name = 'activation'): Tensor {
  const y = Tensor.empty(z.gpu, z.shape, name);
  kernels.forward.dispatch(z.gpu, {
    bind: { z, out: y },
    params: { n: z.size },
    grid: { threads: z.size },
    constants: activationConstants(fn),
  });
  return y;
}

/**
 * dz = dy · f'(z), from z or y as the function needs (`fn.gradFromZ`); the caller passes what it saved. A gradient
 * that is zero outside some channels stays zero there (a product with dy), which the tape relies on.
 */
export function activationBackward(dy: Tensor, saved: { z?: Tensor; y?: Tensor }, fn: ActivationFn, name = 'activation.dz'): Tensor {
  const from = fn.gradFromZ ? saved.z : saved.y;
  if (!from) throw new PixelpropError(`activation ${fn.code} backward: needs ${fn.gradFromZ ? 'z, its input' : 'y, its output'}`);
  sameShape(dy, from, `activation ${fn.code} backward`);
  const dz = Tensor.empty(dy.gpu, dy.shape, name);
  if (dy.size % 4 === 0) {
    const n = dy.size / 4;
    const bind = fn.gradFromZ ? { z4: from, dy4: dy, out4: dz } : { y4: from, dy4: dy, out4: dz };
    kernels.backward4.dispatch(dy.gpu, { bind, params: { n }, grid: { threads: n }, constants: activationConstants(fn) });
  } else {
    const bind = fn.gradFromZ ? { z: from, dy, out: dz } : { y: from, dy, out: dz };
    kernels.backward.dispatch(dy.gpu, { bind, params: { n: dy.size }, grid: { threads: dy.size }, constants: activationConstants(fn) });
  }
  return dz;
}

/** The modified backward rules of the visualization methods (shaders/activation_ops.wgsl explains each). */
export type BackwardRuleName = 'guided' | 'deconvnet';
const RULES: Record<BackwardRuleName, number> = { guided: 0, deconvnet: 1 };

/** dz by a modified rule instead of dy · f'(z): guided backprop's max(dy·f', 0), or the deconvnet's max(dy, 0). */
export function activationBackwardByRule(dy: Tensor, saved: { z?: Tensor; y?: Tensor }, fn: ActivationFn, rule: BackwardRuleName, name = 'activation.dz'): Tensor {
  const from = fn.gradFromZ ? saved.z : saved.y;
  if (rule === 'guided' && !from) throw new PixelpropError(`activation ${fn.code} backward: needs ${fn.gradFromZ ? 'z, its input' : 'y, its output'}`);
  const dz = Tensor.empty(dy.gpu, dy.shape, name);
  const bind = { dy, out: dz, ...(fn.gradFromZ ? { z: from } : { y: from }) };
  kernels.backwardRule.dispatch(dy.gpu, {
    bind,
    params: { n: dy.size },
    grid: { threads: dy.size },
    constants: { ...activationConstants(fn), RULE: RULES[rule] },
  });
  return dz;
}
