/**
 * The techniques' own kernels (shaders/technique.wgsl), with their float64 references:
 *
 * - channelAbsMax: the saliency map M[n,h,w] = max_c |g[n,c,h,w]| of Simonyan et al. (2014);
 * - multiply: g ⊙ x, for gradient × input;
 * - noisyCopies: SmoothGrad's B noisy copies x_i + σ·z of one image of a batch;
 * - accumulateSampleMean: acc[i] += (1/S)·Σ_k t[k], the running mean of SmoothGrad over chunks of copies;
 * - scaleInPlace: x ← s·x, the weight decay step of Yosinski et al. (2015).
 *
 * None of them is differentiated through: they make maps and update images, after the backward has run. So they have
 * forward kernels and references, and no backward.
 */
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, sizeOf } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, checkFinite, sameDevice, sameShape } from './common.js';
import { host, nchw, type HostTensor } from './host.js';

const shader = ['common', 'technique'];
const constants = { WG: ELEMENTWISE_WG };
const kernels = {
  channelAbsMax: defineKernel({
    shader,
    entry: 'channel_abs_max',
    constants,
    paramsVar: 'cam',
    params: { n: 'u32', channels: 'u32', plane: 'u32' },
    bindings: { x: 'read', out: 'read_write' },
  }),
  channelSum: defineKernel({
    shader,
    entry: 'channel_sum',
    constants,
    paramsVar: 'cam',
    params: { n: 'u32', channels: 'u32', plane: 'u32' },
    bindings: { x: 'read', out: 'read_write' },
  }),
  multiply: defineKernel({ shader, entry: 'multiply', constants, paramsVar: 'count', params: { n: 'u32' }, bindings: { x: 'read', b: 'read', out: 'read_write' } }),
  noisyCopies: defineKernel({
    shader,
    entry: 'noisy_copies',
    constants,
    paramsVar: 'copies',
    params: { n: 'u32', sample: 'u32', offset: 'u32', sigma: 'f32' },
    bindings: { x: 'read', noise: 'read', out: 'read_write' },
  }),
  accumulateSampleMean: defineKernel({
    shader,
    entry: 'accumulate_sample_mean',
    constants,
    paramsVar: 'mean',
    params: { n: 'u32', samples: 'u32', offset: 'u32', scale: 'f32' },
    bindings: { x: 'read', out: 'read_write' },
  }),
  scaleInPlace: defineKernel({ shader, entry: 'scale_in_place', constants, paramsVar: 'scaled', params: { n: 'u32', factor: 'f32' }, bindings: { out: 'read_write' } }),
};

/** max over channels of |x|: [N, C, H, W] → [N, H, W]. */
export function channelAbsMax(x: Tensor, name = 'channel_abs_max'): Tensor {
  const [n, c, h, w] = nchw(x, 'channel abs max');
  const out = Tensor.empty(x.gpu, [n, h, w], name);
  kernels.channelAbsMax.dispatch(x.gpu, { bind: { x, out }, params: { n: out.size, channels: c, plane: h * w }, grid: { threads: out.size } });
  return out;
}

/** Σ over channels: [N, C, H, W] → [N, H, W]. */
export function channelSum(x: Tensor, name = 'channel_sum'): Tensor {
  const [n, c, h, w] = nchw(x, 'channel sum');
  const out = Tensor.empty(x.gpu, [n, h, w], name);
  kernels.channelSum.dispatch(x.gpu, { bind: { x, out }, params: { n: out.size, channels: c, plane: h * w }, grid: { threads: out.size } });
  return out;
}

/** a ⊙ b, a new tensor. */
export function multiply(a: Tensor, b: Tensor, name = 'multiply'): Tensor {
  sameShape(a, b, 'multiply');
  const gpu = sameDevice([a, b], 'multiply');
  const out = Tensor.empty(gpu, a.shape, name);
  kernels.multiply.dispatch(gpu, { bind: { x: a, b, out }, params: { n: a.size }, grid: { threads: a.size } });
  return out;
}

function checkNoisyCopies(x: { shape: readonly number[] }, image: number, noise: { shape: readonly number[] }, std: number): void {
  const [n, c, h, w] = nchw(x, 'noisy copies');
  nchw(noise, 'noisy copies noise');
  check(Number.isInteger(image) && image >= 0 && image < n, () => `noisy copies: image ${image} is not in the batch of ${n}`);
  check(
    noise.shape[1] === c && noise.shape[2] === h && noise.shape[3] === w,
    () => `noisy copies: noise ${fmtShape(noise.shape)} does not hold copies of a [${c},${h},${w}] image`,
  );
  checkFinite(std, 'noisy copies: std');
}

/** out[k] = x[image] + std · noise[k] for the B = noise.shape[0] copies: [B, C, H, W]. */
export function noisyCopies(x: Tensor, image: number, noise: Tensor, std: number, name = 'noisy_copies'): Tensor {
  checkNoisyCopies(x, image, noise, std);
  const gpu = sameDevice([x, noise], 'noisy copies');
  const sample = sizeOf(x.shape.slice(1));
  const out = Tensor.empty(gpu, noise.shape, name);
  kernels.noisyCopies.dispatch(gpu, {
    bind: { x, noise, out },
    params: { n: out.size, sample, offset: image * sample, sigma: std },
    grid: { threads: out.size },
  });
  return out;
}

function checkAccumulate(acc: { shape: readonly number[] }, index: number, t: { shape: readonly number[] }): number {
  check(acc.shape.length >= 2 && t.shape.length === acc.shape.length, () => `accumulate sample mean: accumulator ${fmtShape(acc.shape)} and samples ${fmtShape(t.shape)} must be [N, ...] and [B, ...]`);
  check(
    acc.shape.every((d, k) => k === 0 || d === t.shape[k]),
    () => `accumulate sample mean: samples ${fmtShape(t.shape)} do not match the accumulator ${fmtShape(acc.shape)} after the first axis`,
  );
  check(Number.isInteger(index) && index >= 0 && index < acc.shape[0]!, () => `accumulate sample mean: index ${index} is not in the ${acc.shape[0]} accumulators`);
  return sizeOf(t.shape.slice(1));
}

/** acc[index] += scale · Σ_k t[k], in place: acc [N, ...] holds one running sum per image, t [B, ...] B samples. */
export function accumulateSampleMean(acc: Tensor, index: number, t: Tensor, scale: number): void {
  const sample = checkAccumulate(acc, index, t);
  checkFinite(scale, 'accumulate sample mean: scale');
  const gpu = sameDevice([acc, t], 'accumulate sample mean');
  kernels.accumulateSampleMean.dispatch(gpu, {
    bind: { x: t, out: acc },
    params: { n: sample, samples: t.shape[0]!, offset: index * sample, scale },
    grid: { threads: sample },
  });
}

/** x ← s · x, in place (its reference is elementwise.ts's scaleRef). */
export function scaleInPlace(x: Tensor, s: number): void {
  checkFinite(s, 'scale in place: factor');
  kernels.scaleInPlace.dispatch(x.gpu, { bind: { out: x }, params: { n: x.size, factor: s }, grid: { threads: x.size } });
}

// ---- float64 references -------------------------------------------------------------------------------------------

export function channelAbsMaxRef(x: HostTensor): HostTensor {
  const [n, c, h, w] = nchw(x, 'channel abs max reference');
  const out = host([n, h, w]);
  for (let s = 0; s < n; s++)
    for (let p = 0; p < h * w; p++) {
      let m = 0;
      for (let k = 0; k < c; k++) m = Math.max(m, Math.abs(x.data[(s * c + k) * h * w + p]!));
      out.data[s * h * w + p] = m;
    }
  return out;
}

export function multiplyRef(a: HostTensor, b: HostTensor): HostTensor {
  sameShape(a, b, 'multiply reference');
  return host(a.shape, a.data.map((v, i) => v * b.data[i]!));
}

export function noisyCopiesRef(x: HostTensor, image: number, noise: HostTensor, std: number): HostTensor {
  checkNoisyCopies(x, image, noise, std);
  const sample = sizeOf(x.shape.slice(1));
  const out = host(noise.shape);
  for (let k = 0; k < noise.shape[0]!; k++)
    for (let j = 0; j < sample; j++) out.data[k * sample + j] = x.data[image * sample + j]! + std * noise.data[k * sample + j]!;
  return out;
}

export function accumulateSampleMeanRef(acc: HostTensor, index: number, t: HostTensor, scale: number): HostTensor {
  const sample = checkAccumulate(acc, index, t);
  const out = host(acc.shape, acc.data);
  for (let j = 0; j < sample; j++) {
    let s = 0;
    for (let k = 0; k < t.shape[0]!; k++) s += t.data[k * sample + j]!;
    out.data[index * sample + j] = acc.data[index * sample + j]! + scale * s;
  }
  return out;
}

export function channelSumRef(x: HostTensor): HostTensor {
  const [n, c, h, w] = nchw(x, 'channel sum reference');
  const out = host([n, h, w]);
  for (let s = 0; s < n; s++)
    for (let k = 0; k < c; k++)
      for (let p = 0; p < h * w; p++) out.data[s * h * w + p]! += x.data[(s * c + k) * h * w + p]!;
  return out;
}
