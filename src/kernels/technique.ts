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
import { f32, u32, type Param } from '../gpu/device.js';
import { check, fmtShape } from '../gpu/errors.js';
import { Tensor, sizeOf } from '../gpu/tensor.js';
import { runElementwise, sameDevice, sameShape } from './common.js';
import { host, nchw, type HostTensor } from './host.js';

/** The Params struct of shaders/technique.wgsl, always whole (a uniform shorter than the struct fails validation). */
function params(n: number, count = 0, stride = 0, offset = 0, alpha = 0): Param[] {
  return [u32(n), u32(count), u32(stride), u32(offset), f32(alpha)];
}

function checkFinite(v: number, what: string): void {
  check(typeof v === 'number' && Number.isFinite(v), () => `${what} ${v} is not a finite number`);
}

/** max over channels of |x|: [N, C, H, W] → [N, H, W]. */
export function channelAbsMax(x: Tensor, name = 'channel_abs_max'): Tensor {
  const [n, c, h, w] = nchw(x, 'channel abs max');
  const out = Tensor.empty(x.gpu, [n, h, w], name);
  runElementwise(x.gpu, 'technique', 'channel_abs_max', out.size, params(out.size, c, h * w), [x, undefined, out]);
  return out;
}

/** a ⊙ b, a new tensor. */
export function multiply(a: Tensor, b: Tensor, name = 'multiply'): Tensor {
  sameShape(a, b, 'multiply');
  const gpu = sameDevice([a, b], 'multiply');
  const out = Tensor.empty(gpu, a.shape, name);
  runElementwise(gpu, 'technique', 'multiply', a.size, params(a.size), [a, b, out]);
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
  runElementwise(gpu, 'technique', 'noisy_copies', out.size, params(out.size, 0, sample, image * sample, std), [x, noise, out]);
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
  const spec = params(sample, t.shape[0], sample, index * sample, scale);
  runElementwise(gpu, 'technique', 'accumulate_sample_mean', sample, spec, [t, undefined, acc]);
}

/** x ← s · x, in place (its reference is elementwise.ts's scaleRef). */
export function scaleInPlace(x: Tensor, s: number): void {
  checkFinite(s, 'scale in place: factor');
  runElementwise(x.gpu, 'technique', 'scale_in_place', x.size, params(x.size, 0, 0, 0, s), [undefined, undefined, x]);
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
