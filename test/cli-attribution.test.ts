/**
 * The `attribute` and `evaluate` commands and the CAM layers of `info`, run in-process through main(): bad input gives
 * exit code 2, one line on stderr and no file at all (the output folder is not even created); --json prints the
 * documented shapes and the files it names exist and read back; Integrated Gradients' memory stays that of one chunk
 * whatever its number of steps.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { decodeImage, readImage, readNpy } from '../src/image/node-io.js';
import { preprocess } from '../src/image/preprocess.js';
import { METHOD_NAMES, attribute, camLayers, defaultCamLayer } from '../src/techniques/attribution/index.js';
import { comparisonFigure } from '../src/techniques/attribution/figures.js';
import { completenessText } from '../src/cli/attribute.js';
import { cli, expectRefusal } from './cli-helpers.js';
import { useGpu } from './helpers.js';
import { MODEL_PATH, repoRoot } from './shared-data.js';

const work = mkdtempSync(join(tmpdir(), 'pixelprop-cli-attribution-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Sample photos of the repository (CC0), so that these tests run in any clone.
const CAT = join(repoRoot, 'samples', 'chelsea.png'); // Egyptian cat (285)
const ROCKET = join(repoRoot, 'samples', 'rocket.png');
const WEIGHTS = ['--weights', MODEL_PATH];
/** SqueezeNet 1.1's default CAM layer (conv10 after its ReLU) and the global pooling's output [1,1000,1,1]. */
const CONV10 = 'squeezenet0_relu25_fwd';
const POOLED = 'squeezenet0_pool3_fwd';
/** Every method in little time: few path points and draws, 4 occlusion patches. */
const QUICK = ['--steps', '2', '--samples', '2', '--patch', '112', '--stride', '112'];
const LONG = 600_000;

let counter = 0;
/** A fresh output folder path that does not exist yet. */
function freshDir(): string {
  return join(work, `out-${counter++}`);
}

describe('bad input: exit code 2, one line on stderr, no files', () => {
  const cases: [string, string[], RegExp][] = [
    ['attribute without --method', ['attribute', CAT], /attribute: --method is required/],
    ['attribute without an image', ['attribute', '--method', 'gradcam'], /attribute: no image given/],
    ['attribute with an unknown method', ['attribute', CAT, '--method', 'gradcma'], /unknown attribution method 'gradcma'; closest: gradcam\b/],
    ['attribute with a method list', ['attribute', CAT, '--method', 'gradcam,vanilla'], /unknown attribution method 'gradcam,vanilla'/],
    ['attribute at an unknown layer', ['attribute', CAT, '--method', 'gradcam', '--layer', 'squeezenet0_relu25_fw', ...WEIGHTS], /the model has no layer 'squeezenet0_relu25_fw'; closest: squeezenet0_relu25_fwd/],
    [
      'attribute at a layer without spatial extent',
      ['attribute', CAT, '--method', 'layercam', '--layer', POOLED, ...WEIGHTS],
      /layer 'squeezenet0_pool3_fwd' \[1,1000,1,1\] has no spatial extent/,
    ],
    ['attribute with --layer for a method without layers', ['attribute', CAT, '--method', 'vanilla', '--layer', CONV10], /--layer is for the CAM methods \(gradcam, .*\), not vanilla/],
    ['attribute with 0 steps', ['attribute', CAT, '--method', 'integrated-gradients', '--steps', '0'], /--steps must be positive, got 0/],
    ['attribute with a fractional step count', ['attribute', CAT, '--method', 'integrated-gradients', '--steps', '2.5'], /--steps must be a whole number, got 2.5/],
    ['attribute with negative steps', ['attribute', CAT, '--method', 'integrated-gradients', '--steps=-4'], /--steps must be positive, got -4/],
    ['attribute with steps that are not a number', ['attribute', CAT, '--method', 'integrated-gradients', '--steps', 'many'], /--steps must be a number, got 'many'/],
    ['attribute with a class out of range', ['attribute', CAT, '--method', 'gradcam', '--class', '1000', ...WEIGHTS], /class index 1000 is out of range: the model has classes 0 to 999/],
    ['attribute with two classes for one image', ['attribute', CAT, '--method', 'gradcam', '--class', '1', '--class', '2'], /--class given 2 times for 1 images/],
    ['attribute with an unknown baseline', ['attribute', CAT, '--method', 'integrated-gradients', '--baseline', 'blurred'], /unknown baseline 'blurred'; closest: blur\b/],
    ['attribute with 0 samples', ['attribute', CAT, '--method', 'vargrad', '--samples', '0'], /--samples must be positive, got 0/],
    ['attribute with a patch larger than the image', ['attribute', CAT, '--method', 'occlusion', '--patch', '300', ...WEIGHTS], /occlusion: patch 300 must be an integer in 1…224/],
    ['attribute of a missing file', ['attribute', join(work, 'missing.png'), '--method', 'gradcam'], /cannot read image '.*missing\.png': no such file/],
    ['evaluate without an image', ['evaluate'], /evaluate: no image given/],
    ['evaluate with an unknown method in the list', ['evaluate', CAT, '--methods', 'vanilla,lrp-epsilom'], /unknown attribution method 'lrp-epsilom'; closest: lrp-epsilon\b/],
    ['evaluate with an unknown randomization mode', ['evaluate', CAT, '--randomize', 'sometimes'], /--randomize must be one of cascading, independent, both, none, got 'sometimes'/],
    ['evaluate with 0 curve steps', ['evaluate', CAT, '--curve-steps', '0'], /--curve-steps must be positive, got 0/],
    ['evaluate with a fractional curve step count', ['evaluate', CAT, '--curve-steps', '1.5'], /--curve-steps must be a whole number/],
    ['evaluate with an unknown randomization layer', ['evaluate', CAT, '--layers', 'conv10,fire10', ...WEIGHTS], /--layers: the model has no layer 'fire10'; closest: .*fire\d/],
    ['evaluate with --layers and no randomization', ['evaluate', CAT, '--layers', 'conv10', '--randomize', 'none'], /--layers sets the randomization test's steps: not with --randomize none/],
    ['evaluate at a layer without spatial extent', ['evaluate', CAT, '--methods', 'gradcam', '--layer', POOLED, ...WEIGHTS], /has no spatial extent/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const dir = freshDir();
      expectRefusal(await cli(...args, '--out', dir), message, dir);
    }, LONG);
  }
});

describe('attribute', () => {
  it('--json --npy: one object per image, the figure, the maps [N,H,W]; Integrated Gradients reports completeness', async () => {
    const dir = freshDir();
    const { code, out, err } = await cli('attribute', CAT, '--method', 'integrated-gradients', '--steps', '8', '--npy', '--json', '--out', dir, ...WEIGHTS);
    expect(err).toBe('');
    expect(code).toBe(0);
    const [summary, ...rest] = JSON.parse(out);
    expect(rest).toEqual([]);
    expect(Object.keys(summary).sort()).toEqual(['class', 'className', 'completeness', 'file', 'layer', 'max', 'method', 'min', 'npy', 'output'].sort());
    expect(summary).toMatchObject({
      file: CAT,
      method: 'integrated-gradients',
      class: 285,
      className: 'Egyptian cat',
      layer: null,
      output: join(dir, 'attribution-integrated-gradients.png'),
      npy: join(dir, 'attribution-integrated-gradients.npy'),
    });
    const { attributionSum, scoreDelta, relError } = summary.completeness;
    expect(relError).toBeCloseTo(Math.abs(attributionSum - scoreDelta) / Math.abs(scoreDelta), 6);
    const npy = await readNpy(summary.npy);
    expect(npy.shape).toEqual([1, 224, 224]);
    // min and max are those of the map written, and the map sums to Σ attributions (IG's map is Σ over channels).
    const values = Array.from(npy.data as Float32Array);
    expect(summary.min).toBe(Math.min(...values));
    expect(summary.max).toBe(Math.max(...values));
    expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(attributionSum, 1);
    const figure = decodeImage(readFileSync(summary.output));
    expect(figure.width).toBeGreaterThan(2 * 224);
    expect(readdirSync(dir).sort()).toEqual(['attribution-integrated-gradients.npy', 'attribution-integrated-gradients.png']);
  }, LONG);

  it('a CAM names its layer: the default one, or --layer; classes per image', async () => {
    const dir = freshDir();
    const { code, out } = await cli('attribute', CAT, ROCKET, '--method', 'gradcam', '--class', '285', '--class', 'tarantula', '--json', '--out', dir, ...WEIGHTS);
    expect(code).toBe(0);
    const summaries = JSON.parse(out);
    expect(summaries.map((s: { file: string; class: number; layer: string }) => [s.file, s.class, s.layer])).toEqual([
      [CAT, 285, CONV10],
      [ROCKET, 76, CONV10],
    ]);
    expect(summaries.every((s: { min: number }) => s.min >= 0)).toBe(true); // a CAM is ≥ 0
    const layered = await cli('attribute', CAT, '--method', 'layercam', '--layer', 'squeezenet0_concat7', '--json', '--out', dir, ...WEIGHTS);
    expect(layered.code).toBe(0);
    expect(JSON.parse(layered.out)[0].layer).toBe('squeezenet0_concat7');
  }, LONG);

  it('--method all: one figure, rows = images, columns = the photo then every method; an array per method', async () => {
    const dir = freshDir();
    const { code, out, err } = await cli('attribute', CAT, ROCKET, '--method', 'all', ...QUICK, '--npy', '--json', '--out', dir, ...WEIGHTS);
    expect(err).toBe('');
    expect(code).toBe(0);
    const summaries = JSON.parse(out);
    expect(summaries.map((s: { method: string }) => s.method)).toEqual(METHOD_NAMES.flatMap((m) => [m, m]));
    const withCompleteness = summaries.filter((s: { completeness?: unknown }) => s.completeness).map((s: { method: string }) => s.method);
    expect(withCompleteness).toEqual(['lrp-epsilon', 'lrp-epsilon', 'lrp-zplus', 'lrp-zplus', 'integrated-gradients', 'integrated-gradients']);
    const output = join(dir, 'attribution-all.png');
    expect(new Set(summaries.map((s: { output: string }) => s.output))).toEqual(new Set([output]));
    expect(readdirSync(dir).sort()).toEqual(['attribution-all.png', ...METHOD_NAMES.map((m) => `attribution-${m}.npy`)].sort());
    // The layout of comparisonFigure for these rows: its size does not depend on the pixels, only on rows and captions.
    const blank = { width: 224, height: 224, data: new Uint8ClampedArray(224 * 224 * 3) };
    const expected = comparisonFigure(
      ['Egyptian cat', summaries[1].className].map((caption) => ({ photo: blank, caption, maps: METHOD_NAMES.map((method) => ({ method, map: new Float32Array(224 * 224) })) })),
    );
    const figure = decodeImage(readFileSync(output));
    expect([figure.width, figure.height]).toEqual([expected.width, expected.height]);
    expect(figure.width).toBeGreaterThan((METHOD_NAMES.length + 1) * 224);
    expect(figure.height).toBeGreaterThan(2 * 224);
    for (const m of METHOD_NAMES) expect((await readNpy(join(dir, `attribution-${m}.npy`))).shape).toEqual([2, 224, 224]);
  }, LONG);

  it('human output: the map of each image, the completeness line of Integrated Gradients, the files', async () => {
    const dir = freshDir();
    const { code, out } = await cli('attribute', CAT, '--method', 'integrated-gradients', '--steps', '4', '--baseline', 'blur', '--out', dir, ...WEIGHTS);
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/chelsea\.png: integrated-gradients of Egyptian cat \(285\), map in \[-?[\d.e-]+, [\d.e-]+\]/);
    const completeness = /^ {2}completeness: Σ attributions -?[\d.]+ against s\(x\) − s\(x′\) -?[\d.]+: relative error ([\d.]+)%( \(above 1%: .* more --steps bring it down\))?$/.exec(lines[1]!);
    expect(completeness, lines[1]).not.toBeNull();
    // 4 points on a ReLU network: far from the integral, and the line says what to do about it
    expect(Number(completeness![1])).toBeGreaterThan(1);
    expect(completeness![2]).toBeDefined();
    expect(lines[2]).toBe(`wrote ${join(dir, 'attribution-integrated-gradients.png')}`);
  }, LONG);

  it('the completeness line suggests more steps only for a path method above 1%', () => {
    const line = (method: string, relError: number): string => completenessText(method, { attributionSum: 1, scoreDelta: 1, relError });
    expect(line('integrated-gradients', 0.0099)).toBe('completeness: Σ attributions 1.0000 against s(x) − s(x′) 1.0000: relative error 0.99%');
    expect(line('integrated-gradients', 0.0101)).toMatch(/relative error 1\.01% \(above 1%: .*more --steps bring it down\)$/);
    expect(line('lrp-epsilon', 0.5)).toBe('completeness: Σ relevance 1.0000 against s(x) 1.0000: relative error 50.00%');
  });
});

describe('evaluate', () => {
  it('--json: AUCs per method (and per image), randomization scores per layer and method, the charts and the grid', async () => {
    const dir = freshDir();
    const methods = ['vanilla', 'gradcam'];
    const { code, out, err } = await cli('evaluate', CAT, '--methods', methods.join(','), '--curve-steps', '4', '--layers', 'conv10,conv1', '--json', '--out', dir, ...WEIGHTS);
    expect(err).toBe('');
    expect(code).toBe(0);
    const s = JSON.parse(out);
    expect(Object.keys(s).sort()).toEqual(['curveSteps', 'images', 'methods', 'outputs', 'randomization']);
    expect(s.images).toEqual([{ file: CAT, class: 285, className: 'Egyptian cat' }]);
    expect(s.curveSteps).toBe(4);
    expect(s.methods.map((m: { method: string }) => m.method)).toEqual(methods);
    for (const m of s.methods) {
      for (const auc of [m.deletionAuc, m.insertionAuc]) expect(auc).toBeGreaterThanOrEqual(0), expect(auc).toBeLessThanOrEqual(1);
      expect(m.images).toEqual([{ file: CAT, deletionAuc: m.deletionAuc, insertionAuc: m.insertionAuc }]);
    }
    const [r, ...others] = s.randomization;
    expect(others).toEqual([]);
    expect(r).toMatchObject({ mode: 'cascading', layers: ['conv10', 'conv1'], restored: true });
    expect(r.scores.map((x: { method: string; layer: string }) => `${x.method}@${x.layer}`)).toEqual(['vanilla@conv10', 'gradcam@conv10', 'vanilla@conv1', 'gradcam@conv1']);
    expect(r.images).toEqual([{ file: CAT, scores: r.scores }]);
    for (const x of r.scores) for (const k of ['spearmanAbs', 'spearman', 'ssim']) expect(Math.abs(x[k])).toBeLessThanOrEqual(1);
    // Every layer randomized: Grad-CAM, which reads the class score's gradient at conv10, no longer resembles itself.
    expect(r.scores[3].spearman).toBeLessThan(0.5);
    expect(s.outputs).toEqual({
      curves: join(dir, 'curves.svg'),
      randomization: { cascading: { chart: join(dir, 'randomization-cascading.svg'), figure: join(dir, 'randomization-cascading.png') } },
    });
    for (const svg of [s.outputs.curves, s.outputs.randomization.cascading.chart]) expect(readFileSync(svg, 'utf8')).toMatch(/^<svg[^>]*>[\s\S]*<\/svg>$/);
    expect(readFileSync(s.outputs.curves, 'utf8')).toContain('gradcam');
    // The grid: the input, then a row per method of the trained map and one per randomization step (3 columns).
    const grid = decodeImage(readFileSync(s.outputs.randomization.cascading.figure));
    expect(grid.width).toBeGreaterThan(3 * 224);
    expect(grid.height).toBeGreaterThan(3 * 224);
    expect(readdirSync(dir).sort()).toEqual(['curves.svg', 'randomization-cascading.png', 'randomization-cascading.svg']);
  }, LONG);

  it('--randomize none: the curves only, a human table of the AUCs', async () => {
    const dir = freshDir();
    const { code, out } = await cli('evaluate', CAT, '--methods', 'integrated-gradients', '--steps', '4', '--curve-steps', '2', '--randomize', 'none', '--out', dir, ...WEIGHTS);
    expect(code).toBe(0);
    expect(out).toMatch(/^method +deletion AUC ↓ +insertion AUC ↑$/m);
    expect(out).toMatch(/^integrated-gradients +0\.\d{4} +0\.\d{4}$/m);
    expect(readdirSync(dir)).toEqual(['curves.svg']);
  }, LONG);
});

describe('info', () => {
  it('lists the CAM layers with their shapes, the default marked', async () => {
    const { code, out } = await cli('info', ...WEIGHTS);
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^  \\* ${CONV10} +\\[1,1000,13,13\\] +Relu$`, 'm'));
    expect(out).toMatch(/^ {4}squeezenet0_concat7 +\[1,512,13,13\] +Concat$/m);
    expect(out).not.toMatch(new RegExp(`^ +\\*? ?${POOLED} `, 'm'));
    expect(out.match(/^ {2}[* ] squeezenet0_\w+ +\[1,\d+,\d+,\d+\]/gm)).toHaveLength(63);
  }, LONG);
});

describe('memory: Integrated Gradients runs its steps in chunks', () => {
  const gpu = useGpu();
  it('the GPU memory after 2 steps and after 6 steps (chunks of 2) is the same: one chunk, whatever the steps', async () => {
    const model = Model.load(gpu(), readFileSync(MODEL_PATH));
    const x = Tensor.from(gpu(), [1, 3, 224, 224], preprocess(await readImage(CAT), { size: 224 }), 'cat');
    try {
      expect(camLayers(model).length).toBe(63);
      expect(defaultCamLayer(model)).toBe(CONV10);
      // The pool keeps every buffer it made: its bytes after a run are the most that run held at once.
      await attribute(model, x, 'integrated-gradients', [285], { steps: 2, batch: 2 });
      const oneChunk = gpu().memory().liveBytes;
      await attribute(model, x, 'integrated-gradients', [285], { steps: 6, batch: 2 });
      expect(gpu().memory().liveBytes).toBe(oneChunk);
      // Not a vacuous comparison: 6 points in one pass need more.
      await attribute(model, x, 'integrated-gradients', [285], { steps: 6, batch: 6 });
      expect(gpu().memory().liveBytes).toBeGreaterThan(oneChunk);
    } finally {
      x.dispose();
      model.dispose();
    }
  }, LONG);
});
