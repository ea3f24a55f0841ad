import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import {
  averagePoolBackward,
  averagePoolBackwardRef,
  averagePoolForward,
  averagePoolRef,
  globalAveragePoolBackward,
  globalAveragePoolBackwardRef,
  globalAveragePoolForward,
  globalAveragePoolRef,
  maxPoolBackward,
  maxPoolBackwardFromArgmax,
  maxPoolBackwardRef,
  maxPoolForward,
  maxPoolRef,
  poolGeometry,
  poolOutputShape,
  type AveragePoolAttributes,
  type PoolAttributes,
  type PoolOp,
} from '../src/kernels/pool.js';
import { host, type HostTensor } from '../src/kernels/host.js';
import type { Tensor } from '../src/gpu/tensor.js';
import { numericalGradient } from '../src/graph/gradcheck.js';
import { Tape } from '../src/graph/tape.js';
import { averagePool } from '../src/graph/ops/average-pool.js';
import { globalAveragePool } from '../src/graph/ops/global-average-pool.js';
import { maxPool, poolAttrs, separatedValues } from '../src/graph/ops/max-pool.js';
import { Rng } from '../src/util/rng.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, fromGpu, rand, toGpu, useGpu, expectPixelpropError } from './helpers.js';
import { pythonWith } from './python.js';

const gpu = useGpu();

/** Measured errors, printed at the end for the record. */
const measured: string[] = [];
afterAll(() => console.log(`pool errors (max|Δ|/max|ref|):\n${measured.join('\n')}`));

const SQUEEZENET_MAXPOOL: PoolAttributes = { kernelShape: [3, 3], strides: [2, 2], ceilMode: 1 }; // as trained (Caffe/PyTorch)
const SHARED_MAXPOOL: PoolAttributes = { kernelShape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }; // ../shared's ONNX file

/** MaxPool version 2: the forward saves each window's argmax and the backward scatters dy through it. */
function maxPoolBackwardV2(dy: Tensor, x: Tensor, attrs: PoolAttributes): Tensor {
  const { y, argmax } = maxPoolForward(x, attrs, 'y', true);
  const dx = maxPoolBackwardFromArgmax(dy, argmax!, x.shape, attrs);
  argmax!.dispose();
  y.dispose();
  return dx;
}

/** GPU forward and backward of one pooling op against the float64 references; seeds differ per case. */
async function checkOnGpu(op: PoolOp, shape: number[], attrs: AveragePoolAttributes, seed: number): Promise<void> {
  const x = rand(shape, seed);
  const xg = toGpu(gpu(), x, 'x');
  const before = gpu().dispatchCount;
  const y = op === 'MaxPool' ? maxPoolForward(xg, attrs).y : averagePoolForward(xg, attrs);
  const yRef = op === 'MaxPool' ? maxPoolRef(x, attrs) : averagePoolRef(x, attrs);
  expect(y.shape).toEqual(yRef.shape);
  const fwd = expectClose(await y.read(), yRef.data, FORWARD_BOUND, `${op} forward [${shape}]`);
  const dy = rand(yRef.shape, seed + 1);
  const dyg = toGpu(gpu(), dy, 'dy');
  const dx = op === 'MaxPool' ? maxPoolBackward(dyg, xg, attrs) : averagePoolBackward(dyg, x.shape, attrs);
  const dxRef = op === 'MaxPool' ? maxPoolBackwardRef(dy, x, attrs) : averagePoolBackwardRef(dy, x.shape, attrs);
  const bwd = expectClose(await dx.read(), dxRef.data, BACKWARD_BOUND, `${op} backward [${shape}]`);
  expect(gpu().dispatchCount - before).toBe(2); // the numbers came from two kernels, not from somewhere else
  measured.push(`  ${op} [${shape}] → [${yRef.shape}] ${JSON.stringify(attrs)}: forward ${fwd.toExponential(1)}, backward ${bwd.toExponential(1)}`);
  if (op === 'MaxPool') {
    const dx2 = maxPoolBackwardV2(dyg, xg, attrs);
    expectClose(await dx2.read(), dxRef.data, BACKWARD_BOUND, `${op} backward v2 (saved argmax) [${shape}]`);
    dx2.dispose();
  }
  for (const t of [xg, y, dyg, dx]) t.dispose();
}

describe('pooling shape rules', () => {
  it("SqueezeNet 1.1's max pools: ceil_mode on 111/55/27, and pads [0,0,1,1] without it, give 55/27/13", () => {
    const size = (shape: number[], attrs: PoolAttributes) => poolOutputShape(poolGeometry('MaxPool', shape, attrs));
    expect(size([1, 64, 111, 111], SQUEEZENET_MAXPOOL)).toEqual([1, 64, 55, 55]);
    expect(size([1, 64, 111, 111], SHARED_MAXPOOL)).toEqual([1, 64, 55, 55]);
    expect(size([1, 128, 55, 55], SQUEEZENET_MAXPOOL)).toEqual([1, 128, 27, 27]);
    expect(size([1, 128, 55, 55], SHARED_MAXPOOL)).toEqual([1, 128, 27, 27]);
    expect(size([1, 256, 27, 27], SQUEEZENET_MAXPOOL)).toEqual([1, 256, 13, 13]);
    expect(size([1, 256, 27, 27], SHARED_MAXPOOL)).toEqual([1, 256, 13, 13]);
    expect(poolOutputShape(poolGeometry('AveragePool', [1, 1000, 13, 13], { kernelShape: [13, 13] }))).toEqual([1, 1000, 1, 1]);
  });

  it('ceil_mode rounds up, but never lets a window start in the end padding', () => {
    const width = (w: number, attrs: PoolAttributes) => poolGeometry('MaxPool', [1, 1, 1, w], attrs).outW;
    expect(width(6, { kernelShape: [1, 3], strides: [1, 2] })).toBe(2);
    expect(width(6, { kernelShape: [1, 3], strides: [1, 2], ceilMode: 1 })).toBe(3); // last window starts at 4, hangs over
    // 4 + end pad 1, kernel 2, stride 2: ceil((4 + 1 − 2)/2) + 1 = 3, but window 2 would start at 4, in the end padding
    expect(width(4, { kernelShape: [1, 2], strides: [1, 2], pads: [0, 0, 0, 1], ceilMode: 1 })).toBe(2);
    // with a begin pad of 1 the same window starts at 3, inside the input
    expect(width(4, { kernelShape: [1, 2], strides: [1, 2], pads: [0, 1, 0, 1], ceilMode: 1 })).toBe(3);
  });

  it('bad attributes and inputs get a one-line PixelpropError, before anything is allocated or dispatched', () => {
    const xg = toGpu(gpu(), rand([1, 2, 5, 5], 1), 'x');
    const dispatches = gpu().dispatchCount;
    const inUse = gpu().memory().inUseBuffers;
    const cases: [PoolAttributes & AveragePoolAttributes, RegExp][] = [
      [{ kernelShape: [0, 3] }, /^MaxPool: kernel_shape \[0,3\] must be 2 integers ≥ 1/],
      [{ kernelShape: [3] }, /kernel_shape \[3\] must be 2 integers.*2-D pooling only/],
      [{ kernelShape: [3, 3], strides: [2, 0] }, /strides \[2,0\] must be 2 integers ≥ 1/],
      [{ kernelShape: [3, 3], strides: [-1, 2] }, /strides \[-1,2\]/],
      [{ kernelShape: [3, 3], pads: [0, -1, 0, 0] }, /pads \[0,-1,0,0\] must be 4 integers ≥ 0/],
      [{ kernelShape: [3, 3], pads: [1, 1] }, /pads \[1,1\] must be 4 integers/],
      [{ kernelShape: [3, 3], pads: [0, 0, 3, 0] }, /pads \[0,0,3,0\] must be smaller than the window \(3 along the height/],
      [{ kernelShape: [2, 2], pads: [0, 2, 0, 0] }, /smaller than the window \(2 along the width/],
      [{ kernelShape: [6, 3] }, /input height 5 with pads 0\+0 is smaller than the window \(6\): no output/],
      [{ kernelShape: [3, 2], dilations: [1, 5] }, /input width 5 .* smaller than the window \(6\): no output/],
      [{ kernelShape: [3, 3], dilations: [0, 1] }, /dilations \[0,1\] must be 2 integers ≥ 1/],
      [{ kernelShape: [3, 3], ceilMode: 2 }, /ceil_mode must be 0 or 1, got 2/],
      [{ kernelShape: [3, 3], countIncludePad: 1 }, /count_include_pad is an AveragePool attribute/],
      [{ kernelShape: [1, 2], dilations: [1, 6], pads: [0, 1, 0, 1] }, /window with no input element/],
    ];
    for (const [attrs, message] of cases) expectPixelpropError(() => maxPoolForward(xg, attrs).y, message);
    expectPixelpropError(() => averagePoolForward(xg, { kernelShape: [3, 3], countIncludePad: 'yes' as unknown as number }), /count_include_pad must be 0 or 1/);
    const flat = xg.reshape([2, 5, 5]);
    expectPixelpropError(() => maxPoolForward(flat, { kernelShape: [3, 3] }).y, /MaxPool: expected an NCHW tensor, got shape \[2,5,5\]/);
    flat.dispose();
    const dy = toGpu(gpu(), rand([1, 2, 3, 3], 2), 'dy');
    const dispatchesAfterUpload = gpu().dispatchCount;
    expectPixelpropError(() => maxPoolBackward(dy, xg, { kernelShape: [2, 2], strides: [2, 2] }), /MaxPool backward \(dy vs the output\): shapes differ, dy\[1,2,3,3\] vs y\[1,2,2,2\]/);
    expectPixelpropError(() => averagePoolBackward(dy, [1, 2, 5, 5], { kernelShape: [2, 2] }), /AveragePool backward .*dy\[1,2,3,3\] vs y\[1,2,4,4\]/);
    expectPixelpropError(() => globalAveragePoolBackward(dy, [1, 2, 5, 5]), /GlobalAveragePool backward .*dy\[1,2,3,3\] vs y\[1,2,1,1\]/);
    expect(gpu().dispatchCount).toBe(dispatches);
    expect(dispatchesAfterUpload).toBe(dispatches);
    expect(gpu().memory().inUseBuffers).toBe(inUse + 1); // only dy, uploaded by the test
    xg.dispose();
    dy.dispose();
  });
});

describe('MaxPool and AveragePool on the GPU vs the float64 references', () => {
  const cases: [PoolOp, number[], AveragePoolAttributes][] = [
    // SqueezeNet 1.1, both ways of writing its pools
    ['MaxPool', [1, 64, 111, 111], SQUEEZENET_MAXPOOL],
    ['MaxPool', [1, 64, 111, 111], SHARED_MAXPOOL],
    ['MaxPool', [1, 128, 55, 55], SQUEEZENET_MAXPOOL],
    ['MaxPool', [1, 128, 55, 55], SHARED_MAXPOOL],
    ['MaxPool', [1, 256, 27, 27], SQUEEZENET_MAXPOOL],
    ['MaxPool', [1, 256, 27, 27], SHARED_MAXPOOL],
    ['AveragePool', [1, 1000, 13, 13], { kernelShape: [13, 13], strides: [1, 1] }], // the ONNX zoo file's head
    // odd ones: non-square, 1×1 images, channels not a multiple of 4, batch > 1, asymmetric pads, dilation
    ['MaxPool', [2, 3, 9, 14], SQUEEZENET_MAXPOOL],
    ['MaxPool', [3, 5, 10, 7], { kernelShape: [2, 3], strides: [2, 1], pads: [1, 0, 1, 2] }],
    ['MaxPool', [3, 7, 1, 1], { kernelShape: [1, 1] }],
    ['MaxPool', [2, 3, 1, 1], { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: 1 }],
    ['MaxPool', [2, 3, 8, 9], { kernelShape: [2, 3], strides: [1, 2], dilations: [2, 2], pads: [1, 2, 0, 1], ceilMode: 1 }],
    ['AveragePool', [2, 3, 6, 6], { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: 1 }],
    ['AveragePool', [2, 3, 6, 6], { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: 1, countIncludePad: 1 }],
    ['AveragePool', [3, 5, 9, 14], { kernelShape: [3, 2], strides: [2, 3], pads: [0, 1, 2, 0], countIncludePad: 1 }],
    ['AveragePool', [1, 7, 55, 55], { kernelShape: [3, 3], strides: [2, 2], ceilMode: 1, countIncludePad: 1 }],
    ['AveragePool', [2, 5, 1, 1], { kernelShape: [2, 2], pads: [1, 1, 0, 0], countIncludePad: 1 }],
    ['AveragePool', [2, 3, 7, 8], { kernelShape: [2, 2], strides: [2, 1], dilations: [2, 3], pads: [1, 1, 1, 1], ceilMode: 1 }],
  ];
  cases.forEach(([op, shape, attrs], k) => {
    it(`${op} [${shape}] ${JSON.stringify(attrs)}`, async () => {
      await checkOnGpu(op, shape, attrs, 100 + 2 * k);
    });
  });

  it('GlobalAveragePool on SqueezeNet head [1,1000,13,13], and [3,5,7,4], [2,3,1,1], [1,2,64,80]', async () => {
    for (const [k, shape] of [[1, 1000, 13, 13], [3, 5, 7, 4], [2, 3, 1, 1], [1, 2, 64, 80]].entries()) {
      const x = rand(shape, 300 + k);
      const xg = toGpu(gpu(), x, 'x');
      const y = globalAveragePoolForward(xg);
      expect(y.shape).toEqual([shape[0], shape[1], 1, 1]);
      const fwd = expectClose(await y.read(), globalAveragePoolRef(x).data, FORWARD_BOUND, `GlobalAveragePool forward [${shape}]`);
      const dy = rand([shape[0]!, shape[1]!, 1, 1], 400 + k);
      const dyg = toGpu(gpu(), dy, 'dy');
      const dx = globalAveragePoolBackward(dyg, shape);
      const bwd = expectClose(await dx.read(), globalAveragePoolBackwardRef(dy, shape).data, BACKWARD_BOUND, `GlobalAveragePool backward [${shape}]`);
      measured.push(`  GlobalAveragePool [${shape}]: forward ${fwd.toExponential(1)}, backward ${bwd.toExponential(1)}`);
      for (const t of [xg, y, dyg, dx]) t.dispose();
    }
  });
});

describe('pooling semantics, on values worked out by hand', () => {
  const ramp16 = host([1, 1, 4, 4], Array.from({ length: 16 }, (_, i) => i + 1)); // ONNX's backend-test input

  async function onGpu(fn: (x: ReturnType<typeof toGpu>) => ReturnType<typeof toGpu>, x: HostTensor): Promise<number[]> {
    const xg = toGpu(gpu(), x);
    const y = fn(xg);
    const out = Array.from(await y.read());
    xg.dispose();
    y.dispose();
    return out;
  }

  it("ONNX's maxpool_2d_ceil, averagepool_2d_ceil and maxpool_2d_dilations examples", async () => {
    const ceil = { kernelShape: [3, 3], strides: [2, 2], ceilMode: 1 };
    expect(await onGpu((x) => maxPoolForward(x, ceil).y, ramp16)).toEqual([11, 12, 15, 16]);
    expect(Array.from(maxPoolRef(ramp16, ceil).data)).toEqual([11, 12, 15, 16]);
    expect(await onGpu((x) => averagePoolForward(x, ceil), ramp16)).toEqual([6, 7.5, 12, 13.5]);
    expect(Array.from(averagePoolRef(ramp16, ceil).data)).toEqual([6, 7.5, 12, 13.5]);
    const dilated = { kernelShape: [2, 2], strides: [1, 1], dilations: [2, 2] };
    expect(await onGpu((x) => maxPoolForward(x, dilated).y, ramp16)).toEqual([11, 12, 15, 16]);
  });

  it('AveragePool divisor: pads count with count_include_pad, the ceil_mode overhang never does', async () => {
    const row = host([1, 1, 1, 5], [1, 2, 3, 4, 5]);
    const cases: [AveragePoolAttributes, number[]][] = [
      [{ kernelShape: [1, 2], strides: [1, 2], ceilMode: 1 }, [1.5, 3.5, 5]], // last window: 5 and the overhang
      [{ kernelShape: [1, 2], strides: [1, 2], ceilMode: 1, countIncludePad: 1 }, [1.5, 3.5, 5]], // overhang not counted
      [{ kernelShape: [1, 2], strides: [1, 2], pads: [0, 0, 0, 1], countIncludePad: 1 }, [1.5, 3.5, 2.5]], // 5 and a pad
      [{ kernelShape: [1, 2], strides: [1, 2], pads: [0, 0, 0, 1] }, [1.5, 3.5, 5]],
    ];
    // a row of 6, kernel 3, stride 2, pads 1 and 1, ceil_mode: windows [−1, 1], [1, 3], [3, 5], [5, 7]. Position −1
    // and 6 are pads, 7 lies past the padded edge (the overhang): with count_include_pad the last divisor is 2, not 3.
    const row6 = host([1, 1, 1, 6], [1, 2, 3, 4, 5, 6]);
    const padded: [AveragePoolAttributes, number[]][] = [
      [{ kernelShape: [1, 3], strides: [1, 2], pads: [0, 1, 0, 1], ceilMode: 1, countIncludePad: 1 }, [3 / 3, 9 / 3, 15 / 3, 6 / 2]],
      [{ kernelShape: [1, 3], strides: [1, 2], pads: [0, 1, 0, 1], ceilMode: 1 }, [3 / 2, 9 / 3, 15 / 3, 6 / 1]],
    ];
    for (const [input, list] of [[row, cases], [row6, padded]] as const) {
      for (const [attrs, expected] of list) {
        const gpuOut = await onGpu((x) => averagePoolForward(x, attrs), input);
        expectClose(gpuOut, expected, 1e-7, `AveragePool ${JSON.stringify(attrs)} on the GPU`);
        expectClose(averagePoolRef(input, attrs).data, expected, 1e-15, `AveragePool ${JSON.stringify(attrs)} reference`);
      }
    }
  });

  it('MaxPool ties: the gradient goes to the first element of the window in row-major order', async () => {
    // four non-overlapping 2×2 windows: all equal; two 5s on a diagonal; two 3s in the last row; all equal negatives
    const x = host([1, 1, 4, 4], [7, 7, 1, 5, 7, 7, 5, 2, 0, 0, -1, -1, 3, 3, -1, -1]);
    const dy = host([1, 1, 2, 2], [10, 20, 30, 40]);
    const expected = [10, 0, 0, 20, 0, 0, 0, 0, 0, 0, 40, 0, 30, 0, 0, 0];
    const attrs = { kernelShape: [2, 2], strides: [2, 2] };
    expect(Array.from(maxPoolBackwardRef(dy, x, attrs).data)).toEqual(expected);
    const xg = toGpu(gpu(), x);
    const dyg = toGpu(gpu(), dy);
    const dx = maxPoolBackward(dyg, xg, attrs);
    expect(Array.from(await dx.read())).toEqual(expected);
    const dx2 = maxPoolBackwardV2(dyg, xg, attrs);
    expect(Array.from(await dx2.read())).toEqual(expected);
    for (const t of [xg, dyg, dx, dx2]) t.dispose();
  });

  it('MaxPool ties across overlapping, padded windows: each goes to its first tap on the input', async () => {
    // a constant 5×5 plane, 3×3 windows, stride 2, pads 1: window (oy, ox) covers rows 2oy−1 … 2oy+1, and its first
    // tap on the input is (max(2oy−1, 0), max(2ox−1, 0)); padding never wins (it is −∞, not 0).
    const x = host([1, 1, 5, 5], new Array(25).fill(-2));
    const dy = host([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const expected = new Array(25).fill(0);
    for (let oy = 0; oy < 3; oy++)
      for (let ox = 0; ox < 3; ox++) expected[Math.max(2 * oy - 1, 0) * 5 + Math.max(2 * ox - 1, 0)] += dy.data[oy * 3 + ox]!;
    const attrs = { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
    expect(Array.from(maxPoolBackwardRef(dy, x, attrs).data)).toEqual(expected);
    const xg = toGpu(gpu(), x);
    const { y } = maxPoolForward(xg, attrs);
    expect(Array.from(await y.read())).toEqual(new Array(9).fill(-2)); // not 0: the pads never win
    const dyg = toGpu(gpu(), dy);
    const dx = maxPoolBackward(dyg, xg, attrs);
    expect(Array.from(await dx.read())).toEqual(expected);
    const dx2 = maxPoolBackwardV2(dyg, xg, attrs);
    expect(Array.from(await dx2.read())).toEqual(expected);
    for (const t of [xg, y, dyg, dx, dx2]) t.dispose();
  });
});

describe('the backward references vs centered finite differences (float64)', () => {
  const maxCases: [number[], PoolAttributes][] = [
    [[2, 3, 7, 6], SQUEEZENET_MAXPOOL],
    [[1, 3, 7, 7], SHARED_MAXPOOL],
    [[2, 2, 5, 6], { kernelShape: [2, 3], strides: [1, 2], pads: [1, 1, 0, 2], dilations: [2, 1], ceilMode: 1 }],
    [[1, 5, 1, 1], { kernelShape: [2, 2], pads: [1, 0, 0, 1] }],
  ];
  maxCases.forEach(([shape, attrs], k) => {
    it(`MaxPool [${shape}] ${JSON.stringify(attrs)}, well-separated inputs, h = 1e-4`, () => {
      const x = separatedValues(shape, 20 + k);
      const dyShape = poolOutputShape(poolGeometry('MaxPool', shape, attrs));
      const r = rand(dyShape, 30 + k);
      const numeric = numericalGradient(([t]) => maxPoolRef(t!, attrs), [x], 0, r.data, 1e-4);
      const err = expectClose(maxPoolBackwardRef(r, x, attrs).data, numeric, 1e-9, 'MaxPool backward reference vs FD');
      measured.push(`  MaxPool reference vs FD [${shape}]: ${err.toExponential(1)}`);
    });
  });

  const averageCases: [number[], AveragePoolAttributes][] = [
    [[2, 3, 6, 6], { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: 1 }],
    [[2, 3, 6, 6], { kernelShape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceilMode: 1, countIncludePad: 1 }],
    [[1, 2, 5, 7], { kernelShape: [2, 3], strides: [2, 1], pads: [0, 2, 1, 0], dilations: [1, 2], countIncludePad: 1 }],
    [[1, 4, 13, 13], { kernelShape: [13, 13] }],
  ];
  averageCases.forEach(([shape, attrs], k) => {
    it(`AveragePool [${shape}] ${JSON.stringify(attrs)}`, () => {
      const x = rand(shape, 40 + k);
      const dyShape = poolOutputShape(poolGeometry('AveragePool', shape, attrs));
      const r = rand(dyShape, 50 + k);
      const numeric = numericalGradient(([t]) => averagePoolRef(t!, attrs), [x], 0, r.data, 1e-3);
      const err = expectClose(averagePoolBackwardRef(r, shape, attrs).data, numeric, 1e-9, 'AveragePool backward reference vs FD');
      measured.push(`  AveragePool reference vs FD [${shape}]: ${err.toExponential(1)}`);
    });
  });

  it('GlobalAveragePool [2,3,4,5]', () => {
    const x = rand([2, 3, 4, 5], 60);
    const r = rand([2, 3, 1, 1], 61);
    const numeric = numericalGradient(([t]) => globalAveragePoolRef(t!), [x], 0, r.data, 1e-3);
    expectClose(globalAveragePoolBackwardRef(r, x.shape).data, numeric, 1e-9, 'GlobalAveragePool backward reference vs FD');
  });
});

describe('the ops on the tape (their gradient checks run in test/ops.test.ts)', () => {
  it('a chain maxPool → averagePool → globalAveragePool records three nodes and differentiates to the pixels', async () => {
    const xh = rand([2, 3, 12, 10], 80);
    const x = toGpu(gpu(), xh, 'image');
    x.requiresGrad = true;
    const attrsMax = SQUEEZENET_MAXPOOL;
    const attrsAvg: AveragePoolAttributes = { kernelShape: [2, 2], pads: [0, 0, 1, 1], countIncludePad: 1 };
    const tape = new Tape();
    const y = tape.record(() => {
      const a = maxPool(x, poolAttrs({ kernelShape: [3, 3], strides: [2, 2], ceilMode: true }), 'pool1');
      const b = averagePool(a, { ...poolAttrs({ kernelShape: [2, 2], pads: [0, 0, 1, 1] }), countIncludePad: true }, 'pool2');
      const c = globalAveragePool(b, 'gap');
      a.dispose();
      b.dispose();
      return c;
    });
    expect(tape.toString()).toBe(
      '#0 MaxPool {k3×3 s2,2 ceil}(image[2,3,12,10]) → pool1[2,3,6,5]\n' +
        '#1 AveragePool {k2×2 p0,0,1,1 incl-pad}(pool1[2,3,6,5]) → pool2[2,3,6,5]\n' +
        '#2 GlobalAveragePool(pool2[2,3,6,5]) → gap[2,3,1,1]',
    );
    const seed = rand([2, 3, 1, 1], 81);
    const [dx] = tape.backward(y, [x], { seed: toGpu(gpu(), seed, 'seed') });
    // the same chain of references, backward by hand
    const a = maxPoolRef(xh, attrsMax);
    const b = averagePoolRef(a, attrsAvg);
    const db = globalAveragePoolBackwardRef(seed, b.shape);
    const da = averagePoolBackwardRef(db, a.shape, attrsAvg);
    const expected = maxPoolBackwardRef(da, xh, attrsMax);
    expectClose((await fromGpu(dx!)).data, expected.data, BACKWARD_BOUND, 'chain gradient');
    dx!.dispose();
    y.dispose();
    x.dispose();
  });
});

/**
 * 1-D and 3-D pools run on the 2-D kernels (a 1-D pool as H = 1; a 3-D one as (H, W), then D — see PoolAttrs.spatial
 * in src/graph/ops/max-pool.ts), and their float64 references are the same passes: the truth here is PyTorch's own
 * max_pool1d/3d and avg_pool1d/3d in float64, forward and input gradient. (Torch's pads are symmetric, so these are.)
 */
const TORCH = pythonWith('torch', 'the 1-D and 3-D pools against PyTorch');

const TORCH_POOL = `
import json, sys, torch
import torch.nn.functional as F
out = []
for c in json.load(sys.stdin):
    x = torch.tensor(c['x'], dtype=torch.float64).reshape(c['shape']).requires_grad_()
    n = len(c['kernel'])
    if c['op'] == 'MaxPool':
        f = [F.max_pool1d, F.max_pool2d, F.max_pool3d][n - 1]
        y = f(x, c['kernel'], c['strides'], c['pads'], dilation=c['dilations'], ceil_mode=c['ceil'])
    else:
        f = [F.avg_pool1d, F.avg_pool2d, F.avg_pool3d][n - 1]
        y = f(x, c['kernel'], c['strides'], c['pads'], ceil_mode=c['ceil'], count_include_pad=c['countIncludePad'])
    r = torch.tensor(c['r'], dtype=torch.float64).reshape(y.shape)
    (y * r).sum().backward()
    out.append({'shape': list(y.shape), 'y': y.flatten().tolist(), 'dx': x.grad.flatten().tolist()})
print(json.dumps(out))
`;

describe.skipIf(!TORCH)('1-D and 3-D pools against PyTorch (float64): forward and input gradient', () => {
  const cases = [
    { op: 'MaxPool', shape: [2, 4, 11], kernel: [3], strides: [2], pads: [1], dilations: [1], ceil: true, countIncludePad: false },
    { op: 'MaxPool', shape: [2, 3, 6, 7, 5], kernel: [3, 2, 3], strides: [2, 2, 1], pads: [1, 0, 1], dilations: [1, 2, 1], ceil: true, countIncludePad: false },
    { op: 'AveragePool', shape: [2, 4, 11], kernel: [4], strides: [3], pads: [2], dilations: [1], ceil: true, countIncludePad: false },
    { op: 'AveragePool', shape: [1, 2, 5, 6, 7], kernel: [3, 3, 2], strides: [2, 1, 2], pads: [1, 1, 0], dilations: [1, 1, 1], ceil: true, countIncludePad: true },
    { op: 'AveragePool', shape: [1, 2, 5, 6, 7], kernel: [3, 3, 2], strides: [2, 1, 2], pads: [1, 1, 0], dilations: [1, 1, 1], ceil: true, countIncludePad: false },
  ] as const;

  it(cases.map((c) => `${c.op} ${c.kernel.length}-D [${c.shape}] k${c.kernel.join('×')}`).join('; '), async () => {
    const runs: { x: HostTensor; r: Float64Array; y: number[]; yShape: number[]; dx: number[] }[] = [];
    for (const [n, c] of cases.entries()) {
      const attrs = poolAttrs({ kernelShape: c.kernel, strides: [...c.strides], pads: [...c.pads, ...c.pads], dilations: [...c.dilations], ceilMode: c.ceil });
      // MaxPool on well-separated values: no ties, so the gradient has one answer.
      const x = c.op === 'MaxPool' ? separatedValues([...c.shape], 90 + n) : rand([...c.shape], 90 + n);
      const xg = toGpu(gpu(), x, 'x');
      xg.requiresGrad = true;
      const tape = new Tape();
      const y = tape.record(() => (c.op === 'MaxPool' ? maxPool(xg, attrs) : averagePool(xg, { ...attrs, countIncludePad: c.countIncludePad })));
      const r = Float64Array.from(Float32Array.from(new Rng(95 + n).uniforms(y.size)));
      const [dx] = tape.backward(y, [xg], { seed: toGpu(gpu(), host(y.shape, r), 'seed') });
      runs.push({ x, r, y: [...(await y.read())], yShape: [...y.shape], dx: [...(await dx!.read())] });
      for (const t of [dx!, y, xg]) t.dispose();
    }
    const input = JSON.stringify(cases.map((c, n) => ({ ...c, x: [...runs[n]!.x.data], r: [...runs[n]!.r] })));
    const py = spawnSync(TORCH!, ['-c', TORCH_POOL], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
    expect(py.status, py.stderr).toBe(0);
    const torch = JSON.parse(py.stdout) as { shape: number[]; y: number[]; dx: number[] }[];
    for (const [n, c] of cases.entries()) {
      const what = `${c.op} ${c.kernel.length}-D [${c.shape}]${c.op === 'AveragePool' ? ` count_include_pad ${c.countIncludePad}` : ''}`;
      expect(runs[n]!.yShape, `${what}: output shape`).toEqual(torch[n]!.shape);
      const fwd = expectClose(runs[n]!.y, torch[n]!.y, FORWARD_BOUND, `${what}: forward vs PyTorch`);
      const bwd = expectClose(runs[n]!.dx, torch[n]!.dx, BACKWARD_BOUND, `${what}: input gradient vs PyTorch`);
      expect(torch[n]!.dx.some((v) => v !== 0)).toBe(true);
      measured.push(`  ${what} → [${torch[n]!.shape}] vs PyTorch: forward ${fwd.toExponential(1)}, gradient ${bwd.toExponential(1)}`);
    }
  });

  it('a 3-D window on a 4-D input, and a 4-D window, are one-line errors', () => {
    const x = toGpu(gpu(), rand([1, 2, 4, 4], 99), 'x');
    try {
      expectPixelpropError(() => maxPool(x, poolAttrs({ kernelShape: [2, 2, 2] })), /^MaxPool: a 3-D window pools 5-D inputs \[N, C, D, H, W\], not \[1,2,4,4\]$/);
      expectPixelpropError(() => poolAttrs({ kernelShape: [2, 2, 2, 2] }), /^kernel_shape \[2,2,2,2\] has 4 axes: pools over 1, 2 or 3 spatial axes are supported$/);
    } finally {
      x.dispose();
    }
  });
});
