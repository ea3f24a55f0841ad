/**
 * Softmax and LogSoftmax over one axis (shaders/softmax.wgsl): class scores to probabilities, and the log-probabilities
 * a cross-entropy loss wants. The kernels take a 2-D [rows, cols] tensor (the axis last) or a 3-D [outer, cols, inner]
 * one (the axis in the middle, its elements `inner` apart: a softmax over the channels of NCHW is [N, C, H·W]). Other
 * ranks are the ONNX op's business: it reshapes around the axis (a free view, Tensor.reshape).
 *
 *   softmax(x)_j    = exp(x_j − m) / Σ_k exp(x_k − m),   m = max_k x_k   (subtracting m changes nothing but overflow)
 *   logSoftmax(x)_j = x_j − m − log Σ_k exp(x_k − m)
 *
 * Backward (derivations in the shader): softmax dx = y ⊙ (dy − Σ dy⊙y); log-softmax dx = dy − exp(y)·Σ dy. Both read
 * the forward's output y, not x.
 */
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, sameDevice, sameShape } from './common.js';
import { host, type HostTensor } from './host.js';

/** [rows, cols, inner]: rows of `cols` elements each, `inner` apart (2-D [rows, cols] is inner = 1). */
function rowsCols(shape: Shape, what: string): [number, number, number] {
  check(shape.length === 2 || shape.length === 3, () => `${what}: expected [rows, cols] or [outer, cols, inner], got ${fmtShape(shape)}`);
  if (shape.length === 2) return [shape[0]!, shape[1]!, 1];
  return [shape[0]! * shape[2]!, shape[1]!, shape[2]!];
}

/** The flat index of column j of row r (rows enumerate (outer, inner) pairs, inner fastest). */
function at(r: number, j: number, cols: number, inner: number): number {
  return Math.floor(r / inner) * cols * inner + j * inner + (r % inner);
}

/**
 * Invocations per row: enough to cover the row once (a power of two, for the tree), between 32 — about one SIMD
 * group of a GPU — and WG. Short rows thus do not pay for 256 invocations that mostly wait at the barriers.
 */
function invocationsPerRow(cols: number): number {
  let wg = 32;
  while (wg < cols && wg < ELEMENTWISE_WG) wg *= 2;
  return wg;
}

const params = { rows: 'u32', cols: 'u32', inner: 'u32' } as const;
const kernels = {
  forward: defineKernel({ shader: 'softmax', entry: 'softmax_forward', params, bindings: { x: 'read', out: 'read_write' } }),
  backward: defineKernel({ shader: 'softmax', entry: 'softmax_backward', params, bindings: { dy: 'read', y: 'read', out: 'read_write' } }),
};

/** One workgroup per row, of invocationsPerRow(cols) invocations; LOG picks LogSoftmax. */
function rowConstants(cols: number, log: boolean): Record<string, number> {
  return { WG: invocationsPerRow(cols), LOG: log ? 1 : 0 };
}

function forward(x: Tensor, log: boolean, name: string): Tensor {
  const [rows, cols, inner] = rowsCols(x.shape, log ? 'log softmax' : 'softmax');
  const y = Tensor.empty(x.gpu, x.shape, name);
  kernels.forward.dispatch(x.gpu, { bind: { x, out: y }, params: { rows, cols, inner }, grid: x.gpu.grid(rows), constants: rowConstants(cols, log) });
  return y;
}

function backward(dy: Tensor, y: Tensor, log: boolean): Tensor {
  const what = log ? 'log softmax backward' : 'softmax backward';
  const [rows, cols, inner] = rowsCols(y.shape, what);
  sameShape(dy, y, what);
  sameDevice([dy, y], what);
  const dx = Tensor.empty(y.gpu, y.shape, log ? 'log_softmax.dx' : 'softmax.dx');
  kernels.backward.dispatch(y.gpu, { bind: { dy, y, out: dx }, params: { rows, cols, inner }, grid: y.gpu.grid(rows), constants: rowConstants(cols, log) });
  return dx;
}

export function softmaxForward(x: Tensor, name = 'softmax'): Tensor {
  return forward(x, false, name);
}

export function logSoftmaxForward(x: Tensor, name = 'log_softmax'): Tensor {
  return forward(x, true, name);
}

/** dx = y ⊙ (dy − Σ dy⊙y), y = softmax(x). */
export function softmaxBackward(dy: Tensor, y: Tensor): Tensor {
  return backward(dy, y, false);
}

/** dx = dy − exp(y)·Σ dy, y = logSoftmax(x). */
export function logSoftmaxBackward(dy: Tensor, y: Tensor): Tensor {
  return backward(dy, y, true);
}

// ---- float64 references -------------------------------------------------------------------------------------------

function rowMaxAndLogSum(x: HostTensor, r: number, cols: number, inner: number): [number, number] {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, x.data[at(r, j, cols, inner)]!);
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(x.data[at(r, j, cols, inner)]! - m);
  return [m, Math.log(s)];
}

export function softmaxRef(x: HostTensor): HostTensor {
  const [rows, cols, inner] = rowsCols(x.shape, 'softmax reference');
  const y = host(x.shape);
  for (let r = 0; r < rows; r++) {
    const [m, logSum] = rowMaxAndLogSum(x, r, cols, inner);
    for (let j = 0; j < cols; j++) y.data[at(r, j, cols, inner)] = Math.exp(x.data[at(r, j, cols, inner)]! - m - logSum);
  }
  return y;
}

export function logSoftmaxRef(x: HostTensor): HostTensor {
  const [rows, cols, inner] = rowsCols(x.shape, 'log softmax reference');
  const y = host(x.shape);
  for (let r = 0; r < rows; r++) {
    const [m, logSum] = rowMaxAndLogSum(x, r, cols, inner);
    for (let j = 0; j < cols; j++) y.data[at(r, j, cols, inner)] = x.data[at(r, j, cols, inner)]! - m - logSum;
  }
  return y;
}

/** dx_i = Σ_j dy_j ∂y_j/∂x_i with the Jacobian written out: ∂y_j/∂x_i = y_j (δ_ij − y_i). */
export function softmaxBackwardRef(dy: HostTensor, y: HostTensor): HostTensor {
  const [rows, cols, inner] = rowsCols(y.shape, 'softmax backward reference');
  const dx = host(y.shape);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < cols; i++) {
      let g = 0;
      const yi = y.data[at(r, i, cols, inner)]!;
      for (let j = 0; j < cols; j++) {
        const yj = y.data[at(r, j, cols, inner)]!;
        g += dy.data[at(r, j, cols, inner)]! * yj * ((i === j ? 1 : 0) - yi);
      }
      dx.data[at(r, i, cols, inner)] = g;
    }
  return dx;
}

/** dx_i = Σ_j dy_j ∂y_j/∂x_i with ∂y_j/∂x_i = δ_ij − softmax(x)_i, softmax(x)_i = exp(y_i). */
export function logSoftmaxBackwardRef(dy: HostTensor, y: HostTensor): HostTensor {
  const [rows, cols, inner] = rowsCols(y.shape, 'log softmax backward reference');
  const dx = host(y.shape);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < cols; i++) {
      let g = 0;
      for (let j = 0; j < cols; j++) g += dy.data[at(r, j, cols, inner)]! * ((i === j ? 1 : 0) - Math.exp(y.data[at(r, i, cols, inner)]!));
      dx.data[at(r, i, cols, inner)] = g;
    }
  return dx;
}
