/**
 * Batch normalization in inference form (shaders/batchnorm.wgsl): ONNX BatchNormalization with its statistics given,
 * on x [N, C, D1, …] with per-channel scale γ, bias β, mean μ and variance σ² (each [C]):
 *
 *   y[n,c,…] = (x[n,c,…] − μ[c]) · γ[c] / √(σ²[c] + ε) + β[c]
 *
 * The dispatches of the forward, of the backward to x, and of the backward to the four parameters, and float64
 * references of all three; the derivations are beside the kernels in the .wgsl file.
 */
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, checkFinite, sameDevice } from './common.js';
import { host, type HostTensor } from './host.js';

/** The four per-channel parameters, in ONNX's input order after x. */
export interface BatchNormParams<T> {
  gamma: T;
  beta: T;
  mean: T;
  variance: T;
}

export interface BatchNormGeometry {
  batch: number;
  channels: number;
  /** elements of one channel of one sample (1 for x [N, C]) */
  plane: number;
  total: number;
}

type ShapeLike = { shape: Shape };

/** Checks x [N, C, …] against the four [C] parameters and ε; throws a PixelpropError naming the mismatch. */
export function batchNormGeometry(x: Shape, params: BatchNormParams<Shape>, epsilon: number, what = 'batchnorm'): BatchNormGeometry {
  check(x.length >= 2, () => `${what}: input ${fmtShape(x)} must have a batch and a channel axis [N,C,…]`);
  const channels = x[1]!;
  for (const [name, s] of Object.entries(params) as [string, Shape][]) {
    check(s.length === 1 && s[0] === channels, () => `${what}: ${name} ${fmtShape(s)} does not match the input's ${channels} channels (expected [${channels}])`);
  }
  checkFinite(epsilon, `${what}: epsilon`);
  check(epsilon >= 0, () => `${what}: epsilon ${epsilon} is negative`);
  const plane = x.slice(2).reduce((a, b) => a * b, 1);
  return { batch: x[0]!, channels, plane, total: x[0]! * channels * plane };
}

const shapes = (p: BatchNormParams<ShapeLike>): BatchNormParams<Shape> => ({
  gamma: p.gamma.shape,
  beta: p.beta.shape,
  mean: p.mean.shape,
  variance: p.variance.shape,
});

const params = { total: 'u32', channels: 'u32', plane: 'u32', batch: 'u32', epsilon: 'f32' } as const;
const shader = ['common', 'batchnorm'];
const constants = { WG: ELEMENTWISE_WG };
const kernels = {
  forward: defineKernel({
    shader,
    entry: 'batchnorm_forward',
    constants,
    params,
    bindings: { x: 'read', gamma: 'read', beta: 'read', mean: 'read', variance: 'read', out: 'read_write' },
  }),
  backwardInput: defineKernel({
    shader,
    entry: 'batchnorm_backward_input',
    constants,
    params,
    bindings: { dy: 'read', gamma: 'read', variance: 'read', out: 'read_write' },
  }),
  backwardParams: defineKernel({
    shader,
    entry: 'batchnorm_backward_params',
    constants,
    params,
    bindings: { x: 'read', dy: 'read', gamma: 'read', mean: 'read', variance: 'read', out: 'read_write' },
  }),
};

const paramsOf = (g: BatchNormGeometry, epsilon: number) => ({ total: g.total, channels: g.channels, plane: g.plane, batch: g.batch, epsilon });

/** y = (x − μ)·γ/√(σ²+ε) + β on the GPU. */
export function batchNormForward(x: Tensor, p: BatchNormParams<Tensor>, epsilon: number, name = 'batchnorm'): Tensor {
  const g = batchNormGeometry(x.shape, shapes(p), epsilon, `batchnorm '${name}'`);
  const gpu = sameDevice([x, p.gamma, p.beta, p.mean, p.variance], `batchnorm '${name}'`);
  const y = Tensor.empty(gpu, x.shape, name);
  kernels.forward.dispatch(gpu, { bind: { x, ...p, out: y }, params: paramsOf(g, epsilon), grid: { threads: g.total } });
  return y;
}

/** dx = dy · γ/√(σ²+ε), per channel. */
export function batchNormBackwardInput(dy: Tensor, gamma: Tensor, variance: Tensor, epsilon: number, name = 'batchnorm.dx'): Tensor {
  const g = batchNormGeometry(dy.shape, { gamma: gamma.shape, beta: gamma.shape, mean: gamma.shape, variance: variance.shape }, epsilon, `batchnorm backward '${name}'`);
  const gpu = sameDevice([dy, gamma, variance], `batchnorm backward '${name}'`);
  const dx = Tensor.empty(gpu, dy.shape, name);
  kernels.backwardInput.dispatch(gpu, { bind: { dy, gamma, variance, out: dx }, params: paramsOf(g, epsilon), grid: { threads: g.total } });
  return dx;
}

/**
 * [dγ, dβ, dμ, dσ²] from dy and the forward's x: one reduction over each channel writes all four (they share its two
 * sums), then each wanted one is copied out of that [4, C] block; null where `needs` says no.
 */
export function batchNormBackwardParams(
  dy: Tensor,
  x: Tensor,
  p: Omit<BatchNormParams<Tensor>, 'beta'>,
  epsilon: number,
  needs: BatchNormParams<boolean>,
  name = 'batchnorm',
): BatchNormParams<Tensor | null> {
  const what = `batchnorm backward '${name}'`;
  const g = batchNormGeometry(x.shape, { gamma: p.gamma.shape, beta: p.gamma.shape, mean: p.mean.shape, variance: p.variance.shape }, epsilon, what);
  check(dy.shape.length === x.shape.length && dy.shape.every((d, i) => d === x.shape[i]), () => `${what}: dy ${fmtShape(dy.shape)} does not match x ${fmtShape(x.shape)}`);
  const gpu = sameDevice([dy, x, p.gamma, p.mean, p.variance], what);
  const all = Tensor.empty(gpu, [4, g.channels], `${name}.dparams`);
  kernels.backwardParams.dispatch(gpu, { bind: { x, dy, ...p, out: all }, params: paramsOf(g, epsilon), grid: gpu.grid(g.channels) });
  const row = (k: number, wanted: boolean, label: string): Tensor | null => {
    if (!wanted) return null;
    const t = Tensor.empty(gpu, [g.channels], `grad(${name}.${label})`);
    gpu.copy(all.buffer, t.buffer, 4 * g.channels, 4 * k * g.channels);
    return t;
  };
  const out = { gamma: row(0, needs.gamma, 'scale'), beta: row(1, needs.beta, 'B'), mean: row(2, needs.mean, 'mean'), variance: row(3, needs.variance, 'var') };
  all.dispose(); // the copies are encoded; the pool hands the buffer out again only to later work
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// float64 references, the loops of the definition

function forEachElement(g: BatchNormGeometry, fn: (i: number, c: number) => void): void {
  for (let n = 0; n < g.batch; n++) {
    for (let c = 0; c < g.channels; c++) {
      const base = (n * g.channels + c) * g.plane;
      for (let j = 0; j < g.plane; j++) fn(base + j, c);
    }
  }
}

const hostShapes = (p: BatchNormParams<HostTensor>): BatchNormParams<Shape> => shapes(p);

/** y[n,c,…] = (x − μ[c])·γ[c]/√(σ²[c]+ε) + β[c] */
export function batchNormRef(x: HostTensor, p: BatchNormParams<HostTensor>, epsilon: number): HostTensor {
  const g = batchNormGeometry(x.shape, hostShapes(p), epsilon, 'batchnorm reference');
  const y = host(x.shape);
  forEachElement(g, (i, c) => {
    y.data[i] = ((x.data[i]! - p.mean.data[c]!) * p.gamma.data[c]!) / Math.sqrt(p.variance.data[c]! + epsilon) + p.beta.data[c]!;
  });
  return y;
}

/**
 * The gradients of all five inputs, [dx, dγ, dβ, dμ, dσ²], each from its own partial derivative (derivations in
 * shaders/batchnorm.wgsl): dx = dy·γ·s, dγ = Σ dy·(x−μ)·s, dβ = Σ dy, dμ = −Σ dy·γ·s, dσ² = −½ Σ dy·γ·(x−μ)·s³
 * with s = 1/√(σ²+ε), the sums over the batch and the plane.
 */
export function batchNormBackwardRef(dy: HostTensor, x: HostTensor, p: BatchNormParams<HostTensor>, epsilon: number): [HostTensor, HostTensor, HostTensor, HostTensor, HostTensor] {
  const g = batchNormGeometry(x.shape, hostShapes(p), epsilon, 'batchnorm backward reference');
  const dx = host(x.shape);
  const [dGamma, dBeta, dMean, dVar] = [host([g.channels]), host([g.channels]), host([g.channels]), host([g.channels])];
  forEachElement(g, (i, c) => {
    const s = 1 / Math.sqrt(p.variance.data[c]! + epsilon);
    const gamma = p.gamma.data[c]!;
    const centered = x.data[i]! - p.mean.data[c]!;
    const d = dy.data[i]!;
    dx.data[i] = d * gamma * s;
    dGamma.data[c]! += d * centered * s;
    dBeta.data[c]! += d;
    dMean.data[c]! -= d * gamma * s;
    dVar.data[c]! -= 0.5 * d * gamma * centered * s * s * s;
  });
  return [dx, dGamma, dBeta, dMean, dVar];
}
