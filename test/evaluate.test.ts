/**
 * The evaluation of attribution maps (src/techniques/attribution/evaluate.ts): Spearman's ρ against SciPy, SSIM against
 * scikit-image, the deletion and insertion curves against float64 forwards of the same mixed images, and the
 * randomization test's bookkeeping (which weights each step randomizes, and that the trained ones come back bit for bit).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Model } from '../src/graph/model.js';
import { squeezenetLikeModel } from '../src/graph/onnx/build-fixture.js';
import { host } from '../src/kernels/host.js';
import { revealPixels, revealPixelsRef } from '../src/kernels/attribution.js';
import { gaussianBlurRef } from '../src/kernels/image.js';
import { softmaxRef } from '../src/kernels/softmax.js';
import { attribute } from '../src/techniques/attribution/index.js';
import { deletionInsertion, layersOf, rankCorrelation, ranksOf, randomizationTest, ssim } from '../src/techniques/attribution/evaluate.js';
import { Rng } from '../src/util/rng.js';
import { smoothNet } from './attribution-fixtures.js';
import { FORWARD_BOUND, expectClose, fromGpu, rand, toGpu, useGpu } from './helpers.js';
import { pythonWith } from './python.js';

const gpu = useGpu();
const SCIPY = pythonWith('scipy', "Spearman's ρ against SciPy");
const SKIMAGE = pythonWith('skimage', 'SSIM against scikit-image');

function python(interpreter: string, script: string, input: unknown): number {
  const r = spawnSync(interpreter, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return Number(r.stdout.trim());
}

describe('similarity of maps', () => {
  const rng = new Rng(5);
  // Rounded to one decimal so that ties occur, which is where rank correlations differ from one another.
  const a = Array.from(rng.normals(19 * 23), (v) => Math.round(v * 10) / 10);
  const b = a.map((v) => Math.round((v + 0.7 * rng.normal()) * 10) / 10);

  it.skipIf(!SCIPY)("Spearman's ρ (ties share their mean rank) equals scipy.stats.spearmanr", () => {
    const scipy = python(SCIPY!, 'import sys, json; from scipy.stats import spearmanr; a, b = json.load(sys.stdin); print(repr(float(spearmanr(a, b).correlation)))', [a, b]);
    expect(Math.abs(rankCorrelation(a, b) - scipy)).toBeLessThan(1e-12);
    expect(rankCorrelation(a, a)).toBeCloseTo(1, 12);
    expect(rankCorrelation(a, a.map((v) => -v))).toBeCloseTo(-1, 12);
  });

  it.skipIf(!SKIMAGE)("SSIM equals scikit-image's structural_similarity (Gaussian window σ 1.5, population covariances)", () => {
    const scale = (m: number[]): number[] => {
      const lo = Math.min(...m);
      const hi = Math.max(...m);
      return m.map((v) => (v - lo) / (hi - lo));
    };
    const script = [
      'import sys, json, numpy as np',
      'from skimage.metrics import structural_similarity',
      'a, b = (np.array(v, dtype=np.float64).reshape(19, 23) for v in json.load(sys.stdin))',
      'print(repr(float(structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0))))',
    ].join('\n');
    const skimage = python(SKIMAGE!, script, [scale(a), scale(b)]);
    expect(Math.abs(ssim(a, b, 19, 23) - skimage)).toBeLessThan(1e-10);
    expect(ssim(a, a, 19, 23)).toBeCloseTo(1, 12);
  });

  it('ranks: largest first, ties in pixel order', () => {
    expect(Array.from(ranksOf([0.5, 2, 0.5, -1]))).toEqual([1, 0, 2, 3]);
  });
});

describe('deletion and insertion curves', () => {
  it('each point is the class probability of the float64 forward of the same mixed image', async () => {
    const model = Model.load(gpu(), smoothNet(10));
    const xh = rand([2, 3, 10, 10], 30, -1.5, 1.5);
    const x = toGpu(gpu(), xh, 'x');
    const map = Float32Array.from(new Rng(31).uniforms(100));
    const steps = 5;
    const { deletion, insertion } = await deletionInsertion(model, x, 1, 2, map, { steps, batch: 4, blurSigma: 2 });
    const rank = ranksOf(map);
    const counts = deletion.fractions.map((f) => Math.round(f * 100));
    const one = host([1, 3, 10, 10], xh.data.slice(300, 600));
    const blank = host([1, 3, 10, 10]);
    const blurred = gaussianBlurRef(one, 2);
    const probsOf = (mixes: ReturnType<typeof revealPixelsRef>): number[] => {
      const scores = model.referenceForward(mixes);
      return counts.map((_, k) => softmaxRef(host([1, 5], scores.data.slice(5 * k, 5 * k + 5))).data[2]!);
    };
    expectClose(deletion.probs, probsOf(revealPixelsRef(one, blank, 0, rank, counts)), FORWARD_BOUND, 'deletion');
    expectClose(insertion.probs, probsOf(revealPixelsRef(blurred, one, 0, rank, counts)), FORWARD_BOUND, 'insertion');
    // The trapezoid rule over 0, 1/5, …, 1.
    const area = (p: number[]): number => p.slice(1).reduce((s, v, i) => s + (v + p[i]!) / 10, 0);
    expect(deletion.auc).toBeCloseTo(area(deletion.probs), 12);
    expect(insertion.auc).toBeCloseTo(area(insertion.probs), 12);
    x.dispose();
    model.dispose();
  });

  it('the GPU mixing kernel equals its reference', async () => {
    const from = rand([2, 3, 4, 5], 40);
    const to = rand([2, 3, 4, 5], 41);
    const rank = ranksOf(Array.from(new Rng(42).uniforms(20)));
    const counts = [0, 7, 20];
    const [f, t] = [toGpu(gpu(), from), toGpu(gpu(), to)];
    const out = revealPixels(f, t, 1, gpu().constantBuffer(rank, 'rank'), gpu().constantBuffer(Uint32Array.from(counts), 'counts'), 3);
    expect(Array.from((await fromGpu(out)).data)).toEqual(Array.from(revealPixelsRef(from, to, 1, rank, counts).data));
    for (const z of [f, t, out]) z.dispose();
  });
});

describe('the randomization test', () => {
  it('names the layers as the paper does, randomizes from the top, and puts the trained weights back bit for bit', async () => {
    const model = Model.load(gpu(), squeezenetLikeModel({ size: 16 }));
    expect(layersOf(model).map((l) => l.name)).toEqual(['conv1', 'fire2', 'conv3']);
    const x = toGpu(gpu(), rand([2, 3, 16, 16], 50), 'x');
    const run = (mode: 'cascading' | 'independent') =>
      randomizationTest(model, x, ['vanilla', 'gradcam'], (m, classes) => attribute(model, x, m, classes), { mode, keepMaps: true, seed: 3 });
    const cascading = await run('cascading');
    expect(cascading.layers).toEqual(['conv3', 'fire2', 'conv1']);
    expect(cascading.restored).toBe(true);
    expect(cascading.scores.length).toBe(2);
    expect(cascading.scores[0]!.map((s) => `${s.method}@${s.layer}`)).toEqual([
      'vanilla@conv3', 'gradcam@conv3', 'vanilla@fire2', 'gradcam@fire2', 'vanilla@conv1', 'gradcam@conv1',
    ]);
    // With every layer random the map is another network's: far from the trained one.
    const last = cascading.scores[0]!.find((s) => s.method === 'vanilla' && s.layer === 'conv1')!;
    expect(Math.abs(last.spearman)).toBeLessThan(0.9);
    // The kept maps: the trained model's first, then one per step; the trained map equals a fresh run's.
    const fresh = await attribute(model, x, 'vanilla');
    expect(Array.from(cascading.maps![0]![0]![0]!)).toEqual(Array.from(fresh.map.subarray(0, 256)));
    const independent = await run('independent');
    expect(independent.restored).toBe(true);
    x.dispose();
    model.dispose();
  });
});
