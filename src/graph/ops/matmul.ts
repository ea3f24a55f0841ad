/**
 * MatMul: Y = A · B, of 2-D matrices or batches of them ([.., M, K] × [.., K, N]).
 *
 * Backward, as for any matrix product: Y_mn = Σ_k A_mk B_kn, so dA = dY · Bᵀ and dB = Aᵀ · dY (per matrix of the
 * batch; an operand shared by the batch sums its gradient over it). src/kernels/gemm.ts has the kernels.
 */
import type { Tensor } from '../../gpu/tensor.js';
import { host } from '../../kernels/host.js';
import { matmulBackward, matmulBackwardRef, matmul as matmulKernel, matmulRef, matmulShape } from '../../kernels/gemm.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));

export const MatMul = defineOp<Record<string, never>>({
  name: 'MatMul',
  onnx: { types: ['MatMul'], arity: [2, 2], attrs: () => ({}) },
  shape: ([a, b]) => [matmulShape(a!, b!).out],
  forward: ([a, b], _, ctx) => ({ outputs: [matmulKernel(a!, b!, ctx.name)], saved: ctx.recording ? { a: a!, b: b! } : {} }),
  windowedInputs: [0, 1],
  backward: ({ dys: [dy], saved, needs }) => matmulBackward(dy!, saved.a!, saved.b!, [...needs]),
  reference: {
    forward: ([a, b]) => [matmulRef(a!, b!)],
    backward: ([dy], [a, b]) => matmulBackwardRef(dy!, a!, b!),
  },
  doc: {
    forward: 'Y = A · B (2-D, or batches of matrices).',
    backward: 'As for any matrix product: dA = dY · Bᵀ and dB = Aᵀ · dY (per batch).',
    saves: 'A and B.',
  },
  checks: [
    { name: 'MatMul [3,4]·[4,5]', inputs: () => [random([3, 4], 61), random([4, 5], 62)], attrs: {} },
    { name: 'MatMul batched [2,3,4]·[2,4,5]', inputs: () => [random([2, 3, 4], 63), random([2, 4, 5], 64)], attrs: {} },
    { name: 'MatMul shared A [3,4]·[2,4,5]', inputs: () => [random([3, 4], 65), random([2, 4, 5], 66)], attrs: {} },
    { name: 'MatMul shared B [2,2,3,4]·[4,5]', inputs: () => [random([2, 2, 3, 4], 67), random([4, 5], 68)], attrs: {} },
  ],
});

export function matmul(a: Tensor, b: Tensor, name = 'matmul'): Tensor {
  return apply1(MatMul, [a, b], {}, name);
}
