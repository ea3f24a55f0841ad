/**
 * ReduceSum, ReduceMean, ReduceMax: their gradient checks run from their definitions in test/ops.test.ts. Here what
 * those do not show: the ONNX forms of `axes` (attribute, or input 1 from opset 13 for ReduceSum and 18 for the others,
 * with noop_with_empty_axes), keepdims, errors that name the node, ties of ReduceMax sharing the gradient, a long sum's
 * accuracy, and small ONNX models (MNASNet's mean head, a written-out LayerNorm) with the GPU against the CPU path.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { Model } from '../src/graph/model.js';
import type { NodeSpec, TensorSpec } from '../src/graph/onnx/build-fixture.js';
import { ReduceMax } from '../src/graph/ops/reduce-max.js';
import { ReduceMean } from '../src/graph/ops/reduce-mean.js';
import { ReduceSum } from '../src/graph/ops/reduce-sum.js';
import type { ReduceAttrs } from '../src/graph/reduce.js';
import { Tape } from '../src/graph/tape.js';
import { apply1 } from '../src/graph/op.js';
import { Rng } from '../src/util/rng.js';
import { constant, expectGpuMatchesCpuPath, ints, smallModel, weights } from './op-models.js';
import { expectPixelpropError, useGpu } from './helpers.js';

const gpu = useGpu();

/** A model x [1,3,8,8] → Conv 4 channels → (reduction node 'r' → 'p') → Reshape [1, K] → scores; returns its graph. */
function reductionModel(opset: number, node: Omit<NodeSpec, 'inputs' | 'outputs'> & { inputs?: string[] }, extra: TensorSpec[] = [], classes = 4) {
  return smallModel({
    opset,
    classes,
    initializers: [weights('w', [4, 3, 3, 3], 1), weights('b', [4], 2), ints('shape', [1, classes]), ...extra],
    nodes: [
      { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
      { name: 'r', ...node, inputs: ['z', ...(node.inputs ?? [])], outputs: ['p'] },
      { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['scores'] },
    ],
  });
}

const attrsOf = (bytes: Uint8Array): ReduceAttrs => {
  const model = Model.load(gpu(), bytes);
  try {
    return model.graph.nodes.find((n) => n.name === 'r')!.attrs as ReduceAttrs;
  } finally {
    model.dispose();
  }
};

describe('the ONNX forms of the axes', () => {
  it('ReduceMean: the attribute up to opset 17, input 1 from opset 18; keepdims 0', () => {
    expect(attrsOf(reductionModel(13, { opType: 'ReduceMean', attrs: { axes: [2, 3], keepdims: 0 } }))).toEqual({ axes: [2, 3], keepdims: false });
    expect(attrsOf(reductionModel(18, { opType: 'ReduceMean', inputs: ['axes'], attrs: { keepdims: 0 } }, [ints('axes', [-1, -2])]))).toEqual({
      axes: [-1, -2],
      keepdims: false,
    });
  });

  it('ReduceSum: input 1 from opset 13; an absent or empty list reduces every axis, unless noop_with_empty_axes', () => {
    expect(attrsOf(reductionModel(11, { opType: 'ReduceSum', attrs: { axes: [2, 3], keepdims: 0 } }))).toEqual({ axes: [2, 3], keepdims: false });
    expect(attrsOf(reductionModel(13, { opType: 'ReduceSum', inputs: ['axes'], attrs: { keepdims: 0 } }, [ints('axes', [2, 3])]))).toEqual({
      axes: [2, 3],
      keepdims: false,
    });
    expect(attrsOf(reductionModel(13, { opType: 'ReduceSum', attrs: { keepdims: 1 } }, [], 1))).toEqual({ axes: null, keepdims: true });
    const noop = reductionModel(13, { opType: 'ReduceSum', inputs: ['axes'], attrs: { noop_with_empty_axes: 1 } }, [ints('axes', [])], 256);
    expect(attrsOf(noop)).toEqual({ axes: [], keepdims: true });
  });

  it('refuses, naming the node: an axis out of range, an axis twice, axes that are not constant, the attribute at opset 18', () => {
    const load = (bytes: Uint8Array) => () => Model.load(gpu(), bytes).dispose();
    expectPixelpropError(load(reductionModel(13, { opType: 'ReduceMean', attrs: { axes: [4] } })), /^node 'r' \(ReduceMean\): axis 4 is out of range for \[1,4,8,8\]$/);
    expectPixelpropError(load(reductionModel(13, { opType: 'ReduceMax', attrs: { axes: [3, -1] } })), /^node 'r' \(ReduceMax\): axes \[3,-1\] name an axis twice$/);
    expectPixelpropError(
      load(reductionModel(18, { opType: 'ReduceMean', attrs: { axes: [2, 3] } })),
      /^node 'r' \(ReduceMean\): from opset 18 the axes are input 1, not an attribute$/,
    );
    // Axes computed by the graph (here absurdly: a float activation) cannot be read at load time.
    expectPixelpropError(
      load(reductionModel(13, { opType: 'ReduceSum', inputs: ['z'] })),
      /^node 'r' \(ReduceSum\): the axes input 'z' must be a constant \(an initializer or a Constant node\)$/,
    );
  });
});

describe('values', () => {
  it('ReduceMax: ties share the gradient evenly (as PyTorch’s amax), the max alone gets it otherwise', async () => {
    const x = Tensor.from(gpu(), [2, 4], [1, 3, 3, 2, -5, 7, 0, 6], 'x');
    x.requiresGrad = true;
    const tape = new Tape();
    const y = tape.record(() => apply1(ReduceMax, [x], { axes: [1], keepdims: false }, 'y'));
    expect(Array.from(await y.read())).toEqual([3, 7]);
    const [dx] = tape.backward(y, [x], { seed: Tensor.from(gpu(), [2], [1, 2]) });
    expect(Array.from(await dx!.read())).toEqual([0, 0.5, 0.5, 0, 0, 2, 0, 0]);
    const ref = ReduceMax.reference.backward([{ shape: [2], data: Float64Array.from([1, 2]) }], [{ shape: [2, 4], data: Float64Array.from([1, 3, 3, 2, -5, 7, 0, 6]) }], [{ shape: [2], data: Float64Array.from([3, 7]) }], { axes: [1], keepdims: false }, [true]);
    expect(Array.from(ref[0]!.data)).toEqual([0, 0.5, 0.5, 0, 0, 2, 0, 0]);
    for (const t of [x, y, dx!]) t.dispose();
  });

  it('a mean of 1.2M terms: within 1e-6 of float64 (a tree, not a running sum)', async () => {
    const n = 3 * 400 * 1000;
    const data = Float32Array.from(new Rng(5).uniforms(n, 0, 1));
    const x = Tensor.from(gpu(), [3, 400, 1000], data, 'x');
    const y = apply1(ReduceMean, [x], { axes: [1, 2], keepdims: false }, 'y');
    const got = await y.read();
    const want = ReduceMean.reference.forward([{ shape: [3, 400, 1000], data: Float64Array.from(data) }], { axes: [1, 2], keepdims: false })[0]!.data;
    for (let k = 0; k < 3; k++) expect(Math.abs(got[k]! - want[k]!) / want[k]!, `mean ${k}`).toBeLessThan(1e-6);
    const sum = apply1(ReduceSum, [x], { axes: null, keepdims: false }, 's');
    expect(sum.shape).toEqual([1]);
    expect(Math.abs((await sum.read())[0]! - want.reduce((p, v) => p + v, 0) * 400000) / (n / 2)).toBeLessThan(1e-6);
    for (const t of [x, y, sum]) t.dispose();
  });
});

describe('small ONNX models: GPU = CPU path, forward and gradient', () => {
  it("MNASNet's head: ReduceMean axes [2,3] keepdims 0 after a conv (opset 13)", async () => {
    const bytes = smallModel({
      classes: 4,
      initializers: [weights('w', [4, 3, 3, 3], 1), weights('b', [4], 2)],
      nodes: [
        { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
        { name: 'relu', opType: 'Relu', inputs: ['z'], outputs: ['a'] },
        { name: 'mean', opType: 'ReduceMean', inputs: ['a'], outputs: ['scores'], attrs: { axes: [2, 3], keepdims: 0 } },
      ],
    });
    const r = await expectGpuMatchesCpuPath(gpu(), bytes, { classes: [0, 3] });
    expect(r.ops).toEqual(['Conv', 'ReduceMean']);
  });

  it('a LayerNorm over the last axis written out (opset 18): ReduceMean, Sub, Pow 2, ReduceMean, Add ε, Sqrt, Div, Mul, Add, then ReduceMax and ReduceSum', async () => {
    const bytes = smallModel({
      opset: 18,
      classes: 4,
      initializers: [
        weights('w', [4, 3, 3, 3], 1),
        weights('b', [4], 2),
        ints('last', [-1]),
        ints('rows', [2]),
        constant('two', [], [2]),
        constant('eps', [], [1e-5]),
        weights('gamma', [8], 3, 0.5, 1.5),
        weights('beta', [8], 4),
        ints('shape', [1, 4]),
      ],
      nodes: [
        { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
        { name: 'mu', opType: 'ReduceMean', inputs: ['z', 'last'], outputs: ['mu'] },
        { name: 'centered', opType: 'Sub', inputs: ['z', 'mu'], outputs: ['c'] },
        { name: 'square', opType: 'Pow', inputs: ['c', 'two'], outputs: ['c2'] },
        { name: 'var', opType: 'ReduceMean', inputs: ['c2', 'last'], outputs: ['v'] },
        { name: 'var_eps', opType: 'Add', inputs: ['v', 'eps'], outputs: ['ve'] },
        { name: 'std', opType: 'Sqrt', inputs: ['ve'], outputs: ['s'] },
        { name: 'normalized', opType: 'Div', inputs: ['c', 's'], outputs: ['n'] },
        { name: 'scaled', opType: 'Mul', inputs: ['n', 'gamma'], outputs: ['g'] },
        { name: 'shifted', opType: 'Add', inputs: ['g', 'beta'], outputs: ['y'] },
        { name: 'rowmax', opType: 'ReduceMax', inputs: ['y', 'last'], outputs: ['m'] },
        { name: 'sum', opType: 'ReduceSum', inputs: ['m', 'rows'], outputs: ['p'] },
        { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['scores'] },
      ],
    });
    const r = await expectGpuMatchesCpuPath(gpu(), bytes, { classes: [2, 1] });
    console.log(`written-out LayerNorm: GPU vs CPU path forward ${r.forward.toExponential(2)}, gradient ${r.backward.toExponential(2)}`);
    expect(r.ops).toContain('ReduceMax');
  });
});
