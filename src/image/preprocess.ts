/**
 * From a decoded image to the network's input, and back:
 *
 *   preprocess = Resize(224) → CenterCrop(224) → ToTensor → Normalize(mean, std)     (torchvision, on a PIL image)
 *   deprocess  = the inverse normalization, clamped to [0, 1], rounded to 8 bits
 *
 * Resize is PIL's BILINEAR resampling, which is *not* "sample the 4 nearest pixels": PIL treats resampling as
 * convolution with a triangle filter whose support grows with the downscale factor, so shrinking a photo 4× averages
 * over ~8 source pixels per output pixel (antialiasing) instead of skipping 3 of every 4. The network was trained on
 * images shrunk that way; aliased inputs measurably change its scores.
 *
 * PIL's pixel-centre convention: output pixel x covers source coordinates [x·s, (x+1)·s) with s = in/out, its centre
 * is c = (x + 0.5)·s, and source pixel i (centre i + 0.5) gets weight tri((i + 0.5 − c) / f), with f = max(s, 1)
 * and tri(t) = max(0, 1 − |t|); the weights of each output pixel are normalized to sum to 1, which also handles the
 * borders (pixels beyond the edge simply do not exist). The filter is separable: rows first, then columns.
 *
 * Deviation from PIL, on purpose: PIL resamples 8-bit images in fixed point and rounds to 8 bits after each of the
 * two passes; here everything stays float (a 16-bit PNG keeps its precision), so values differ from PIL's by at most
 * about one 8-bit level.
 *
 * Pure: runs the same in Node and in a browser.
 */
import { check } from '../gpu/errors.js';
import { checkImage, type RgbImage, type RgbImage8 } from './image.js';

export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];
export const INPUT_SIZE = 224;
/**
 * The largest side of a network input this preprocesses for: 4096² pixels of float RGB are 192 MiB, and the
 * resampling's intermediate image is larger still. A model that declares more (an input of 40000 × 40000 would ask
 * for 19 GB) is refused before any pixel is touched.
 */
export const MAX_INPUT_SIDE = 4096;

/**
 * What a model expects of a pixel p in [0, 1]: (p − mean_c) / std_c per channel c. A model written as scale and offset,
 * x = p·scale + offset (MobileNetV2: p·2 − 1), is the same with mean = −offset/scale and std = 1/scale.
 */
export interface Normalization {
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
}

/** torchvision's ImageNet normalization, which SqueezeNet 1.1 (and a model given without a description) takes. */
export const IMAGENET_NORMALIZATION: Normalization = { mean: IMAGENET_MEAN, std: IMAGENET_STD };

/** The box of one channel's values in model space: what a black pixel and a white one normalize to. */
export interface InputRange {
  lo: readonly [number, number, number];
  hi: readonly [number, number, number];
}

/**
 * The normalized values of a black and a white pixel per channel, (0 − mean)/std and (1 − mean)/std: the box an
 * optimized image (class visualization, path baselines) is kept in so that it stays a displayable picture.
 */
export function inputRange(n: Normalization): InputRange {
  const per = (v: number) => [0, 1, 2].map((c) => (v - n.mean[c]!) / n.std[c]!) as unknown as readonly [number, number, number];
  return { lo: per(0), hi: per(1) };
}

/** The ImageNet normalization's range (see inputRange). */
export const NORMALIZED_MIN = inputRange(IMAGENET_NORMALIZATION).lo;
export const NORMALIZED_MAX = inputRange(IMAGENET_NORMALIZATION).hi;

export interface PreprocessOptions {
  /** Side of the square network input. Default 224. */
  size?: number;
  /** The shorter side is resized to this before the center crop of `size` (default: `size`, no border cut off). */
  resize?: number;
  /** Default: ImageNet's mean/std. */
  normalization?: Normalization;
}

/**
 * Resize(resize) + CenterCrop(size) + Normalize, as CHW float32 values of shape [3, size, size], ready for
 * `Tensor.from(gpu, [1, 3, size, size], …)`.
 */
export function preprocess(img: RgbImage, options: PreprocessOptions = {}): Float32Array {
  const size = options.size ?? INPUT_SIZE;
  const resize = options.resize ?? size;
  check(Number.isInteger(size) && size > 0, () => `preprocess: size ${size} must be a positive integer`);
  check(size <= MAX_INPUT_SIDE, () => `preprocess: size ${size} is larger than the largest input side, ${MAX_INPUT_SIDE}`);
  check(
    Number.isInteger(resize) && resize >= size && resize <= MAX_INPUT_SIDE,
    () => `preprocess: resize ${resize} must be a whole number from the crop size ${size} to ${MAX_INPUT_SIDE}`,
  );
  checkImage(img, 3, 'preprocess');
  const [outW, outH] = shorterSideSize(img.width, img.height, resize);
  const [left, top] = centerCropOffsets(outW, outH, size, size);
  // Computing only the pixels the crop keeps gives the same numbers as resizing everything and cropping after:
  // each output pixel depends only on its own filter window.
  const resized = resample(img, outW, outH, left, top, size, size);
  return normalize(resized, options.normalization);
}

/**
 * torchvision's Resize(size) for an int size: the shorter side becomes `size`, the longer one
 * int(size · long / short) — truncated, as Python's int() does. Returns [width, height].
 */
export function shorterSideSize(width: number, height: number, size: number): [number, number] {
  if (width <= height) return [size, Math.trunc((size * height) / width)];
  return [Math.trunc((size * width) / height), size];
}

/** torchvision's center_crop offsets: round((H − h)/2), with Python's round (half to even). Returns [left, top]. */
export function centerCropOffsets(width: number, height: number, cropW: number, cropH: number): [number, number] {
  check(
    cropW <= width && cropH <= height,
    () => `centerCrop: a ${cropW}×${cropH} crop does not fit in a ${width}×${height} image`,
  );
  return [roundHalfEven((width - cropW) / 2), roundHalfEven((height - cropH) / 2)];
}

function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Resize to the shorter side `size`, as torchvision's Resize(size) on a PIL image. */
export function resizeShorterSide(img: RgbImage, size: number): RgbImage {
  checkImage(img, 3, 'resizeShorterSide');
  const [w, h] = shorterSideSize(img.width, img.height, size);
  return resizeBilinear(img, w, h);
}

/** PIL-style antialiased bilinear resize to outW × outH. Identity (a copy) when the size does not change. */
export function resizeBilinear(img: RgbImage, outW: number, outH: number): RgbImage {
  checkImage(img, 3, 'resizeBilinear');
  check(
    Number.isInteger(outW) && Number.isInteger(outH) && outW > 0 && outH > 0,
    () => `resizeBilinear: output size ${outW}×${outH} must be positive integers`,
  );
  return resample(img, outW, outH, 0, 0, outW, outH);
}

/** The cropW × cropH window at (left, top) of `img` as a new image. */
export function crop(img: RgbImage, left: number, top: number, cropW: number, cropH: number): RgbImage {
  checkImage(img, 3, 'crop');
  check(
    left >= 0 && top >= 0 && cropW > 0 && cropH > 0 && left + cropW <= img.width && top + cropH <= img.height,
    () => `crop: window ${cropW}×${cropH} at (${left}, ${top}) is not inside a ${img.width}×${img.height} image`,
  );
  const out = new Float32Array(cropW * cropH * 3);
  for (let y = 0; y < cropH; y++) {
    const from = ((top + y) * img.width + left) * 3;
    out.set(img.data.subarray(from, from + cropW * 3), y * cropW * 3);
  }
  return { width: cropW, height: cropH, data: out };
}

/** CenterCrop(cropW, cropH), torchvision's offsets. */
export function centerCrop(img: RgbImage, cropW: number, cropH: number): RgbImage {
  const [left, top] = centerCropOffsets(img.width, img.height, cropW, cropH);
  return crop(img, left, top, cropW, cropH);
}

/**
 * HWC [0, 1] → CHW (x − mean) / std, computed in float32 step by step exactly as torchvision's Normalize does on a
 * float32 tensor (x − mean rounded to float32, then ÷ std rounded to float32; evaluating each step in float64 and
 * rounding once gives the float32 result exactly), so the network sees the same bits as under PyTorch.
 */
export function normalize(img: RgbImage, normalization: Normalization = IMAGENET_NORMALIZATION): Float32Array {
  checkImage(img, 3, 'normalize');
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = Math.fround(normalization.mean[c]!);
    const std = Math.fround(normalization.std[c]!);
    for (let p = 0; p < plane; p++) out[c * plane + p] = Math.fround(img.data[3 * p + c]! - mean) / std;
  }
  return out;
}

export interface DeprocessOptions {
  /**
   * Stretch the un-normalized image so that its minimum is 0 and its maximum 1 before quantizing, as CS231n's
   * deprocess(should_rescale=True) does for class visualizations. Default false: clamp to [0, 1].
   */
  rescale?: boolean;
  /** Default: ImageNet's mean/std. */
  normalization?: Normalization;
}

/** CHW normalized values (one image, [3, height, width]) → 8-bit RGB: x·std + mean (options.normalization), clamped to [0, 1], rounded. */
export function deprocess(chw: ArrayLike<number>, height: number, width: number, options: DeprocessOptions = {}): RgbImage8 {
  check(
    Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0,
    () => `deprocess: size ${width}×${height} must be positive integers`,
  );
  const plane = height * width;
  check(chw.length === 3 * plane, () => `deprocess: ${chw.length} values for a [3,${height},${width}] image`);
  const { mean, std } = options.normalization ?? IMAGENET_NORMALIZATION;
  const rgb = new Float64Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) rgb[3 * p + c] = chw[c * plane + p]! * std[c]! + mean[c]!;
  }
  let lo = 0;
  let hi = 1;
  if (options.rescale) {
    lo = Infinity;
    hi = -Infinity;
    for (const v of rgb) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (!(hi > lo)) hi = lo + 1; // a constant image: any stretch is as good; keep it finite
  }
  check(Number.isFinite(lo) && Number.isFinite(hi), 'deprocess: the image has non-finite values');
  const out = new Uint8ClampedArray(3 * plane);
  for (let i = 0; i < rgb.length; i++) {
    const v = (rgb[i]! - lo) / (hi - lo);
    check(!Number.isNaN(v), 'deprocess: the image has NaN values');
    out[i] = Math.round(Math.min(1, Math.max(0, v)) * 255);
  }
  return { width, height, data: out };
}

/** The source pixels and normalized filter weights of each output pixel along one axis. */
interface AxisFilter {
  /** First source index of output pixel o. */
  first: Int32Array;
  /** Number of source pixels of output pixel o. */
  count: Int32Array;
  /** weights[o · taps + k] multiplies source pixel first[o] + k. */
  weights: Float64Array;
  taps: number;
}

/** PIL's bilinear filter: the triangle tri(t) = max(0, 1 − |t|), support 1. */
function triangle(t: number): number {
  const a = Math.abs(t);
  return a < 1 ? 1 - a : 0;
}

/**
 * The weights of output pixels [o0, o0 + n) when an axis of `inSize` pixels is resampled to `outSize`, as PIL's
 * precompute_coeffs computes them (Resample.c): window [trunc(c − r + 0.5), trunc(c + r + 0.5)) clipped to the
 * image, with r = f the support scaled by the downscale factor.
 */
function axisFilter(inSize: number, outSize: number, o0: number, n: number): AxisFilter {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1); // upscaling interpolates; only shrinking widens the filter
  const support = 1 * filterScale;
  const invFilterScale = 1 / filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(n);
  const count = new Int32Array(n);
  const weights = new Float64Array(n * taps);
  for (let j = 0; j < n; j++) {
    const center = (o0 + j + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(center - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(center + support + 0.5));
    let sum = 0;
    for (let i = lo; i < hi; i++) {
      const w = triangle((i - center + 0.5) * invFilterScale);
      weights[j * taps + (i - lo)] = w;
      sum += w;
    }
    if (sum !== 0) for (let k = 0; k < hi - lo; k++) weights[j * taps + k]! /= sum;
    first[j] = lo;
    count[j] = hi - lo;
  }
  return { first, count, weights, taps };
}

/**
 * The window [left, left + w) × [top, top + h) of `img` resized to outW × outH. Rows are filtered first (as PIL
 * does), only over the source rows the vertical pass will read; an axis whose size does not change is copied, not
 * filtered, so that an image already at its size passes through bit for bit.
 */
function resample(img: RgbImage, outW: number, outH: number, left: number, top: number, w: number, h: number): RgbImage {
  const inW = img.width;
  const inH = img.height;
  const sameW = outW === inW;
  const sameH = outH === inH;
  const fx = sameW ? null : axisFilter(inW, outW, left, w);
  const fy = sameH ? null : axisFilter(inH, outH, top, h);
  // Source rows needed by the vertical pass.
  const rowLo = fy ? fy.first[0]! : top;
  const rowHi = fy ? fy.first[h - 1]! + fy.count[h - 1]! : top + h;

  // Horizontal pass: source rows [rowLo, rowHi) → w columns, in float64.
  const rows = rowHi - rowLo;
  const tmp = new Float64Array(rows * w * 3);
  for (let r = 0; r < rows; r++) {
    const src = (rowLo + r) * inW * 3;
    const dst = r * w * 3;
    for (let x = 0; x < w; x++) {
      if (!fx) {
        for (let c = 0; c < 3; c++) tmp[dst + 3 * x + c] = img.data[src + 3 * (left + x) + c]!;
        continue;
      }
      let r0 = 0;
      let g0 = 0;
      let b0 = 0;
      const i0 = fx.first[x]!;
      const base = x * fx.taps;
      for (let k = 0; k < fx.count[x]!; k++) {
        const wk = fx.weights[base + k]!;
        const s = src + 3 * (i0 + k);
        r0 += wk * img.data[s]!;
        g0 += wk * img.data[s + 1]!;
        b0 += wk * img.data[s + 2]!;
      }
      tmp[dst + 3 * x] = r0;
      tmp[dst + 3 * x + 1] = g0;
      tmp[dst + 3 * x + 2] = b0;
    }
  }

  // Vertical pass: h output rows from the filtered rows.
  const out = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const dst = y * w * 3;
    if (!fy) {
      const from = (top + y - rowLo) * w * 3;
      for (let i = 0; i < w * 3; i++) out[dst + i] = tmp[from + i]!;
      continue;
    }
    const j0 = fy.first[y]! - rowLo;
    const base = y * fy.taps;
    for (let i = 0; i < w * 3; i++) {
      let acc = 0;
      for (let k = 0; k < fy.count[y]!; k++) acc += fy.weights[base + k]! * tmp[(j0 + k) * w * 3 + i]!;
      out[dst + i] = acc;
    }
  }
  return { width: w, height: h, data: out };
}
