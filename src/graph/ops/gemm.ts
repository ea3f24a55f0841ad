import { gemmBackward, gemm as gemmKernel, gemmShape, matmulBackward, matmul as matmulKernel, type GemmAttrs } from '../../kernels/gemm.js';
import type { Tensor } from '../../gpu/tensor.js';
import { record } from '../tape.js';

/**
 * ONNX Gemm, Y = alpha·A'·B' + beta·C (C optional, broadcast to [M, N]). Backward: OP_DOCS.Gemm
 * (src/graph/op-docs.ts); kernels in src/kernels/gemm.ts.
 */
export function gemm(a: Tensor, b: Tensor, c: Tensor | null, attrs: GemmAttrs = {}, name = 'gemm'): Tensor {
  const y = gemmKernel(a, b, c, attrs, name);
  const s = gemmShape(a.shape, b.shape, c?.shape ?? null, attrs);
  const cShape = c ? [...c.shape] : null; // dC needs C's shape only, not its values
  const inputs = c ? [a, b, c] : [a, b];
  const info = [s.transA && 'transA', s.transB && 'transB', s.alpha !== 1 && `α=${s.alpha}`, c && s.beta !== 1 && `β=${s.beta}`]
    .filter(Boolean)
    .join(' ');
  return record(
    'Gemm',
    inputs,
    y,
    [a, b],
    (dy, needs) => gemmBackward(dy, a, b, cShape, attrs, needs).slice(0, inputs.length),
    info,
  );
}

/** ONNX MatMul, Y = A·B (2-D, or batches; see src/kernels/gemm.ts). Backward: OP_DOCS.MatMul (src/graph/op-docs.ts). */
export function matmul(a: Tensor, b: Tensor, name = 'matmul'): Tensor {
  const y = matmulKernel(a, b, name);
  return record('MatMul', [a, b], y, [a, b], (dy, needs) => matmulBackward(dy, a, b, needs));
}
