/**
 * Local response normalization across channels (shaders/lrn.wgsl; ONNX LRN — AlexNet, GoogLeNet):
 *
 *   y_c = x_c / (bias + (α/size) · Σ_{i ∈ W(c)} x_i²)^β,   W(c) = [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉] ∩ [0, C)
 *
 * over axis 1 of an [N, C, …] tensor. The forward can also store the denominators' bases s (one per element) for the
 * backward, which then needs no window sums of squares of its own. The float64 references are the loops of the
 * definition, the backward written as the Jacobian ∂y_k/∂x_c summed over k.
 */
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, sizeOf, type Shape } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, checkFinite, sameShape } from './common.js';
import { host, type HostTensor } from './host.js';

export interface LrnParams {
  size: number;
  alpha: number;
  beta: number;
  bias: number;
}

const shader = ['common', 'lrn'];
const constants = { WG: ELEMENTWISE_WG };
const params = { n: 'u32', channels: 'u32', inner: 'u32', size: 'u32', alpha_over_size: 'f32', beta: 'f32', bias: 'f32' } as const;
const kernels = {
  forward: defineKernel({ shader, entry: 'lrn_forward', constants, params, bindings: { x: 'read', out: 'read_write', scale_out: 'read_write?' } }),
  backward: defineKernel({ shader, entry: 'lrn_backward', constants, params, bindings: { x: 'read', y: 'read', scale: 'read', dy: 'read', out: 'read_write' } }),
};

/** [N, C, inner] of an [N, C, …] tensor, after checking the parameters. */
export function lrnDims(shape: Shape, l: LrnParams, what = 'LRN'): [number, number, number] {
  check(shape.length >= 3, () => `${what}: expected [N, C, …] with at least one spatial axis, got ${fmtShape(shape)}`);
  check(Number.isInteger(l.size) && l.size >= 1, () => `${what}: size ${l.size} must be a positive integer`);
  for (const [k, v] of Object.entries({ alpha: l.alpha, beta: l.beta, bias: l.bias })) checkFinite(v, `${what}: ${k}`);
  return [shape[0]!, shape[1]!, sizeOf(shape.slice(2))];
}

function kernelParams(shape: Shape, l: LrnParams): Record<keyof typeof params, number> {
  const [, channels, inner] = lrnDims(shape, l);
  return { n: sizeOf(shape), channels, inner, size: l.size, alpha_over_size: l.alpha / l.size, beta: l.beta, bias: l.bias };
}

/** y, and with `keepScale` the bases s of the denominators (for the backward). */
export function lrnForward(x: Tensor, l: LrnParams, keepScale: boolean, name = 'lrn'): { y: Tensor; scale: Tensor | null } {
  const p = kernelParams(x.shape, l);
  const y = Tensor.empty(x.gpu, x.shape, name);
  const scale = keepScale ? Tensor.empty(x.gpu, x.shape, `${name}.scale`) : null;
  kernels.forward.dispatch(x.gpu, { bind: { x, out: y, scale_out: scale }, params: p, grid: { threads: p.n }, constants: { SAVE_SCALE: keepScale ? 1 : 0 } });
  return { y, scale };
}

/** dx = dy·s^(−β) − (2αβ/size)·x·Σ_{k ∋ c} dy_k·y_k/s_k (derivation in the shader). */
export function lrnBackward(dy: Tensor, x: Tensor, y: Tensor, scale: Tensor, l: LrnParams, name = 'lrn.dx'): Tensor {
  sameShape(dy, x, 'LRN backward');
  const p = kernelParams(x.shape, l);
  const dx = Tensor.empty(x.gpu, x.shape, name);
  kernels.backward.dispatch(x.gpu, { bind: { x, y, scale, dy, out: dx }, params: p, grid: { threads: p.n } });
  return dx;
}

// ---- float64 references -------------------------------------------------------------------------------------------

/** The channels of the window W(c). */
function windowOf(c: number, channels: number, size: number): [number, number] {
  return [Math.max(0, c - Math.floor((size - 1) / 2)), Math.min(channels - 1, c + Math.ceil((size - 1) / 2))];
}

/** s at every element: bias + (α/size)·Σ_{W(c)} x². */
function scalesRef(x: HostTensor, l: LrnParams): Float64Array {
  const [n, channels, inner] = lrnDims(x.shape, l, 'LRN reference');
  const s = new Float64Array(x.data.length);
  for (let b = 0; b < n; b++)
    for (let c = 0; c < channels; c++)
      for (let q = 0; q < inner; q++) {
        const [lo, hi] = windowOf(c, channels, l.size);
        let energy = 0;
        for (let k = lo; k <= hi; k++) energy += x.data[(b * channels + k) * inner + q]! ** 2;
        s[(b * channels + c) * inner + q] = l.bias + (l.alpha / l.size) * energy;
      }
  return s;
}

export function lrnRef(x: HostTensor, l: LrnParams): HostTensor {
  const s = scalesRef(x, l);
  return host(x.shape, x.data.map((v, i) => v * Math.pow(s[i]!, -l.beta)));
}

/** dx_c = Σ_k dy_k ∂y_k/∂x_c, with ∂y_k/∂x_c = δ_kc·s_k^(−β) − β·x_k·s_k^(−β−1)·(α/size)·2x_c for c ∈ W(k). */
export function lrnBackwardRef(dy: HostTensor, x: HostTensor, l: LrnParams): HostTensor {
  const [n, channels, inner] = lrnDims(x.shape, l, 'LRN backward reference');
  const s = scalesRef(x, l);
  const dx = host(x.shape);
  for (let b = 0; b < n; b++)
    for (let k = 0; k < channels; k++)
      for (let q = 0; q < inner; q++) {
        const at = (b * channels + k) * inner + q;
        dx.data[at]! += dy.data[at]! * Math.pow(s[at]!, -l.beta);
        const [lo, hi] = windowOf(k, channels, l.size);
        for (let c = lo; c <= hi; c++) {
          const from = (b * channels + c) * inner + q;
          dx.data[from]! -= dy.data[at]! * l.beta * x.data[at]! * Math.pow(s[at]!, -l.beta - 1) * (l.alpha / l.size) * 2 * x.data[from]!;
        }
      }
  return dx;
}
