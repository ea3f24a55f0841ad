import { afterAll, describe, expect, it } from 'vitest';
import { concatBackward, concatBackwardRef, concatForward, concatLayout, concatRef } from '../src/kernels/concat.js';
import { host } from '../src/kernels/host.js';
import { numericalGradient } from '../src/graph/gradcheck.js';
import { Tape } from '../src/graph/tape.js';
import { concat } from '../src/graph/ops/concat.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, rand, toGpu, useGpu, expectPixelpropError } from './helpers.js';

const gpu = useGpu();

const measured: string[] = [];
afterAll(() => console.log(`concat errors (max|Δ|/max|ref|):\n${measured.join('\n')}`));

describe('concat on the GPU vs the float64 reference', () => {
  const cases: [string, number[][], number][] = [
    ['SqueezeNet fire2: expand1x1 ‖ expand3x3', [[1, 64, 55, 55], [1, 64, 55, 55]], 1],
    ['SqueezeNet fire9, batch 2', [[2, 256, 13, 13], [2, 256, 13, 13]], 1],
    ['channels not a multiple of 4, three parts, 1×1 images', [[3, 3, 1, 1], [3, 5, 1, 1], [3, 1, 1, 1]], 1],
    ['axis 0 (batch)', [[1, 3, 4, 5], [2, 3, 4, 5]], 0],
    ['last axis as −1, non-square', [[2, 3, 7, 2], [2, 3, 7, 9]], -1],
    ['axis −2 = height', [[2, 3, 1, 6], [2, 3, 4, 6], [2, 3, 2, 6], [2, 3, 3, 6]], -2],
    ['rank 1', [[5], [1], [3]], 0],
    ['rank 2, axis 1', [[4, 3], [4, 1]], 1],
    ['rank 5, axis 2', [[2, 1, 3, 2, 3], [2, 1, 2, 2, 3]], 2],
  ];
  cases.forEach(([what, shapes, axis], k) => {
    it(`${what}: ${shapes.map((s) => `[${s}]`).join(' ‖ ')} on axis ${axis}`, async () => {
      const xs = shapes.map((s, i) => rand(s, 100 * k + i));
      const xgs = xs.map((x, i) => toGpu(gpu(), x, `x${i}`));
      const before = gpu().dispatchCount;
      const y = concatForward(xgs, axis);
      const yRef = concatRef(xs, axis);
      expect(y.shape).toEqual(yRef.shape);
      const fwd = expectClose(await y.read(), yRef.data, FORWARD_BOUND, 'concat forward');
      const dy = rand(yRef.shape, 100 * k + 99);
      const dyg = toGpu(gpu(), dy, 'dy');
      const dxs = concatBackward(dyg, shapes, axis);
      const dxRefs = concatBackwardRef(dy, shapes, axis);
      let bwd = 0;
      for (let i = 0; i < shapes.length; i++) {
        expect(dxs[i]!.shape).toEqual(shapes[i]);
        bwd = Math.max(bwd, expectClose(await dxs[i]!.read(), dxRefs[i]!.data, BACKWARD_BOUND, `concat backward, input ${i}`));
      }
      expect(gpu().dispatchCount - before).toBe(2 * shapes.length); // one place and one slice per part
      measured.push(`  ${what}: forward ${fwd.toExponential(1)}, backward ${bwd.toExponential(1)}`);
      for (const t of [...xgs, y, dyg, ...dxs]) t!.dispose();
    });
  });

  it('lays the parts out where ONNX puts them (a hand-made example)', async () => {
    const a = host([2, 2], [1, 2, 3, 4]);
    const b = host([2, 1], [5, 6]);
    const ag = toGpu(gpu(), a);
    const bg = toGpu(gpu(), b);
    const y1 = concatForward([ag, bg], 1);
    expect(Array.from(await y1.read())).toEqual([1, 2, 5, 3, 4, 6]);
    expect(Array.from(concatRef([a, b], -1).data)).toEqual([1, 2, 5, 3, 4, 6]);
    const y0 = concatForward([ag, ag], 0);
    expect(Array.from(await y0.read())).toEqual([1, 2, 3, 4, 1, 2, 3, 4]);
    for (const t of [ag, bg, y1, y0]) t.dispose();
  });
});

describe('concat shape rules', () => {
  it('output shape and layout', () => {
    const layout = concatLayout([[1, 64, 55, 55], [1, 64, 55, 55]], 1);
    expect(layout).toEqual({ shape: [1, 128, 55, 55], axis: 1, outer: 1, inner: 55 * 55, sizes: [64, 64], offsets: [0, 64] });
    expect(concatLayout([[2, 3, 4], [2, 3, 1], [2, 3, 2]], -1)).toMatchObject({ shape: [2, 3, 7], axis: 2, outer: 6, inner: 1, offsets: [0, 4, 5] });
  });

  it('bad inputs get a one-line PixelpropError before anything is allocated or dispatched', () => {
    const a = toGpu(gpu(), rand([1, 4, 5, 5], 1), 'a');
    const b = toGpu(gpu(), rand([1, 2, 5, 6], 2), 'b');
    const c = toGpu(gpu(), rand([1, 2, 5], 3), 'c');
    const dispatches = gpu().dispatchCount;
    const inUse = gpu().memory().inUseBuffers;
    expectPixelpropError(() => concatForward([a, b], 1), /^Concat: input 1 \[1,2,5,6\] does not match input 0 \[1,4,5,5\] off axis 1$/);
    expectPixelpropError(() => concatForward([a, c], 1), /Concat: input 1 \[1,2,5\] does not match input 0 \[1,4,5,5\]/);
    expectPixelpropError(() => concatForward([a, a], 4), /^Concat: axis 4 is out of range for inputs of rank 4 \(allowed -4 … 3\)$/);
    expectPixelpropError(() => concatForward([a, a], -5), /axis -5 is out of range/);
    expectPixelpropError(() => concatForward([a, a], 1.5), /axis 1.5 is out of range/);
    expectPixelpropError(() => concatForward([], 0), /^Concat: needs at least one input$/);
    expectPixelpropError(() => concatBackward(a, [[1, 2, 5, 5], [1, 3, 5, 5]], 1), /Concat backward \(dy vs the output\): shapes differ, a\[1,4,5,5\] vs y\[1,5,5,5\]/);
    expectPixelpropError(() => concatBackward(a, [[1, 2, 5, 5], [1, 2, 5, 4]], 1), /input 1 \[1,2,5,4\] does not match/);
    expect(gpu().dispatchCount).toBe(dispatches);
    expect(gpu().memory().inUseBuffers).toBe(inUse);
    for (const t of [a, b, c]) t.dispose();
  });
});

describe('concat gradients', () => {
  it('the backward reference matches centered finite differences, for each input', () => {
    const shapes = [[2, 3, 2, 4], [2, 1, 2, 4], [2, 2, 2, 4]];
    const xs = shapes.map((s, i) => rand(s, 10 + i));
    const r = rand([2, 6, 2, 4], 20);
    const analytic = concatBackwardRef(r, shapes, 1);
    for (let i = 0; i < shapes.length; i++) {
      const numeric = numericalGradient((ts) => concatRef(ts, 1), xs, i, r.data, 1e-3);
      const err = expectClose(analytic[i]!.data, numeric, 1e-9, `concat backward reference vs FD, input ${i}`);
      measured.push(`  reference vs FD, input ${i}: ${err.toExponential(1)}`);
    }
  });

  it('through the tape, computes only the gradients asked for', async () => {
    const xh = [rand([1, 3, 4, 4], 30), rand([1, 5, 4, 4], 31), rand([1, 2, 4, 4], 32)];
    const xs = xh.map((x, i) => toGpu(gpu(), x, `x${i}`));
    xs[1]!.requiresGrad = true; // only the middle input wants a gradient
    const tape = new Tape();
    const y = tape.record(() => concat(xs, 1, 'fire'));
    expect(tape.toString()).toBe('#0 Concat {axis 1}(x0[1,3,4,4], x1[1,5,4,4], x2[1,2,4,4]) → fire[1,10,4,4]');
    const seed = rand([1, 10, 4, 4], 33);
    const before = gpu().dispatchCount;
    const [dx1] = tape.backward(y, [xs[1]!], { seed: toGpu(gpu(), seed, 'seed') });
    expect(gpu().dispatchCount - before).toBe(1); // one slice, not three
    expectClose(await dx1!.read(), concatBackwardRef(seed, xh.map((x) => x.shape), 1)[1]!.data, BACKWARD_BOUND, 'slice of x1');
    for (const t of [...xs, y, dx1!]) t.dispose();
  });

  it('the same tensor twice, concat([x, x]), receives the sum of both slices', async () => {
    const xh = rand([2, 3], 40);
    const x = toGpu(gpu(), xh, 'x');
    x.requiresGrad = true;
    const tape = new Tape();
    const y = tape.record(() => concat([x, x], 0));
    const seed = rand([4, 3], 41);
    const [dx] = tape.backward(y, [x], { seed: toGpu(gpu(), seed, 'seed') });
    const expected = xh.data.map((_, i) => seed.data[i]! + seed.data[6 + i]!);
    expectClose(await dx!.read(), expected, BACKWARD_BOUND, 'x used twice');
    for (const t of [x, y, dx!]) t.dispose();
  });
});
