/**
 * Broadcasting binary ops (Add, Sub, Mul, Div, Pow): every op's gradient checks run from its definition on nine
 * broadcast patterns in test/ops.test.ts. Here what those do not show: the broadcast rule and the collapsing of shapes
 * (pure functions), which kernel each pattern runs (the vec4 paths for equal shapes and per-channel operands, the
 * scalar path for odd sizes, the reduction for a broadcast operand's gradient), the gradients the tape asks for
 * (none for a constant), the errors that name the node, and small ONNX models — a squeeze-and-excitation block with a
 * residual, SiLU as PyTorch exports it — on the GPU against the CPU path.
 */
import { describe, expect, it, vi } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import { Add } from '../src/graph/ops/add.js';
import { Mul } from '../src/graph/ops/mul.js';
import { Pow } from '../src/graph/ops/pow.js';
import { Tape } from '../src/graph/tape.js';
import { broadcastShape, broadcastStrides, collapse } from '../src/kernels/strides.js';
import { constant, expectGpuMatchesCpuPath, ints, smallModel, weights } from './op-models.js';
import { expectPixelpropError, rand, toGpu, useGpu } from './helpers.js';

const gpu = useGpu();

describe('the broadcast rule and the collapsed walks', () => {
  it('aligns from the right; a size 1 or a missing axis stretches; anything else is refused with the axis', () => {
    expect(broadcastShape([2, 3, 1, 1], [2, 3, 7, 7])).toEqual([2, 3, 7, 7]);
    expect(broadcastShape([8], [2, 4, 4, 8])).toEqual([2, 4, 4, 8]);
    expect(broadcastShape([2, 1, 5], [3, 1])).toEqual([2, 3, 5]);
    expect(broadcastShape([1], [4, 2])).toEqual([4, 2]);
    expect(() => broadcastShape([2, 3], [4], 'Mul')).toThrow('Mul: shapes [2,3] and [4] do not broadcast (axis -1 has 3 and 4; sizes must be equal or 1)');
    expect(() => broadcastShape([1, 1, 1, 1, 1, 1, 2], [2])).toThrow('rank 7 ([1,1,1,1,1,1,2]) is more than the 6 supported');
  });

  it('collapses an SE block to [N·C, H·W], equal shapes to one axis, a channels-last bias to [N·H·W, C]', () => {
    const walk = (a: number[], b: number[]) => {
      const d = broadcastShape(a, b);
      return collapse({ dims: d, strides: [broadcastStrides(a, d), broadcastStrides(b, d)] });
    };
    expect(walk([2, 3, 1, 1], [2, 3, 7, 7])).toEqual({ dims: [6, 49], strides: [[1, 0], [49, 1]] });
    expect(walk([2, 3, 7, 7], [2, 3, 7, 7])).toEqual({ dims: [294], strides: [[1], [1]] });
    expect(walk([2, 4, 4, 8], [8])).toEqual({ dims: [32, 8], strides: [[8, 1], [0, 1]] });
    expect(walk([3, 1, 1], [2, 3, 5, 3])).toEqual({ dims: [2, 3, 15], strides: [[0, 1, 0], [45, 15, 1]] });
    expect(walk([1], [1])).toEqual({ dims: [], strides: [[], []] });
  });
});

describe('which kernels run', () => {
  /** The kernels a forward and backward of `op` on a and b dispatch, by name. */
  async function kernelsOf(op: typeof Add, aShape: number[], bShape: number[], wrt: boolean[]): Promise<{ forward: string[]; backward: string[] }> {
    const spy = vi.spyOn(gpu(), 'dispatch');
    const a = toGpu(gpu(), rand(aShape, 1, 0.5, 2), 'a');
    const b = toGpu(gpu(), rand(bShape, 2, 0.5, 2), 'b');
    a.requiresGrad = wrt[0]!;
    b.requiresGrad = wrt[1]!;
    const tape = new Tape();
    spy.mockClear();
    const y = tape.record(() => op.apply(a, b, 'y'));
    const forward = spy.mock.calls.map((c) => c[0]);
    spy.mockClear();
    const grads = tape.backward(y, [a, b].filter((_, k) => wrt[k]), { seed: Tensor.from(gpu(), y.shape, new Float32Array(y.size).fill(1)) });
    const backward = spy.mock.calls.map((c) => c[0]);
    spy.mockRestore();
    await y.read();
    for (const t of [a, b, y, ...grads]) t.dispose();
    return { forward, backward };
  }

  it('equal shapes: vec4 both ways; Add’s gradients are dy itself (no kernel), Mul’s a vec4 product each', async () => {
    expect(await kernelsOf(Add, [2, 8, 6, 6], [2, 8, 6, 6], [true, true])).toEqual({ forward: ['broadcast.binary_forward4'], backward: [] });
    expect(await kernelsOf(Mul, [2, 8, 6, 6], [2, 8, 6, 6], [true, true])).toEqual({
      forward: ['broadcast.binary_forward4'],
      backward: ['broadcast.binary_grad4', 'broadcast.binary_grad4'],
    });
  });

  it('an SE scale times the features: the scale splatted over each vec4; its gradient a reduction over H·W, 4 terms per load', async () => {
    expect(await kernelsOf(Mul, [2, 8, 1, 1], [2, 8, 6, 6], [true, true])).toEqual({
      forward: ['broadcast.binary_forward4_splat_a'],
      backward: ['broadcast.reduce_to_shape4_vec_b', 'broadcast.binary_grad4_splat_a'],
    });
    expect((await kernelsOf(Mul, [2, 8, 6, 6], [2, 8, 1, 1], [true, false])).forward).toEqual(['broadcast.binary_forward4_splat_b']);
  });

  it('a row of odd length takes the scalar kernels; a constant operand gets no gradient kernel', async () => {
    expect(await kernelsOf(Pow, [2, 3, 5, 5], [1], [true, false])).toEqual({ forward: ['broadcast.binary_forward'], backward: ['broadcast.binary_grad'] });
  });
});

describe('ONNX models', () => {
  it('refuses operands that do not broadcast, and the legacy axis attribute, naming the node', () => {
    const model = (b: number[], attrs?: Record<string, number>) =>
      smallModel({
        classes: 4,
        initializers: [weights('w', [4, 3, 3, 3], 1), weights('c', b, 2), ints('shape', [1, 4])],
        nodes: [
          { name: 'conv', opType: 'Conv', inputs: ['x', 'w'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
          { name: 'scale', opType: 'Mul', inputs: ['z', 'c'], outputs: ['s'], ...(attrs && { attrs }) },
          { name: 'gap', opType: 'GlobalAveragePool', inputs: ['s'], outputs: ['p'] },
          { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['scores'] },
        ],
      });
    const before = gpu().memory().inUseBuffers;
    expectPixelpropError(
      () => Model.load(gpu(), model([3, 1, 1])),
      /^node 'scale' \(Mul\): shapes \[1,4,8,8\] and \[3,1,1\] do not broadcast \(axis -3 has 4 and 3; sizes must be equal or 1\)$/,
    );
    expectPixelpropError(() => Model.load(gpu(), model([4], { axis: 1, broadcast: 1 })), /^node 'scale' \(Mul\): the legacy axis attribute \(opset < 7\) is not supported/);
    expect(gpu().memory().inUseBuffers).toBe(before);
  });

  it('Pow with an int64 exponent (ONNX T1, opset 12): read as the float32 number, = the float exponent; beyond 2^24 refused; Mul still refuses int64', async () => {
    const model = (exponent: ReturnType<typeof ints>, opType = 'Pow') =>
      smallModel({
        classes: 4,
        initializers: [weights('w', [4, 3, 3, 3], 1), weights('b', [4], 2), exponent, ints('shape', [1, 4])],
        nodes: [
          { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
          { name: 'cube', opType, inputs: ['z', 'e'], outputs: ['c'] },
          { name: 'gap', opType: 'GlobalAveragePool', inputs: ['c'], outputs: ['p'] },
          { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['scores'] },
        ],
      });
    const r = await expectGpuMatchesCpuPath(gpu(), model(ints('e', [3])), { classes: [1, 3] });
    console.log(`Pow with an int64 exponent: GPU vs CPU path forward ${r.forward.toExponential(2)}, gradient ${r.backward.toExponential(2)}`);
    const asInt = Model.load(gpu(), model(ints('e', [3])));
    const asFloat = Model.load(gpu(), model(constant('e', [1], [3])));
    try {
      // The int64 constant stays int64 (other nodes may read it as shape arithmetic); the Pow reads a float32 copy.
      expect(asInt.graph.constants.get('e')!.type).toBe('int64');
      expect(asInt.graph.nodes.find((n) => n.name === 'cube')!.inputs[1]).toBe('e (as float32)');
      const x = rand([2, 3, 8, 8], 7);
      const a = asInt.referenceClassScoreGradient(x, [0, 2]);
      const b = asFloat.referenceClassScoreGradient(x, [0, 2]);
      expect(Array.from(a.scores.data)).toEqual(Array.from(b.scores.data));
      expect(Array.from(a.grad.data)).toEqual(Array.from(b.grad.data));
    } finally {
      asInt.dispose();
      asFloat.dispose();
    }
    expectPixelpropError(
      () => Model.load(gpu(), model(ints('e', [2 ** 24 + 1]))),
      /^node 'cube' \(Pow\): input 'e' holds the int64 value 16777217, which the float32 Pow operand cannot hold exactly \(\|v\| ≤ 2\^24\)$/,
    );
    // Only the ops that say so (int64AsFloat) read an int64 constant as a number: Mul's T has no integer beside float.
    expectPixelpropError(
      () => Model.load(gpu(), model(ints('e', [3]), 'Mul')),
      /^node 'cube' \(Mul\): input 'e' is int64 \(shape arithmetic\), but the node runs on the GPU in float32 \(its input 'z' is computed\)$/,
    );
  });

  it('a squeeze-and-excitation block with a residual (EfficientNet, MobileNetV3): GPU = CPU path', async () => {
    const bytes = smallModel({
      classes: 8,
      initializers: [
        weights('w', [8, 3, 3, 3], 1),
        weights('b', [8], 2),
        weights('w_squeeze', [2, 8, 1, 1], 3),
        weights('b_squeeze', [2], 4),
        weights('w_excite', [8, 2, 1, 1], 5),
        weights('b_excite', [8], 6),
        ints('shape', [1, 8]),
      ],
      nodes: [
        { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
        { name: 'relu', opType: 'Relu', inputs: ['z'], outputs: ['a'] },
        { name: 'squeeze_pool', opType: 'GlobalAveragePool', inputs: ['a'], outputs: ['sq'] },
        { name: 'squeeze', opType: 'Conv', inputs: ['sq', 'w_squeeze', 'b_squeeze'], outputs: ['s1'] },
        { name: 'squeeze_relu', opType: 'Relu', inputs: ['s1'], outputs: ['s2'] },
        { name: 'excite', opType: 'Conv', inputs: ['s2', 'w_excite', 'b_excite'], outputs: ['e1'] },
        { name: 'gate', opType: 'Sigmoid', inputs: ['e1'], outputs: ['g'] },
        { name: 'se', opType: 'Mul', inputs: ['g', 'a'], outputs: ['se'] },
        { name: 'residual', opType: 'Add', inputs: ['se', 'a'], outputs: ['r'] },
        { name: 'gap', opType: 'GlobalAveragePool', inputs: ['r'], outputs: ['p'] },
        { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['scores'] },
      ],
    });
    const r = await expectGpuMatchesCpuPath(gpu(), bytes, { classes: [5, 2] });
    console.log(`SE block + residual: GPU vs CPU path forward ${r.forward.toExponential(2)}, gradient ${r.backward.toExponential(2)}`);
    expect(r.ops).toEqual(['Conv', 'GlobalAveragePool', 'Conv', 'Conv', 'Mul', 'Add', 'GlobalAveragePool', 'Reshape']);
  });

  it('SiLU as PyTorch exports it (Sigmoid, then Mul of x by it: one tensor read twice) and a scaled, shifted output', async () => {
    const bytes = smallModel({
      classes: 4,
      initializers: [weights('w', [4, 3, 3, 3], 1), weights('b', [4], 2), constant('k', [], [0.25]), weights('shift', [4, 1, 1], 3), ints('shape', [1, 4])],
      nodes: [
        { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
        { name: 'sig', opType: 'Sigmoid', inputs: ['z'], outputs: ['s'] },
        { name: 'silu', opType: 'Mul', inputs: ['z', 's'], outputs: ['a'] },
        { name: 'scaled', opType: 'Mul', inputs: ['a', 'k'], outputs: ['a2'] },
        { name: 'shifted', opType: 'Sub', inputs: ['a2', 'shift'], outputs: ['a3'] },
        { name: 'gap', opType: 'GlobalAveragePool', inputs: ['a3'], outputs: ['p'] },
        { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['scores'] },
      ],
    });
    await expectGpuMatchesCpuPath(gpu(), bytes, { classes: [0, 3] });
  });
});
