import { describe, expect, it } from 'vitest';
import {
  gemm,
  gemmBackward,
  gemmBackwardRef,
  gemmRef,
  matmul,
  matmulBackward,
  matmulBackwardRef,
  matmulRef,
  type GemmAttrs,
} from '../src/kernels/gemm.js';
import { gemm as gemmOp } from '../src/graph/ops/gemm.js';
import { numericalGradient } from '../src/graph/gradcheck.js';
import { Tape } from '../src/graph/tape.js';
import type { HostTensor } from '../src/kernels/host.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, expectRejected, rand, toGpu, useGpu } from './helpers.js';

const gpu = useGpu();

/** A, B shapes for Y [m, n] = A'·B' with inner size k under the transpose flags. */
function operandShapes(m: number, n: number, k: number, attrs: GemmAttrs): [number[], number[]] {
  return [attrs.transA ? [k, m] : [m, k], attrs.transB ? [n, k] : [k, n]];
}

/** Runs Gemm forward and backward on the GPU and compares everything with the float64 references. */
async function checkGemm(m: number, n: number, k: number, cShape: number[] | null, attrs: GemmAttrs, seed: number): Promise<void> {
  const [aShape, bShape] = operandShapes(m, n, k, attrs);
  const a = rand(aShape, seed);
  const b = rand(bShape, seed + 1);
  const c = cShape ? rand(cShape, seed + 2) : null;
  const dy = rand([m, n], seed + 3);
  const [ag, bg, dyg] = [toGpu(gpu(), a), toGpu(gpu(), b), toGpu(gpu(), dy)];
  const cg = c ? toGpu(gpu(), c) : null;
  const what = `Gemm [${m},${k}]·[${k},${n}] C ${cShape ? `[${cShape}]` : 'none'} ${JSON.stringify(attrs)}`;
  const y = gemm(ag, bg, cg, attrs);
  expect(y.shape).toEqual([m, n]);
  expectClose(await y.read(), gemmRef(a, b, c, attrs).data, FORWARD_BOUND, `${what} forward`);
  const grads = gemmBackward(dyg, ag, bg, cShape, attrs, [true, true, true]);
  const refs = gemmBackwardRef(dy, a, b, cShape, attrs);
  for (const [i, label] of ['dA', 'dB', 'dC'].entries()) {
    const g = grads[i];
    const r = refs[i];
    if (!r) {
      expect(g).toBeNull();
      continue;
    }
    expect(g!.shape).toEqual(r.shape);
    expectClose(await g!.read(), r.data, BACKWARD_BOUND, `${what} ${label}`);
  }
  for (const t of [ag, bg, dyg, cg, y, ...grads]) t?.dispose();
}

describe('Gemm', () => {
  it('SqueezeNet-like classifier: [1,512]·[1000,512]ᵀ + bias[1000] (transB=1), batch 1 and 8', async () => {
    await checkGemm(1, 1000, 512, [1000], { transB: 1 }, 1);
    await checkGemm(8, 1000, 512, [1000], { transB: 1 }, 5);
  });

  const flags: GemmAttrs[] = [{}, { transA: 1 }, { transB: 1 }, { transA: 1, transB: 1 }];
  for (const attrs of flags) {
    it(`transA=${attrs.transA ?? 0} transB=${attrs.transB ?? 0}, α=0.7 β=-1.3, sizes not multiples of the tile`, async () => {
      await checkGemm(37, 23, 19, [23], { ...attrs, alpha: 0.7, beta: -1.3 }, 10);
      await checkGemm(17, 33, 48, [17, 1], { ...attrs, alpha: -2 }, 11);
    });
  }

  for (const cShape of [[1], [29], [1, 29], [13, 1], [13, 29], [1, 1], null]) {
    it(`C of shape ${cShape ? `[${cShape}]` : 'none'} broadcasts to [13,29]; dC sums over the broadcast axes`, async () => {
      await checkGemm(13, 29, 11, cShape, { beta: 0.5 }, 20);
    });
  }

  it('tiny shapes: 1×1·1×1, 3×5·5×7, and a K larger than M and N', async () => {
    await checkGemm(1, 1, 1, [1], {}, 30);
    await checkGemm(3, 7, 5, [7], { transA: 1 }, 31);
    await checkGemm(2, 3, 300, [2, 3], { transB: 1, alpha: 1e-2, beta: 3 }, 32);
  });

  it('β = 0 gives dC = 0; α = 0 ignores A and B', async () => {
    await checkGemm(4, 6, 5, [6], { beta: 0 }, 40);
    await checkGemm(4, 6, 5, [4, 6], { alpha: 0 }, 41);
  });

  it('reference backward matches centered finite differences for every input', () => {
    const cases: [number[] | null, GemmAttrs][] = [
      [[4], { transB: 1, alpha: 0.5, beta: 2 }],
      [[3, 1], { transA: 1 }],
      [[1], { transA: 1, transB: 1, beta: -1 }],
      [[3, 4], {}],
    ];
    for (const [cShape, attrs] of cases) {
      const [aShape, bShape] = operandShapes(3, 4, 5, attrs);
      const inputs: HostTensor[] = [rand(aShape, 1), rand(bShape, 2)];
      if (cShape) inputs.push(rand(cShape, 3));
      const r = rand([3, 4], 4);
      const analytic = gemmBackwardRef(r, inputs[0]!, inputs[1]!, cShape, attrs);
      inputs.forEach((_, i) => {
        const numeric = numericalGradient(([a, b, c]) => gemmRef(a!, b!, c ?? null, attrs), inputs, i, r.data, 1e-3);
        expectClose(analytic[i]!.data, numeric, 1e-8, `Gemm ${JSON.stringify(attrs)} input ${i} vs FD`);
      });
    }
  });

  it('computes only the gradients asked for', () => {
    const g = gpu();
    const [a, b, dy] = [toGpu(g, rand([3, 4], 1)), toGpu(g, rand([4, 5], 2)), toGpu(g, rand([3, 5], 3))];
    const before = g.dispatchCount;
    const [da, db, dc] = gemmBackward(dy, a, b, [5], {}, [false, true, false]);
    expect(da).toBeNull();
    expect(dc).toBeNull();
    expect(db!.shape).toEqual([4, 5]);
    expect(g.dispatchCount).toBe(before + 1);
    for (const t of [a, b, dy, db!]) t.dispose();
  });

  it('records on the tape with its attributes, and C may be omitted', async () => {
    const [a, b, c] = [toGpu(gpu(), rand([2, 3], 1)), toGpu(gpu(), rand([4, 3], 2)), toGpu(gpu(), rand([4], 3))];
    a.requiresGrad = true;
    const tape = new Tape();
    const y = tape.record(() => gemmOp(a, b, c, { transB: 1, beta: 2 }, 'fc'));
    expect(tape.toString()).toBe('#0 Gemm {transB β=2}(x[2,3], x[4,3], x[4]) → fc[2,4]');
    const [da] = tape.backward(y, [a], { seed: toGpu(gpu(), rand([2, 4], 4)) });
    expect(da!.shape).toEqual([2, 3]);
    for (const t of [a, b, c, y, da!]) t.dispose();
  });

  it('rejects mismatched shapes and bad attributes before dispatching', () => {
    const g = gpu();
    const a = toGpu(g, rand([3, 4], 1));
    const b = toGpu(g, rand([4, 5], 2));
    const bt = toGpu(g, rand([5, 4], 3));
    const c2 = toGpu(g, rand([2, 5], 4));
    const c3 = toGpu(g, rand([1, 3, 5], 5));
    const a3 = toGpu(g, rand([1, 3, 4], 6));
    expectRejected(g, () => gemm(a, bt, null), "Gemm: A' is [3,4] but B' is [5,4]");
    expectRejected(g, () => gemm(a, b, null, { transA: 1 }), "Gemm: A' is [4,3] but B' is [4,5]");
    expectRejected(g, () => gemm(a, b, c2), 'Gemm: C [2,5] does not broadcast to [3,5]');
    expectRejected(g, () => gemm(a, b, c3), 'Gemm: C [1,3,5] does not broadcast to [3,5]');
    expectRejected(g, () => gemm(a3, b, null), 'must both be 2-D');
    expectRejected(g, () => gemm(a, b, null, { transA: 2 }), 'Gemm: transA = 2 is not 0 or 1');
    expectRejected(g, () => gemm(a, b, null, { alpha: NaN }), 'Gemm: alpha = NaN is not a finite number');
    expectRejected(g, () => gemmBackward(a, a, b, null, {}, [true, true]), 'Gemm backward: dY [3,4] is not [3,5]');
    for (const t of [a, b, bt, c2, c3, a3]) t.dispose();
  });
});

describe('MatMul', () => {
  const cases: [number[], number[]][] = [
    [[5, 7], [7, 3]],
    [[1, 512], [512, 1000]],
    [[3, 5, 7], [3, 7, 4]], // a batch of products
    [[2, 3, 5, 7], [2, 3, 7, 4]], // two batch dimensions
    [[5, 7], [3, 7, 4]], // A shared by the batch
    [[2, 3, 5, 7], [7, 4]], // B shared: folds into one [30, 7]·[7, 4]
    [[1, 1], [1, 1]],
  ];
  for (const [aShape, bShape] of cases) {
    it(`[${aShape}]·[${bShape}] forward and backward match the reference`, async () => {
      const a = rand(aShape, 1);
      const b = rand(bShape, 2);
      const ref = matmulRef(a, b);
      const dy = rand(ref.shape, 3);
      const [ag, bg, dyg] = [toGpu(gpu(), a), toGpu(gpu(), b), toGpu(gpu(), dy)];
      const y = matmul(ag, bg);
      expect(y.shape).toEqual(ref.shape);
      expectClose(await y.read(), ref.data, FORWARD_BOUND, 'MatMul forward');
      const [da, db] = matmulBackward(dyg, ag, bg, [true, true]);
      const [daRef, dbRef] = matmulBackwardRef(dy, a, b);
      expect(da!.shape).toEqual(aShape);
      expect(db!.shape).toEqual(bShape);
      expectClose(await da!.read(), daRef.data, BACKWARD_BOUND, 'MatMul dA');
      expectClose(await db!.read(), dbRef.data, BACKWARD_BOUND, 'MatMul dB');
      for (const t of [ag, bg, dyg, y, da!, db!]) t.dispose();
    });
  }

  it('reference backward matches centered finite differences (batched, and each operand shared)', () => {
    for (const [aShape, bShape] of [[[2, 3, 4], [2, 4, 2]], [[3, 4], [2, 4, 2]], [[2, 3, 4], [4, 2]]]) {
      const inputs = [rand(aShape!, 1), rand(bShape!, 2)];
      const out = matmulRef(inputs[0]!, inputs[1]!);
      const r = rand(out.shape, 3);
      const analytic = matmulBackwardRef(r, inputs[0]!, inputs[1]!);
      for (const i of [0, 1]) {
        const numeric = numericalGradient(([a, b]) => matmulRef(a!, b!), inputs, i, r.data, 1e-3);
        expectClose(analytic[i]!.data, numeric, 1e-8, `MatMul [${aShape}]·[${bShape}] input ${i} vs FD`);
      }
    }
  });

  it('rejects mismatched inner sizes, differing batches and 1-D operands', () => {
    const g = gpu();
    const t = (shape: number[]) => toGpu(g, rand(shape, 1));
    const [a, b, a3, b3, v] = [t([3, 4]), t([5, 2]), t([2, 3, 4]), t([3, 4, 2]), t([4])];
    expectRejected(g, () => matmul(a, b), 'MatMul: A [3,4] has 4 columns but B [5,2] has 5 rows');
    expectRejected(g, () => matmul(a3, b3), 'MatMul: batch dimensions [2] and [3] differ');
    expectRejected(g, () => matmul(a, v), 'must have at least 2 dimensions');
    for (const x of [a, b, a3, b3, v]) x.dispose();
  });
});

