/**
 * The charts are Vega-Lite specs rendered by Vega (src/charts): what is checked here is that pixelprop's data reaches
 * the picture — one line per method and panel, the methods in the legend, the panels titled — and that the SVG is a
 * whole document.
 */
import { describe, expect, it } from 'vitest';
import { curvesChart, randomizationChart, renderSvg, type CurvePoint, type RandomizationPoint } from '../src/charts/index.js';

const lines = (svg: string): number => (svg.match(/<path[^>]*aria-roledescription="line mark"/g) ?? []).length;

describe('charts (Vega-Lite → SVG in Node)', () => {
  it('deletion and insertion curves: a panel each, a line per method, averaged over images', async () => {
    const points: CurvePoint[] = [];
    for (const method of ['gradcam', 'vanilla'])
      for (const kind of ['deletion', 'insertion'] as const)
        for (let image = 0; image < 2; image++)
          for (let k = 0; k <= 4; k++) points.push({ method, kind, fraction: k / 4, probability: kind === 'deletion' ? 1 - k / 4 : k / 4 });
    const svg = await renderSvg(curvesChart(points));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(lines(svg)).toBe(4); // 2 methods × 2 panels; the two images of each are one averaged line
    for (const text of ['gradcam', 'vanilla', 'deletion', 'insertion', 'class probability']) expect(svg).toContain(text);
  });

  it('the randomization test: a panel per metric, the layers in the order given', async () => {
    const layers = ['fc', 'conv3', 'conv2', 'conv1'];
    const points: RandomizationPoint[] = [];
    for (const method of ['guided-backprop', 'gradcam'])
      for (const metric of ['Spearman |map|', 'SSIM'])
        layers.forEach((layer, i) => points.push({ method, layer, metric, value: method === 'gradcam' ? 1 - i / 3 : 0.9 }));
    const svg = await renderSvg(randomizationChart(points, layers));
    expect(lines(svg)).toBe(4);
    const at = layers.map((l) => svg.indexOf(`>${l}<`));
    expect(at.every((i) => i > 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at); // the x axis reads fc, conv3, conv2, conv1
  });
});
