/**
 * The figures of src/techniques/figures.ts and the demo page: where the images, maps and captions land, the
 * difference image around the ImageNet mean colour, and an HTML page that escapes what it shows. Pure CPU.
 */
import { describe, expect, it } from 'vitest';
import { indexHtml } from '../src/cli/demo.js';
import { PixelpropError } from '../src/gpu/errors.js';
import { colorOf } from '../src/image/colormap.js';
import { IMAGENET_MEAN } from '../src/image/preprocess.js';
import { classVisualizationFigure, differenceImage, foolingFigure, saliencyFigure } from '../src/techniques/figures.js';
import { pixel, solid } from './bitmaps.js';

const MEAN_COLOUR = IMAGENET_MEAN.map((m) => Math.round(m * 255)); // (124, 116, 104)

describe('difference image (deprocess of X_fooling − X, as CS231n shows it)', () => {
  it('no change is the ImageNet mean colour; a change of d levels moves it by d·magnify', () => {
    const a = solid(3, 2, [100, 100, 100]);
    const b = solid(3, 2, [100, 100, 100]);
    b.data.set([103, 98, 100], 0); // pixel (0, 0): +3, −2, 0
    const diff = differenceImage(a, b);
    expect(pixel(diff, 1, 1)).toEqual(MEAN_COLOUR);
    expect(pixel(diff, 0, 0)).toEqual([MEAN_COLOUR[0]! + 3, MEAN_COLOUR[1]! - 2, MEAN_COLOUR[2]!]);
    const magnified = differenceImage(a, b, 10);
    expect(pixel(magnified, 0, 0)).toEqual([MEAN_COLOUR[0]! + 30, MEAN_COLOUR[1]! - 20, MEAN_COLOUR[2]!]);
    expect(pixel(differenceImage(a, solid(3, 2, [255, 0, 255]), 10), 2, 1)).toEqual([255, 0, 255]); // clamped
  });

  it('rejects images of different sizes', () => {
    expect(() => differenceImage(solid(2, 2, [0, 0, 0]), solid(3, 2, [0, 0, 0]))).toThrow(PixelpropError);
  });
});

describe('figures', () => {
  it('saliency: photos on top, hot maps below (black at 0, white at the maximum), captions under the photos', () => {
    const photos = [
      { image: solid(8, 8, [0, 0, 255]), caption: 'hay' },
      { image: solid(8, 8, [0, 255, 0]), caption: 'quail' },
    ];
    const maps = new Float32Array(2 * 64);
    maps[63] = 2; // image 0: one bright pixel at (7, 7)
    maps.fill(1, 64); // image 1: constant → all white (its own maximum)
    const fig = saliencyFigure(photos, maps, 8, 8);
    // margin 10; cells of 8 px, 10 apart; two caption lines of text scale 2 under the top row
    expect(pixel(fig, 10, 10)).toEqual([0, 0, 255]);
    expect(pixel(fig, 28, 10)).toEqual([0, 255, 0]);
    const mapsTop = fig.height - 10 - 8;
    expect(pixel(fig, 10, mapsTop)).toEqual(colorOf('hot', 0));
    expect(pixel(fig, 17, mapsTop + 7)).toEqual(colorOf('hot', 1));
    expect(pixel(fig, 28, mapsTop)).toEqual(colorOf('hot', 1));
    expect(() => saliencyFigure(photos, new Float32Array(64), 8, 8)).toThrow('64 map values for 2 8×8 maps');
  });

  it('fooling: four panels, the last two the difference and ×10', () => {
    const original = solid(6, 6, [100, 100, 100]);
    const fooling = solid(6, 6, [101, 100, 100]);
    const fig = foolingFigure({ image: original, caption: 'cat' }, { image: fooling, caption: 'stingray' });
    const y = 10;
    expect(pixel(fig, 10, y)).toEqual([100, 100, 100]);
    expect(pixel(fig, 26, y)).toEqual([101, 100, 100]);
    expect(pixel(fig, 42, y)).toEqual([MEAN_COLOUR[0]! + 1, MEAN_COLOUR[1], MEAN_COLOUR[2]]);
    expect(pixel(fig, 58, y)).toEqual([MEAN_COLOUR[0]! + 10, MEAN_COLOUR[1], MEAN_COLOUR[2]]);
  });

  it('class visualization: the snapshots in a row', () => {
    const snapshots = [25, 50, 75, 100].map((iteration, k) => ({ iteration, image: solid(5, 5, [k * 50, 0, 0]) }));
    const fig = classVisualizationFigure(snapshots, 'tarantula');
    expect(fig.width).toBe(2 * 10 + 4 * 5 + 3 * 10);
    expect(() => classVisualizationFigure([])).toThrow('no snapshots');
  });
});

describe('the demo page', () => {
  it('shows each figure by its file name beside the page, with the numbers, and escapes text', () => {
    const html = indexHtml(
      {
        method: 'vanilla',
        output: '/out/saliency.png',
        images: [{ file: '/s/a<b>.png', class: 1, className: 'goldfish', predicted: 1, predictedName: 'goldfish' }],
      },
      {
        file: '/s/chelsea.png', target: 6, targetName: 'stingray', fooled: true, iterations: 12, extraIterations: 1, roundings: 2,
        targetProb: 0.51234, linf: 3, l2: 210.04, originalClass: 285, originalName: 'Egyptian cat', finalClass: 6,
        finalName: 'stingray', output: '/out/chelsea-fool-6.png', figure: '/out/chelsea-fool-6-figure.png',
      },
      [
        {
          class: 76, className: 'tarantula', iterations: 100, seed: 0, startScore: 1.5, finalScore: 30.25, finalProb: 0.9,
          argmax: 76, argmaxName: 'tarantula', output: '/out/classviz-76.png', figure: '/out/classviz-76-snapshots.png',
        },
      ],
    );
    for (const src of ['saliency.png', 'chelsea-fool-6-figure.png', 'classviz-76-snapshots.png']) expect(html).toContain(`<img src="${src}"`);
    expect(html).toContain('a&#60;b&#62;.png');
    expect(html).not.toContain('a<b>');
    expect(html).toContain('0.512');
    expect(html).toContain('L∞ 3, L2 210.0');
    expect(html).toContain('1.50 → 30.25');
  });
});
