/** 8-bit RGB test bitmaps for the figure tests: a solid image, and one pixel read back. */
import type { RgbImage8 } from '../src/image/image.js';

export function solid(width: number, height: number, color: readonly number[]): RgbImage8 {
  const data = new Uint8ClampedArray(width * height * 3);
  for (let p = 0; p < width * height; p++) data.set(color, 3 * p);
  return { width, height, data };
}

export function pixel(img: RgbImage8, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}
