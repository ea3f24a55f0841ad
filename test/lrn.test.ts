/**
 * LRN: its gradient checks run from its definition in test/ops.test.ts. Here: the window at the edges and for an even
 * size, by hand; an AlexNet-style ONNX model (Conv, Relu, LRN, MaxPool) on the GPU against its CPU path, forward and
 * gradient; and the required size attribute.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { Lrn } from '../src/graph/ops/lrn.js';
import { apply1 } from '../src/graph/op.js';
import { expectGpuMatchesCpuPath, ints, smallModel, weights } from './op-models.js';
import { expectPixelpropError, useGpu } from './helpers.js';

const gpu = useGpu();

describe('LRN', () => {
  it('the window by hand: size 2 covers channels c and c+1 (ONNX’s ⌈(size−1)/2⌉ up, ⌊(size−1)/2⌋ down)', async () => {
    // x = [1, 2, 3] over 3 channels at one position; α/size = 0.5, β = 1, bias = 1:
    // s = 1 + 0.5·(x_c² + x_{c+1}²) = [1 + 2.5, 1 + 6.5, 1 + 4.5], y = x / s.
    const x = Tensor.from(gpu(), [1, 3, 1], [1, 2, 3], 'x');
    const y = apply1(Lrn, [x], { size: 2, alpha: 1, beta: 1, bias: 1 }, 'y');
    const want = [1 / 3.5, 2 / 7.5, 3 / 5.5];
    const got = Array.from(await y.read());
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-7));
    expect(Array.from(Lrn.reference.forward([{ shape: [1, 3, 1], data: Float64Array.from([1, 2, 3]) }], { size: 2, alpha: 1, beta: 1, bias: 1 })[0]!.data)).toEqual(want);
    for (const t of [x, y]) t.dispose();
  });

  it('an AlexNet-style ONNX model (Conv, Relu, LRN size 5, MaxPool): GPU = CPU path, forward and gradient', async () => {
    const bytes = smallModel({
      opset: 11,
      classes: 6,
      initializers: [weights('w', [6, 3, 3, 3], 1), weights('b', [6], 2), weights('w2', [6, 6, 1, 1], 3), ints('shape', [1, 6])],
      nodes: [
        { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
        { name: 'relu', opType: 'Relu', inputs: ['z'], outputs: ['a'] },
        { name: 'norm', opType: 'LRN', inputs: ['a'], outputs: ['n'], attrs: { size: 5, alpha: 0.5, beta: 0.75, bias: 2 } },
        { name: 'pool', opType: 'MaxPool', inputs: ['n'], outputs: ['m'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
        { name: 'conv2', opType: 'Conv', inputs: ['m', 'w2'], outputs: ['c2'] },
        { name: 'gap', opType: 'GlobalAveragePool', inputs: ['c2'], outputs: ['p'] },
        { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['scores'] },
      ],
    });
    const r = await expectGpuMatchesCpuPath(gpu(), bytes, { classes: [4, 1] });
    console.log(`AlexNet-style LRN model: GPU vs CPU path forward ${r.forward.toExponential(2)}, gradient ${r.backward.toExponential(2)}`);
    expect(r.ops).toContain('LRN');
  });

  it('refuses an LRN without its size, naming the node', () => {
    const bytes = smallModel({
      classes: 3,
      initializers: [ints('shape', [1, 3])],
      nodes: [
        { name: 'norm', opType: 'LRN', inputs: ['x'], outputs: ['n'], attrs: { alpha: 1e-4 } },
        { name: 'gap', opType: 'GlobalAveragePool', inputs: ['n'], outputs: ['p'] },
        { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['scores'] },
      ],
    });
    expectPixelpropError(() => Model.load(gpu(), bytes), /^node 'norm' \(LRN\): the size attribute is required$/);
  });
});
