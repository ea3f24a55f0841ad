/**
 * What the generic op checks (test/ops.test.ts) cannot show about the layout ops and the shape arithmetic:
 *
 * - the fold pass on hand-built graphs: PyTorch's x.view(x.size(0), −1) chain folds to one Reshape that follows the
 *   real batch; scalars keep their rank through Gather and Unsqueeze; a graph that folds entirely gives its output;
 * - one-line refusals naming the node: shape arithmetic on computed values, int64 values reaching the GPU, bad
 *   attributes;
 * - models with several inputs: forwardAll by name, the image API refusing them, parameter inputs bound at load;
 * - Split's backward for an output other than the first; ONNX's clamping of Slice bounds, INT64_MAX included.
 */
import { describe, expect, it } from 'vitest';
import { host } from '../src/kernels/host.js';
import { buildModel, type ModelSpec, type NodeSpec, type TensorSpec } from '../src/graph/onnx/build-fixture.js';
import { parseOnnx } from '../src/graph/onnx/parse.js';
import { Model } from '../src/graph/model.js';
import { Tape } from '../src/graph/tape.js';
import { parameterInputs } from '../src/graph/passes/index.js';
import { Split } from '../src/graph/ops/split.js';
import { sliceSpec } from '../src/graph/ops/slice.js';
import { apply } from '../src/graph/op.js';
import { readTestSets, runTestSets } from '../src/cli/run-onnx.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, expectPixelpropError, fromGpu, rand, toGpu, useGpu } from './helpers.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { tensorProto } from '../src/graph/onnx/build-fixture.js';

const gpu = useGpu();

const int64 = (name: string, data: number[], dims = [data.length]): TensorSpec => ({ name, dims, data, type: 'int64' });
const node = (opType: string, inputs: string[], outputs: string[], attrs?: NodeSpec['attrs']): NodeSpec => ({ opType, inputs, outputs, name: outputs[0]!, ...(attrs && { attrs }) });

/** conv 3→4 (3×3, pad 1) → x.view(x.size(0), −1) as PyTorch writes it → the scores [N, 4·H·W]. */
function viewModel(batch: number | string): ModelSpec {
  const w = rand([4, 3, 3, 3], 1);
  return {
    opset: 13,
    inputs: [{ name: 'x', dims: [batch, 3, 5, 5] }],
    outputs: [{ name: 'y', dims: [batch, 100] }],
    initializers: [{ name: 'w', dims: [4, 3, 3, 3], data: Float32Array.from(w.data) }, int64('zero', [0], []), int64('axes0', [0]), int64('minus1', [-1])],
    nodes: [
      node('Conv', ['x', 'w'], ['c'], { pads: [1, 1, 1, 1] }),
      node('Shape', ['c'], ['shape']),
      node('Gather', ['shape', 'zero'], ['n'], { axis: 0 }),
      node('Unsqueeze', ['n', 'axes0'], ['n1']),
      node('Concat', ['n1', 'minus1'], ['target'], { axis: 0 }),
      node('Reshape', ['c', 'target'], ['y']),
    ],
  };
}

describe('folding shape arithmetic', () => {
  for (const batch of ['N', 1]) {
    it(`x.view(x.size(0), −1) with a ${typeof batch === 'string' ? 'symbolic' : 'fixed'} batch folds to one Reshape that follows the real batch`, async () => {
      const model = Model.load(gpu(), buildModel(viewModel(batch)));
      try {
        expect(model.graph.nodes.map((n) => n.op.name)).toEqual(['Conv', 'Reshape']);
        expect(model.graph.constants.get('target')).toEqual({ dims: [2], type: 'int64', data: [1, -1] });
        expect(model.graph.constants.get('n')!.dims).toEqual([]); // a scalar index keeps the scalar a scalar
        const x3 = rand([3, 3, 5, 5], 2);
        const y3 = model.forward(toGpu(gpu(), x3));
        expect([...y3.shape]).toEqual([3, 100]);
        const all = await y3.read();
        y3.dispose();
        const ref = model.referenceForward(x3);
        expectClose(all, ref.data, FORWARD_BOUND, 'batch 3 vs the float64 CPU path');
        // Each image's row is what that image alone gives.
        const x1 = host([1, 3, 5, 5], x3.data.slice(75, 150));
        const y1 = model.forward(toGpu(gpu(), x1));
        expectClose(await y1.read(), all.slice(100, 200), FORWARD_BOUND, 'image 1 of the batch vs alone');
        y1.dispose();
      } finally {
        model.dispose();
      }
    });
  }

  it('a graph that folds entirely gives its output as a tensor', async () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [2, 3] }],
      outputs: [{ name: 'y', dims: [2, 3] }, { name: 'k', dims: [2] }],
      initializers: [int64('two', [2]), int64('three', [3])],
      nodes: [
        node('Relu', ['x'], ['y']),
        node('Shape', ['x'], ['s']),
        node('Cast', ['s'], ['k'], { to: 1 }),
      ],
    };
    const model = Model.load(gpu(), buildModel(spec));
    const x = toGpu(gpu(), rand([2, 3], 3));
    const outs = model.forwardAll(x);
    expect(Array.from(await outs.get('k')!.read())).toEqual([2, 3]);
    for (const t of [...outs.values(), x]) t.dispose();
    model.dispose();
  });

  it('Range and ConstantOfShape fold; the pads PyTorch computes for F.pad fold too', () => {
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 2, 3, 3] }],
      outputs: [{ name: 'y', dims: [1, 3, 5, 6] }],
      initializers: [int64('start', [0], []), int64('limit', [4], []), int64('delta', [1], []), int64('len', [4])],
      nodes: [
        node('Range', ['start', 'limit', 'delta'], ['r']), // [0, 1, 2, 3]
        node('ConstantOfShape', ['len'], ['zeros'], { value: int64('v', [0], [1]) }),
        node('Concat', ['zeros', 'r'], ['both'], { axis: 0 }), // [0, 0, 0, 0, 0, 1, 2, 3]
        node('Slice', ['both', 'start', 'limit'], ['firsts']), // [0, 0, 0, 0]
        node('Concat', ['firsts', 'r'], ['p2'], { axis: 0 }), // begins 0, 0, 0, 0; ends 0, 1, 2, 3
        node('Pad', ['x', 'p2'], ['y']),
      ],
    };
    const model = Model.load(gpu(), buildModel(spec));
    expect(model.graph.nodes.map((n) => n.op.name)).toEqual(['Pad']);
    expect(model.graph.constants.get('p2')!.data).toEqual([0, 0, 0, 0, 0, 1, 2, 3]);
    expect([...model.shapes.get('y')!]).toEqual([1, 3, 5, 6]);
    model.dispose();
  });
});

describe('refusals: one line, naming the node', () => {
  const load = (spec: ModelSpec) => () => Model.load(gpu(), buildModel(spec)).dispose();
  const one = (op: NodeSpec, extra: Partial<ModelSpec> = {}): ModelSpec => ({
    inputs: [{ name: 'x', dims: [2, 3, 4] }],
    outputs: [{ name: 'y' }],
    nodes: [op],
    ...extra,
  });

  it('shape arithmetic on a computed value, or without a static shape', () => {
    expectPixelpropError(
      load(one(node('Range', ['x', 'x', 'x'], ['y']))),
      /^node 'y' \(Range\): input 'x' is computed, not a constant: Range is shape arithmetic, which pixelprop does only while building the model$/,
    );
    expectPixelpropError(
      load({ ...one(node('Shape', ['x'], ['y'])), inputs: [{ name: 'x', dims: ['N', 3, 'H'] }] }),
      /^node 'y' \(Shape\): the shape of input 'x' is not static: Shape is shape arithmetic/,
    );
    expectPixelpropError(load(one(node('Cast', ['x'], ['y'], { to: 7 }))), /^node 'y' \(Cast\): a computed value cannot be cast to INT64: pixelprop computes in float32/);
  });

  it('int64 values never reach the GPU', () => {
    expectPixelpropError(
      load(one(node('Add', ['x', 'k'], ['y']), { initializers: [int64('k', [1, 2, 3, 4])] })),
      /^node 'y' \(Add\): input 'k' is int64 \(shape arithmetic\), but the node runs on the GPU in float32/,
    );
    expectPixelpropError(
      load({ ...one(node('Relu', ['i'], ['y'])), inputs: [{ name: 'i', dims: [4], elemType: 7 }] }),
      /^input 'i' is int64: pixelprop computes in float32, so an int64 input can only be a shape parameter — give its value when loading the model$/,
    );
  });

  it('attributes that do not fit the tensors', () => {
    const cases: [NodeSpec, Partial<ModelSpec>, RegExp][] = [
      [node('Transpose', ['x'], ['y'], { perm: [0, 2, 2] }), {}, /\(Transpose\): perm \[0,2,2\] is not a permutation of the 3 axes/],
      [node('Slice', ['x', 's', 'e'], ['y']), { initializers: [int64('s', [5]), int64('e', [9])] }, /\(Slice\): the slice \[5:9:1\] of axis 0 of \[2,3,4\] is empty/],
      [node('Slice', ['x', 'x', 'x'], ['y']), {}, /\(Slice\): starts 'x' must be a constant/],
      [node('Split', ['x', 'k'], ['y', 'z'], { axis: 2 }), { initializers: [int64('k', [1, 2])] }, /\(Split\): split sizes \[1,2\] do not add up to axis 2 of \[2,3,4\] \(4\)/],
      [node('Squeeze', ['x', 'k'], ['y']), { initializers: [int64('k', [1])] }, /\(Squeeze\): axis 1 of \[2,3,4\] has size 3, not 1/],
      [node('Pad', ['x', 'k'], ['y'], { mode: 'reflect' }), { initializers: [int64('k', [0, 0, 4, 0, 0, 0])] }, /\(Pad\): reflect pads must be smaller than the axis they pad \(axis 2 of \[2,3,4\]: 4, 0\)/],
      [node('Pad', ['x', 'k'], ['y'], { mode: 'circular' }), { initializers: [int64('k', [0, 0, 1, 0, 0, 0])] }, /\(Pad\): mode 'circular' is not supported/],
      [node('Gather', ['x', 'k'], ['y'], { axis: 1 }), { initializers: [int64('k', [3])] }, /\(Gather\): index 3 is out of range for axis 1 of \[2,3,4\] \(size 3\)/],
      [node('Expand', ['x', 'k'], ['y']), { initializers: [int64('k', [2, 5, 4])] }, /\(Expand\): \[2,3,4\] cannot be broadcast to \[2,5,4\]/],
    ];
    for (const [op, extra, message] of cases) expectPixelpropError(load(one(op, extra)), new RegExp(`^node 'y' ${message.source}`));
  });
});

describe('several inputs', () => {
  const twoInputs: ModelSpec = {
    inputs: [
      { name: 'a', dims: [2, 3] },
      { name: 'b', dims: [2, 3] },
      { name: 'axes', dims: [1], elemType: 7 },
    ],
    outputs: [{ name: 'y', dims: [2, 1, 3] }],
    nodes: [node('Add', ['a', 'b'], ['s']), node('Unsqueeze', ['s', 'axes'], ['y'])],
  };

  it('the int64 input is a parameter, bound at load; the others are fed by name', async () => {
    const bytes = buildModel(twoInputs);
    expect(parameterInputs(parseOnnx(bytes))).toEqual(['axes']);
    const model = Model.load(gpu(), bytes, { bind: new Map([['axes', { name: 'axes', dims: [1], type: 'int64', data: [1] }]]) });
    try {
      expect(model.inputs.map((i) => i.name)).toEqual(['a', 'b']);
      const [a, b] = [rand([2, 3], 4), rand([2, 3], 5)];
      const outs = model.forwardAll({ a: toGpu(gpu(), a), b: toGpu(gpu(), b) });
      const y = outs.get('y')!;
      expect([...y.shape]).toEqual([2, 1, 3]);
      expectClose(await y.read(), a.data.map((v, i) => v + b.data[i]!), 1e-7, 'a + b');
      y.dispose();
      expectPixelpropError(() => model.forward(toGpu(gpu(), a)), /^the model has 2 inputs \(a, b\); this needs a model with one image input$/);
      expectPixelpropError(() => model.imageSize(), /^the model has 2 inputs/);
      expectPixelpropError(() => model.forwardAll({ a: toGpu(gpu(), a) }), /^no value given for the model's input 'b'$/);
      expectPixelpropError(() => model.forwardAll({ a: toGpu(gpu(), a), c: toGpu(gpu(), b) }), /^the model has no input named 'c' \(inputs: a, b\)$/);
      expectPixelpropError(() => model.forwardAll({ a: toGpu(gpu(), a), b: toGpu(gpu(), rand([2, 4], 6)) }), /^input \[2,4\] does not fit the model's input 'b' \[2,3\]$/);
    } finally {
      model.dispose();
    }
  });

  it('pixelprop run semantics: input_K.pb is the K-th input, parameters bound from the set', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pixelprop-inputs-'));
    try {
      const set = join(dir, 'test_data_set_0');
      mkdirSync(set);
      const [a, b] = [rand([2, 3], 7), rand([2, 3], 8)];
      const write = (file: string, spec: TensorSpec): void => writeFileSync(join(set, file), onnxProto.onnx.TensorProto.encode(tensorProto(spec)).finish());
      write('input_0.pb', { name: 'a', dims: [2, 3], data: Float32Array.from(a.data) });
      write('input_1.pb', { name: 'b', dims: [2, 3], data: Float32Array.from(b.data) });
      write('input_2.pb', int64('axes', [-2]));
      write('output_0.pb', { name: 'y', dims: [2, 1, 3], data: Float32Array.from(a.data.map((v, i) => v + b.data[i]!)) });
      const results = await runTestSets(gpu(), buildModel(twoInputs), await readTestSets(dir), { rtol: 1e-5, atol: 0, allclose: false });
      expect(results.map((r) => [r.name, r.shape, r.pass])).toEqual([['y', [2, 1, 3], true]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('attributes before they became inputs', () => {
  /** The same op at an old opset (attributes) and at opset 13 or 18 (constant inputs) must give the same values. */
  const cases: { what: string; old: [number, NodeSpec, TensorSpec[]]; now: [number, NodeSpec, TensorSpec[]] }[] = [
    {
      what: 'Slice (attributes before opset 10)',
      old: [9, node('Slice', ['x'], ['y'], { starts: [1, 0], ends: [3, 100], axes: [1, 2] }), []],
      now: [13, node('Slice', ['x', 's', 'e', 'a'], ['y']), [int64('s', [1, 0]), int64('e', [3, 100]), int64('a', [1, 2])]],
    },
    {
      what: 'Split (split an attribute before opset 13; num_outputs from 18)',
      old: [11, node('Split', ['x'], ['y', 'z'], { axis: 1, split: [2, 1] }), []],
      now: [18, node('Split', ['x'], ['y', 'z'], { axis: 1, num_outputs: 2 }), []], // ceil(3 / 2) = 2, then 1
    },
    {
      what: 'Pad (pads and value attributes before opset 11)',
      old: [10, node('Pad', ['x'], ['y'], { pads: [0, 1, 0, 0, 2, 1], value: 0.5 }), []],
      now: [13, node('Pad', ['x', 'p', 'v'], ['y']), [int64('p', [0, 1, 0, 0, 2, 1]), { name: 'v', dims: [], data: Float32Array.of(0.5) }]],
    },
    {
      what: 'Squeeze and Unsqueeze (axes attributes before opset 13)',
      old: [11, node('Unsqueeze', ['x'], ['u'], { axes: [0, 3] }), []],
      now: [13, node('Unsqueeze', ['x', 'k'], ['u']), [int64('k', [0, 3])]],
    },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const x = rand([2, 3, 4], 12);
      const outputs = async ([opset, op, initializers]: [number, NodeSpec, TensorSpec[]]): Promise<number[][]> => {
        const nodes = [op];
        if (op.opType === 'Unsqueeze') nodes.push(node('Squeeze', ['u', ...(opset >= 13 ? ['k'] : [])], ['y'], opset >= 13 ? {} : { axes: [0, 3] }));
        const model = Model.load(gpu(), buildModel({ opset, inputs: [{ name: 'x', dims: [2, 3, 4] }], outputs: op.outputs.filter((o) => o !== 'u').map((name) => ({ name })).concat(op.opType === 'Unsqueeze' ? [{ name: 'y' }] : []), initializers, nodes }));
        const xg = toGpu(gpu(), x);
        const outs = model.forwardAll(xg);
        const values: number[][] = [];
        for (const name of model.outputNames) values.push([...outs.get(name)!.shape, ...(await outs.get(name)!.read())]);
        for (const t of [...outs.values(), xg]) t.dispose();
        model.dispose();
        return values;
      };
      expect(await outputs(c.old)).toEqual(await outputs(c.now));
    });
  }
});

describe('layout details', () => {
  it("Split's backward: a later output's gradient lands in its slice, zeros for the unused ones", async () => {
    const x = rand([2, 7, 3], 9);
    const xg = toGpu(gpu(), x);
    xg.requiresGrad = true;
    const attrs = { axis: 1, sizes: [2, 4, 1], outputs: 3, uneven: false };
    const tape = new Tape();
    const ys = tape.record(() => apply(Split, [xg], attrs, 'split'));
    const dy = rand([2, 4, 3], 10);
    const [dx] = tape.backward(ys[1]!, [xg], { seed: toGpu(gpu(), dy) });
    const ref = Split.reference.backward([host([2, 2, 3]), dy, host([2, 1, 3])], [x], [], attrs, [true])[0]!;
    expectClose((await fromGpu(dx!)).data, ref.data, BACKWARD_BOUND, 'dx');
    const got = await dx!.read();
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 7; c++)
        for (let w = 0; w < 3; w++) {
          const v = got[(n * 7 + c) * 3 + w]!;
          if (c >= 2 && c < 6) expect(v).toBeCloseTo(dy.data[(n * 4 + c - 2) * 3 + w]!, 6);
          else expect(v).toBe(0);
        }
    for (const t of [...ys, dx!, xg]) t.dispose();
  });

  it("Slice clamps out-of-range bounds as ONNX does, ±∞ included (PyTorch's INT64_MAX)", () => {
    const spec = (starts: number[], ends: number[], steps: number[]) => sliceSpec({ starts, ends, axes: [0], steps }, [10]).map((s) => [s.start, s.step, s.size]);
    expect(spec([2], [Infinity], [1])).toEqual([[2, 1, 8]]);
    expect(spec([-1], [-Infinity], [-1])).toEqual([[9, -1, 10]]);
    expect(spec([-100], [100], [3])).toEqual([[0, 3, 4]]);
    expect(spec([100], [-100], [-4])).toEqual([[9, -4, 3]]);
    expect(spec([8], [1], [-3])).toEqual([[8, -3, 3]]);
  });

  it('INT64_MAX in a file is read as +∞, and 2^60 is still refused', () => {
    const spec = (end: bigint): ModelSpec => ({
      inputs: [{ name: 'x', dims: [1, 6] }],
      outputs: [{ name: 'y' }],
      initializers: [int64('s', [2]), { name: 'e', dims: [1], type: 'int64', rawData: new Uint8Array(BigInt64Array.of(end).buffer) }, int64('a', [1])],
      nodes: [node('Slice', ['x', 's', 'e', 'a'], ['y'])],
    });
    const g = parseOnnx(buildModel(spec(2n ** 63n - 1n)));
    expect(g.initializers.get('e')!.data).toEqual([Infinity]);
    const model = Model.load(gpu(), buildModel(spec(2n ** 63n - 1n)));
    expect([...model.shapes.get('y')!]).toEqual([1, 4]);
    model.dispose();
    expect(() => parseOnnx(buildModel(spec(2n ** 60n)))).toThrow(/beyond 2\^53/);
  });

  it('a zero Pad (PyTorch writes them before avg_pool2d) is a view: no kernel, forward or backward', () => {
    const x = toGpu(gpu(), rand([1, 2, 3, 3], 11));
    const before = gpu().dispatchCount;
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dims: [1, 2, 3, 3] }],
      outputs: [{ name: 'y' }],
      initializers: [int64('p', [0, 0, 0, 0, 0, 0, 0, 0])],
      nodes: [node('Pad', ['x', 'p'], ['y'])],
    };
    const model = Model.load(gpu(), buildModel(spec));
    const y = model.forward(x);
    expect(gpu().dispatchCount).toBe(before);
    for (const t of [x, y]) t.dispose();
    model.dispose();
  });
});

