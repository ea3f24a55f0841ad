/**
 * Image kernels on NCHW tensors (shaders/image.wgsl), the class visualization's regularizers:
 *
 * - roll (jitter): a circular shift by (ox, oy) pixels along W and H, numpy.roll / torch.roll semantics:
 *   out[.., (h + oy) mod H, (w + ox) mod W] = x[.., h, w]. Backward: roll by (−ox, −oy) (derivation in the shader).
 * - Gaussian blur: CS231n's blur_image, i.e. scipy.ndimage.gaussian_filter1d along H, then along W, with scipy's
 *   defaults — truncate = 4 (radius = int(4σ + 0.5)), weights exp(−x²/2σ²) normalized to sum 1, mode 'reflect'.
 *   The weights are computed here in float64 and handed to the shader in a small storage buffer.
 */
import { check } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor } from '../gpu/tensor.js';
import { host, nchw, type HostTensor } from './host.js';

/** Invocations per workgroup along W (TILE_W in the shader); H and the planes run along the grid's y and z. */
const TILE_W = 64;
const kernels = {
  roll: defineKernel({
    shader: 'image',
    entry: 'roll',
    constants: { TILE_W },
    params: { height: 'u32', width: 'u32', shift_h: 'u32', shift_w: 'u32', planes: 'u32' },
    bindings: { x: 'read', out: 'read_write' },
  }),
  blur: defineKernel({
    shader: 'image',
    entry: 'gaussian_blur_1d',
    constants: { TILE_W },
    paramsVar: 'blur',
    params: { height: 'u32', width: 'u32', radius: 'u32', planes: 'u32' },
    bindings: { x: 'read', weights: 'read', out: 'read_write' },
  }),
};

/** An offset reduced to [0, n): numpy.roll accepts any integer, negative or larger than the axis. */
function wrap(offset: number, n: number): number {
  return ((offset % n) + n) % n;
}

function checkOffsets(ox: number, oy: number): void {
  check(Number.isInteger(ox) && Number.isInteger(oy), () => `roll: offsets (${ox}, ${oy}) must be integers`);
}

/** out = x rolled by ox pixels along W and oy along H (circularly), a new tensor. */
export function roll(x: Tensor, ox: number, oy: number, name = 'roll'): Tensor {
  const [, , h, w] = nchw(x, 'roll');
  checkOffsets(ox, oy);
  const out = Tensor.empty(x.gpu, x.shape, name);
  kernels.roll.dispatch(x.gpu, {
    bind: { x, out },
    params: { height: h, width: w, shift_h: wrap(oy, h), shift_w: wrap(ox, w), planes: x.size / (h * w) },
    grid: imageGrid(x),
  });
  return out;
}

/** The backward of roll(x, ox, oy): dx = roll(dy, −ox, −oy). */
export function rollBackward(dy: Tensor, ox: number, oy: number): Tensor {
  return roll(dy, -ox, -oy, 'roll.dx');
}

/** scipy's Gaussian taps for `sigma`: radius int(4σ + 0.5), exp(−x²/2σ²) for x = −radius..radius, summing to 1. */
export function gaussianWeights(sigma: number): number[] {
  check(typeof sigma === 'number' && Number.isFinite(sigma) && sigma > 0, () => `gaussian blur: sigma ${sigma} must be a finite number > 0`);
  const radius = Math.floor(4 * sigma + 0.5);
  const taps: number[] = [];
  for (let k = -radius; k <= radius; k++) taps.push(Math.exp((-0.5 * k * k) / (sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / total);
}

/** The grid of the image kernels: TILE_W × 1 tiles over (W, H), the planes along z (see shaders/image.wgsl). */
function imageGrid(x: Tensor): [number, number, number] {
  const [n, c, h, w] = nchw(x, 'image kernel');
  const limit = x.gpu.limits.maxComputeWorkgroupsPerDimension;
  check(h <= limit, () => `image kernel: height ${h} exceeds this device's grid (${limit})`);
  return [Math.ceil(w / TILE_W), h, Math.min(n * c, limit)];
}

/** One axis of the blur, x → out (distinct tensors). */
function blurAxis(x: Tensor, out: Tensor, weights: GPUBuffer, taps: number, alongW: boolean): void {
  const [, , h, w] = nchw(x, 'gaussian blur');
  kernels.blur.dispatch(x.gpu, {
    label: `image.gaussian_blur_1d(${alongW ? 'W' : 'H'})`,
    bind: { x, weights, out },
    params: { height: h, width: w, radius: (taps - 1) / 2, planes: x.size / (h * w) },
    grid: imageGrid(x),
    constants: { ALONG_W: alongW ? 1 : 0 },
  });
}

/**
 * The two passes, x → (along H) → temporary → (along W) → `into`, which may be x itself. The taps travel in an
 * immutable buffer cached by content: blurring every few iterations uploads nothing after the first time.
 */
function blurInto(x: Tensor, taps: number[], into: Tensor): void {
  const weights = x.gpu.constantBuffer(new Uint32Array(Float32Array.from(taps).buffer), 'gaussian taps');
  const alongH = Tensor.empty(x.gpu, x.shape, 'gaussian.along_h');
  blurAxis(x, alongH, weights, taps.length, false);
  blurAxis(alongH, into, weights, taps.length, true);
  alongH.dispose();
}

/** x blurred by a Gaussian of standard deviation `sigma` pixels along H then W, a new tensor. */
export function gaussianBlur(x: Tensor, sigma: number, name = 'blur'): Tensor {
  nchw(x, 'gaussian blur');
  const taps = gaussianWeights(sigma); // rejects a bad sigma before anything is allocated
  const out = Tensor.empty(x.gpu, x.shape, name);
  blurInto(x, taps, out);
  return out;
}

/** The same blur, written back into x. */
export function gaussianBlurInPlace(x: Tensor, sigma: number): void {
  nchw(x, 'gaussian blur');
  blurInto(x, gaussianWeights(sigma), x);
}

// ---- float64 references -------------------------------------------------------------------------------------------

export function rollRef(x: HostTensor, ox: number, oy: number): HostTensor {
  const [n, c, h, w] = nchw(x, 'roll reference');
  checkOffsets(ox, oy);
  const out = host(x.shape);
  for (let s = 0; s < n * c; s++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) out.data[s * h * w + wrap(i + oy, h) * w + wrap(j + ox, w)] = x.data[s * h * w + i * w + j]!;
  return out;
}

/** scipy.ndimage's 'reflect' extension of index i for a line of n samples (d c b a | a b c d | d c b a). */
export function reflectIndex(i: number, n: number): number {
  const j = wrap(i, 2 * n);
  return j < n ? j : 2 * n - 1 - j;
}

/** gaussian_filter1d(x, sigma, axis=2) then axis=3, as scipy computes it (in float64). */
export function gaussianBlurRef(x: HostTensor, sigma: number): HostTensor {
  const [n, c, h, w] = nchw(x, 'gaussian blur reference');
  const taps = gaussianWeights(sigma);
  const r = (taps.length - 1) / 2;
  const alongH = host(x.shape);
  const out = host(x.shape);
  for (let s = 0; s < n * c; s++) {
    const plane = s * h * w;
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        let acc = 0;
        for (let k = -r; k <= r; k++) acc += taps[k + r]! * x.data[plane + reflectIndex(i + k, h) * w + j]!;
        alongH.data[plane + i * w + j] = acc;
      }
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        let acc = 0;
        for (let k = -r; k <= r; k++) acc += taps[k + r]! * alongH.data[plane + i * w + reflectIndex(j + k, w)]!;
        out.data[plane + i * w + j] = acc;
      }
  }
  return out;
}
