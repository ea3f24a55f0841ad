/**
 * The attribution methods' own kernels (shaders/attribution.wgsl), with their float64 references: Guided Grad-CAM's
 * per-pixel scaling, LRP's stabilized ratio, occlusion's patched copies, and the mixes of the deletion and insertion
 * curves. None is differentiated through.
 */
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, checkFinite, sameShape } from './common.js';
import { host, nchw, type HostTensor } from './host.js';

const shader = ['common', 'attribution'];
const constants = { WG: ELEMENTWISE_WG };
const kernels = {
  scaleByMap: defineKernel({
    shader,
    entry: 'scale_by_map',
    constants,
    paramsVar: 'per_pixel',
    params: { n: 'u32', channels: 'u32', plane: 'u32' },
    bindings: { x: 'read', map: 'read', out: 'read_write' },
  }),
  stabilizedRatio: defineKernel({
    shader,
    entry: 'stabilized_ratio',
    constants,
    paramsVar: 'stabilized',
    params: { n: 'u32', eps: 'f32' },
    bindings: { x: 'read', b: 'read', out: 'read_write' },
  }),
  occlude: defineKernel({
    shader,
    entry: 'occlude',
    constants,
    paramsVar: 'occlusion',
    params: { n: 'u32', sample: 'u32', plane: 'u32', width: 'u32', offset: 'u32', first: 'u32', side: 'u32', stride: 'u32', columns: 'u32' },
    bindings: { x: 'read', fill: 'read', out: 'read_write' },
  }),
  reveal: defineKernel({
    shader,
    entry: 'reveal_pixels',
    constants,
    paramsVar: 'reveal',
    params: { n: 'u32', sample: 'u32', plane: 'u32', offset: 'u32' },
    bindings: { from_image: 'read', to_image: 'read', rank: 'read', counts: 'read', out: 'read_write' },
  }),
};

/** x [N, C, H, W] times a map [N, H, W] on every channel. */
export function scaleByMap(x: Tensor, map: Tensor, name = 'scaled'): Tensor {
  const [n, c, h, w] = nchw(x, 'scale by map');
  check(map.shape.length === 3 && map.shape[0] === n && map.shape[1] === h && map.shape[2] === w, () => `scale by map: map ${fmtShape(map.shape)} is not [${n},${h},${w}]`);
  const out = Tensor.empty(x.gpu, x.shape, name);
  kernels.scaleByMap.dispatch(x.gpu, { bind: { x, map, out }, params: { n: out.size, channels: c, plane: h * w }, grid: { threads: out.size } });
  return out;
}

/** r / (z + ε·sign(z)), 0 where the denominator is 0 (LRP's stabilized ratio). */
export function stabilizedRatio(r: Tensor, z: Tensor, eps: number, name = 'ratio'): Tensor {
  sameShape(r, z, 'stabilized ratio');
  checkFinite(eps, 'stabilized ratio: eps');
  const out = Tensor.empty(r.gpu, r.shape, name);
  kernels.stabilizedRatio.dispatch(r.gpu, { bind: { x: r, b: z, out }, params: { n: out.size, eps }, grid: { threads: out.size } });
  return out;
}

/** The grid of square occlusion patches over an h × w image. */
export interface PatchGrid {
  patch: number;
  stride: number;
  rows: number;
  columns: number;
}

export function patchGrid(h: number, w: number, patch: number, stride: number): PatchGrid {
  check(Number.isInteger(patch) && patch > 0 && patch <= Math.min(h, w), () => `occlusion: patch ${patch} must be an integer in 1…${Math.min(h, w)}`);
  check(Number.isInteger(stride) && stride > 0, () => `occlusion: stride ${stride} must be a positive integer`);
  return { patch, stride, rows: Math.floor((h - patch) / stride) + 1, columns: Math.floor((w - patch) / stride) + 1 };
}

/** [count, C, H, W]: image `image` of x with patches first … first + count − 1 of `grid` filled with fill[c]. */
export function occluded(x: Tensor, image: number, grid: PatchGrid, first: number, count: number, fill: Tensor, name = 'occluded'): Tensor {
  const [n, c, h, w] = nchw(x, 'occlusion');
  check(Number.isInteger(image) && image >= 0 && image < n, () => `occlusion: image ${image} is not in the batch of ${n}`);
  check(fill.size === c, () => `occlusion: ${fill.size} fill values for ${c} channels`);
  check(first >= 0 && count > 0 && first + count <= grid.rows * grid.columns, () => `occlusion: patches ${first}…${first + count - 1} of ${grid.rows * grid.columns}`);
  const out = Tensor.empty(x.gpu, [count, c, h, w], name);
  kernels.occlude.dispatch(x.gpu, {
    bind: { x, fill, out },
    params: {
      n: out.size,
      sample: c * h * w,
      plane: h * w,
      width: w,
      offset: image * c * h * w,
      first,
      side: grid.patch,
      stride: grid.stride,
      columns: grid.columns,
    },
    grid: { threads: out.size },
  });
  return out;
}

/**
 * [K, C, H, W] mixes of image `image` of `from` and of `to`: copy k takes `to` at the pixels whose rank (a permutation
 * of 0 … H·W − 1, u32) is below counts[k] and `from` elsewhere.
 */
export function revealPixels(from: Tensor, to: Tensor, image: number, rank: GPUBuffer, counts: GPUBuffer, k: number, name = 'revealed'): Tensor {
  const [n, c, h, w] = nchw(from, 'reveal pixels');
  sameShape(from, to, 'reveal pixels');
  check(Number.isInteger(image) && image >= 0 && image < n, () => `reveal pixels: image ${image} is not in the batch of ${n}`);
  const out = Tensor.empty(from.gpu, [k, c, h, w], name);
  kernels.reveal.dispatch(from.gpu, {
    bind: { from_image: from, to_image: to, rank: { buffer: rank, size: h * w * 4 }, counts: { buffer: counts, size: k * 4 }, out },
    params: { n: out.size, sample: c * h * w, plane: h * w, offset: image * c * h * w },
    grid: { threads: out.size },
  });
  return out;
}

// ---- float64 references

export function scaleByMapRef(x: HostTensor, map: HostTensor): HostTensor {
  const [, c, h, w] = nchw(x, 'scale by map reference');
  return host(x.shape, x.data.map((v, i) => v * map.data[Math.floor(i / (c * h * w)) * h * w + (i % (h * w))]!));
}


export function stabilizedRatioRef(r: HostTensor, z: HostTensor, eps: number): HostTensor {
  return host(r.shape, r.data.map((v, i) => {
    const zi = z.data[i]!;
    const d = zi + (zi >= 0 ? eps : -eps);
    return d === 0 ? 0 : v / d;
  }));
}

export function occludedRef(x: HostTensor, image: number, grid: PatchGrid, first: number, count: number, fill: readonly number[]): HostTensor {
  const [, c, h, w] = nchw(x, 'occlusion reference');
  const out = host([count, c, h, w]);
  for (let k = 0; k < count; k++) {
    const patch = first + k;
    const top = Math.floor(patch / grid.columns) * grid.stride;
    const left = (patch % grid.columns) * grid.stride;
    for (let ch = 0; ch < c; ch++)
      for (let y = 0; y < h; y++)
        for (let xx = 0; xx < w; xx++) {
          const inside = y >= top && y < top + grid.patch && xx >= left && xx < left + grid.patch;
          out.data[((k * c + ch) * h + y) * w + xx] = inside ? fill[ch]! : x.data[((image * c + ch) * h + y) * w + xx]!;
        }
  }
  return out;
}

export function revealPixelsRef(from: HostTensor, to: HostTensor, image: number, rank: ArrayLike<number>, counts: readonly number[]): HostTensor {
  const [, c, h, w] = nchw(from, 'reveal pixels reference');
  const sample = c * h * w;
  const out = host([counts.length, c, h, w]);
  counts.forEach((count, k) => {
    for (let j = 0; j < sample; j++) {
      const shown = rank[j % (h * w)]! < count;
      out.data[k * sample + j] = (shown ? to : from).data[image * sample + j]!;
    }
  });
  return out;
}
