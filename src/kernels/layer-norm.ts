/**
 * Layer normalization over the last axes (shaders/layer_norm.wgsl): x seen as [rows, cols], each row normalized by its
 * mean and variance, then scaled by γ and shifted by β per column,
 *
 *   y_j = γ_j · (x_j − μ) / √(σ² + ε) + β_j.
 *
 * The forward also writes each row's μ and r = 1/√(σ² + ε) ([rows, 2]) for the backward (and for ONNX's Mean and
 * InvStdDev outputs, which the backward to x then takes gradients from too); the backward to x is one workgroup per row, the backward to γ and β one per column. The float64 references beside them are the loops of the
 * definition.
 */
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import { ELEMENTWISE_WG } from './common.js';
import { host, type HostTensor } from './host.js';

const params = { rows: 'u32', cols: 'u32', eps: 'f32' } as const;
const kernels = {
  forward: defineKernel({
    shader: 'layer_norm',
    entry: 'layer_norm_forward',
    params,
    bindings: { x: 'read', scale: 'read', bias: 'read?', out: 'read_write', stats_out: 'read_write' },
  }),
  backward: defineKernel({
    shader: 'layer_norm',
    entry: 'layer_norm_backward',
    params,
    bindings: { x: 'read', scale: 'read', dy: 'read', stats: 'read', out: 'read_write', dstats: 'read?' },
  }),
  backwardParams: defineKernel({
    shader: 'layer_norm',
    entry: 'layer_norm_backward_params',
    params,
    bindings: { x: 'read', dy: 'read', stats: 'read', out: 'read_write', dbias: 'read_write' },
  }),
};

/** Invocations per workgroup: a power of two between 32 and 256 covering `length` once (as softmax.ts). */
function invocations(length: number): number {
  let wg = 32;
  while (wg < length && wg < ELEMENTWISE_WG) wg *= 2;
  return wg;
}

function rowsCols(x: Shape, cols: number, what: string): number {
  const size = x.reduce((p, d) => p * d, 1);
  check(Number.isInteger(cols) && cols > 0 && size % cols === 0, () => `${what}: ${cols} columns do not divide ${fmtShape(x)}`);
  return size / cols;
}

function checkParams(cols: number, scale: { shape: Shape }, bias: { shape: Shape } | null, what: string): void {
  for (const [name, t] of [['scale', scale], ['bias', bias]] as const) {
    if (!t) continue;
    const n = t.shape.reduce((p, d) => p * d, 1);
    check(n === cols, () => `${what}: ${name} ${fmtShape(t.shape)} holds ${n} values for ${cols} normalized columns`);
  }
}

/** y = γ·x̂ + β over rows of `cols` (the normalized axes), and the per-row statistics [rows, 2] (μ, r). */
export function layerNormForward(x: Tensor, scale: Tensor, bias: Tensor | null, cols: number, eps: number, name = 'layer_norm'): { y: Tensor; stats: Tensor } {
  const rows = rowsCols(x.shape, cols, name);
  checkParams(cols, scale, bias, name);
  const y = Tensor.empty(x.gpu, x.shape, name);
  const stats = Tensor.empty(x.gpu, [rows, 2], `${name}.stats`);
  kernels.forward.dispatch(x.gpu, {
    bind: { x, scale, bias, out: y, stats_out: stats },
    params: { rows, cols, eps },
    grid: x.gpu.grid(rows),
    constants: { WG: invocations(cols), HAS_BIAS: bias ? 1 : 0 },
  });
  return { y, stats };
}

/**
 * dx = r · (g − mean(g) − x̂ · mean(g·x̂)), g = dy·γ, plus dμ/n − dr·r²·x̂/n when `dstats` ([rows, 2]: ∂L/∂μ, ∂L/∂r)
 * brings gradients reaching the statistics as outputs (derivation in the shader).
 */
export function layerNormBackward(dy: Tensor, x: Tensor, scale: Tensor, stats: Tensor, cols: number, name = 'layer_norm.dx', dstats: Tensor | null = null): Tensor {
  const rows = rowsCols(x.shape, cols, name);
  if (dstats) check(dstats.size === 2 * rows, () => `${name}: the statistics' gradient ${fmtShape(dstats.shape)} is not [${rows},2]`);
  const dx = Tensor.empty(x.gpu, x.shape, name);
  kernels.backward.dispatch(x.gpu, {
    bind: { x, scale, dy, stats, out: dx, dstats },
    params: { rows, cols, eps: 0 },
    grid: x.gpu.grid(rows),
    constants: { WG: invocations(cols), HAS_DSTATS: dstats ? 1 : 0 },
  });
  return dx;
}

/** dγ = Σ_rows dy·x̂ and dβ = Σ_rows dy, each of `shape` (the parameters' shape). */
export function layerNormParamsBackward(dy: Tensor, x: Tensor, stats: Tensor, cols: number, shape: Shape, name = 'layer_norm'): { dscale: Tensor; dbias: Tensor } {
  const rows = rowsCols(x.shape, cols, name);
  const dscale = Tensor.empty(x.gpu, shape, `${name}.dscale`);
  const dbias = Tensor.empty(x.gpu, shape, `${name}.dbias`);
  kernels.backwardParams.dispatch(x.gpu, {
    bind: { x, dy, stats, out: dscale, dbias },
    params: { rows, cols, eps: 0 },
    grid: x.gpu.grid(cols),
    constants: { WG: invocations(rows) },
  });
  return { dscale, dbias };
}

// ---- float64 references -------------------------------------------------------------------------------------------

/** μ and r = 1/√(σ² + ε) of each row (ONNX's Mean and InvStdDev). */
export function layerNormRowStats(x: HostTensor, rows: number, cols: number, eps: number): { mean: Float64Array; r: Float64Array } {
  const mean = new Float64Array(rows);
  const r = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += x.data[i * cols + j]!;
    const m = s / cols;
    let q = 0;
    for (let j = 0; j < cols; j++) q += (x.data[i * cols + j]! - m) ** 2;
    mean[i] = m;
    r[i] = 1 / Math.sqrt(q / cols + eps);
  }
  return { mean, r };
}

export function layerNormRef(x: HostTensor, scale: HostTensor, bias: HostTensor | null, cols: number, eps: number): HostTensor {
  const rows = rowsCols(x.shape, cols, 'layer norm reference');
  checkParams(cols, scale, bias, 'layer norm reference');
  const { mean, r } = layerNormRowStats(x, rows, cols, eps);
  const y = host(x.shape);
  for (let i = 0; i < rows; i++)
    for (let j = 0; j < cols; j++) {
      const at = i * cols + j;
      y.data[at] = scale.data[j]! * (x.data[at]! - mean[i]!) * r[i]! + (bias ? bias.data[j]! : 0);
    }
  return y;
}

/**
 * The gradients of x, γ and β (null where not asked), from the definition: the x gradient as the full Jacobian sum,
 * plus, when gradients reach the statistics as outputs (`dstats`: ∂L/∂μ and ∂L/∂r per row), their paths
 * ∂μ/∂x_j = 1/n and ∂r/∂x_j = −r³·(x_j − μ)/n.
 */
export function layerNormBackwardRef(
  dy: HostTensor,
  x: HostTensor,
  scale: HostTensor,
  cols: number,
  eps: number,
  needs: readonly boolean[],
  dstats?: { dmean: ArrayLike<number>; dr: ArrayLike<number> },
): { dx: HostTensor | null; dscale: HostTensor | null; dbias: HostTensor | null } {
  const rows = rowsCols(x.shape, cols, 'layer norm backward reference');
  const { mean, r } = layerNormRowStats(x, rows, cols, eps);
  const xhat = (i: number, j: number): number => (x.data[i * cols + j]! - mean[i]!) * r[i]!;
  let dx: HostTensor | null = null;
  if (needs[0]) {
    dx = host(x.shape);
    for (let i = 0; i < rows; i++)
      for (let j = 0; j < cols; j++) {
        // dx_j = Σ_k dy_k γ_k ∂x̂_k/∂x_j with ∂x̂_k/∂x_j = r·(δ_jk − 1/n) − x̂_k·x̂_j·r/n.
        let g = 0;
        for (let k = 0; k < cols; k++) {
          const jac = r[i]! * ((j === k ? 1 : 0) - 1 / cols) - (xhat(i, k) * xhat(i, j) * r[i]!) / cols;
          g += dy.data[i * cols + k]! * scale.data[k]! * jac;
        }
        if (dstats) g += dstats.dmean[i]! / cols - (dstats.dr[i]! * r[i]! ** 3 * (x.data[i * cols + j]! - mean[i]!)) / cols;
        dx.data[i * cols + j] = g;
      }
  }
  let dscale: HostTensor | null = null;
  let dbias: HostTensor | null = null;
  if (needs[1]) {
    dscale = host(scale.shape);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) dscale.data[j]! += dy.data[i * cols + j]! * xhat(i, j);
  }
  if (needs[2]) {
    dbias = host(scale.shape); // the caller views it in B's shape (the same values, cols of them)
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) dbias.data[j]! += dy.data[i * cols + j]!;
  }
  return { dx, dscale, dbias };
}
