/**
 * Gemm: Y = α·A′·B′ + β·C (ONNX Gemm: A′, B′ optionally transposed, C broadcast to [M, N]) — a fully connected layer.
 *
 * Backward. Y_mn = α Σ_k A′_mk B′_kn, so ∂L/∂A′_mk = α Σ_n dY_mn B′_kn, i.e. dA′ = α · dY · B′ᵀ, and dB′ = α · A′ᵀ · dY
 * (each transposed back when the operand was); dC = β · dY summed over the axes C was broadcast along. Each is one
 * product of the same kernel with suitable transpose flags (src/kernels/gemm.ts has the derivation in full).
 */
import { host } from '../../kernels/host.js';
import type { Tensor } from '../../gpu/tensor.js';
import { gemmBackward, gemmBackwardRef, gemm as gemmKernel, gemmRef, gemmShape, type GemmAttrs } from '../../kernels/gemm.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

function gemmCheck(name: string, a: number[], b: number[], c: number[] | null, attrs: GemmAttrs, seed: number) {
  return { name, inputs: () => [random(a, seed), random(b, seed + 100), ...(c ? [random(c, seed + 200)] : [])], attrs };
}

export const Gemm = defineOp<GemmAttrs>({
  name: 'Gemm',
  onnx: {
    types: ['Gemm'],
    arity: [2, 3],
    attrs: (r) => ({ alpha: r.float('alpha', 1), beta: r.float('beta', 1), transA: r.int('transA', 0), transB: r.int('transB', 0) }),
  },
  shape: ([a, b, c], attrs) => {
    const s = gemmShape(a!, b!, c ?? null, attrs);
    return [[s.m, s.n]];
  },
  forward: ([a, b, c], attrs, ctx) => ({
    outputs: [gemmKernel(a!, b!, c ?? null, attrs, ctx.name)],
    saved: ctx.recording ? { a: a!, b: b! } : {},
  }),
  windowedInputs: [0, 1, 2],
  backward: ({ dys: [dy], saved, attrs, needs, inputShapes }) =>
    gemmBackward(dy!, saved.a!, saved.b!, inputShapes[2] ?? null, attrs, [...needs]).slice(0, inputShapes.length),
  reference: {
    forward: ([a, b, c], attrs) => [gemmRef(a!, b!, c ?? null, attrs)],
    backward: ([dy], [a, b, c], _, attrs) => gemmBackwardRef(dy!, a!, b!, c?.shape ?? null, attrs).slice(0, c ? 3 : 2),
  },
  doc: {
    forward: 'Y = α·A′·B′ + β·C (ONNX Gemm: A′, B′ optionally transposed, C broadcast): a fully connected layer.',
    backward:
      'Y_mn = α Σ_k A′_mk B′_kn, so ∂L/∂A′_mk = α Σ_n dY_mn B′_kn, i.e. dA′ = α · dY · B′ᵀ, and dB′ = α · A′ᵀ · dY (each ' +
      'transposed back when the operand was); dC = β · dY summed over the axes C was broadcast along.',
    saves: 'A and B.',
  },
  describe: (a) =>
    [a.transA && 'transA', a.transB && 'transB', a.alpha !== undefined && a.alpha !== 1 && `α=${a.alpha}`, a.beta !== undefined && a.beta !== 1 && `β=${a.beta}`]
      .filter(Boolean)
      .join(' '),
  checks: [
    gemmCheck('Gemm [3,5]·[5,4] + C[4]', [3, 5], [5, 4], [4], {}, 51),
    gemmCheck('Gemm classifier-like [2,7]·[6,7]ᵀ + C[1,6], transB', [2, 7], [6, 7], [1, 6], { transB: 1 }, 52),
    gemmCheck('Gemm [5,3]ᵀ·[4,5]ᵀ + C[3,1], transA transB α=0.5 β=2', [5, 3], [4, 5], [3, 1], { transA: 1, transB: 1, alpha: 0.5, beta: 2 }, 53),
    gemmCheck('Gemm [6,2]ᵀ·[6,3] + scalar C, transA β=-1.5', [6, 2], [6, 3], [1], { transA: 1, beta: -1.5 }, 54),
    gemmCheck('Gemm [3,4]·[4,5] + C[3,5], no broadcast', [3, 4], [4, 5], [3, 5], { alpha: 2 }, 55),
    gemmCheck('Gemm [4,3]·[3,2] without C', [4, 3], [3, 2], null, {}, 56),
  ],
});

export function gemm(a: Tensor, b: Tensor, c: Tensor | null, attrs: GemmAttrs = {}, name = 'gemm'): Tensor {
  return apply1(Gemm, c ? [a, b, c] : [a, b], attrs, name);
}
