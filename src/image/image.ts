/**
 * The two image types between files and tensors, and the conversions between them.
 *
 * - `RgbImage`: what decoding gives and preprocessing takes — float RGB in [0, 1], rows top to bottom, pixels
 *   interleaved (HWC). Float so that a 16-bit PNG keeps its precision all the way to the network's input.
 * - `RgbImage8`: what figures, deprocessing and PNG writing deal in — 8-bit RGB, HWC, the way screens and files
 *   store pixels.
 *
 * Both drop alpha (see node-io.ts for why), so a pixel is always three numbers.
 */
import { check } from '../gpu/errors.js';

export interface RgbImage {
  width: number;
  height: number;
  /** width · height · 3 values in [0, 1], HWC. */
  data: Float32Array;
}

export interface RgbImage8 {
  width: number;
  height: number;
  /** width · height · 3 bytes, HWC. */
  data: Uint8ClampedArray;
}

/** An 8-bit colour, [r, g, b] in 0…255. */
export type Rgb = readonly [number, number, number];

/** Throws unless width and height are positive integers and `data` holds width · height · `channels` values. */
export function checkImage(img: { width: number; height: number; data: ArrayLike<number> }, channels: number, what: string): void {
  check(
    Number.isInteger(img.width) && Number.isInteger(img.height) && img.width > 0 && img.height > 0,
    () => `${what}: image size ${img.width}×${img.height} must be positive integers`,
  );
  check(
    img.data.length === img.width * img.height * channels,
    () => `${what}: ${img.data.length} values for a ${img.width}×${img.height} image with ${channels} channels`,
  );
}

export function rgbImage(width: number, height: number, data?: Float32Array): RgbImage {
  const img = { width, height, data: data ?? new Float32Array(width * height * 3) };
  checkImage(img, 3, 'rgbImage');
  return img;
}

export function rgbImage8(width: number, height: number, data?: Uint8ClampedArray): RgbImage8 {
  const img = { width, height, data: data ?? new Uint8ClampedArray(width * height * 3) };
  checkImage(img, 3, 'rgbImage8');
  return img;
}

/** Float [0, 1] → bytes, rounding to the nearest level (values outside [0, 1] are clamped). */
export function toUint8(img: RgbImage): RgbImage8 {
  checkImage(img, 3, 'toUint8');
  const out = new Uint8ClampedArray(img.data.length);
  // Uint8ClampedArray rounds half to even; Math.round(v·255) is the conventional rounding, so do it explicitly.
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, img.data[i]!)) * 255);
  return { width: img.width, height: img.height, data: out };
}

/** Bytes → float [0, 1]: v / 255, exactly what torchvision's ToTensor does. */
export function toFloat(img: RgbImage8): RgbImage {
  checkImage(img, 3, 'toFloat');
  const out = new Float32Array(img.data.length);
  for (let i = 0; i < out.length; i++) out[i] = img.data[i]! / 255;
  return { width: img.width, height: img.height, data: out };
}

/** RGB → RGBA with opaque alpha: what a canvas's ImageData and some encoders want. */
export function toRgba(img: RgbImage8): Uint8ClampedArray<ArrayBuffer> {
  checkImage(img, 3, 'toRgba');
  const n = img.width * img.height;
  const out = new Uint8ClampedArray(n * 4);
  for (let p = 0; p < n; p++) {
    out[4 * p] = img.data[3 * p]!;
    out[4 * p + 1] = img.data[3 * p + 1]!;
    out[4 * p + 2] = img.data[3 * p + 2]!;
    out[4 * p + 3] = 255;
  }
  return out;
}

/** RGBA bytes → RGB, dropping alpha (the colour under a transparent pixel is kept as stored). */
export function fromRgba(width: number, height: number, rgba: ArrayLike<number>): RgbImage8 {
  checkImage({ width, height, data: rgba }, 4, 'fromRgba');
  const n = width * height;
  const out = new Uint8ClampedArray(n * 3);
  for (let p = 0; p < n; p++) {
    out[3 * p] = rgba[4 * p]!;
    out[3 * p + 1] = rgba[4 * p + 1]!;
    out[3 * p + 2] = rgba[4 * p + 2]!;
  }
  return { width, height, data: out };
}
