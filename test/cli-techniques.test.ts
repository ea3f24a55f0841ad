/**
 * The `saliency`, `fool`, `classviz` and `demo` commands, run in-process through main(): bad input gives exit code 2,
 * one line on stderr and no file at all (the output folder is not even created); --json prints the documented
 * shapes and the files it names exist; the demo, end to end, with short runs.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { classVizSettings } from '../src/cli/classviz.js';
import { CLASS_VISUALIZATION_DEFAULTS, YOSINSKI_PRESET } from '../src/techniques/classviz.js';
import { decodeImage, readNpy } from '../src/image/node-io.js';
import { cli, expectRefusal } from './cli-helpers.js';
import { MODEL_PATH, repoRoot } from './shared-data.js';

const work = mkdtempSync(join(tmpdir(), 'pixelprop-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// Sample photos of the repository (CC0), so that these tests run in any clone.
const CAT = join(repoRoot, 'samples', 'chelsea.png'); // Egyptian cat (285)
const WEIGHTS = ['--weights', MODEL_PATH];

let counter = 0;
/** A fresh output folder path that does not exist yet. */
function freshDir(): string {
  return join(work, `out-${counter++}`);
}

describe('bad input: exit code 2, one line on stderr, no files', () => {
  const notAnImage = join(work, 'not-an-image.png');
  writeFileSync(notAnImage, 'hello');
  const cases: [string, string[], RegExp][] = [
    ['saliency of a missing file', ['saliency', join(work, 'missing.png')], /cannot read image '.*missing\.png': no such file/],
    ['saliency of a file that is not an image', ['saliency', notAnImage], /not-an-image\.png/],
    ['saliency without an image', ['saliency'], /no image given/],
    ['saliency with a class index out of range', ['saliency', CAT, '--class', '1000', ...WEIGHTS], /class index 1000 is out of range: the model has classes 0 to 999/],
    ['saliency with an unknown class name', ['saliency', CAT, '--class', 'tarantul', ...WEIGHTS], /unknown class 'tarantul'; closest: tarantula \(76\)/],
    ['saliency with two classes for one image', ['saliency', CAT, '--class', '1', '--class', '2'], /--class given 2 times for 1 images/],
    ['saliency with an unknown method', ['saliency', CAT, '--method', 'occlusion'], /--method must be one of vanilla, smoothgrad, gradxinput/],
    ['saliency with 0 samples', ['saliency', CAT, '--method', 'smoothgrad', '--samples', '0'], /--samples must be positive, got 0/],
    ['saliency with negative noise', ['saliency', CAT, '--noise=-1'], /--noise must be at least 0/],
    ['fool without a target', ['fool', CAT], /--target is required/],
    ['fool with a target out of range', ['fool', CAT, '--target', '1000', ...WEIGHTS], /class index 1000 is out of range/],
    ['fool with an unknown target name', ['fool', CAT, '--target', 'stingrey', ...WEIGHTS], /unknown class 'stingrey'; closest: .*stingray \(6\)/],
    ['fool with 0 iterations', ['fool', CAT, '--target', '6', '--max-iters', '0'], /--max-iters must be positive, got 0/],
    ['fool with a fractional iteration count', ['fool', CAT, '--target', '6', '--max-iters', '2.5'], /--max-iters must be a whole number/],
    ['fool with a zero learning rate', ['fool', CAT, '--target', '6', '--lr', '0'], /--lr must be positive, got 0/],
    ['fool with a negative learning rate', ['fool', CAT, '--target', '6', '--lr=-1'], /--lr must be positive, got -1/],
    ['fool with a learning rate that is not a number', ['fool', CAT, '--target', '6', '--lr', 'fast'], /--lr must be a number, got 'fast'/],
    ['fool of two images', ['fool', CAT, CAT, '--target', '6'], /expected one image, got 2/],
    ['fool of a missing file', ['fool', join(work, 'missing.png'), '--target', '6'], /no such file/],
    ['classviz without a class', ['classviz'], /--class is required/],
    ['classviz with an unknown class name', ['classviz', '--class', 'yorkshire terier', ...WEIGHTS], /unknown class 'yorkshire terier'; closest: .*Yorkshire terrier \(187\)/],
    ['classviz with a negative class index', ['classviz', '--class=-3', ...WEIGHTS], /class index -3 is out of range/],
    ['classviz with 0 iterations', ['classviz', '--class', '76', '--iters', '0'], /--iters must be positive, got 0/],
    ['classviz with a zero learning rate', ['classviz', '--class', '76', '--lr', '0'], /--lr must be positive/],
    ['classviz with a zero blur sigma', ['classviz', '--class', '76', '--blur-sigma', '0'], /--blur-sigma must be positive, got 0/],
    ['classviz with a negative blur sigma', ['classviz', '--class', '76', '--blur-sigma=-0.5'], /--blur-sigma must be positive/],
    ['classviz with blur every 0', ['classviz', '--class', '76', '--blur-every', '0'], /--blur-every must be positive/],
    ['classviz with an unknown preset', ['classviz', '--class', '76', '--preset', 'olah'], /--preset must be one of yosinski, got 'olah'/],
    // node's parseArgs takes "--lr -1" for an option without its value: negative numbers go as --lr=-1
    ['a negative number without =', ['fool', CAT, '--target', '6', '--lr', '-1'], /fool: Option '--lr' argument is ambiguous/],
    ['classviz with an unknown option', ['classviz', '--class', '76', '--sigma', '1'], /classviz: Unknown option '--sigma'/],
    ['demo with 0 iterations', ['demo', '--iters', '0'], /--iters must be positive/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const dir = freshDir();
      expectRefusal(await cli(...args, '--out', dir), message, dir);
    });
  }
});

describe('classviz settings', () => {
  it('--preset yosinski replaces the defaults, and options given explicitly replace the preset', () => {
    expect(classVizSettings({})).toEqual(CLASS_VISUALIZATION_DEFAULTS);
    expect(classVizSettings({ preset: 'yosinski' })).toEqual({ ...CLASS_VISUALIZATION_DEFAULTS, ...YOSINSKI_PRESET });
    const mixed = classVizSettings({ preset: 'yosinski', iters: '50', 'blur-sigma': '0.7', 'normalized-step': true });
    expect(mixed).toMatchObject({ ...YOSINSKI_PRESET, iterations: 50, blurSigma: 0.7, normalizedStep: true });
  });
});

describe('--json', () => {
  it('saliency --npy --json: the summary, the figure and the arrays [N,H,W] and [N,3,H,W]', async () => {
    const dir = freshDir();
    const { code, out, err } = await cli('saliency', CAT, '--npy', '--json', '--out', dir, ...WEIGHTS);
    expect(err).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(out);
    expect(Object.keys(summary).sort()).toEqual(['images', 'method', 'npy', 'output']);
    expect(summary.images).toEqual([{ file: CAT, class: 285, className: 'Egyptian cat', predicted: 285, predictedName: 'Egyptian cat' }]);
    expect(summary.output).toBe(join(dir, 'saliency.png'));
    expect(decodeImage(readFileSync(summary.output)).width).toBeGreaterThan(224);
    expect((await readNpy(summary.npy.saliency)).shape).toEqual([1, 224, 224]);
    expect((await readNpy(summary.npy.grad)).shape).toEqual([1, 3, 224, 224]);
  });

  it('fool --json: {file, target, fooled, iterations, targetProb, linf, l2, output, ...}', async () => {
    const dir = freshDir();
    const { code, out, err } = await cli('fool', CAT, '--target', 'stingray', '--max-iters', '1', '--json', '--out', dir, ...WEIGHTS);
    expect(err).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(out);
    expect(Object.keys(summary).sort()).toEqual(
      ['extraIterations', 'figure', 'file', 'finalClass', 'finalName', 'fooled', 'iterations', 'l2', 'linf', 'originalClass', 'originalName', 'output', 'roundings', 'target', 'targetName', 'targetProb'].sort(),
    );
    expect(summary).toMatchObject({ file: CAT, target: 6, targetName: 'stingray', iterations: 1, output: join(dir, 'chelsea-fool-6.png') });
    expect(typeof summary.fooled).toBe('boolean');
    for (const k of ['targetProb', 'linf', 'l2']) expect(typeof summary[k]).toBe('number');
    const image = decodeImage(readFileSync(summary.output));
    expect([image.width, image.height]).toEqual([224, 224]);
    expect(existsSync(summary.figure)).toBe(true);
  });

  it('classviz --json: {class, startScore, finalScore, finalProb, argmax, output, ...}', async () => {
    const dir = freshDir();
    const { code, out, err } = await cli('classviz', '--class', 'tarantula', '--iters', '1', '--seed', '2', '--json', '--out', dir, ...WEIGHTS);
    expect(err).toBe('');
    expect(code).toBe(0);
    const summary = JSON.parse(out);
    expect(Object.keys(summary).sort()).toEqual(
      ['argmax', 'argmaxName', 'class', 'className', 'figure', 'finalProb', 'finalScore', 'iterations', 'output', 'seed', 'startScore'].sort(),
    );
    expect(summary).toMatchObject({ class: 76, className: 'tarantula', iterations: 1, seed: 2, output: join(dir, 'classviz-76.png') });
    expect(existsSync(summary.figure)).toBe(true);
  });
});

describe('demo', () => {
  it(
    'writes the three figures and an index.html that shows them (short runs)',
    async () => {
      const dir = freshDir();
      const { code, out, err } = await cli('demo', '--iters', '2', '--max-iters', '3', '--json', '--out', dir, ...WEIGHTS);
      expect(err).toBe('');
      expect(code).toBe(0);
      const summary = JSON.parse(out);
      expect(summary.saliency.images).toHaveLength(4);
      expect(summary.fooling.target).toBe(6);
      expect(summary.classviz.map((c: { class: number }) => c.class)).toEqual([76, 187]);
      const html = readFileSync(summary.index, 'utf8');
      for (const file of [summary.saliency.output, summary.fooling.figure, ...summary.classviz.map((c: { figure: string }) => c.figure)]) {
        expect(existsSync(file)).toBe(true);
        expect(html).toContain(`src="${file.split('/').pop()}"`);
      }
    },
    10 * 60_000,
  );
});
