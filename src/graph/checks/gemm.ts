/** Gradient checks of Gemm and MatMul for `npm run gradcheck`: every transpose, C broadcast and batch layout. */
import type { OpCheck } from '../opcheck.js';
import { gemm, matmul } from '../ops/gemm.js';
import { gemmRef, matmulRef, type GemmAttrs } from '../../kernels/gemm.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { sizeOf } from '../../gpu/tensor.js';
import { Rng } from '../../util/rng.js';

function randomInput(shape: number[], seed: number): HostTensor {
  return host(shape, new Rng(seed).uniforms(sizeOf(shape)));
}

function gemmCheck(name: string, a: number[], b: number[], c: number[] | null, attrs: GemmAttrs): OpCheck {
  const inputs = [randomInput(a, 21), randomInput(b, 22)];
  if (c) inputs.push(randomInput(c, 23));
  return {
    name,
    inputs,
    wrt: inputs.map((_, i) => i),
    reference: ([x, w, bias]) => gemmRef(x!, w!, bias ?? null, attrs),
    run: ([x, w, bias]) => gemm(x!, w!, bias ?? null, attrs),
  };
}

function matmulCheck(name: string, a: number[], b: number[]): OpCheck {
  return {
    name,
    inputs: [randomInput(a, 31), randomInput(b, 32)],
    wrt: [0, 1],
    reference: ([x, w]) => matmulRef(x!, w!),
    run: ([x, w]) => matmul(x!, w!),
  };
}

export const checks: OpCheck[] = [
  gemmCheck('Gemm [3,5]·[5,4] + C[4]', [3, 5], [5, 4], [4], {}),
  gemmCheck('Gemm classifier-like [2,7]·[6,7]ᵀ + C[1,6], transB', [2, 7], [6, 7], [1, 6], { transB: 1 }),
  gemmCheck('Gemm [5,3]ᵀ·[4,5]ᵀ + C[3,1], transA transB α=0.5 β=2', [5, 3], [4, 5], [3, 1], { transA: 1, transB: 1, alpha: 0.5, beta: 2 }),
  gemmCheck('Gemm [6,2]ᵀ·[6,3] + scalar C, transA β=-1.5', [6, 2], [6, 3], [1], { transA: 1, beta: -1.5 }),
  gemmCheck('Gemm [3,4]·[4,5] + C[3,5], no broadcast', [3, 4], [4, 5], [3, 5], { alpha: 2 }),
  gemmCheck('Gemm [4,3]·[3,2] without C', [4, 3], [3, 2], null, {}),
  matmulCheck('MatMul [3,4]·[4,5]', [3, 4], [4, 5]),
  matmulCheck('MatMul batched [2,3,4]·[2,4,5]', [2, 3, 4], [2, 4, 5]),
  matmulCheck('MatMul shared A [3,4]·[2,4,5]', [3, 4], [2, 4, 5]),
  matmulCheck('MatMul shared B [2,2,3,4]·[4,5]', [2, 2, 3, 4], [4, 5]),
];
