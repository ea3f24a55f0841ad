/**
 * Saliency maps on the real SqueezeNet and real photos: the map is max_c |∂s_y/∂x| of the float64 CPU backward; a
 * batch gives each image's own map; the default class is the predicted one; gradient × input and SmoothGrad are what
 * their equations say; options and classes are checked before anything runs.
 */
import { describe, expect, it } from 'vitest';
import { PixelpropError } from '../src/gpu/errors.js';
import { Tensor } from '../src/gpu/tensor.js';
import { relError } from '../src/graph/gradcheck.js';
import { host } from '../src/kernels/host.js';
import { argmaxRef } from '../src/kernels/reduce.js';
import { channelAbsMaxRef, multiplyRef } from '../src/kernels/technique.js';
import { oneHotSeed } from '../src/techniques/gradient.js';
import { saliency } from '../src/techniques/saliency.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, useGpu } from './helpers.js';
import { photoTensor, useModel } from './techniques-helpers.js';
import { sharedData } from './shared-data.js';

const gpu = useGpu();
const model = useModel(gpu);
const photosDir = sharedData('photos', 'the saliency tests (they run on ImageNet photos)');

const HAY = '00_958.png'; // label 958, hay
const QUAIL = '01_085.png'; // label 85, quail
const PLANE = 224 * 224;

describe.skipIf(photosDir === null)('vanilla saliency (Simonyan et al. 2014)', () => {
  it('equals max_c |∂s_y/∂x| of the float64 CPU backward on a photo, y = the predicted class', async () => {
    // The quail photo: on the hay photo, float32 and float64 part ways at a kink of the piecewise-linear network
    // (7e-4 for the GPU gradient itself, whichever technique asks for it), see the report.
    const x = await photoTensor(gpu(), QUAIL);
    const r = await saliency(model(), x);
    expect(r.classes).toEqual([85]); // the photo's label, predicted
    expect(r.predicted).toEqual(argmaxRef(host([1, 1000], r.scores)));
    expect(r.shape).toEqual([1, 224, 224]);
    expect(r.map).toBeInstanceOf(Float32Array);
    const ref = model().referenceClassScoreGradient(host([1, 3, 224, 224], await x.read()), [85]);
    const mapErr = expectClose(r.map, channelAbsMaxRef(ref.grad).data, BACKWARD_BOUND, 'map vs CPU float64');
    const gradErr = expectClose(r.grad, ref.grad.data, BACKWARD_BOUND, 'gradient vs CPU float64');
    // The GPU map is exactly the abs-max of the GPU gradient it came from: no rounding in a max of magnitudes.
    expectClose(r.map, channelAbsMaxRef(host([1, 3, 224, 224], r.grad)).data, 0, 'map vs its own gradient');
    console.log(`saliency of ${QUAIL}: map ${mapErr.toExponential(2)}, gradient ${gradErr.toExponential(2)} relative to the CPU path`);
    x.dispose();
  });

  it('a batch of two gives each image its own map, for given classes (one not predicted)', async () => {
    const [hay, quail] = [await photoTensor(gpu(), HAY), await photoTensor(gpu(), QUAIL)];
    const both = Tensor.empty(gpu(), [2, 3, 224, 224], 'both');
    gpu().copy(hay.buffer, both.buffer, hay.bytes);
    gpu().copy(quail.buffer, both.buffer, quail.bytes, 0, quail.bytes);
    oneHotSeed(model(), [958, 6]); // the seed e_y stays cached for the next call: create it before counting
    const before = gpu().memory().inUseBuffers;
    const batch = await saliency(model(), both, [958, 6]);
    expect(gpu().memory().inUseBuffers, 'saliency frees what it allocates').toBe(before);
    expect(batch.classes).toEqual([958, 6]);
    expect(batch.predicted).toEqual([958, 85]);
    const one = await saliency(model(), hay, [958]);
    const other = await saliency(model(), quail, [6]);
    expectClose(batch.map.subarray(0, PLANE), one.map, FORWARD_BOUND, 'image 0 of the batch');
    expectClose(batch.map.subarray(PLANE), other.map, FORWARD_BOUND, 'image 1 of the batch');
    expect(relError(other.map, batch.map.subarray(0, PLANE))).toBeGreaterThan(0.1); // the maps do differ
    for (const t of [hay, quail, both]) t.dispose();
  });

  it('rejects a class out of range, a wrong class count, bad options and a non-image tensor before running', async () => {
    const x = Tensor.zeros(gpu(), [1, 3, 224, 224], 'x');
    const flat = Tensor.zeros(gpu(), [3, 224, 224], 'flat');
    const dispatches = gpu().dispatchCount;
    const cases: [() => Promise<unknown>, string][] = [
      [() => saliency(model(), x, [1000]), 'class 1000 is out of range: the model has classes 0 to 999'],
      [() => saliency(model(), x, [1, 2]), 'saliency: 2 classes for 1 images'],
      [() => saliency(model(), x, undefined, { method: 'occlusion' as never }), "unknown method 'occlusion'"],
      [() => saliency(model(), x, undefined, { method: 'smoothgrad', samples: 0 }), 'samples 0 must be a positive integer'],
      [() => saliency(model(), x, undefined, { method: 'smoothgrad', noise: -0.1 }), 'noise -0.1 must be a finite number ≥ 0'],
      [() => saliency(model(), x, undefined, { batch: 1.5 }), 'batch 1.5 must be a positive integer'],
      [() => saliency(model(), flat), 'expected images [N,3,H,W], got [3,224,224]'],
    ];
    for (const [run, text] of cases) {
      const error = await run().then(() => null, (e: unknown) => e);
      expect(error).toBeInstanceOf(PixelpropError);
      expect((error as Error).message).toContain(text);
      expect((error as Error).message).not.toContain('\n');
    }
    expect(gpu().dispatchCount, 'nothing was dispatched').toBe(dispatches);
    x.dispose();
    flat.dispose();
  });
});

describe.skipIf(photosDir === null)('gradient × input (Shrikumar et al. 2016)', () => {
  it('the map is max_c |x · ∂s_y/∂x|, and the gradient is the plain one', async () => {
    const x = await photoTensor(gpu(), QUAIL);
    const r = await saliency(model(), x, [85], { method: 'gradxinput' });
    const xs = host([1, 3, 224, 224], await x.read());
    const g = host([1, 3, 224, 224], r.grad);
    expectClose(r.map, channelAbsMaxRef(multiplyRef(xs, g)).data, FORWARD_BOUND, 'max_c |x·g|');
    x.dispose();
  });
});

describe.skipIf(photosDir === null)('SmoothGrad (Smilkov et al. 2017)', () => {
  it('the mean map does not depend on how the noisy copies are chunked, and differs from the plain map', async () => {
    const x = await photoTensor(gpu(), HAY);
    const options = { method: 'smoothgrad', samples: 2, noise: 0.1, seed: 5 } as const;
    // Same seed, same noise in the same order: chunks of 1 and one chunk of 2 average the same two maps.
    const chunked = await saliency(model(), x, [958], { ...options, batch: 1 });
    const whole = await saliency(model(), x, [958], { ...options, batch: 2 });
    expectClose(chunked.map, whole.map, FORWARD_BOUND, 'chunks of 1 vs one chunk of 2');
    expectClose(chunked.grad, whole.grad, FORWARD_BOUND, 'mean gradient, chunks of 1 vs 2');
    const plain = await saliency(model(), x, [958]);
    expect(relError(whole.map, plain.map)).toBeGreaterThan(0.05);
    x.dispose();
  });

  it('with no noise, the mean of copies of the image is the plain map', async () => {
    const x = await photoTensor(gpu(), QUAIL);
    const plain = await saliency(model(), x);
    const smooth = await saliency(model(), x, undefined, { method: 'smoothgrad', samples: 1, noise: 0 });
    expect(smooth.classes).toEqual(plain.classes);
    expectClose(smooth.map, plain.map, FORWARD_BOUND, 'SmoothGrad at σ = 0 vs vanilla');
    x.dispose();
  });
});
