/**
 * Reductions (shaders/reduce.wgsl): Σx, Σx², ‖x‖₂ = √Σx² — of a whole tensor or of each sample along the leading
 * axis — the backward of the sums, and argmax over the last axis.
 *
 * They serve the techniques: ‖∇‖₂ normalizes the fooling step on the GPU (no read-back), λ‖I‖² regularizes the class
 * visualization, argmax is the fooling loop's stop test. Gemm's bias gradient is a strided sum too (a column or row
 * sum of dY), so the general kernel takes strides.
 *
 * The sums are trees, not serial loops: see the head of the shader for why (float32 error ~log2(n)·ε instead of
 * ~n·ε). A sum longer than one workgroup's WG·PER_THREAD terms takes several passes: each pass replaces every
 * run of 1024 terms by its partial sum, until one value per sum is left (1.2M terms: 1.2M → 1176 → 2 → 1).
 */
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, sizeOf, type Shape } from '../gpu/tensor.js';
import { ELEMENTWISE_WG } from './common.js';
import { host, type HostTensor } from './host.js';

/** Invocations per workgroup of the reductions: a power of two (the tree halves it). */
const WG = ELEMENTWISE_WG;
/** Terms each invocation adds before the workgroup tree; a workgroup thus reduces WG·PER_THREAD terms per pass. */
const PER_THREAD = 4;
const TERMS_PER_GROUP = WG * PER_THREAD;

const shader = ['common', 'reduce'];
const constants = { WG, PER_THREAD };
const rows = { outputs: 'u32', length: 'u32' } as const;
const kernels = {
  sumStrided: defineKernel({
    shader,
    entry: 'sum_strided',
    constants,
    params: { outputs: 'u32', length: 'u32', out_stride: 'u32', in_stride: 'u32', chunks: 'u32', scale: 'f32' },
    bindings: { x: 'read', out: 'read_write' },
  }),
  sumBackward: defineKernel({ shader, entry: 'sum_backward', constants, paramsVar: 'rows', params: rows, bindings: { dy: 'read', out: 'read_write' } }),
  sumOfSquaresBackward: defineKernel({
    shader,
    entry: 'sum_of_squares_backward',
    constants,
    paramsVar: 'rows',
    params: rows,
    bindings: { x: 'read', dy: 'read', out: 'read_write' },
  }),
  argmaxRows: defineKernel({ shader, entry: 'argmax_rows', constants, paramsVar: 'rows', params: rows, bindings: { x: 'read', out: 'read_write' } }),
};

/**
 * `outputs` independent sums of `length` terms each: term j of sum o is x[o·outStride + j·inStride]. For x viewed as
 * a row-major [R, C] matrix: row sums are {R, C, C, 1}, column sums {C, R, 1, C}, the total {1, R·C, 0, 1}.
 * Each total is multiplied by `scale`, then square-rooted when `sqrt` is set; terms are squared first when `square`.
 */
export interface StridedSum {
  outputs: number;
  length: number;
  outStride: number;
  inStride: number;
  square?: boolean;
  sqrt?: boolean;
  scale?: number;
}

function checkStridedSum(size: number, s: StridedSum, what: string): void {
  check(
    [s.outputs, s.length].every((v) => Number.isInteger(v) && v > 0) &&
      [s.outStride, s.inStride].every((v) => Number.isInteger(v) && v >= 0),
    () => `${what}: outputs and length must be positive integers and strides non-negative integers`,
  );
  const last = (s.outputs - 1) * s.outStride + (s.length - 1) * s.inStride;
  check(last < size, () => `${what}: the strided sums reach element ${last} of a tensor of ${size}`);
  check(s.scale === undefined || Number.isFinite(s.scale), () => `${what}: scale ${s.scale} is not a finite number`);
}

/** The strided sums of `x` (see StridedSum), as a tensor of `shape` (size `outputs`). */
export function sumStrided(x: Tensor, spec: StridedSum, shape: Shape = [spec.outputs], name = 'sum'): Tensor {
  checkStridedSum(x.size, spec, name);
  check(sizeOf(shape) === spec.outputs, () => `${name}: output shape ${fmtShape(shape)} does not hold ${spec.outputs} sums`);
  const gpu = x.gpu;
  let input = x;
  let { length, outStride, inStride } = spec;
  let square = spec.square ?? false;
  for (;;) {
    const chunks = Math.ceil(length / TERMS_PER_GROUP);
    const last = chunks === 1; // the scale and the root apply to whole totals only
    const out = last ? Tensor.empty(gpu, shape, name) : Tensor.empty(gpu, [spec.outputs * chunks], `${name}.partial`);
    kernels.sumStrided.dispatch(gpu, {
      bind: { x: input, out },
      params: { outputs: spec.outputs, length, out_stride: outStride, in_stride: inStride, chunks, scale: last ? (spec.scale ?? 1) : 1 },
      grid: gpu.grid(spec.outputs * chunks),
      constants: { SQUARE: square ? 1 : 0, SQRT: last && spec.sqrt ? 1 : 0 },
    });
    if (input !== x) input.dispose(); // the partials of the previous pass, read by the dispatch just encoded
    if (last) return out;
    // The next pass sums each sum's partials, which the kernel wrote contiguously: [outputs, chunks].
    input = out;
    length = chunks;
    outStride = chunks;
    inStride = 1;
    square = false;
  }
}

/** What a sum adds up: x, x², or x² followed by a square root. */
export type SumKind = 'sum' | 'sumOfSquares' | 'l2Norm';

function kindFlags(kind: SumKind): { square: boolean; sqrt: boolean } {
  return { square: kind !== 'sum', sqrt: kind === 'l2Norm' };
}

/** Σx over every element, as a 1-element tensor. */
export function sum(x: Tensor, name = 'sum'): Tensor {
  return sumStrided(x, { outputs: 1, length: x.size, outStride: 0, inStride: 1 }, [1], name);
}

/** Σx² over every element, as a 1-element tensor. */
export function sumOfSquares(x: Tensor, name = 'sum_of_squares'): Tensor {
  return sumStrided(x, { outputs: 1, length: x.size, outStride: 0, inStride: 1, square: true }, [1], name);
}

/** ‖x‖₂ = √Σx² over every element, as a 1-element tensor (stays on the GPU: the fooling step divides by it there). */
export function l2Norm(x: Tensor, name = 'l2_norm'): Tensor {
  return sumStrided(x, { outputs: 1, length: x.size, outStride: 0, inStride: 1, square: true, sqrt: true }, [1], name);
}

function sampleLength(shape: Shape): number {
  return sizeOf(shape) / shape[0]!;
}

/** One sum per sample along the leading axis: x [N, ...] → [N]. */
export function reducePerSample(x: Tensor, kind: SumKind, name = `${kind}_per_sample`): Tensor {
  const length = sampleLength(x.shape);
  return sumStrided(x, { outputs: x.shape[0]!, length, outStride: length, inStride: 1, ...kindFlags(kind) }, [x.shape[0]!], name);
}

/**
 * Backward of `sum` (dy of shape [1]) or of the per-sample sums (dy of shape [N]) to x of `shape`:
 * every element receives its sum's gradient (derivation in the shader).
 */
export function sumBackward(dy: Tensor, shape: Shape): Tensor {
  const length = checkSumGradient(dy, shape, 'sum backward');
  const dx = Tensor.empty(dy.gpu, shape, 'sum.dx');
  kernels.sumBackward.dispatch(dy.gpu, { bind: { dy, out: dx }, params: { outputs: dy.size, length }, grid: { threads: dx.size } });
  return dx;
}

/** Backward of `sumOfSquares` (or per sample): dx = 2·x·dy (derivation in the shader). */
export function sumOfSquaresBackward(dy: Tensor, x: Tensor): Tensor {
  const length = checkSumGradient(dy, x.shape, 'sum of squares backward');
  const dx = Tensor.empty(x.gpu, x.shape, 'sum_of_squares.dx');
  kernels.sumOfSquaresBackward.dispatch(x.gpu, { bind: { x, dy, out: dx }, params: { outputs: dy.size, length }, grid: { threads: dx.size } });
  return dx;
}

/** The terms per sum when dy holds one gradient per sum of x (1 for the total, N per sample). */
function checkSumGradient(dy: Tensor, shape: Shape, what: string): number {
  const n = sizeOf(shape);
  check(
    dy.size === 1 || (dy.size === shape[0] && shape.length > 1),
    () => `${what}: gradient ${fmtShape(dy.shape)} is neither one value nor one per sample of ${fmtShape(shape)}`,
  );
  return n / dy.size;
}

/** Index of the largest value along the last axis (the first one on ties), as f32 values: x [..., K] → [rows]. */
export function argmax(x: Tensor, name = 'argmax'): Tensor {
  const length = x.shape[x.shape.length - 1]!;
  const rows = x.size / length;
  const out = Tensor.empty(x.gpu, [rows], name);
  kernels.argmaxRows.dispatch(x.gpu, { bind: { x, out }, params: { outputs: rows, length }, grid: x.gpu.grid(rows) });
  return out;
}

/** argmax read back to the CPU: rows·4 bytes, the only read of the fooling loop's iteration. */
export async function argmaxIndices(x: Tensor): Promise<number[]> {
  const t = argmax(x);
  try {
    return Array.from(await t.read());
  } finally {
    t.dispose();
  }
}

// ---- float64 references -------------------------------------------------------------------------------------------

export function sumStridedRef(x: HostTensor, spec: StridedSum, shape: Shape = [spec.outputs]): HostTensor {
  checkStridedSum(x.data.length, spec, 'sum reference');
  const out = host(shape);
  for (let o = 0; o < spec.outputs; o++) {
    let s = 0;
    for (let j = 0; j < spec.length; j++) {
      const v = x.data[o * spec.outStride + j * spec.inStride]!;
      s += spec.square ? v * v : v;
    }
    s *= spec.scale ?? 1;
    out.data[o] = spec.sqrt ? Math.sqrt(s) : s;
  }
  return out;
}

/** Σ over all of x of x, x² or √Σx², as [1]. */
export function reduceAllRef(x: HostTensor, kind: SumKind): HostTensor {
  return sumStridedRef(x, { outputs: 1, length: x.data.length, outStride: 0, inStride: 1, ...kindFlags(kind) }, [1]);
}

export function reducePerSampleRef(x: HostTensor, kind: SumKind): HostTensor {
  const length = sampleLength(x.shape);
  return sumStridedRef(x, { outputs: x.shape[0]!, length, outStride: length, inStride: 1, ...kindFlags(kind) });
}

export function sumBackwardRef(dy: HostTensor, shape: Shape): HostTensor {
  const dx = host(shape);
  const length = dx.data.length / dy.data.length;
  for (let i = 0; i < dx.data.length; i++) dx.data[i] = dy.data[Math.floor(i / length)]!;
  return dx;
}

export function sumOfSquaresBackwardRef(dy: HostTensor, x: HostTensor): HostTensor {
  const dx = host(x.shape);
  const length = dx.data.length / dy.data.length;
  for (let i = 0; i < dx.data.length; i++) dx.data[i] = 2 * x.data[i]! * dy.data[Math.floor(i / length)]!;
  return dx;
}

/** The first index of the maximum of each row of x [..., K]. */
export function argmaxRef(x: HostTensor): number[] {
  const length = x.shape[x.shape.length - 1]!;
  const out: number[] = [];
  for (let r = 0; r < x.data.length / length; r++) {
    let best = 0;
    for (let j = 1; j < length; j++) if (x.data[r * length + j]! > x.data[r * length + best]!) best = j;
    out.push(best);
  }
  return out;
}
