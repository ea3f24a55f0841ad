/**
 * Matrix products (shaders/gemm.wgsl): ONNX Gemm, Y = alpha·A'·B' + beta·C with A' = transA ? Aᵀ : A and
 * B' = transB ? Bᵀ : B, C broadcast to [M, N]; and ONNX MatMul of 2-D matrices or batches of them.
 *
 * Backward of Gemm. Y_mn = α Σ_k A'_mk B'_kn + β C_mn, so with dY = ∂L/∂Y:
 *
 *   ∂L/∂A'_mk = Σ_n dY_mn · α B'_kn              dA' = α · dY · B'ᵀ      [M, N]·[N, K]
 *   ∂L/∂B'_kn = Σ_m dY_mn · α A'_mk              dB' = α · A'ᵀ · dY      [K, M]·[M, N]
 *   ∂L/∂C_ij  = β Σ_{(m,n) reading C_ij} dY_mn   dC  = β · dY summed over the axes C is broadcast along
 *
 * and when an operand was transposed, its gradient is the transpose of its primed gradient:
 *   transA: dA = (dA')ᵀ = α · B' · dYᵀ        transB: dB = (dB')ᵀ = α · dYᵀ · A'.
 * Each of these is itself one Gemm of the same kernel with suitable transpose flags — no transposed copy is made.
 * A scalar C, for instance, receives β Σ_mn dY_mn: every output read it.
 *
 * MatMul is Gemm with α = 1 and no C; a batch [.., M, K] × [.., K, N] multiplies matrix by matrix. When B is one
 * matrix shared by the batch, A's batch folds into M (a [b·M, K] × [K, N] product). When A is the shared one, its
 * gradient sums the batch's contributions: dA = Σ_z dY_z B_zᵀ.
 */
import type { Binding } from '../gpu/device.js';
import { check, fmtBytes, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, sizeOf, type Shape, type TensorPart } from '../gpu/tensor.js';
import { sameDevice } from './common.js';
import { scale } from './elementwise.js';
import { host, type HostTensor } from './host.js';
import { sumStrided, type StridedSum } from './reduce.js';

/** The shader's TILE: a workgroup computes a TILE×TILE block of Y. */
const TILE = 16;

const params = {
  m: 'u32',
  n: 'u32',
  k: 'u32',
  alpha: 'f32',
  beta: 'f32',
  c_row_stride: 'u32',
  c_col_stride: 'u32',
  a_batch_stride: 'u32',
  b_batch_stride: 'u32',
  lda: 'u32',
  ldb: 'u32',
  ldy: 'u32',
  a_offset: 'u32',
  b_offset: 'u32',
  c_offset: 'u32',
  y_offset: 'u32',
} as const;
const kernels = {
  gemm: defineKernel({ shader: 'gemm', entry: 'gemm', params, bindings: { a: 'read', b: 'read', y: 'read_write' } }),
  gemmWithC: defineKernel({ shader: 'gemm', entry: 'gemm_with_c', params, bindings: { a: 'read', b: 'read', c: 'read', y: 'read_write' } }),
  // at most 4 rows of Y (shaders/gemv.wgsl): a stream through B, split over k where B' has contiguous columns
  gemvSplitK: defineKernel({ shader: ['gemm', 'gemv'], entry: 'gemv_split_k', params, bindings: { a: 'read', b: 'read', c: 'read?', y: 'read_write' } }),
  gemvColumns: defineKernel({ shader: ['gemm', 'gemv'], entry: 'gemv_columns', params, bindings: { a: 'read', b: 'read', c: 'read?', y: 'read_write' } }),
};

/** Rows of Y up to which the vector kernels of gemv.wgsl run instead of the tiled one (GEMV rows in a vec4). */
const GEMV_ROWS = 4;
/** Invocations per workgroup of the vector kernels (GEMV_WG). */
const GEMV_WG = 64;

/** ONNX Gemm attributes; transA/transB accept ONNX's 0/1 ints or booleans. */
export interface GemmAttrs {
  alpha?: number;
  beta?: number;
  transA?: number | boolean;
  transB?: number | boolean;
}

/** Gemm's sizes and attributes after checking; `c` is C's shape as [rows, cols] (each 1 or M / N), or null. */
export interface GemmShape {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  c: [number, number] | null;
}

function flag(v: number | boolean | undefined, name: string): boolean {
  check(v === undefined || v === 0 || v === 1 || typeof v === 'boolean', () => `Gemm: ${name} = ${v} is not 0 or 1`);
  return v === 1 || v === true;
}

function finite(v: number | undefined, fallback: number, name: string): number {
  const x = v ?? fallback;
  check(typeof x === 'number' && Number.isFinite(x), () => `Gemm: ${name} = ${v} is not a finite number`);
  return x;
}

/** Checks Gemm's inputs and attributes; throws a PixelpropError naming the mismatch. */
export function gemmShape(a: Shape, b: Shape, c: Shape | null, attrs: GemmAttrs = {}): GemmShape {
  const transA = flag(attrs.transA, 'transA');
  const transB = flag(attrs.transB, 'transB');
  const alpha = finite(attrs.alpha, 1, 'alpha');
  const beta = finite(attrs.beta, 1, 'beta');
  check(a.length === 2 && b.length === 2, () => `Gemm: A ${fmtShape(a)} and B ${fmtShape(b)} must both be 2-D`);
  const [m, k] = transA ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [kb, n] = transB ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  check(
    k === kb,
    () => `Gemm: A' is [${m},${k}] but B' is [${kb},${n}] (A ${fmtShape(a)}, transA=${+transA}; B ${fmtShape(b)}, transB=${+transB})`,
  );
  let cDims: [number, number] | null = null;
  if (c) {
    cDims = c.length === 1 ? [1, c[0]!] : c.length === 2 ? [c[0]!, c[1]!] : [0, 0];
    const [cm, cn] = cDims;
    check(
      (cm === 1 || cm === m) && (cn === 1 || cn === n),
      () => `Gemm: C ${fmtShape(c)} does not broadcast to [${m},${n}] (allowed: [1], [${n}], [1,${n}], [${m},1], [${m},${n}])`,
    );
  }
  return { m, n, k, transA, transB, alpha, beta, c: cDims };
}

/** One (batched) product as the kernel computes it. */
interface Product {
  m: number;
  n: number;
  k: number;
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  beta?: number;
  batch?: number;
  /** elements between the batch's matrices of A, of B (0: one matrix for all) */
  aBatchStride?: number;
  bBatchStride?: number;
  /** C's extent [rows, cols], each 1 (broadcast) or M / N */
  c?: [number, number];
}

/** An axis of a product: rows of Y (m), columns of Y (n), or the reduction (k). */
type Axis = 'm' | 'n' | 'k';

/** How one operand is stored: row-major [rows, cols], its rows along product axis `rowAxis`, its columns along `colAxis`. */
interface Stored {
  tensor: Tensor;
  rowAxis: Axis | null;
  colAxis: Axis | null;
  rows: number;
  cols: number;
}

/** The part of `t` that holds element `first` (one part, unless the tensor is larger than one buffer). */
function partOf(t: Tensor, first: number): TensorPart {
  return t.parts.find((p) => first < p.first + p.size) ?? t.parts[t.parts.length - 1]!;
}

/**
 * A binding of elements [first, first + count) of a tensor, and where the first sits in it: the whole tensor when it
 * fits one binding, else a window of the buffer that holds them, starting at an allowed offset.
 */
function windowOf(t: Tensor, first: number, count: number): { binding: Binding; offset: number } {
  if (t.fitsBinding) return { binding: t.binding, offset: first };
  const part = partOf(t, first);
  const at = first - part.first;
  const align = t.gpu.limits.minStorageBufferOffsetAlignment;
  const start = Math.floor((at * 4) / align) * align;
  return { binding: { buffer: part.buffer, offset: start, size: (at + count) * 4 - start }, offset: (at * 4 - start) / 4 };
}

/** Rows of `cols` elements from row `row` to the end of the part of `t` that holds it. */
function rowsLeftInPart(t: Tensor, row: number, cols: number): number {
  const part = partOf(t, row * cols);
  return Math.floor((part.first + part.size) / cols) - row;
}

/**
 * Encodes Y = alpha·A'·B' (+ beta·C) into a new tensor of `shape`. Checks the grid, and how the operands fit the
 * device's bindings, before allocating.
 *
 * An operand larger than one storage binding (VGG16's classifier weight: 392 MiB against lavapipe's 128 MiB) is read
 * in windows of its stored rows: the product is split along the axis those rows run along. Along m or n each chunk is
 * a block of Y (its rows or columns); along k, the reduction, each chunk is a partial product that the chunks after
 * the first add into Y (Y = α·Σ_chunks A'[:, k0:k1]·B'[k0:k1, :] + β·C). Y itself may be the big one (a weight's
 * gradient), written in windows of its rows. Every other operand is bound whole at an element offset.
 *
 * A product with at most 4 rows (a classifier at batch ≤ 4, forward and backward to the input) runs on the vector
 * kernels of gemv.wgsl, which read each element of B once for all rows; the tiled kernel would leave 15 of each
 * workgroup's 16 rows idle and load B sixteen times over.
 */
function multiply(a: Tensor, b: Tensor, c: Tensor | null, pr: Product, shape: Shape, name: string): Tensor {
  const gpu = sameDevice(c ? [a, b, c] : [a, b], name);
  const batch = pr.batch ?? 1;
  const [cm, cn] = pr.c ?? [1, 1];
  const dims: Record<Axis, number> = { m: pr.m, n: pr.n, k: pr.k };
  const yBytes = batch * pr.m * pr.n * 4;
  // Which operands are too big to bind whole, and the axis their stored rows run along.
  const big: { what: string; rowAxis: Axis | null; rowBytes: number }[] = [];
  if (!a.fitsBinding) big.push({ what: `A ${fmtShape(a.shape)}`, rowAxis: pr.transA ? 'k' : 'm', rowBytes: 4 * (pr.transA ? pr.m : pr.k) });
  if (!b.fitsBinding) big.push({ what: `B ${fmtShape(b.shape)}`, rowAxis: pr.transB ? 'n' : 'k', rowBytes: 4 * (pr.transB ? pr.k : pr.n) });
  if (c && !c.fitsBinding) big.push({ what: `C ${fmtShape(c.shape)}`, rowAxis: cm === 1 ? null : 'm', rowBytes: 4 * cn });
  if (yBytes > gpu.bindingLimit) big.push({ what: `the result [${pr.m},${pr.n}]`, rowAxis: 'm', rowBytes: 4 * pr.n });
  let axis: Axis | null = null;
  let chunk = Infinity;
  if (big.length > 0) {
    const align = gpu.limits.minStorageBufferOffsetAlignment;
    check(batch === 1, () => `${name}: ${big[0]!.what} is larger than one storage binding (${fmtBytes(gpu.bindingLimit)}), which a batched product cannot split`);
    axis = big[0]!.rowAxis;
    check(
      axis !== null && big.every((t) => t.rowAxis === axis),
      () => `${name}: ${big.map((t) => t.what).join(' and ')} are larger than one storage binding (${fmtBytes(gpu.bindingLimit)}) along different axes; not supported`,
    );
    for (const t of big) chunk = Math.min(chunk, Math.floor((gpu.bindingLimit - align) / t.rowBytes));
    check(chunk >= 1, () => `${name}: one row of ${big[0]!.what} is larger than one storage binding (${fmtBytes(gpu.bindingLimit)})`);
  }
  const groupsFor = (m: number, n: number): [number, number, number] => [Math.ceil(n / TILE), Math.ceil(m / TILE), batch];
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const widest = groupsFor(axis === 'm' ? Math.min(pr.m, chunk) : pr.m, axis === 'n' ? Math.min(pr.n, chunk) : pr.n);
  check(
    widest.every((g) => g <= max),
    () => `${name}: a [${pr.m},${pr.k}]·[${pr.k},${pr.n}] product${batch > 1 ? ` ×${batch}` : ''} needs a grid of ${widest.join('×')} workgroups, more than ${max} per dimension`,
  );

  const y = Tensor.empty(gpu, shape, name, { inParts: true }); // a weight's gradient may be as large as the weight
  const stored: Stored[] = [
    { tensor: a, rowAxis: pr.transA ? 'k' : 'm', colAxis: pr.transA ? 'm' : 'k', rows: pr.transA ? pr.k : pr.m, cols: pr.transA ? pr.m : pr.k },
    { tensor: b, rowAxis: pr.transB ? 'n' : 'k', colAxis: pr.transB ? 'k' : 'n', rows: pr.transB ? pr.n : pr.k, cols: pr.transB ? pr.k : pr.n },
    { tensor: y, rowAxis: 'm', colAxis: 'n', rows: pr.m, cols: pr.n },
    // C [cm, cn] is broadcast along an axis where it has one row or column: no chunk moves along it there
    ...(c ? [{ tensor: c, rowAxis: cm === 1 ? null : 'm', colAxis: cn === 1 ? null : 'n', rows: cm, cols: cn } satisfies Stored] : []),
  ];
  const constants = { TRANS_A: pr.transA ? 1 : 0, TRANS_B: pr.transB ? 1 : 0 };
  const length = axis ? dims[axis] : 1;
  const step = axis ? Math.min(chunk, length) : 1;
  for (let first = 0, count = 0; first < length; first += count) {
    count = Math.min(step, length - first);
    // A tensor larger than one buffer is in parts: a chunk stops where the part holding its first row ends.
    for (const s of stored) if (axis !== null && s.rowAxis === axis && !s.tensor.fitsBinding) count = Math.min(count, rowsLeftInPart(s.tensor, first, s.cols));
    // Where each operand's part of this chunk starts: `first` rows or columns in, along the chunked axis.
    const part = (s: Stored) => {
      if (axis === null || (s.rowAxis !== axis && s.colAxis !== axis)) return windowOf(s.tensor, 0, s.tensor.size);
      if (s.rowAxis === axis) return windowOf(s.tensor, first * s.cols, count * s.cols);
      return windowOf(s.tensor, first, s.tensor.size - first);
    };
    const [pa, pb, py, pc] = stored.map(part);
    const values = {
      m: axis === 'm' ? count : pr.m,
      n: axis === 'n' ? count : pr.n,
      k: axis === 'k' ? count : pr.k,
      alpha: pr.alpha ?? 1,
      beta: pr.beta ?? 0,
      c_row_stride: cm === 1 ? 0 : cn, // C is row-major [cm, cn]: stepping a row of Y steps a row of C unless C has one row
      c_col_stride: cn === 1 ? 0 : 1,
      a_batch_stride: pr.aBatchStride ?? 0,
      b_batch_stride: pr.bBatchStride ?? 0,
      lda: stored[0]!.cols,
      ldb: stored[1]!.cols,
      ldy: pr.n,
      a_offset: pa!.offset,
      b_offset: pb!.offset,
      c_offset: pc?.offset ?? 0,
      y_offset: py!.offset,
    };
    const grid = groupsFor(values.m, values.n);
    const bind = { a: pa!.binding, b: pb!.binding, y: py!.binding };
    const accumulate = first > 0 && axis === 'k'; // along k, the chunks after the first add their part (C came with the first)
    if (batch === 1 && values.m <= GEMV_ROWS) {
      const split = pr.transB === true;
      const kernel = split ? kernels.gemvSplitK : kernels.gemvColumns;
      kernel.dispatch(gpu, {
        bind: { ...bind, c: accumulate ? null : (pc?.binding ?? null) },
        params: values,
        grid: gpu.grid(split ? values.n : Math.ceil(values.n / GEMV_WG)),
        constants: { ...constants, ACCUMULATE: accumulate ? 1 : 0, HAS_C: pc && !accumulate ? 1 : 0 },
      });
      continue;
    }
    if (accumulate) {
      kernels.gemm.dispatch(gpu, { bind, params: values, grid, constants: { ...constants, ACCUMULATE: 1 } });
    } else if (pc) {
      kernels.gemmWithC.dispatch(gpu, { bind: { ...bind, c: pc.binding }, params: values, grid, constants });
    } else {
      kernels.gemm.dispatch(gpu, { bind, params: values, grid, constants });
    }
  }
  return y;
}

/** ONNX Gemm: Y = alpha·A'·B' + beta·C, Y [M, N]. */
export function gemm(a: Tensor, b: Tensor, c: Tensor | null, attrs: GemmAttrs = {}, name = 'gemm'): Tensor {
  const s = gemmShape(a.shape, b.shape, c?.shape ?? null, attrs);
  const pr: Product = { m: s.m, n: s.n, k: s.k, transA: s.transA, transB: s.transB, alpha: s.alpha, beta: s.beta };
  if (s.c) pr.c = s.c;
  return multiply(a, b, c, pr, [s.m, s.n], name);
}

/**
 * Gemm's backward (derivation at the top of this file): [dA, dB, dC], each null where `needs` says no. `cShape` is
 * C's shape (its values are not needed), or null when Gemm had no C.
 */
export function gemmBackward(
  dy: Tensor,
  a: Tensor,
  b: Tensor,
  cShape: Shape | null,
  attrs: GemmAttrs,
  needs: boolean[],
): [Tensor | null, Tensor | null, Tensor | null] {
  const s = gemmShape(a.shape, b.shape, cShape, attrs);
  check(dy.shape.length === 2 && dy.shape[0] === s.m && dy.shape[1] === s.n, () => `Gemm backward: dY ${fmtShape(dy.shape)} is not [${s.m},${s.n}]`);
  const { m, n, k, alpha } = s;
  let da: Tensor | null = null;
  let db: Tensor | null = null;
  let dc: Tensor | null = null;
  if (needs[0]) {
    da = s.transA
      ? multiply(b, dy, null, { m: k, n: m, k: n, transA: s.transB, transB: true, alpha }, a.shape, 'gemm.dA') // α·B'·dYᵀ
      : multiply(dy, b, null, { m, n: k, k: n, transB: !s.transB, alpha }, a.shape, 'gemm.dA'); // α·dY·B'ᵀ
  }
  if (needs[1]) {
    db = s.transB
      ? multiply(dy, a, null, { m: n, n: k, k: m, transA: true, transB: s.transA, alpha }, b.shape, 'gemm.dB') // α·dYᵀ·A'
      : multiply(a, dy, null, { m: k, n, k: m, transA: !s.transA, alpha }, b.shape, 'gemm.dB'); // α·A'ᵀ·dY
  }
  if (needs[2] && cShape && s.c) dc = biasGradient(dy, s, cShape);
  return [da, db, dc];
}

/** Which entries of dY [M, N] each element of a C of extent [cm, cn] collects, as the sums of reduce.ts. */
function biasSums(m: number, n: number, [cm, cn]: [number, number]): StridedSum | null {
  if (cm === m && cn === n) return null; // no broadcast: dC = β·dY
  if (cm === m) return { outputs: m, length: n, outStride: n, inStride: 1 }; // [M,1]: row sums
  if (cn === n) return { outputs: n, length: m, outStride: 1, inStride: n }; // [N], [1,N]: column sums
  return { outputs: 1, length: m * n, outStride: 0, inStride: 1 }; // a scalar: the total
}

/** dC = β · dY summed over the axes along which C was broadcast, shaped like C. */
function biasGradient(dy: Tensor, s: GemmShape, cShape: Shape): Tensor {
  const sums = biasSums(s.m, s.n, s.c!);
  if (sums) return sumStrided(dy, { ...sums, scale: s.beta }, cShape, 'gemm.dC');
  const full = scale(dy, s.beta, 'gemm.dC');
  const dc = full.reshape(cShape); // [M,N] itself, or [N] when M = 1
  full.dispose();
  return dc;
}

/** MatMul's sizes: [.., M, K] × [.., K, N] with equal batch dims, or a batch against one matrix. */
export interface MatmulShape {
  m: number;
  n: number;
  k: number;
  batch: number;
  aBatched: boolean;
  bBatched: boolean;
  out: number[];
}

export function matmulShape(a: Shape, b: Shape): MatmulShape {
  check(a.length >= 2 && b.length >= 2, () => `MatMul: A ${fmtShape(a)} and B ${fmtShape(b)} must have at least 2 dimensions`);
  const [m, k] = a.slice(-2) as [number, number];
  const [kb, n] = b.slice(-2) as [number, number];
  check(k === kb, () => `MatMul: A ${fmtShape(a)} has ${k} columns but B ${fmtShape(b)} has ${kb} rows`);
  const aBatch = a.slice(0, -2);
  const bBatch = b.slice(0, -2);
  check(
    aBatch.length === 0 || bBatch.length === 0 || (aBatch.length === bBatch.length && aBatch.every((d, i) => d === bBatch[i])),
    () => `MatMul: batch dimensions ${fmtShape(aBatch)} and ${fmtShape(bBatch)} differ (only equal batches, or one 2-D operand, are supported)`,
  );
  const batchDims = aBatch.length ? aBatch : bBatch;
  return { m, n, k, batch: sizeOf(batchDims), aBatched: aBatch.length > 0, bBatched: bBatch.length > 0, out: [...batchDims, m, n] };
}

/** ONNX MatMul, Y = A·B, for operands of rank ≥ 2 (see matmulShape). */
export function matmul(a: Tensor, b: Tensor, name = 'matmul'): Tensor {
  const s = matmulShape(a.shape, b.shape);
  if (!s.bBatched) return multiply(a, b, null, { m: s.batch * s.m, n: s.n, k: s.k }, s.out, name); // fold A's batch into M
  const pr = { m: s.m, n: s.n, k: s.k, batch: s.batch, aBatchStride: s.aBatched ? s.m * s.k : 0, bBatchStride: s.k * s.n };
  return multiply(a, b, null, pr, s.out, name);
}

/** MatMul's backward: dA_z = dY_z·B_zᵀ, dB_z = A_zᵀ·dY_z, summed over the batch for a shared operand. */
export function matmulBackward(dy: Tensor, a: Tensor, b: Tensor, needs: boolean[]): [Tensor | null, Tensor | null] {
  const s = matmulShape(a.shape, b.shape);
  check(dy.shape.length === s.out.length && dy.shape.every((d, i) => d === s.out[i]), () => `MatMul backward: dY ${fmtShape(dy.shape)} is not ${fmtShape(s.out)}`);
  const { m, n, k, batch } = s;
  let da: Tensor | null = null;
  let db: Tensor | null = null;
  if (!s.bBatched) {
    // A's batch folded into M: the 2-D backward of [b·M, K]·[K, N]; dB = A_flatᵀ·dY_flat sums over the batch by itself.
    const mm = batch * m;
    if (needs[0]) da = multiply(dy, b, null, { m: mm, n: k, k: n, transB: true }, a.shape, 'matmul.dA');
    if (needs[1]) db = multiply(a, dy, null, { m: k, n, k: mm, transA: true }, b.shape, 'matmul.dB');
    return [da, db];
  }
  if (needs[0]) {
    const perBatch = { m, n: k, k: n, transB: true, batch, aBatchStride: m * n, bBatchStride: k * n };
    if (s.aBatched) da = multiply(dy, b, null, perBatch, a.shape, 'matmul.dA');
    else {
      const each = multiply(dy, b, null, perBatch, [batch, m, k], 'matmul.dA_z');
      da = sumStrided(each, { outputs: m * k, length: batch, outStride: 1, inStride: m * k }, a.shape, 'matmul.dA');
      each.dispose();
    }
  }
  if (needs[1]) {
    const pr = { m: k, n, k: m, transA: true, batch, aBatchStride: s.aBatched ? m * k : 0, bBatchStride: m * n };
    db = multiply(a, dy, null, pr, b.shape, 'matmul.dB');
  }
  return [da, db];
}

// ---- float64 references -------------------------------------------------------------------------------------------

/** X'(row, col) of X' = trans ? Xᵀ : X, X' being [rowsPrimed, colsPrimed] and X stored row-major from `base`. */
function primed(x: HostTensor, trans: boolean, base: number, rowsPrimed: number, colsPrimed: number) {
  return (row: number, col: number): number =>
    trans ? x.data[base + col * rowsPrimed + row]! : x.data[base + row * colsPrimed + col]!;
}

export function gemmRef(a: HostTensor, b: HostTensor, c: HostTensor | null, attrs: GemmAttrs = {}): HostTensor {
  const s = gemmShape(a.shape, b.shape, c?.shape ?? null, attrs);
  const A = primed(a, s.transA, 0, s.m, s.k);
  const B = primed(b, s.transB, 0, s.k, s.n);
  const y = host([s.m, s.n]);
  for (let i = 0; i < s.m; i++)
    for (let j = 0; j < s.n; j++) {
      let acc = 0;
      for (let l = 0; l < s.k; l++) acc += A(i, l) * B(l, j);
      let v = s.alpha * acc;
      if (c && s.c) v += s.beta * c.data[(s.c[0] === 1 ? 0 : i) * s.c[1] + (s.c[1] === 1 ? 0 : j)]!;
      y.data[i * s.n + j] = v;
    }
  return y;
}

/** [dA, dB, dC] from the sums of the derivation, element by element (dC null without C). */
export function gemmBackwardRef(
  dy: HostTensor,
  a: HostTensor,
  b: HostTensor,
  cShape: Shape | null,
  attrs: GemmAttrs = {},
): [HostTensor, HostTensor, HostTensor | null] {
  const s = gemmShape(a.shape, b.shape, cShape, attrs);
  const { m, n, k, alpha, beta } = s;
  const A = primed(a, s.transA, 0, m, k);
  const B = primed(b, s.transB, 0, k, n);
  const da = host(a.shape);
  const db = host(b.shape);
  for (let i = 0; i < m; i++)
    for (let l = 0; l < k; l++) {
      let g = 0; // ∂L/∂A'_il = α Σ_j dY_ij B'_lj
      for (let j = 0; j < n; j++) g += dy.data[i * n + j]! * alpha * B(l, j);
      da.data[s.transA ? l * m + i : i * k + l] = g;
    }
  for (let l = 0; l < k; l++)
    for (let j = 0; j < n; j++) {
      let g = 0; // ∂L/∂B'_lj = α Σ_i A'_il dY_ij
      for (let i = 0; i < m; i++) g += alpha * A(i, l) * dy.data[i * n + j]!;
      db.data[s.transB ? j * k + l : l * n + j] = g;
    }
  let dc: HostTensor | null = null;
  if (cShape && s.c) {
    const [cm, cn] = s.c;
    dc = host(cShape);
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) dc.data[(cm === 1 ? 0 : i) * cn + (cn === 1 ? 0 : j)]! += beta * dy.data[i * n + j]!;
  }
  return [da, db, dc];
}

export function matmulRef(a: HostTensor, b: HostTensor): HostTensor {
  const s = matmulShape(a.shape, b.shape);
  const y = host(s.out);
  for (let z = 0; z < s.batch; z++) {
    const A = primed(a, false, s.aBatched ? z * s.m * s.k : 0, s.m, s.k);
    const B = primed(b, false, s.bBatched ? z * s.k * s.n : 0, s.k, s.n);
    for (let i = 0; i < s.m; i++)
      for (let j = 0; j < s.n; j++) {
        let acc = 0;
        for (let l = 0; l < s.k; l++) acc += A(i, l) * B(l, j);
        y.data[(z * s.m + i) * s.n + j] = acc;
      }
  }
  return y;
}

/** [dA, dB]: ∂L/∂A_z,il = Σ_j dY_z,ij B_z,lj and ∂L/∂B_z,lj = Σ_i A_z,il dY_z,ij, accumulated into shared operands. */
export function matmulBackwardRef(dy: HostTensor, a: HostTensor, b: HostTensor): [HostTensor, HostTensor] {
  const s = matmulShape(a.shape, b.shape);
  const { m, n, k } = s;
  const da = host(a.shape);
  const db = host(b.shape);
  for (let z = 0; z < s.batch; z++) {
    const aBase = s.aBatched ? z * m * k : 0;
    const bBase = s.bBatched ? z * k * n : 0;
    for (let i = 0; i < m; i++)
      for (let l = 0; l < k; l++)
        for (let j = 0; j < n; j++) {
          const g = dy.data[(z * m + i) * n + j]!;
          da.data[aBase + i * k + l]! += g * b.data[bBase + l * n + j]!;
          db.data[bBase + l * n + j]! += a.data[aBase + i * k + l]! * g;
        }
  }
  return [da, db];
}
