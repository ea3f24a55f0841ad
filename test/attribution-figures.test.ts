/** Attribution figures (src/techniques/attribution/figures.ts): each map drawn as its values call for. Pure CPU. */
import { describe, expect, it } from 'vitest';
import { PixelpropError } from '../src/gpu/errors.js';
import { colorOf } from '../src/image/colormap.js';
import type { RgbImage8 } from '../src/image/image.js';
import { comparisonFigure, drawMap, overlay, randomizationFigure } from '../src/techniques/attribution/figures.js';

const photo = (w: number, h: number, rgb: [number, number, number]): RgbImage8 => {
  const data = new Uint8ClampedArray(w * h * 3);
  for (let p = 0; p < w * h; p++) data.set(rgb, 3 * p);
  return { width: w, height: h, data };
};
const pixel = (img: RgbImage8, p: number): number[] => Array.from(img.data.subarray(3 * p, 3 * p + 3));

describe('attribution figures', () => {
  it('a CAM is jet over the photo, half and half; a magnitude is hot; a signed map is bwr around white', () => {
    const grey = photo(2, 1, [100, 100, 100]);
    const cam = overlay(grey, [0, 4]);
    expect(pixel(cam, 0)).toEqual(colorOf('jet', 0).map((c) => Math.round(0.5 * 100 + 0.5 * c)));
    expect(pixel(cam, 1)).toEqual(colorOf('jet', 1).map((c) => Math.round(0.5 * 100 + 0.5 * c)));
    expect(pixel(drawMap('gradcam', grey, [0, 4]), 1)).toEqual(pixel(cam, 1));
    expect(pixel(drawMap('vanilla', grey, [0, 4]), 1)).toEqual([255, 255, 255]);
    const signed = drawMap('integrated-gradients', grey, [-2, 0]);
    expect(pixel(signed, 0)).toEqual(colorOf('bwr', 0));
    expect(pixel(signed, 1)).toEqual(colorOf('bwr', 0.5));
  });

  it('the comparison is images × (photo + methods); the randomization grid methods × (trained + steps)', () => {
    const p = photo(8, 8, [0, 0, 0]);
    const map = new Float32Array(64).fill(1);
    const one = comparisonFigure([{ photo: p, caption: 'cat', maps: [{ method: 'vanilla', map }] }]);
    const three = comparisonFigure([{ photo: p, caption: 'cat', maps: ['vanilla', 'gradcam', 'lrp-zplus'].map((method) => ({ method, map })) }]);
    expect(three.width).toBeGreaterThan(one.width);
    expect(three.height).toBe(one.height);
    const grid = randomizationFigure(p, ['vanilla', 'gradcam'], ['fc', 'conv'], [[map, map, map], [map, map, map]]);
    expect(grid.height).toBeGreaterThan(three.height);
    expect(() => randomizationFigure(p, ['vanilla'], ['fc', 'conv'], [[map, map]])).toThrow(PixelpropError);
    expect(() => drawMap('gradcamm', p, map)).toThrow(/closest: gradcam/);
    expect(() => drawMap('vanilla', p, new Float32Array(3))).toThrow(/3 values for a 8×8 photo/);
  });
});
