/**
 * The path methods' kernels (shaders/path.wgsl): points b_k + α_k (x − b_k) along straight paths from baselines to
 * one image of a batch, and the products (x − b_k) ⊙ g_k whose mean over the points is the attribution; with float64
 * references.
 */
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, sizeOf } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, sameDevice } from './common.js';
import { host, type HostTensor } from './host.js';

const shader = ['common', 'path'];
const constants = { WG: ELEMENTWISE_WG };
const params = { n: 'u32', sample: 'u32', offset: 'u32', baselines: 'u32' } as const;
const kernels = {
  points: defineKernel({ shader, entry: 'path_points', constants, paramsVar: 'path', params, bindings: { x: 'read', baseline: 'read', alpha: 'read', out: 'read_write' } }),
  products: defineKernel({
    shader,
    entry: 'path_products',
    constants,
    paramsVar: 'path',
    params,
    bindings: { x: 'read', baseline: 'read', grad: 'read', weight: 'read', out: 'read_write' },
  }),
};

function checkPath(x: { shape: readonly number[] }, image: number, baselines: { shape: readonly number[] }, count: number): number {
  const sample = sizeOf(x.shape.slice(1));
  check(Number.isInteger(image) && image >= 0 && image < x.shape[0]!, () => `path: image ${image} is not in the batch of ${x.shape[0]}`);
  check(
    baselines.shape.length === x.shape.length && baselines.shape.slice(1).every((d, k) => d === x.shape[k + 1]),
    () => `path: baselines ${fmtShape(baselines.shape)} are not images of ${fmtShape(x.shape.slice(1))}`,
  );
  check(Number.isInteger(count) && count > 0, () => `path: ${count} points`);
  return sample;
}

/** [K, ...] points b_{k mod B} + α_k (x[image] − b_{k mod B}); `alphas` holds the K α's. */
export function pathPoints(x: Tensor, image: number, baselines: Tensor, alphas: Tensor, name = 'path_points'): Tensor {
  const count = alphas.size;
  const sample = checkPath(x, image, baselines, count);
  const gpu = sameDevice([x, baselines, alphas], 'path points');
  const out = Tensor.empty(gpu, [count, ...x.shape.slice(1)], name);
  kernels.points.dispatch(gpu, {
    bind: { x, baseline: baselines, alpha: alphas, out },
    params: { n: out.size, sample, offset: image * sample, baselines: baselines.shape[0]! },
    grid: { threads: out.size },
  });
  return out;
}

/** [K, ...] products w_k · (x[image] − b_{k mod B}) ⊙ grad[k]; `weights` holds the K w's. */
export function pathProducts(x: Tensor, image: number, baselines: Tensor, grad: Tensor, weights: Tensor, name = 'path_products'): Tensor {
  const count = grad.shape[0]!;
  const sample = checkPath(x, image, baselines, count);
  check(weights.size === count, () => `path products: ${weights.size} weights for ${count} points`);
  const gpu = sameDevice([x, baselines, grad, weights], 'path products');
  const out = Tensor.empty(gpu, grad.shape, name);
  kernels.products.dispatch(gpu, {
    bind: { x, baseline: baselines, grad, weight: weights, out },
    params: { n: out.size, sample, offset: image * sample, baselines: baselines.shape[0]! },
    grid: { threads: out.size },
  });
  return out;
}

export function pathPointsRef(x: HostTensor, image: number, baselines: HostTensor, alphas: readonly number[]): HostTensor {
  const sample = checkPath(x, image, baselines, alphas.length);
  const b = baselines.shape[0]!;
  const out = host([alphas.length, ...x.shape.slice(1)]);
  alphas.forEach((a, k) => {
    for (let j = 0; j < sample; j++) {
      const base = baselines.data[(k % b) * sample + j]!;
      out.data[k * sample + j] = base + a * (x.data[image * sample + j]! - base);
    }
  });
  return out;
}

export function pathProductsRef(x: HostTensor, image: number, baselines: HostTensor, grad: HostTensor, weights: readonly number[]): HostTensor {
  const sample = checkPath(x, image, baselines, grad.shape[0]!);
  const b = baselines.shape[0]!;
  return host(grad.shape, grad.data.map((g, i) => {
    const k = Math.floor(i / sample);
    const j = i % sample;
    return weights[k]! * (x.data[image * sample + j]! - baselines.data[(k % b) * sample + j]!) * g;
  }));
}

/**
 * The m nodes and weights of Gauss–Legendre quadrature on [0, 1]: Σ_k w_k f(α_k) integrates polynomials of degree
 * < 2m exactly. The nodes are the roots of the Legendre polynomial P_m, found by Newton's method from Chebyshev-like
 * starting points (Numerical Recipes' gauleg); w = 2 / ((1 − t²) P_m′(t)²), both mapped from [−1, 1] to [0, 1].
 */
export function gaussLegendre(m: number): { nodes: number[]; weights: number[] } {
  check(Number.isInteger(m) && m > 0, () => `Gauss-Legendre: ${m} points`);
  const nodes = new Array<number>(m);
  const weights = new Array<number>(m);
  for (let i = 0; i < Math.ceil(m / 2); i++) {
    let t = Math.cos((Math.PI * (i + 0.75)) / (m + 0.5));
    let derivative = 0;
    for (let iteration = 0; iteration < 100; iteration++) {
      let p0 = 1;
      let p1 = t;
      for (let j = 2; j <= m; j++) [p0, p1] = [p1, ((2 * j - 1) * t * p1 - (j - 1) * p0) / j];
      derivative = (m * (t * p1 - p0)) / (t * t - 1);
      const step = p1 / derivative;
      t -= step;
      if (Math.abs(step) < 1e-15) break;
    }
    const w = 2 / ((1 - t * t) * derivative * derivative);
    nodes[i] = (1 - t) / 2;
    nodes[m - 1 - i] = (1 + t) / 2;
    weights[i] = w / 2;
    weights[m - 1 - i] = w / 2;
  }
  return { nodes, weights };
}
