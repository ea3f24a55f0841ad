/**
 * Fooling images on the real SqueezeNet and the 25 ImageNet photos: the report describes the saved 8-bit image; the
 * loop allocates nothing per iteration; an image already of the target takes no step; bad input is refused before
 * anything runs. Heavy (skipped only with PIXELPROP_QUICK=1): all 25 photos to stingray (6) within 100 steps, at least 24 of them
 * fooling after the 8-bit save.
 */
import { describe, expect, it } from 'vitest';
import { PixelpropError } from '../src/gpu/errors.js';
import { Tensor } from '../src/gpu/tensor.js';
import { toFloat } from '../src/image/image.js';
import { deprocess, normalize } from '../src/image/preprocess.js';
import { host } from '../src/kernels/host.js';
import { softmaxRef } from '../src/kernels/softmax.js';
import { fool, type FoolResult } from '../src/techniques/fool.js';
import { useGpu } from './helpers.js';
import { HEAVY, mean, photoTensor, photos, useModel } from './techniques-helpers.js';
import { sharedData } from './shared-data.js';

const gpu = useGpu();
const model = useModel(gpu);
const photosDir = sharedData('photos', 'the fooling tests (they run on ImageNet photos)');

const STINGRAY = 6;

/** The class and softmax probabilities the network gives the saved image, computed again from its bytes. */
async function classifySaved(result: FoolResult): Promise<{ argmax: number; probs: Float64Array }> {
  const x = Tensor.from(gpu(), [1, 3, 224, 224], normalize(toFloat(result.image)), 'saved');
  const scores = model().forward(x);
  const probs = softmaxRef(host([1, 1000], await scores.read())).data;
  x.dispose();
  scores.dispose();
  return { argmax: probs.indexOf(Math.max(...probs)), probs };
}

describe.skipIf(photosDir === null)('fooling images (Szegedy et al. 2014)', () => {
  it('allocates no GPU buffer per iteration, and reports on the saved 8-bit image', async () => {
    const x = await photoTensor(gpu(), '00_958.png');
    const created: number[] = [];
    const seen: number[] = [];
    const result = await fool(model(), x, STINGRAY, {
      maxIters: 4,
      onIteration: ({ iteration }) => {
        created.push(gpu().memory().created);
        seen.push(iteration);
      },
    });
    // The first forward/backward and the first step (the norm's buffers) fill the pool; from then on nothing is created.
    expect(seen.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    expect(new Set(created.slice(1)).size, `buffers created per iteration: ${created.join(', ')}`).toBe(1);
    expect(result.originalClass).toBe(958);
    expect(result.iterations).toBeLessThanOrEqual(4);
    // The original is the input's 8-bit picture; the distances are those of the saved bytes.
    expect(Array.from(result.original.data)).toEqual(Array.from(deprocess(await x.read(), 224, 224).data));
    let linf = 0;
    let squares = 0;
    result.image.data.forEach((v, i) => {
      const d = v - result.original.data[i]!;
      linf = Math.max(linf, Math.abs(d));
      squares += d * d;
    });
    expect(result.linf).toBe(linf);
    expect(result.l2).toBeCloseTo(Math.sqrt(squares), 9);
    expect(result.linf).toBeGreaterThan(0);
    // The verdict is that of the saved image, classified again here from its bytes.
    const again = await classifySaved(result);
    expect(again.argmax).toBe(result.finalClass);
    expect(result.fooled).toBe(result.finalClass === STINGRAY);
    expect(result.targetProb).toBeCloseTo(again.probs[STINGRAY]!, 6);
    x.dispose();
  });

  it('an image already classified as the target takes no step and changes no pixel', async () => {
    const x = await photoTensor(gpu(), '00_958.png');
    const result = await fool(model(), x, 958);
    expect(result).toMatchObject({ fooled: true, iterations: 0, extraIterations: 0, originalClass: 958, finalClass: 958, linf: 0, l2: 0 });
    expect(result.targetProb).toBeGreaterThan(0.5);
    x.dispose();
  });

  it('rejects a target out of range, a bad learning rate or step count, and a batch, before anything runs', async () => {
    const x = Tensor.zeros(gpu(), [1, 3, 224, 224], 'x');
    const two = Tensor.zeros(gpu(), [2, 3, 224, 224], 'two');
    const dispatches = gpu().dispatchCount;
    const cases: [() => Promise<unknown>, string][] = [
      [() => fool(model(), x, 1000), 'class 1000 is out of range'],
      [() => fool(model(), x, -1), 'class -1 is out of range'],
      [() => fool(model(), x, 6, { lr: 0 }), 'fool: learning rate 0 must be a finite number > 0'],
      [() => fool(model(), x, 6, { lr: NaN }), 'learning rate NaN'],
      [() => fool(model(), x, 6, { maxIters: 0 }), 'fool: maxIters 0 must be a positive integer'],
      [() => fool(model(), x, 6, { maxIters: 2.5 }), 'maxIters 2.5'],
      [() => fool(model(), two, 6), 'fool: expected one image [1,3,H,W], got [2,3,224,224]'],
    ];
    for (const [run, text] of cases) {
      const error = await run().then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(PixelpropError);
      expect((error as Error).message).toContain(text);
    }
    expect(gpu().dispatchCount).toBe(dispatches);
    x.dispose();
    two.dispose();
  });

  it.runIf(HEAVY)(
    'HEAVY: fools SqueezeNet into stingray (6) on at least 24 of the 25 photos within 100 steps, after the 8-bit save',
    async () => {
      const rows: { file: string; r: FoolResult }[] = [];
      for (const p of photos()) {
        const x = await photoTensor(gpu(), p.file.split('/').pop()!);
        rows.push({ file: p.file.split('/').pop()!, r: await fool(model(), x, STINGRAY, { maxIters: 100 }) });
        x.dispose();
      }
      const ok = rows.filter(({ r }) => r.fooled);
      for (const { file, r } of rows) {
        console.log(
          `${file}: ${r.fooled ? 'fooled' : 'NOT fooled'} in ${r.iterations} steps (${r.extraIterations} extra for 8 bits), ` +
            `p = ${r.targetProb.toFixed(3)}, Linf ${r.linf}, L2 ${r.l2.toFixed(1)}`,
        );
      }
      console.log(
        `fooling to stingray: ${ok.length}/${rows.length} fooled; mean steps ${mean(ok.map(({ r }) => r.iterations)).toFixed(1)}, ` +
          `mean Linf ${mean(ok.map(({ r }) => r.linf)).toFixed(2)}, mean L2 ${mean(ok.map(({ r }) => r.l2)).toFixed(1)} (0-255 units); ` +
          `${rows.filter(({ r }) => r.extraIterations > 0).length} needed extra steps after rounding`,
      );
      expect(rows).toHaveLength(25);
      expect(ok.length).toBeGreaterThanOrEqual(24);
      for (const { r } of ok) {
        expect(r.iterations).toBeLessThanOrEqual(100);
        expect(r.finalClass).toBe(STINGRAY);
        expect((await classifySaved(r)).argmax).toBe(STINGRAY);
      }
    },
    60 * 60_000,
  );
});
