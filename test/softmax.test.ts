import { describe, expect, it } from 'vitest';
import {
  logSoftmaxBackward,
  logSoftmaxBackwardRef,
  logSoftmaxForward,
  logSoftmaxRef,
  softmaxBackward,
  softmaxBackwardRef,
  softmaxForward,
  softmaxRef,
} from '../src/kernels/softmax.js';
import { logSoftmax, softmax } from '../src/graph/ops/softmax.js';
import { numericalGradient } from '../src/graph/gradcheck.js';
import { Tape } from '../src/graph/tape.js';
import { PixelpropError } from '../src/gpu/errors.js';
import { host, type HostTensor } from '../src/kernels/host.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, expectPixelpropError, rand, toGpu, useGpu } from './helpers.js';
import { Model } from '../src/graph/model.js';
import { expectGpuMatchesCpuPath, ints, smallModel, weights } from './op-models.js';

const gpu = useGpu();

/** Forward and backward of both kernels on the GPU against the float64 references. */
async function checkBoth(x: HostTensor, dySeed: number, what: string): Promise<void> {
  const dy = rand(x.shape, dySeed);
  const xg = toGpu(gpu(), x);
  const dyg = toGpu(gpu(), dy);
  const y = softmaxForward(xg);
  const ly = logSoftmaxForward(xg);
  const yData = await y.read();
  const lyData = await ly.read();
  expect(yData.every(Number.isFinite) && lyData.every(Number.isFinite), `${what}: non-finite output`).toBe(true);
  const yRef = softmaxRef(x);
  const lyRef = logSoftmaxRef(x);
  expectClose(yData, yRef.data, FORWARD_BOUND, `${what} softmax`);
  expectClose(lyData, lyRef.data, FORWARD_BOUND, `${what} log softmax`);
  // The backward references take the forward's output in float64; the GPU's takes its own float32 output.
  const dx = softmaxBackward(dyg, y);
  expectClose(await dx.read(), softmaxBackwardRef(dy, yRef).data, BACKWARD_BOUND, `${what} softmax backward`);
  const ldx = logSoftmaxBackward(dyg, ly);
  expectClose(await ldx.read(), logSoftmaxBackwardRef(dy, lyRef).data, BACKWARD_BOUND, `${what} log softmax backward`);
  for (const t of [xg, dyg, y, ly, dx, ldx]) t.dispose();
}

describe('softmax and log softmax', () => {
  it('1000 classes with logits up to ±300 (the zoo scores reach 300) stay finite and exact', async () => {
    await checkBoth(rand([1, 1000], 1, -300, 300), 2, 'logits ±300');
    await checkBoth(rand([4, 1000], 3, 0, 300), 4, 'logits 0..300');
  });

  it('extreme rows: all equal at 300, one dominant score, and -300 everywhere but one', async () => {
    const k = 1000;
    const rows = [
      new Array<number>(k).fill(300),
      Array.from({ length: k }, (_, j) => (j === 123 ? 300 : -300)),
      Array.from({ length: k }, (_, j) => (j === 999 ? -250 : -300)),
    ];
    const x = host([3, k], rows.flat());
    await checkBoth(x, 5, 'extreme rows');
    const xg = toGpu(gpu(), x);
    const y = await softmaxForward(xg).read();
    expect(y[0]).toBeCloseTo(1 / k, 9); // all equal: uniform
    expect(y[k + 123]).toBe(1); // exp(-600) underflows, the winner takes exactly 1
    xg.dispose();
  });

  for (const shape of [[8, 1000], [3, 7], [1, 1], [5, 1], [2, 3], [4, 257], [2, 4097], [300, 10]]) {
    it(`shape [${shape}]`, async () => {
      await checkBoth(rand(shape, 6, -10, 10), 7, `[${shape}]`);
    });
  }

  it('more rows than one grid dimension holds (70000 rows, the grid folds into 2-D)', async () => {
    await checkBoth(rand([70000, 3], 8, -5, 5), 9, '[70000,3]');
  });

  it('rows of softmax sum to 1', async () => {
    const xg = toGpu(gpu(), rand([6, 1000], 10, -50, 50));
    const y = softmaxForward(xg);
    const data = await y.read();
    for (let r = 0; r < 6; r++) {
      let s = 0;
      for (let j = 0; j < 1000; j++) s += data[r * 1000 + j]!;
      expect(Math.abs(s - 1)).toBeLessThan(1e-5);
    }
    for (const t of [xg, y]) t.dispose();
  });

  it('reference backwards match centered finite differences', () => {
    const x = rand([3, 6], 11, -3, 3);
    const r = rand([3, 6], 12).data;
    const dy = host([3, 6], r);
    const numeric = numericalGradient(([t]) => softmaxRef(t!), [x], 0, r, 1e-4);
    expectClose(softmaxBackwardRef(dy, softmaxRef(x)).data, numeric, 1e-7, 'softmax backward vs FD');
    const lnumeric = numericalGradient(([t]) => logSoftmaxRef(t!), [x], 0, r, 1e-4);
    expectClose(logSoftmaxBackwardRef(dy, logSoftmaxRef(x)).data, lnumeric, 1e-7, 'log softmax backward vs FD');
  });

  it('ops record on the tape', async () => {
    const x = toGpu(gpu(), rand([2, 5], 13), 'scores');
    x.requiresGrad = true;
    const tape = new Tape();
    const y = tape.record(() => logSoftmax(softmax(x, 'p'), 'lp'));
    expect(tape.toString()).toBe('#0 Softmax {axis -1}(scores[2,5]) → p[2,5]\n#1 LogSoftmax {axis -1}(p[2,5]) → lp[2,5]');
    const [dx] = tape.backward(y, [x], { seed: toGpu(gpu(), rand([2, 5], 14)) });
    expect(dx!.shape).toEqual([2, 5]);
    for (const t of [x, y, dx!]) t.dispose();
  });

  it('rejects tensors that are neither 2-D nor 3-D, and mismatched gradients, before dispatching', () => {
    const g = gpu();
    const x3 = toGpu(g, rand([2, 3, 4, 5], 1));
    const x = toGpu(g, rand([2, 3], 2));
    const dy = toGpu(g, rand([3, 2], 3));
    const before = g.dispatchCount;
    const inUse = g.memory().inUseBuffers;
    expect(() => softmaxForward(x3)).toThrow(PixelpropError);
    expect(() => softmaxForward(x3)).toThrow('softmax: expected [rows, cols] or [outer, cols, inner], got [2,3,4,5]');
    expect(() => logSoftmaxForward(x3)).toThrow('log softmax: expected [rows, cols]');
    expect(() => softmaxBackward(dy, x)).toThrow('softmax backward: shapes differ');
    expect(() => logSoftmaxBackward(dy, x)).toThrow('log softmax backward: shapes differ');
    expect(g.dispatchCount).toBe(before);
    expect(g.memory().inUseBuffers).toBe(inUse);
    for (const t of [x3, x, dy]) t.dispose();
  });
});


describe('Softmax on any axis, as ONNX has it at each opset', () => {
  /**
   * x [1,3,8,8] → Conv 4 channels → Softmax (axis as given) → GlobalAveragePool → Reshape [1,4]; `weighted` multiplies
   * the probabilities by a weight per column first (a softmax over the last axis, averaged, would be the constant 1/8).
   */
  const model = (opset: number, axis: number | undefined, op = 'Softmax', weighted = false) =>
    smallModel({
      opset,
      classes: 4,
      initializers: [weights('w', [4, 3, 3, 3], 1), weights('b', [4], 2), ints('shape', [1, 4]), weights('columns', [8], 5)],
      nodes: [
        { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
        { name: 'sm', opType: op, inputs: ['z'], outputs: weighted ? ['u'] : ['s'], ...(axis !== undefined && { attrs: { axis } }) },
        ...(weighted ? [{ name: 'weigh', opType: 'Mul', inputs: ['u', 'columns'], outputs: ['s'] }] : []),
        { name: 'gap', opType: 'GlobalAveragePool', inputs: ['s'], outputs: ['p'] },
        { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['scores'] },
      ],
    });

  it('opset 13, axis 1: over the channels at each pixel (each pixel’s probabilities sum to 1, so the pooled scores do)', async () => {
    const r = await expectGpuMatchesCpuPath(gpu(), model(13, 1), { classes: [0, 2] });
    expect(r.ops).toContain('Softmax');
    const m = Model.load(gpu(), model(13, 1));
    const scores = m.referenceForward(rand([1, 3, 8, 8], 3)).data;
    expect(Math.abs(scores.reduce((p, v) => p + v, 0) - 1)).toBeLessThan(1e-12);
    m.dispose();
  });

  it('opset 11, axis 1: the input flattened from axis 1 (all 256 values one row, so the pooled scores sum to 1/64)', async () => {
    await expectGpuMatchesCpuPath(gpu(), model(11, 1), { classes: [1, 3] });
    const m = Model.load(gpu(), model(11, 1));
    const scores = m.referenceForward(rand([1, 3, 8, 8], 3)).data;
    expect(Math.abs(scores.reduce((p, v) => p + v, 0) - 1 / 64)).toBeLessThan(1e-12);
    m.dispose();
  });

  it('opset 13 default axis −1 and LogSoftmax on axis 2, GPU = CPU path; an axis out of range is refused naming the node', async () => {
    await expectGpuMatchesCpuPath(gpu(), model(13, undefined, 'Softmax', true), { classes: [0, 1] });
    await expectGpuMatchesCpuPath(gpu(), model(13, 2, 'LogSoftmax'), { classes: [3, 2] });
    expectPixelpropError(() => Model.load(gpu(), model(13, 4)), /^node 'sm' \(Softmax\): axis 4 is out of range for \[1,4,8,8\]$/);
  });
});
