/**
 * Softmax and LogSoftmax over the last axis of a 2-D [rows, cols] tensor (shaders/softmax.wgsl): class scores to
 * probabilities, and the log-probabilities a cross-entropy loss wants. Other ranks are the ONNX loader's business:
 * it reshapes around the axis to [rows, cols] (a free view, Tensor.reshape).
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

function rowsCols(shape: Shape, what: string): [number, number] {
  check(shape.length === 2, () => `${what}: expected a 2-D [rows, cols] tensor, got ${fmtShape(shape)}`);
  return [shape[0]!, shape[1]!];
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

const params = { rows: 'u32', cols: 'u32' } as const;
const kernels = {
  forward: defineKernel({ shader: 'softmax', entry: 'softmax_forward', params, bindings: { x: 'read', out: 'read_write' } }),
  backward: defineKernel({ shader: 'softmax', entry: 'softmax_backward', params, bindings: { dy: 'read', y: 'read', out: 'read_write' } }),
};

/** One workgroup per row, of invocationsPerRow(cols) invocations; LOG picks LogSoftmax. */
function rowConstants(cols: number, log: boolean): Record<string, number> {
  return { WG: invocationsPerRow(cols), LOG: log ? 1 : 0 };
}

function forward(x: Tensor, log: boolean, name: string): Tensor {
  const [rows, cols] = rowsCols(x.shape, log ? 'log softmax' : 'softmax');
  const y = Tensor.empty(x.gpu, x.shape, name);
  kernels.forward.dispatch(x.gpu, { bind: { x, out: y }, params: { rows, cols }, grid: x.gpu.grid(rows), constants: rowConstants(cols, log) });
  return y;
}

function backward(dy: Tensor, y: Tensor, log: boolean): Tensor {
  const what = log ? 'log softmax backward' : 'softmax backward';
  const [rows, cols] = rowsCols(y.shape, what);
  sameShape(dy, y, what);
  sameDevice([dy, y], what);
  const dx = Tensor.empty(y.gpu, y.shape, log ? 'log_softmax.dx' : 'softmax.dx');
  kernels.backward.dispatch(y.gpu, { bind: { dy, y, out: dx }, params: { rows, cols }, grid: y.gpu.grid(rows), constants: rowConstants(cols, log) });
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

function rowMaxAndLogSum(x: HostTensor, r: number, cols: number): [number, number] {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, x.data[r * cols + j]!);
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(x.data[r * cols + j]! - m);
  return [m, Math.log(s)];
}

export function softmaxRef(x: HostTensor): HostTensor {
  const [rows, cols] = rowsCols(x.shape, 'softmax reference');
  const y = host(x.shape);
  for (let r = 0; r < rows; r++) {
    const [m, logSum] = rowMaxAndLogSum(x, r, cols);
    for (let j = 0; j < cols; j++) y.data[r * cols + j] = Math.exp(x.data[r * cols + j]! - m - logSum);
  }
  return y;
}

export function logSoftmaxRef(x: HostTensor): HostTensor {
  const [rows, cols] = rowsCols(x.shape, 'log softmax reference');
  const y = host(x.shape);
  for (let r = 0; r < rows; r++) {
    const [m, logSum] = rowMaxAndLogSum(x, r, cols);
    for (let j = 0; j < cols; j++) y.data[r * cols + j] = x.data[r * cols + j]! - m - logSum;
  }
  return y;
}

/** dx_i = Σ_j dy_j ∂y_j/∂x_i with the Jacobian written out: ∂y_j/∂x_i = y_j (δ_ij − y_i). */
export function softmaxBackwardRef(dy: HostTensor, y: HostTensor): HostTensor {
  const [rows, cols] = rowsCols(y.shape, 'softmax backward reference');
  const dx = host(y.shape);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < cols; i++) {
      let g = 0;
      for (let j = 0; j < cols; j++) {
        const yi = y.data[r * cols + i]!;
        const yj = y.data[r * cols + j]!;
        g += dy.data[r * cols + j]! * yj * ((i === j ? 1 : 0) - yi);
      }
      dx.data[r * cols + i] = g;
    }
  return dx;
}

/** dx_i = Σ_j dy_j ∂y_j/∂x_i with ∂y_j/∂x_i = δ_ij − softmax(x)_i, softmax(x)_i = exp(y_i). */
export function logSoftmaxBackwardRef(dy: HostTensor, y: HostTensor): HostTensor {
  const [rows, cols] = rowsCols(y.shape, 'log softmax backward reference');
  const dx = host(y.shape);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < cols; i++) {
      let g = 0;
      for (let j = 0; j < cols; j++) g += dy.data[r * cols + j]! * ((i === j ? 1 : 0) - Math.exp(y.data[r * cols + i]!));
      dx.data[r * cols + i] = g;
    }
  return dx;
}
