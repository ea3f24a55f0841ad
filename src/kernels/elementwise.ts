/**
 * Element-wise arithmetic on whole tensors (shaders/elementwise.wgsl): the glue of the tape (gradient accumulation)
 * and of the techniques' update steps.
 */
import { f32, u32 } from '../gpu/device.js';
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, checkFinite, sameDevice, sameShape } from './common.js';
import { host, nchw, type HostTensor } from './host.js';

const shader = ['common', 'elementwise'];
const constants = { WG: ELEMENTWISE_WG };
const kernels = {
  add: defineKernel({ shader, entry: 'add', constants, paramsVar: 'count', params: { n: 'u32' }, bindings: { a: 'read', b: 'read', out: 'read_write' } }),
  add4: defineKernel({ shader, entry: 'add4', constants, paramsVar: 'count', params: { n: 'u32' }, bindings: { a4: 'read', b4: 'read', out4: 'read_write' } }),
  scale: defineKernel({ shader, entry: 'scale', constants, paramsVar: 'scaled', params: { n: 'u32', alpha: 'f32' }, bindings: { a: 'read', out: 'read_write' } }),
  axpy: defineKernel({ shader, entry: 'axpy_in_place', constants, paramsVar: 'scaled', params: { n: 'u32', alpha: 'f32' }, bindings: { a: 'read', out: 'read_write' } }),
  axpyByNorm: defineKernel({
    shader,
    entry: 'axpy_by_norm_in_place',
    constants,
    paramsVar: 'step',
    params: { n: 'u32', lr: 'f32', eps: 'f32' },
    bindings: { a: 'read', norm: 'read', out: 'read_write' },
  }),
  clampChannels: defineKernel({
    shader,
    entry: 'clamp_channels_in_place',
    constants,
    paramsVar: 'count',
    params: { n: 'u32' },
    bindings: { bounds: 'uniform', out: 'read_write' },
  }),
  gatherOrZero: defineKernel({
    shader,
    entry: 'gather_or_zero',
    constants,
    paramsVar: 'count',
    params: { n: 'u32' },
    bindings: { a: 'read', index_map: 'read', out: 'read_write' },
  }),
};

/** The value of gather_or_zero's map that reads as 0 (NO_SOURCE in the shader). */
export const NO_SOURCE = 0xffffffff;

/** a + b. Backward: d(a+b)/da = d(a+b)/db = 1, so both inputs receive dy unchanged. */
export function add(a: Tensor, b: Tensor, name = 'add'): Tensor {
  sameShape(a, b, 'add');
  const gpu = sameDevice([a, b], 'add');
  const out = Tensor.empty(gpu, a.shape, name);
  if (a.size % 4 === 0) {
    const n = a.size / 4;
    kernels.add4.dispatch(gpu, { bind: { a4: a, b4: b, out4: out }, params: { n }, grid: { threads: n } });
  } else {
    kernels.add.dispatch(gpu, { bind: { a, b, out }, params: { n: a.size }, grid: { threads: a.size } });
  }
  return out;
}

export function addRef(a: HostTensor, b: HostTensor): HostTensor {
  return host(a.shape, a.data.map((v, i) => v + b.data[i]!));
}

/** s · x, a new tensor. Backward: d(s·x)/dx = s, so dx = s · dy (this same kernel). */
export function scale(x: Tensor, s: number, name = 'scale'): Tensor {
  checkFinite(s, 'scale factor');
  const out = Tensor.empty(x.gpu, x.shape, name);
  kernels.scale.dispatch(x.gpu, { bind: { a: x, out }, params: { n: x.size, alpha: s }, grid: { threads: x.size } });
  return out;
}

/** y += alpha · x, in place (a gradient step). */
export function axpyInPlace(y: Tensor, alpha: number, x: Tensor): void {
  sameShape(y, x, 'axpy');
  checkFinite(alpha, 'axpy alpha');
  const gpu = sameDevice([y, x], 'axpy');
  kernels.axpy.dispatch(gpu, { bind: { a: x, out: y }, params: { n: y.size, alpha }, grid: { threads: y.size } });
}

/**
 * y += lr / (norm[0] + eps) · x, in place, where `norm` is a 1-element GPU tensor — the fooling step
 * X += lr · g / ‖g‖₂ with ‖g‖₂ from `l2Norm(g)` (src/kernels/reduce.ts), never read back to the CPU.
 */
export function axpyByNormInPlace(y: Tensor, lr: number, x: Tensor, norm: Tensor, eps = 1e-12): void {
  sameShape(y, x, 'axpy by norm');
  check(norm.size === 1, () => `axpy by norm: the norm must be a 1-element tensor, got ${fmtShape(norm.shape)}`);
  checkFinite(lr, 'axpy by norm lr');
  check(Number.isFinite(eps) && eps >= 0, () => `axpy by norm: eps ${eps} must be a finite number ≥ 0`);
  const gpu = sameDevice([y, x, norm], 'axpy by norm');
  kernels.axpyByNorm.dispatch(gpu, { bind: { a: x, norm, out: y }, params: { n: y.size, lr, eps }, grid: { threads: y.size } });
}

/** Channels the clamp's uniform holds (MAX_CLAMP_CHANNELS in the shader). */
export const MAX_CLAMP_CHANNELS = 64;

/** x[n,c,h,w] = clamp(x[n,c,h,w], lo[c], hi[c]) in place, for an NCHW tensor. */
export function clampChannelsInPlace(x: Tensor, lo: readonly number[], hi: readonly number[]): void {
  const [, c, h, w] = checkClampChannels(x.shape, lo, hi);
  // The bounds travel in an immutable uniform cached by content: the same lo/hi every iteration create no buffer and
  // need no upload (a storage buffer written each call would force a submit first, see Gpu.write).
  const pad = (v: readonly number[]): number[] => [...v, ...new Array<number>(MAX_CLAMP_CHANNELS - v.length).fill(0)];
  // ChannelBounds: channels, plane, two words of padding (the vec4 arrays start at byte 16), lo, hi.
  const bounds = x.gpu.uniform([u32(c), u32(h * w), u32(0), u32(0), ...pad(lo).map(f32), ...pad(hi).map(f32)]);
  kernels.clampChannels.dispatch(x.gpu, { bind: { bounds, out: x }, params: { n: x.size }, grid: { threads: x.size } });
}

function checkClampChannels(shape: Shape, lo: readonly number[], hi: readonly number[]): [number, number, number, number] {
  const dims = nchw({ shape }, 'clamp channels');
  const c = dims[1];
  check(lo.length === c && hi.length === c, () => `clamp channels: ${lo.length} lows and ${hi.length} highs for ${c} channels`);
  check(c <= MAX_CLAMP_CHANNELS, () => `clamp channels: ${c} channels, more than the ${MAX_CLAMP_CHANNELS} supported`);
  for (let k = 0; k < c; k++) {
    check(
      Number.isFinite(lo[k]) && Number.isFinite(hi[k]) && lo[k]! <= hi[k]!,
      () => `clamp channels: channel ${k} has bounds [${lo[k]}, ${hi[k]}], not finite numbers with lo ≤ hi`,
    );
  }
  return dims;
}

export function scaleRef(x: HostTensor, s: number): HostTensor {
  return host(x.shape, x.data.map((v) => s * v));
}

export function axpyRef(y: HostTensor, alpha: number, x: HostTensor): HostTensor {
  return host(y.shape, y.data.map((v, i) => v + alpha * x.data[i]!));
}

export function axpyByNormRef(y: HostTensor, lr: number, x: HostTensor, norm: number, eps = 1e-12): HostTensor {
  return axpyRef(y, lr / (norm + eps), x);
}

/** out[i] = src[map[i]], or 0 where map[i] is NO_SOURCE: a rearrangement of a tensor by a map made on the CPU. */
export function gatherOrZero(src: Tensor, map: GPUBuffer, n: number, name = 'gathered'): Tensor {
  const out = Tensor.empty(src.gpu, [n], name);
  kernels.gatherOrZero.dispatch(src.gpu, { bind: { a: src, index_map: { buffer: map, size: n * 4 }, out }, params: { n }, grid: { threads: n } });
  return out;
}

export function clampChannelsRef(x: HostTensor, lo: readonly number[], hi: readonly number[]): HostTensor {
  const [n, c, h, w] = checkClampChannels(x.shape, lo, hi);
  const out = host(x.shape);
  for (let s = 0; s < n; s++)
    for (let k = 0; k < c; k++)
      for (let i = 0; i < h * w; i++) {
        const at = (s * c + k) * h * w + i;
        out.data[at] = Math.min(Math.max(x.data[at]!, lo[k]!), hi[k]!);
      }
  return out;
}
