import { describe, expect, it } from 'vitest';
import {
  accumulateSampleMean,
  accumulateSampleMeanRef,
  channelAbsMax,
  channelAbsMaxRef,
  multiply,
  multiplyRef,
  noisyCopies,
  noisyCopiesRef,
  scaleInPlace,
} from '../src/kernels/technique.js';
import { scaleRef } from '../src/kernels/elementwise.js';
import { host } from '../src/kernels/host.js';
import { FORWARD_BOUND, expectClose, expectRejected, rand, toGpu, useGpu } from './helpers.js';

const gpu = useGpu();

// SqueezeNet's input at batch 1 and at SmoothGrad's chunk of 10, odd ones (1×1, 5 channels, non-square), one channel.
const SHAPES: number[][] = [[1, 3, 224, 224], [10, 3, 224, 224], [2, 5, 3, 7], [3, 3, 1, 1], [1, 1, 4, 6]];

describe('channel abs max (the saliency map)', () => {
  for (const [k, shape] of SHAPES.entries()) {
    it(`equals max_c |x| of the float64 reference, shape [${shape}]`, async () => {
      const x = rand(shape, 10 + k, -2, 2);
      const xg = toGpu(gpu(), x);
      const m = channelAbsMax(xg);
      expect(m.shape).toEqual([shape[0], shape[2], shape[3]]);
      // A max of absolute values is exact in float32: the bound is 0.
      expectClose(await m.read(), channelAbsMaxRef(x).data, 0, 'channel abs max');
      xg.dispose();
      m.dispose();
    });
  }

  it('picks the channel with the largest magnitude, whatever its sign', async () => {
    // pixel 0: channels (1, −3, 2) → 3; pixel 1: (−0.5, 0.25, 0) → 0.5
    const xg = toGpu(gpu(), host([1, 3, 1, 2], [1, -0.5, -3, 0.25, 2, 0]));
    const m = channelAbsMax(xg);
    expect(Array.from(await m.read())).toEqual([3, 0.5]);
    xg.dispose();
    m.dispose();
  });

  it('rejects a tensor that is not NCHW', () => {
    const g = gpu();
    const flat = toGpu(g, rand([3, 4], 1));
    expectRejected(g, () => channelAbsMax(flat), 'channel abs max: expected an NCHW tensor, got shape [3,4]');
    flat.dispose();
  });
});

describe('multiply (gradient × input)', () => {
  for (const [k, shape] of [[1, 3, 224, 224], [2, 5, 3, 7], [1]].entries()) {
    it(`equals a ⊙ b within float32 rounding, shape [${shape}]`, async () => {
      const a = rand(shape, 20 + k);
      const b = rand(shape, 30 + k);
      const [ag, bg] = [toGpu(gpu(), a), toGpu(gpu(), b)];
      const out = multiply(ag, bg);
      expectClose(await out.read(), multiplyRef(a, b).data, FORWARD_BOUND, 'multiply');
      for (const t of [ag, bg, out]) t.dispose();
    });
  }

  it('rejects different shapes', () => {
    const g = gpu();
    const [a, b] = [toGpu(g, rand([2, 3], 1)), toGpu(g, rand([3, 2], 2))];
    expectRejected(g, () => multiply(a, b), 'multiply: shapes differ');
    a.dispose();
    b.dispose();
  });
});

describe('noisy copies (SmoothGrad)', () => {
  for (const [x, image, copies] of [[[2, 3, 224, 224], 1, 10], [[3, 5, 3, 7], 2, 4], [[1, 3, 1, 1], 0, 1]] as const) {
    it(`copy k of image ${image} of [${x}] is x[${image}] + σ·z[k], ${copies} copies`, async () => {
      const xs = rand([...x], 40);
      const z = rand([copies, x[1], x[2], x[3]], 41, -3, 3);
      const [xg, zg] = [toGpu(gpu(), xs), toGpu(gpu(), z)];
      const out = noisyCopies(xg, image, zg, 0.37);
      expect(out.shape).toEqual(z.shape);
      expectClose(await out.read(), noisyCopiesRef(xs, image, z, 0.37).data, FORWARD_BOUND, 'noisy copies');
      for (const t of [xg, zg, out]) t.dispose();
    });
  }

  it('rejects an image outside the batch, noise of another image size, and a non-finite σ', () => {
    const g = gpu();
    const x = toGpu(g, rand([2, 3, 4, 4], 1));
    const z = toGpu(g, rand([5, 3, 4, 4], 2));
    const wrong = toGpu(g, rand([5, 3, 4, 5], 3));
    expectRejected(g, () => noisyCopies(x, 2, z, 1), 'noisy copies: image 2 is not in the batch of 2');
    expectRejected(g, () => noisyCopies(x, 0, wrong, 1), 'noise [5,3,4,5] does not hold copies of a [3,4,4] image');
    expectRejected(g, () => noisyCopies(x, 0, z, NaN), 'noisy copies: std NaN is not a finite number');
    for (const t of [x, z, wrong]) t.dispose();
  });
});

describe('accumulate sample mean (SmoothGrad over chunks)', () => {
  it('two chunks of maps [10,224,224] and [3,224,224] into accumulator 1 of [2,224,224] give the mean of 13', async () => {
    const acc = rand([2, 224, 224], 50);
    const chunks = [rand([10, 224, 224], 51, 0, 4), rand([3, 224, 224], 52, 0, 4)];
    const accg = toGpu(gpu(), acc);
    let ref = acc;
    for (const chunk of chunks) {
      const cg = toGpu(gpu(), chunk);
      accumulateSampleMean(accg, 1, cg, 1 / 13);
      ref = accumulateSampleMeanRef(ref, 1, chunk, 1 / 13);
      cg.dispose();
    }
    const out = await accg.read();
    expectClose(out, ref.data, FORWARD_BOUND, 'accumulate sample mean');
    // accumulator 0 is untouched, bit for bit
    expect(Array.from(out.subarray(0, 224 * 224))).toEqual(Array.from(Float32Array.from(acc.data.subarray(0, 224 * 224))));
    accg.dispose();
  });

  it('works on gradients [N,3,H,W] with odd sizes', async () => {
    const acc = host([3, 5, 3, 1]);
    const t = rand([7, 5, 3, 1], 53);
    const [accg, tg] = [toGpu(gpu(), acc), toGpu(gpu(), t)];
    accumulateSampleMean(accg, 2, tg, 0.5);
    expectClose(await accg.read(), accumulateSampleMeanRef(acc, 2, t, 0.5).data, FORWARD_BOUND, 'accumulate');
    accg.dispose();
    tg.dispose();
  });

  it('rejects samples of another shape and an index outside the accumulator', () => {
    const g = gpu();
    const acc = toGpu(g, rand([2, 4, 4], 1));
    const t = toGpu(g, rand([3, 4, 5], 2));
    const ok = toGpu(g, rand([3, 4, 4], 3));
    expectRejected(g, () => accumulateSampleMean(acc, 0, t, 1), 'samples [3,4,5] do not match the accumulator [2,4,4]');
    expectRejected(g, () => accumulateSampleMean(acc, 2, ok, 1), 'index 2 is not in the 2 accumulators');
    expectRejected(g, () => accumulateSampleMean(acc, 0, ok, Infinity), 'scale Infinity is not a finite number');
    for (const x of [acc, t, ok]) x.dispose();
  });
});

describe('scale in place (weight decay)', () => {
  for (const [k, shape] of [[1, 3, 224, 224], [2, 5, 3, 7], [1]].entries()) {
    it(`x ← s·x matches the reference, shape [${shape}]`, async () => {
      const x = rand(shape, 60 + k);
      const xg = toGpu(gpu(), x);
      scaleInPlace(xg, 1 - 1e-4);
      expectClose(await xg.read(), scaleRef(x, 1 - 1e-4).data, FORWARD_BOUND, 'scale in place');
      xg.dispose();
    });
  }

  it('rejects a non-finite factor', () => {
    const g = gpu();
    const x = toGpu(g, rand([4], 1));
    expectRejected(g, () => scaleInPlace(x, NaN), 'scale in place: factor NaN is not a finite number');
    x.dispose();
  });
});
