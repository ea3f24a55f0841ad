/**
 * The live controls the web page drives the techniques with (FoolLive, ClassVisualizationLive, SaliencyLive): the
 * live image is exactly what the run is working on, watching changes nothing about the result and allocates nothing
 * per iteration, and a stop ends the run where a shorter run would have ended — with the same numbers.
 */
import { describe, expect, it } from 'vitest';
import { PixelpropError } from '../src/gpu/errors.js';
import { Tensor } from '../src/gpu/tensor.js';
import { deprocess } from '../src/image/preprocess.js';
import { argmaxRef } from '../src/kernels/reduce.js';
import { host } from '../src/kernels/host.js';
import { classVisualization } from '../src/techniques/classviz.js';
import { fool } from '../src/techniques/fool.js';
import { oneHotSeed } from '../src/techniques/gradient.js';
import { saliency } from '../src/techniques/saliency.js';
import { FORWARD_BOUND, expectClose, useGpu } from './helpers.js';
import { photoTensor, useModel } from './techniques-helpers.js';
import { sharedData } from './shared-data.js';

const gpu = useGpu();
const model = useModel(gpu);
const photosDir = sharedData('photos', 'the live fooling and SmoothGrad tests (they run on an ImageNet photo)');

const HAY = '00_958.png';
const STINGRAY = 6;
const TARANTULA = 76;

const bytesEqual = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);

describe.skipIf(photosDir === null)('fool: live image and stop', () => {
  it('shows every iteration its picture and scores, allocates nothing per iteration, and changes nothing', async () => {
    const x = await photoTensor(gpu(), HAY);
    const plain = await fool(model(), x, STINGRAY, { maxIters: 3 });
    const seen: { iteration: number; predicted: number }[] = [];
    const live: { iteration: number; argmax: number; first: Uint8ClampedArray }[] = [];
    const created: number[] = [];
    const watched = await fool(model(), x, STINGRAY, {
      maxIters: 3,
      onIteration: ({ iteration, predicted }) => seen.push({ iteration, predicted }),
      onImage: ({ iteration, image, scores }) => {
        created.push(gpu().memory().created);
        expect(scores).toHaveLength(1000);
        live.push({ iteration, argmax: argmaxRef(host([1, 1000], scores))[0]!, first: image.data });
      },
    });
    // The scores handed over are those of the forward pass that predicted the class onIteration reports.
    expect(live.map((l) => l.iteration)).toEqual(seen.map((s) => s.iteration));
    expect(live.map((l) => l.argmax)).toEqual(seen.map((s) => s.predicted));
    // Iteration 0 shows the input itself.
    expect(bytesEqual(live[0]!.first, watched.original.data)).toBe(true);
    expect(new Set(created.slice(1)).size, `buffers created per iteration: ${created.join(', ')}`).toBe(1);
    // Watching is read-only: the same steps, the same saved bytes.
    expect(watched.stopped).toBe(false);
    expect([watched.iterations, watched.finalClass, watched.linf]).toEqual([plain.iterations, plain.finalClass, plain.linf]);
    expect(bytesEqual(watched.image.data, plain.image.data)).toBe(true);
    x.dispose();
  });

  it('imageEvery thins the live view; a stop after 2 steps is a run of maxIters 2', async () => {
    const x = await photoTensor(gpu(), HAY);
    const controller = new AbortController();
    const shown: number[] = [];
    const stopped = await fool(model(), x, STINGRAY, {
      maxIters: 50,
      imageEvery: 2,
      onImage: ({ iteration }) => shown.push(iteration),
      onIteration: ({ iteration }) => iteration === 2 && controller.abort(),
      signal: controller.signal,
    });
    const short = await fool(model(), x, STINGRAY, { maxIters: 2 });
    expect(shown).toEqual([0, 2]);
    expect(stopped.stopped).toBe(true);
    expect(stopped.iterations).toBe(2);
    expect([stopped.finalClass, stopped.linf, stopped.l2]).toEqual([short.finalClass, short.linf, short.l2]);
    expect(bytesEqual(stopped.image.data, short.image.data)).toBe(true);
    expect(short.stopped).toBe(false);
    const error = await fool(model(), x, STINGRAY, { imageEvery: 0 }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(PixelpropError);
    expect((error as Error).message).toBe('fool: imageEvery 0 must be a positive integer');
    x.dispose();
  });
});

describe('class visualization: live image and stop', () => {
  it('the live images are the snapshots, and a stop after 2 of 6 iterations gives the bytes of a 2-iteration run', async () => {
    const controller = new AbortController();
    const live: { iteration: number; data: Uint8ClampedArray }[] = [];
    const created: number[] = [];
    const stopped = await classVisualization(model(), TARANTULA, {
      iterations: 6,
      snapshotEvery: 1,
      seed: 2,
      onImage: ({ iteration, image }) => {
        created.push(gpu().memory().created);
        live.push({ iteration, data: image.data });
        if (iteration === 2) controller.abort();
      },
      signal: controller.signal,
    });
    expect(stopped.stopped).toBe(true);
    expect(stopped.iterations).toBe(2);
    expect(live.map((l) => l.iteration)).toEqual([1, 2]);
    expect(stopped.snapshots.map((s) => s.iteration)).toEqual([1, 2]);
    live.forEach((l, i) => expect(bytesEqual(l.data, stopped.snapshots[i]!.image.data)).toBe(true));
    expect(created[1]).toBe(created[0]);

    const short = await classVisualization(model(), TARANTULA, { iterations: 2, snapshotEvery: 1, seed: 2 });
    expect([short.stopped, short.iterations]).toEqual([false, 2]);
    expect(bytesEqual(new Uint8Array(stopped.chw.buffer), new Uint8Array(short.chw.buffer))).toBe(true);
    expect(bytesEqual(stopped.image.data, deprocess(short.chw, 224, 224, { rescale: true }).data)).toBe(true);
    expect([stopped.finalScore, stopped.argmax]).toEqual([short.finalScore, short.argmax]);
  });

  it('a stop on the way still snapshots the stopping iteration; imageEvery thins the live view', async () => {
    const controller = new AbortController();
    const shown: number[] = [];
    const r = await classVisualization(model(), TARANTULA, {
      iterations: 5,
      snapshotEvery: 2,
      imageEvery: 3,
      onImage: ({ iteration }) => shown.push(iteration),
      onIteration: ({ iteration }) => iteration === 3 && controller.abort(),
      signal: controller.signal,
    });
    expect(shown).toEqual([3]);
    expect(r.snapshots.map((s) => s.iteration)).toEqual([2, 3]);
    expect(r.iterations).toBe(3);
    const error = await classVisualization(model(), TARANTULA, { imageEvery: 1.5 }).then(() => null, (e: unknown) => e);
    expect((error as Error).message).toBe('class visualization: imageEvery 1.5 must be a positive integer');
  });

  it('an abort during the last iteration is no stop', async () => {
    const controller = new AbortController();
    const r = await classVisualization(model(), TARANTULA, {
      iterations: 1,
      onIteration: () => controller.abort(),
      signal: controller.signal,
    });
    expect([r.stopped, r.iterations]).toEqual([false, 1]);
  });
});

describe.skipIf(photosDir === null)('SmoothGrad: stop', () => {
  it('a stop after the first chunk of copies gives the mean of those copies, as a run of that many samples', async () => {
    const x = await photoTensor(gpu(), HAY);
    const options = { method: 'smoothgrad', noise: 0.1, seed: 9, batch: 1 } as const;
    const controller = new AbortController();
    const stopped = await saliency(model(), x, [958], {
      ...options,
      samples: 3,
      onProgress: (done) => done === 1 && controller.abort(),
      signal: controller.signal,
    });
    const one = await saliency(model(), x, [958], { ...options, samples: 1 });
    expect(stopped.stopped).toBe(true);
    expect(stopped.copies).toEqual([1]);
    expect(one).toMatchObject({ stopped: false, copies: [1] });
    expectClose(stopped.map, one.map, FORWARD_BOUND, 'stopped after 1 of 3 copies vs samples 1');
    expectClose(stopped.grad, one.grad, FORWARD_BOUND, 'mean gradient, stopped vs samples 1');
    x.dispose();
  });

  it('a stop that arrives as a message while a chunk runs is seen after that chunk, not after all of them', async () => {
    // The page's Stop reaches the worker as a message, a task of its own: it is handled only when the run yields.
    // A run that queued every chunk without waiting saw it after the last (30 of 30 copies, "stopped" never said).
    const x = await photoTensor(gpu(), HAY);
    const controller = new AbortController();
    const r = await saliency(model(), x, [958], {
      method: 'smoothgrad',
      noise: 0.1,
      seed: 9,
      batch: 1,
      samples: 3,
      onProgress: (done) => done === 1 && setTimeout(() => controller.abort(), 0),
      signal: controller.signal,
    });
    expect(r.stopped).toBe(true);
    expect(r.copies).toEqual([2]); // the chunk running when the message was handled, and no more
    x.dispose();
  });

  it('a batch stopped before its last image got a copy throws the abort reason; one pass ignores the signal', async () => {
    const x = await photoTensor(gpu(), HAY);
    const both = Tensor.empty(gpu(), [2, 3, 224, 224], 'both');
    gpu().copy(x.buffer, both.buffer, x.bytes);
    gpu().copy(x.buffer, both.buffer, x.bytes, 0, x.bytes);
    const controller = new AbortController();
    oneHotSeed(model(), [958]); // the seeds stay cached for later calls: create them before counting
    oneHotSeed(model(), [958, 958]);
    const before = gpu().memory().inUseBuffers;
    const error = await saliency(model(), both, [958, 958], {
      method: 'smoothgrad',
      samples: 1,
      onProgress: () => controller.abort(new PixelpropError('stopped by the test')),
      signal: controller.signal,
    }).then(() => null, (e: unknown) => e);
    expect((error as Error).message).toBe('stopped by the test');
    expect(gpu().memory().inUseBuffers, 'a stopped run frees what it allocated').toBe(before);
    const aborted = new AbortController();
    aborted.abort();
    const vanilla = await saliency(model(), x, [958], { signal: aborted.signal });
    expect(vanilla.stopped).toBeUndefined();
    expect(vanilla.map).toHaveLength(224 * 224);
    x.dispose();
    both.dispose();
  });
});
