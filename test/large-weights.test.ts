/**
 * Tensors larger than one storage binding (maxStorageBufferBindingSize, 128 MiB on lavapipe): VGG16's classifier
 * weight [4096, 25088] is 392 MiB, AlexNet's [4096, 9216] 144 MiB. They load, and Gemm and MatMul read them in windows,
 * forward and backward; everything else refuses them with one line before allocating. A weight larger than one buffer
 * (maxBufferSize: 4 GiB on lavapipe, 256 MiB on some browsers' adapters) is stored in parts, rows split between
 * buffers, and read in windows of each part.
 *
 * Most tests lower the device's limits (DeviceOptions.limitsForTesting) so that a few kilobytes exercise the windowed
 * paths: the chunks along n (a transposed weight: blocks of Y's columns), along k (the reduction: partial products
 * added into Y), along m (a weight's gradient: blocks of its rows). The last test runs the real VGG16-sized product on
 * the device's real limits. Products of at most 4 rows run on the vector kernels (gemv.wgsl), larger ones on the tiled
 * kernel (gemm.wgsl): both are windowed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDevice, type Gpu } from '../src/gpu/device.js';
import { Tensor } from '../src/gpu/tensor.js';
import { checkOp } from '../src/graph/gradcheck.js';
import { Model } from '../src/graph/model.js';
import { buildModel, type ModelSpec } from '../src/graph/onnx/build-fixture.js';
import { Gemm } from '../src/graph/ops/gemm.js';
import { MatMul } from '../src/graph/ops/matmul.js';
import { gemm, gemmBackward, gemmBackwardRef, gemmRef, matmul, matmulBackward, matmulBackwardRef, matmulRef, type GemmAttrs } from '../src/kernels/gemm.js';
import { host } from '../src/kernels/host.js';
import { classScoreGradient } from '../src/techniques/gradient.js';
import { Rng } from '../src/util/rng.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, expectPixelpropError, fromGpu, rand, toGpu } from './helpers.js';

const BINDING = 16 * 1024; // bytes: a B of 40 × 500 floats (80 KB) needs 5+ windows

/** input [N,3,6,6] → conv 3→convOut 3×3 → relu → flatten → fc [10, convOut·16] (+ bias) → logits */
function fcModel(convOut = 4): ModelSpec {
  const rng = new Rng(9);
  const features = convOut * 4 * 4;
  return {
    opset: 13,
    inputs: [{ name: 'x', dims: ['N', 3, 6, 6] }],
    outputs: [{ name: 'logits', dims: ['N', 10] }],
    initializers: [
      { name: 'conv.w', dims: [convOut, 3, 3, 3], data: Float32Array.from(rng.uniforms(convOut * 27, -0.3, 0.3)) },
      { name: 'fc.w', dims: [10, features], data: Float32Array.from(rng.uniforms(10 * features, -0.1, 0.1)) },
      { name: 'fc.b', dims: [10], data: Float32Array.from(rng.uniforms(10, -0.1, 0.1)) },
    ],
    nodes: [
      { name: 'conv', opType: 'Conv', inputs: ['x', 'conv.w'], outputs: ['conv'], attrs: { kernel_shape: [3, 3] } },
      { name: 'relu', opType: 'Relu', inputs: ['conv'], outputs: ['relu'] },
      { name: 'flatten', opType: 'Flatten', inputs: ['relu'], outputs: ['flat'], attrs: { axis: 1 } },
      { name: 'fc', opType: 'Gemm', inputs: ['flat', 'fc.w', 'fc.b'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
  };
}


describe('a device whose bindings hold 16 KiB', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await createDevice({ limitsForTesting: { maxStorageBufferBindingSize: BINDING } });
  });
  afterAll(() => gpu.destroy());

  it('says so, and still allocates a larger tensor, which only a windowed kernel can bind', () => {
    expect(gpu.bindingLimit).toBe(BINDING);
    expect(gpu.bufferLimit).toBe(gpu.limits.maxBufferSize);
    const t = Tensor.zeros(gpu, [40, 500], 'fc.weight');
    expect(t.fitsBinding).toBe(false);
    expectPixelpropError(() => t.binding, /^tensor 'fc\.weight' \[40,500\] \(78\.1 KiB\) is larger than one storage binding of this device \(16\.0 KiB\); only Gemm and MatMul/);
    t.dispose();
  });

  const cases: { name: string; a: number[]; b: number[]; c: number[] | null; attrs: GemmAttrs; axis: string }[] = [
    { name: 'transB: B [40,500] in windows of its rows, Y in blocks of columns', a: [3, 500], b: [40, 500], c: [40], attrs: { transB: 1 }, axis: 'n' },
    { name: 'B [500,40]: the reduction in chunks added into Y, α 0.5, β 2, C [3,40]', a: [3, 500], b: [500, 40], c: [3, 40], attrs: { alpha: 0.5, beta: 2 }, axis: 'k' },
    { name: 'transA transB, C [3,1]', a: [500, 3], b: [40, 500], c: [3, 1], attrs: { transA: 1, transB: 1, beta: -1 }, axis: 'n' },
    { name: 'transA, no C', a: [500, 3], b: [500, 40], c: null, attrs: { transA: 1 }, axis: 'k' },
    // 10 rows: the tiled kernel (at most 4 rows run on the vector kernels of gemv.wgsl)
    { name: '10 rows, transB B [60,300] (tiled kernel)', a: [10, 300], b: [60, 300], c: [60], attrs: { transB: 1 }, axis: 'n' },
    { name: '10 rows, B [300,60] (tiled kernel, chunks added into Y)', a: [10, 300], b: [300, 60], c: [10, 1], attrs: { beta: 0.5 }, axis: 'k' },
  ];
  for (const c of cases) {
    it(`Gemm ${c.name}: forward and all gradients against float64`, async () => {
      const [a, b] = [rand(c.a, 1), rand(c.b, 2)];
      const cc = c.c ? rand(c.c, 3) : null;
      const [ag, bg] = [toGpu(gpu, a, 'a'), toGpu(gpu, b, 'w')];
      const cg = cc ? toGpu(gpu, cc, 'c') : null;
      expect(bg.fitsBinding).toBe(false);
      const before = gpu.dispatchCount;
      const y = gemm(ag, bg, cg, c.attrs);
      expect(gpu.dispatchCount - before, `chunks along ${c.axis}`).toBeGreaterThanOrEqual(5);
      expectClose((await fromGpu(y)).data, gemmRef(a, b, cc, c.attrs).data, FORWARD_BOUND, 'forward');
      const dy = rand(y.shape as number[], 4);
      const dyg = toGpu(gpu, dy, 'dy');
      const [da, db, dc] = gemmBackward(dyg, ag, bg, c.c, c.attrs, [true, true, true]);
      const [ra, rb, rc] = gemmBackwardRef(dy, a, b, c.c, c.attrs);
      expect(db!.fitsBinding, 'dB is as large as B: written in windows').toBe(false);
      expectClose((await fromGpu(da!)).data, ra.data, BACKWARD_BOUND, 'dA');
      expectClose((await fromGpu(db!)).data, rb.data, BACKWARD_BOUND, 'dB');
      if (rc) expectClose((await fromGpu(dc!)).data, rc.data, BACKWARD_BOUND, 'dC');
      for (const t of [ag, bg, cg, y, dyg, da, db, dc]) t?.dispose();
    });
  }

  it('MatMul [2,3,500]·[500,40] (A\'s batch folded into M) and its gradients', async () => {
    const [a, b] = [rand([2, 3, 500], 5), rand([500, 40], 6)];
    const [ag, bg] = [toGpu(gpu, a, 'a'), toGpu(gpu, b, 'w')];
    const y = matmul(ag, bg);
    expectClose((await fromGpu(y)).data, matmulRef(a, b).data, FORWARD_BOUND, 'forward');
    const dy = rand([2, 3, 40], 7);
    const dyg = toGpu(gpu, dy, 'dy');
    const [da, db] = matmulBackward(dyg, ag, bg, [true, true]);
    const [ra, rb] = matmulBackwardRef(dy, a, b);
    expectClose((await fromGpu(da!)).data, ra.data, BACKWARD_BOUND, 'dA');
    expectClose((await fromGpu(db!)).data, rb.data, BACKWARD_BOUND, 'dB');
    for (const t of [ag, bg, y, dyg, da!, db!]) t.dispose();
  });

  it('the Gemm and MatMul ops pass their gradient checks (tape, float64, finite differences) with windowed operands', async () => {
    const random = (shape: number[], seed: number) => host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));
    const checks = [
      await checkOp(gpu, Gemm, { name: 'Gemm [2,600]·[8,600]ᵀ + C', inputs: () => [random([2, 600], 11), random([8, 600], 12), random([8], 13)], attrs: { transB: 1 } }),
      await checkOp(gpu, MatMul, { name: 'MatMul [2,600]·[600,8]', inputs: () => [random([2, 600], 14), random([600, 8], 15)], attrs: {} }),
    ];
    for (const r of checks) {
      expect(r.forwardError, r.name).toBeLessThanOrEqual(FORWARD_BOUND);
      for (const b of r.backwardErrors) {
        expect(b.gpuVsReference, `${r.name} input ${b.input}`).toBeLessThanOrEqual(BACKWARD_BOUND);
        expect(b.referenceVsFiniteDifferences, `${r.name} input ${b.input}`).toBeLessThanOrEqual(BACKWARD_BOUND);
      }
    }
  });

  it('refuses what it cannot split, with one line, before allocating: a batched product, operands that would be split along different axes', () => {
    const w = Tensor.zeros(gpu, [2, 300, 40], 'w');
    const a = Tensor.zeros(gpu, [2, 3, 300], 'a');
    const wide = Tensor.zeros(gpu, [3, 5000], 'wide');
    const x = Tensor.zeros(gpu, [1, 3], 'x');
    const tall = Tensor.zeros(gpu, [8, 5000], 'tall');
    const before = gpu.memory();
    expectPixelpropError(() => matmul(a, w), /^matmul: B \[2,300,40\] is larger than one storage binding \(16\.0 KiB\), which a batched product cannot split$/);
    expectPixelpropError(() => gemm(x, wide, null), /^gemm: B \[3,5000\] and the result \[1,5000\] are larger than one storage binding \(16\.0 KiB\) along different axes; not supported$/);
    expectPixelpropError(() => gemm(tall, tall, null, { transB: 1 }), /^gemm: A \[8,5000\] and B \[8,5000\] are larger than one storage binding \(16\.0 KiB\) along different axes; not supported$/);
    expect(gpu.memory()).toEqual(before);
    for (const t of [w, a, wide, x, tall]) t.dispose();
  });

  it('a model whose classifier weight is larger than a binding loads and runs, forward and gradient, against its CPU path', async () => {
    const model = Model.load(gpu, buildModel(fcModel(40))); // fc.w [10, 640]: 25 KiB
    try {
      expect(model.weights.get('fc.w')!.fitsBinding).toBe(false);
      const x = rand([2, 3, 6, 6], 10);
      const xt = toGpu(gpu, x, 'x');
      const { scores, grad } = classScoreGradient(model, xt, [3, 8]);
      const ref = model.referenceClassScoreGradient(x, [3, 8]);
      expectClose(await scores.read(), ref.scores.data, FORWARD_BOUND, 'scores');
      expectClose(await grad.read(), ref.grad.data, BACKWARD_BOUND, 'gradient');
      for (const t of [xt, scores, grad]) t.dispose();
    } finally {
      model.dispose();
    }
  });

  it('refuses, at load and before uploading anything, a larger constant that an op reads whole', () => {
    const spec = fcModel(200); // conv.w [200,3,3,3]: 21 KiB, read whole by the conv kernels; fc.w [10,3200] is fine
    const before = gpu.memory();
    expectPixelpropError(
      () => Model.load(gpu, buildModel(spec)),
      /^node 'conv' \(Conv\): constant 'conv\.w' \[200,3,3,3\] needs 21\.1 KiB, more than one storage binding of this device \(16\.0 KiB\); Conv reads it whole/,
    );
    expect(gpu.memory()).toEqual(before);
  });
});

describe('a device whose buffers hold 32 KiB and bindings 16 KiB', () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await createDevice({ limitsForTesting: { maxBufferSize: 32 * 1024, maxStorageBufferBindingSize: BINDING } });
  });
  afterAll(() => gpu.destroy());

  it('refuses a tensor no buffer holds before allocating, unless asked to store a matrix in parts', async () => {
    expect(gpu.bufferLimit).toBe(32 * 1024);
    const before = gpu.memory();
    expectPixelpropError(() => Tensor.empty(gpu, [40, 500], 'w'), /^tensor 'w' \[40,500\] needs 78\.1 KiB, more than this device allows in one buffer \(32\.0 KiB\)$/);
    expectPixelpropError(() => Tensor.empty(gpu, [20000], 'bias', { inParts: true }), /^tensor 'bias' \[20000\] needs 78\.1 KiB, more than this device allows in one buffer/);
    expectPixelpropError(() => Tensor.empty(gpu, [2, 9000], 'wide', { inParts: true }), /one slice \[9000\] of it needs 35\.2 KiB$/);
    expect(gpu.memory()).toEqual(before);
    const data = rand([40, 500], 30).data;
    const t = Tensor.from(gpu, [40, 500], Float32Array.from(data), 'w', { inParts: true });
    expect(t.parts.map((p) => [p.first, p.size])).toEqual([[0, 16 * 500], [16 * 500, 16 * 500], [32 * 500, 8 * 500]]); // 16 rows of 2000 B per 32 KiB
    expect(Array.from(await t.read())).toEqual(Array.from(Float32Array.from(data)));
    expectPixelpropError(() => t.buffer, /^tensor 'w' \[40,500\] \(78\.1 KiB\) is stored in 3 buffers, being larger than one buffer of this device \(32\.0 KiB\); only Gemm and MatMul read it, part by part$/);
    t.dispose();
    expect(gpu.memory().inUseBuffers).toBe(before.inUseBuffers);
  });

  for (const c of [
    { name: 'transB: B [40,500] in 3 buffers, windows inside each', a: [3, 500], b: [40, 500], cShape: [40], attrs: { transB: 1 } },
    { name: 'B [500,40] in 3 buffers, the reduction chunked and added into Y', a: [6, 500], b: [500, 40], cShape: [6, 40], attrs: { alpha: 2, beta: 0.5 } },
  ] as { name: string; a: number[]; b: number[]; cShape: number[]; attrs: GemmAttrs }[]) {
    it(`Gemm ${c.name}: forward and all gradients (dB in parts too) against float64`, async () => {
      const [a, b, cc] = [rand(c.a, 31), rand(c.b, 32), rand(c.cShape, 33)];
      const ag = toGpu(gpu, a, 'a');
      const bg = Tensor.from(gpu, c.b, Float32Array.from(b.data), 'w', { inParts: true });
      const cg = toGpu(gpu, cc, 'c');
      expect(bg.parts.length).toBe(3);
      const y = gemm(ag, bg, cg, c.attrs);
      expectClose((await fromGpu(y)).data, gemmRef(a, b, cc, c.attrs).data, FORWARD_BOUND, 'forward');
      const dy = rand(y.shape as number[], 34);
      const dyg = toGpu(gpu, dy, 'dy');
      const [da, db, dc] = gemmBackward(dyg, ag, bg, c.cShape, c.attrs, [true, true, true]);
      const [ra, rb, rc] = gemmBackwardRef(dy, a, b, c.cShape, c.attrs);
      expect(db!.parts.length).toBe(3);
      expectClose((await fromGpu(da!)).data, ra.data, BACKWARD_BOUND, 'dA');
      expectClose((await fromGpu(db!)).data, rb.data, BACKWARD_BOUND, 'dB');
      expectClose((await fromGpu(dc!)).data, rc!.data, BACKWARD_BOUND, 'dC');
      for (const t of [ag, bg, cg, y, dyg, da!, db!, dc!]) t.dispose();
    });
  }

  it('a model whose classifier weight is larger than a buffer stores it in parts, and agrees with its CPU path', async () => {
    const model = Model.load(gpu, buildModel(fcModel(100))); // fc.w [10, 1600]: 62.5 KiB, 5 rows per buffer
    try {
      expect(model.weights.get('fc.w')!.parts.length).toBe(2);
      const x = rand([1, 3, 6, 6], 35);
      const xt = toGpu(gpu, x, 'x');
      const { scores, grad } = classScoreGradient(model, xt, [6]);
      const ref = model.referenceClassScoreGradient(x, [6]);
      expectClose(await scores.read(), ref.scores.data, FORWARD_BOUND, 'scores');
      expectClose(await grad.read(), ref.grad.data, BACKWARD_BOUND, 'gradient');
      for (const t of [xt, scores, grad]) t.dispose();
    } finally {
      model.dispose();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The real size, on the device's real limits.

describe("VGG16's classifier.0 on this device's own limits", () => {
  let gpu: Gpu;
  beforeAll(async () => {
    gpu = await createDevice();
  });
  afterAll(() => gpu.destroy());

  it('[1,25088]·[4096,25088]ᵀ + b (392 MiB of weights): forward and the gradient to the input, against float64', async () => {
    const [n, k] = [4096, 25088];
    expect(n * k * 4, 'the weight is larger than one binding of this device').toBeGreaterThan(gpu.bindingLimit);
    const rng = new Rng(21);
    const w = new Float32Array(n * k);
    for (let i = 0; i < w.length; i++) w[i] = (rng.uniform() - 0.5) * 0.02;
    const x = Float32Array.from(rng.uniforms(k, 0, 1));
    const b = Float32Array.from(rng.uniforms(n, -0.1, 0.1));
    const dy = Float32Array.from(rng.uniforms(n, -1, 1));
    const wt = Tensor.from(gpu, [n, k], w, 'classifier.0.weight');
    const [xt, bt, dyt] = [Tensor.from(gpu, [1, k], x, 'x'), Tensor.from(gpu, [n], b, 'b'), Tensor.from(gpu, [1, n], dy, 'dy')];
    const started = performance.now();
    const y = gemm(xt, wt, bt, { transB: 1 }, 'fc6');
    const [dx] = gemmBackward(dyt, xt, wt, [n], { transB: 1 }, [true, false, false]);
    const [yv, dxv] = [await y.read(), await dx!.read()];
    const gpuMs = performance.now() - started;
    // float64 references, row by row: y_j = b_j + Σ_i x_i W_ji, dx_i = Σ_j dy_j W_ji
    const yRef = new Float64Array(n);
    const dxRef = new Float64Array(k);
    for (let j = 0; j < n; j++) {
      let s = b[j]!;
      const row = j * k;
      for (let i = 0; i < k; i++) {
        s += x[i]! * w[row + i]!;
        dxRef[i]! += dy[j]! * w[row + i]!;
      }
      yRef[j] = s;
    }
    const fwd = expectClose(yv, yRef, FORWARD_BOUND, 'forward');
    const bwd = expectClose(dxv, dxRef, BACKWARD_BOUND, 'gradient to the input');
    console.log(
      `VGG16 classifier.0 [4096,25088] (392 MiB, binding limit ${(gpu.bindingLimit / 2 ** 20).toFixed(0)} MiB): forward ${fwd.toExponential(2)}, ` +
        `dx ${bwd.toExponential(2)} vs float64; GPU forward + backward ${gpuMs.toFixed(0)} ms`,
    );
    for (const t of [wt, xt, bt, dyt, y, dx!]) t.dispose();
  });
});
