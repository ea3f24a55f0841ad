import { describe, expect, it } from 'vitest';
import {
  axpyByNormInPlace,
  axpyByNormRef,
  axpyInPlace,
  axpyRef,
  clampChannelsInPlace,
  clampChannelsRef,
  scale,
  scaleRef,
} from '../src/kernels/elementwise.js';
import {
  argmax,
  argmaxIndices,
  argmaxRef,
  l2Norm,
  reduceAllRef,
  reducePerSample,
  reducePerSampleRef,
  sum,
  sumBackward,
  sumBackwardRef,
  sumOfSquares,
  sumOfSquaresBackward,
  sumOfSquaresBackwardRef,
  sumStrided,
  sumStridedRef,
  type SumKind,
} from '../src/kernels/reduce.js';
import {
  gaussianBlur,
  gaussianBlurInPlace,
  gaussianBlurRef,
  gaussianWeights,
  reflectIndex,
  roll,
  rollRef,
} from '../src/kernels/image.js';
import { numericalGradient } from '../src/graph/gradcheck.js';
import { host } from '../src/kernels/host.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, expectRejected, rand, toGpu, useGpu } from './helpers.js';

const gpu = useGpu();

describe('scale and axpy', () => {
  for (const shape of [[2, 3, 5, 7], [1], [1, 3, 224, 224]]) {
    it(`scale, axpy and the norm-normalized axpy match the reference, shape [${shape}]`, async () => {
      const x = rand(shape, 1);
      const y = rand(shape, 2);
      const xg = toGpu(gpu(), x);
      const s = scale(xg, -2.5);
      expectClose(await s.read(), scaleRef(x, -2.5).data, FORWARD_BOUND, 'scale');

      const yg = toGpu(gpu(), y);
      axpyInPlace(yg, 0.3, xg);
      const y1 = axpyRef(y, 0.3, x);
      expectClose(await yg.read(), y1.data, FORWARD_BOUND, 'axpy');

      // The fooling step: y += lr · x / ‖x‖₂ with the norm computed and consumed on the GPU.
      const norm = l2Norm(xg);
      axpyByNormInPlace(yg, 0.7, xg, norm, 1e-8);
      const normRef = reduceAllRef(x, 'l2Norm').data[0]!;
      expectClose(await yg.read(), axpyByNormRef(y1, 0.7, x, normRef, 1e-8).data, FORWARD_BOUND, 'axpy by norm');
      for (const t of [xg, s, yg, norm]) t.dispose();
    });
  }

  it('rejects bad input before dispatching', () => {
    const g = gpu();
    const a = toGpu(g, rand([2, 3], 1));
    const b = toGpu(g, rand([3, 2], 2));
    const two = toGpu(g, rand([2], 3));
    expectRejected(g, () => axpyInPlace(a, 1, b), 'axpy: shapes differ');
    expectRejected(g, () => axpyInPlace(a, NaN, a), 'axpy alpha NaN is not a finite number');
    expectRejected(g, () => scale(a, Infinity), 'scale factor Infinity');
    expectRejected(g, () => axpyByNormInPlace(a, 1, a, two), 'must be a 1-element tensor');
    expectRejected(g, () => axpyByNormInPlace(a, 1, a, two.reshape([1, 2])), 'must be a 1-element tensor');
    for (const t of [a, b, two]) t.dispose();
  });
});

describe('per-channel clamp', () => {
  for (const [shape, seed] of [[[2, 3, 5, 7], 1], [[1, 5, 4, 4], 2], [[3, 64, 2, 3], 3], [[1, 1, 1, 1], 4]] as const) {
    it(`clamps channel by channel in place, shape [${shape}]`, async () => {
      const c = shape[1];
      const x = rand([...shape], seed, -3, 3);
      // float32 bounds, as the GPU holds them, so that the comparison can be exact
      const lo = Array.from({ length: c }, (_, k) => Math.fround(-2 + 0.02 * k));
      const hi = Array.from({ length: c }, (_, k) => Math.fround(0.5 + 0.01 * k));
      const xg = toGpu(gpu(), x);
      clampChannelsInPlace(xg, lo, hi);
      const ref = clampChannelsRef(x, lo, hi);
      expectClose(await xg.read(), ref.data, 0, 'clamp');
      expect(ref.data.some((v, i) => v !== x.data[i])).toBe(true); // the bounds did bite
      xg.dispose();
    });
  }

  it('rejects bounds of the wrong length, lo > hi, too many channels, and non-NCHW tensors', () => {
    const g = gpu();
    const x = toGpu(g, rand([1, 3, 2, 2], 1));
    expectRejected(g, () => clampChannelsInPlace(x, [0, 0], [1, 1, 1]), '2 lows and 3 highs for 3 channels');
    expectRejected(g, () => clampChannelsInPlace(x, [0, 0, 0], [1, 1]), 'for 3 channels');
    expectRejected(g, () => clampChannelsInPlace(x, [0, 2, 0], [1, 1, 1]), 'channel 1 has bounds [2, 1]');
    expectRejected(g, () => clampChannelsInPlace(x, [0, NaN, 0], [1, 1, 1]), 'channel 1');
    const flat = toGpu(g, rand([3, 4], 2));
    expectRejected(g, () => clampChannelsInPlace(flat, [0, 0, 0], [1, 1, 1]), 'expected an NCHW tensor');
    const wide = toGpu(g, rand([1, 65, 1, 1], 3));
    const bounds = new Array<number>(65).fill(0);
    expectRejected(g, () => clampChannelsInPlace(wide, bounds, bounds), '65 channels, more than the 64 supported');
    for (const t of [x, flat, wide]) t.dispose();
  });
});

describe('sums and norms', () => {
  it('Σx, Σx² and ‖x‖₂ of 8×3×224×224 (1.2M) stay within 1e-5 of float64', async () => {
    const x = rand([8, 3, 224, 224], 5);
    const xg = toGpu(gpu(), x);
    const kinds: [SumKind, (t: typeof xg) => typeof xg][] = [
      ['sum', sum],
      ['sumOfSquares', sumOfSquares],
      ['l2Norm', l2Norm],
    ];
    for (const [kind, fn] of kinds) {
      const out = fn(xg);
      expect(out.shape).toEqual([1]);
      expectClose(await out.read(), reduceAllRef(x, kind).data, FORWARD_BOUND, kind);
      out.dispose();
    }
    for (const kind of ['sum', 'sumOfSquares', 'l2Norm'] as const) {
      const out = reducePerSample(xg, kind);
      expect(out.shape).toEqual([8]);
      expectClose(await out.read(), reducePerSampleRef(x, kind).data, FORWARD_BOUND, `${kind} per sample`);
      out.dispose();
    }
    xg.dispose();
  });

  it('a constant 0.1 summed 1.2M times is exact to 1e-6 (a serial float32 loop drifts by 1%)', async () => {
    const n = 8 * 3 * 224 * 224;
    const xg = toGpu(gpu(), host([n], new Float64Array(n).fill(0.1)));
    const s = sum(xg);
    const expected = n * Math.fround(0.1);
    expect(Math.abs((await s.read())[0]! - expected) / expected).toBeLessThan(1e-6);
    for (const t of [xg, s]) t.dispose();
  });

  for (const shape of [[1], [3], [2, 1023], [2, 1025], [5, 3, 7, 11], [1, 1, 1, 1]]) {
    it(`small and odd sizes [${shape}]`, async () => {
      const x = rand(shape, 6);
      const xg = toGpu(gpu(), x);
      for (const kind of ['sum', 'sumOfSquares', 'l2Norm'] as const) {
        const all = kind === 'sum' ? sum(xg) : kind === 'sumOfSquares' ? sumOfSquares(xg) : l2Norm(xg);
        expectClose(await all.read(), reduceAllRef(x, kind).data, FORWARD_BOUND, kind);
        const each = reducePerSample(xg, kind);
        expectClose(await each.read(), reducePerSampleRef(x, kind).data, FORWARD_BOUND, `${kind} per sample`);
        for (const t of [all, each]) t.dispose();
      }
      xg.dispose();
    });
  }

  it('strided sums: column sums with a scale, over a multi-pass length', async () => {
    const x = rand([3000, 5], 7); // 5 sums of 3000 terms each, stride 5: three workgroups per sum, then a second pass
    const spec = { outputs: 5, length: 3000, outStride: 1, inStride: 5, scale: -0.5 };
    const xg = toGpu(gpu(), x);
    const out = sumStrided(xg, spec);
    expectClose(await out.read(), sumStridedRef(x, spec).data, FORWARD_BOUND, 'column sums');
    for (const t of [xg, out]) t.dispose();
  });

  it('backward of Σx and Σx² (total and per sample) match the reference', async () => {
    const x = rand([4, 3, 5, 7], 8);
    const xg = toGpu(gpu(), x);
    for (const dy of [rand([1], 9), rand([4], 10)]) {
      const dyg = toGpu(gpu(), dy);
      const dxSum = sumBackward(dyg, x.shape);
      expectClose(await dxSum.read(), sumBackwardRef(dy, x.shape).data, BACKWARD_BOUND, 'sum backward');
      const dxSq = sumOfSquaresBackward(dyg, xg);
      expectClose(await dxSq.read(), sumOfSquaresBackwardRef(dy, x).data, BACKWARD_BOUND, 'sum of squares backward');
      for (const t of [dyg, dxSum, dxSq]) t.dispose();
    }
    xg.dispose();
  });

  it('backward references match centered finite differences', () => {
    const x = rand([3, 2, 4], 11);
    for (const [kind, dyShape] of [['sum', [1]], ['sumOfSquares', [1]], ['sum', [3]], ['sumOfSquares', [3]]] as const) {
      const r = rand([...dyShape], 12).data;
      const f = dyShape[0] === 1 ? ([t]: typeof x[]) => reduceAllRef(t!, kind) : ([t]: typeof x[]) => reducePerSampleRef(t!, kind);
      const numeric = numericalGradient(f, [x], 0, r, 1e-3);
      const dy = host([...dyShape], r);
      const analytic = kind === 'sum' ? sumBackwardRef(dy, x.shape) : sumOfSquaresBackwardRef(dy, x);
      expectClose(analytic.data, numeric, 1e-8, `${kind} backward vs FD`);
    }
  });

  it('rejects strided sums that leave the tensor and gradients of the wrong size', () => {
    const g = gpu();
    const x = toGpu(g, rand([4, 5], 1));
    expectRejected(g, () => sumStrided(x, { outputs: 5, length: 5, outStride: 4, inStride: 1 }), 'reach element 20 of a tensor of 20');
    expectRejected(g, () => sumStrided(x, { outputs: 0, length: 5, outStride: 0, inStride: 1 }), 'must be positive integers');
    const dy = toGpu(g, rand([3], 2));
    expectRejected(g, () => sumBackward(dy, [4, 5]), 'neither one value nor one per sample');
    for (const t of [x, dy]) t.dispose();
  });
});

describe('argmax', () => {
  it('matches the reference on random rows of 1000 and 5000 classes, and on 1 column', async () => {
    for (const shape of [[8, 1000], [3, 5000], [5, 1], [1, 7]]) {
      const x = rand(shape, 13, -300, 300);
      const xg = toGpu(gpu(), x);
      expect(await argmaxIndices(xg)).toEqual(argmaxRef(x));
      xg.dispose();
    }
  });

  it('ties go to the first index; the max at the very end is found', async () => {
    const k = 1000;
    const rows = [
      Array.from({ length: k }, (_, j) => (j === 3 || j === 700 || j === 999 ? 5 : 0)),
      new Array<number>(k).fill(-2),
      Array.from({ length: k }, (_, j) => (j === k - 1 ? 1 : 0)),
      Array.from({ length: k }, (_, j) => (j % 256 === 17 ? 9 : j / k)), // equal maxima in different invocations
    ];
    const x = host([rows.length, k], rows.flat());
    const xg = toGpu(gpu(), x);
    const out = argmax(xg);
    expect(out.shape).toEqual([4]);
    expect(Array.from(await out.read())).toEqual([3, 0, 999, 17]);
    expect(argmaxRef(x)).toEqual([3, 0, 999, 17]);
    for (const t of [xg, out]) t.dispose();
  });
});

describe('gaussian blur', () => {
  it('the reference is scipy: gaussian_filter1d on axes 2 then 3 of a 3×5 image (values from scipy 1.17)', () => {
    const x = host([1, 1, 3, 5], [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9]);
    const scipy: Record<string, number[]> = {
      0.5: [3.3707384418, 1.7095306435, 3.5874878106, 2.083435999, 4.4290008747, 7.3561895222, 3.4907135915, 5.5857079996, 4.8269574405, 3.9538607203, 5.6333119439, 7.2921774932, 8.3354379218, 7.1546420105, 8.1908075869],
      1: [3.9552251342, 3.4993039309, 3.5572207859, 3.7169015236, 4.0401374169, 5.289280603, 4.9780820049, 5.0880611761, 5.1067617197, 5.1300073036, 6.0783020334, 6.3706081212, 6.7315522139, 6.7230992208, 6.7354568118],
      2.5: [5.0153624618, 5.0296230575, 5.0541789682, 5.0803728846, 5.0974507517, 5.0907813518, 5.1061608704, 5.1323075605, 5.1598249963, 5.1775864501, 5.1661916859, 5.1826947106, 5.2104394984, 5.2392876572, 5.2577370951],
    };
    for (const [sigma, expected] of Object.entries(scipy)) expectClose(gaussianBlurRef(x, Number(sigma)).data, expected, 1e-9, `σ=${sigma}`);
  });

  it("scipy's weights and 'reflect' extension", () => {
    expect(gaussianWeights(0.5).length).toBe(5); // radius int(4·0.5 + 0.5) = 2
    expect(gaussianWeights(1).length).toBe(9); // radius 4
    expect(gaussianWeights(1).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    // d c b a | a b c d | d c b a, repeating with period 2n
    expect([-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7].map((i) => reflectIndex(i, 3))).toEqual([1, 2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0, 1]);
    expect([-2, -1, 0, 1, 2].map((i) => reflectIndex(i, 1))).toEqual([0, 0, 0, 0, 0]);
  });

  const cases: [number[], number][] = [
    [[1, 3, 224, 224], 0.5],
    [[1, 3, 224, 224], 1],
    [[1, 1, 3, 3], 0.5],
    [[1, 1, 3, 3], 1], // radius 4 > the image: reflected more than once
    [[2, 3, 1, 1], 1],
    [[1, 2, 2, 5], 2.5],
    [[2, 3, 7, 4], 1],
  ];
  for (const [shape, sigma] of cases) {
    it(`matches the float64 reference, σ=${sigma}, shape [${shape}], to a new tensor and in place`, async () => {
      const x = rand(shape, 14, 0, 1);
      const ref = gaussianBlurRef(x, sigma);
      const xg = toGpu(gpu(), x);
      const y = gaussianBlur(xg, sigma);
      expectClose(await y.read(), ref.data, FORWARD_BOUND, 'blur');
      expectClose(await xg.read(), x.data, 0, 'blur leaves its input alone');
      gaussianBlurInPlace(xg, sigma);
      expectClose(await xg.read(), ref.data, FORWARD_BOUND, 'blur in place');
      for (const t of [xg, y]) t.dispose();
    });
  }

  it('rejects σ ≤ 0, a non-finite σ, and non-NCHW tensors', () => {
    const g = gpu();
    const x = toGpu(g, rand([1, 3, 4, 4], 1));
    for (const sigma of [0, -1, NaN, Infinity]) {
      expectRejected(g, () => gaussianBlur(x, sigma), `sigma ${sigma} must be a finite number > 0`);
      expectRejected(g, () => gaussianBlurInPlace(x, sigma), 'must be a finite number > 0');
    }
    const flat = toGpu(g, rand([3, 16], 1));
    expectRejected(g, () => gaussianBlur(flat, 1), 'expected an NCHW tensor');
    for (const t of [x, flat]) t.dispose();
  });
});

describe('roll', () => {
  const offsets: [number, number][] = [[0, 0], [1, 0], [0, 1], [3, -2], [-7, 9], [16, -16], [225, -449]];
  for (const [shape, seed] of [[[2, 3, 5, 7], 1], [[1, 3, 224, 224], 2], [[1, 1, 1, 1], 3]] as const) {
    it(`matches numpy.roll semantics for several offsets, shape [${shape}]`, async () => {
      const x = rand([...shape], seed);
      const xg = toGpu(gpu(), x);
      for (const [ox, oy] of offsets) {
        const y = roll(xg, ox, oy);
        expectClose(await y.read(), rollRef(x, ox, oy).data, 0, `roll (${ox}, ${oy})`);
        const back = roll(y, -ox, -oy);
        expectClose(await back.read(), x.data, 0, `roll back (${-ox}, ${-oy})`);
        for (const t of [y, back]) t.dispose();
      }
      xg.dispose();
    });
  }

  it('moves pixel (h, w) to ((h + oy) mod H, (w + ox) mod W)', async () => {
    const x = host([1, 1, 2, 3], [0, 1, 2, 3, 4, 5]);
    const xg = toGpu(gpu(), x);
    const y = roll(xg, 1, 1);
    // numpy.roll(np.arange(6).reshape(2, 3), (1, 1), axis=(0, 1)) = [[5, 3, 4], [2, 0, 1]]
    expect(Array.from(await y.read())).toEqual([5, 3, 4, 2, 0, 1]);
    for (const t of [xg, y]) t.dispose();
  });

  it('rejects fractional offsets', () => {
    const g = gpu();
    const x = toGpu(g, rand([1, 1, 2, 2], 1));
    expectRejected(g, () => roll(x, 0.5, 0), 'offsets (0.5, 0) must be integers');
    x.dispose();
  });
});

