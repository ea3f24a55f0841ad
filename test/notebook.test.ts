/**
 * The Notebook view's experiment (src/techniques/notebook.ts): CS231n's inline question — may the saliency map replace
 * the gradient in the ascent on a class score? Both ascents from the same sample photo with steps of the same length:
 * the gradient raises the score more, and the saliency map's direction is what the answer says it is (never negative,
 * the same in the three channels).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { readImage } from '../src/image/node-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { classify } from '../src/techniques/gradient.js';
import { NOTEBOOK_FOOL, ascentDirection, scoreAscent } from '../src/techniques/notebook.js';
import { useGpu } from './helpers.js';
import { repoRoot } from './shared-data.js';
import { useModel } from './techniques-helpers.js';

const gpu = useGpu();
const model = useModel(gpu);

describe('the notebook’s inline question: the saliency map instead of the gradient', () => {
  it('a step along the saliency map is |g| at its largest channel, in all three channels', () => {
    const g = Float32Array.from([1, -2, 0.5, 0, /* G */ -3, 1, 0.25, 0, /* B */ 2, 0, -1, 0]);
    expect([...ascentDirection(g, 2, 2, 'saliency')]).toEqual([3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0]);
    expect(ascentDirection(g, 2, 2, 'gradient')).toBe(g);
  });

  it('raises the class score less than the gradient does, with steps of the same length', async () => {
    const x = Tensor.from(gpu(), [1, 3, 224, 224], preprocess(await readImage(join(repoRoot, 'samples', NOTEBOOK_FOOL.sample))), 'photo');
    try {
      const before = await x.read();
      const c = (await classify(model(), x)).argmax;
      const steps = 3;
      const [byGradient, bySaliency] = [await scoreAscent(model(), x, c, { direction: 'gradient', steps }), await scoreAscent(model(), x, c, { direction: 'saliency', steps })];
      for (const r of [byGradient, bySaliency]) {
        expect(r.scores).toHaveLength(steps + 1);
        // both start from the photo's score
        expect(r.scores[0]).toBeCloseTo(byGradient.scores[0]!, 3);
      }
      const gain = (r: typeof byGradient): number => r.scores.at(-1)! - r.scores[0]!;
      expect(gain(byGradient)).toBeGreaterThan(0);
      expect(gain(byGradient)).toBeGreaterThan(gain(bySaliency));
      // the ascent works on its own copy
      expect(await x.read()).toEqual(before);
    } finally {
      x.dispose();
    }
  });
});
