/**
 * ONNX conformance of the math ops' forwards: small models built here are run by onnxruntime (onnxruntime-web's wasm
 * build, a devDependency, in Node) and by pixelprop — the GPU forward and the float64 CPU path — and every output must
 * agree with onnxruntime's within 1e-5 (max|Δ| / max|ref|). onnxruntime is an independent implementation of the ONNX
 * spec: where our reading of an attribute, an opset's axis semantics, a broadcast or a window differed from it, the
 * numbers would. (Gradients have no counterpart in onnxruntime; they are checked against finite differences in
 * test/ops.test.ts and against the CPU path in the ops' own test files.)
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { relError } from '../src/graph/gradcheck.js';
import { Model } from '../src/graph/model.js';
import { buildModel, floatAttr, type NodeSpec, type TensorSpec } from '../src/graph/onnx/build-fixture.js';
import { constantShape } from '../src/graph/passes/index.js';
import { host, type HostTensor } from '../src/kernels/host.js';
import { Rng } from '../src/util/rng.js';
import { constant, ints, weights } from './op-models.js';
import { FORWARD_BOUND, useGpu } from './helpers.js';

const gpu = useGpu();

/** The part of onnxruntime-web's API used here. */
interface Ort {
  env: { wasm: { numThreads?: number } };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => { data: unknown; dims: readonly number[] };
  InferenceSession: {
    create(model: Uint8Array, options: { executionProviders: string[] }): Promise<{
      inputNames: readonly string[];
      run(feeds: Record<string, unknown>): Promise<Record<string, { data: unknown; dims: readonly number[] }>>;
      release(): Promise<void>;
    }>;
  };
}

const ort = (await import('onnxruntime-web')) as unknown as Ort;
ort.env.wasm.numThreads = 1;

interface Case {
  opset: number;
  input: number[];
  /** where the input's values are drawn from */
  range?: [number, number];
  initializers?: TensorSpec[];
  nodes: NodeSpec[];
  /** the outputs compared (each a node output) */
  outputs: string[];
}

/** Every graph output on the float64 CPU path: each node's reference, in order (what Model.referenceForward does). */
function cpuPath(model: Model, x: HostTensor): Map<string, HostTensor> {
  const values = new Map<string, HostTensor>([[model.inputName, x]]);
  const g = model.graph;
  for (const node of g.nodes) {
    const ins = node.inputs.map((name) => values.get(name) ?? host(constantShape(g, name)!, g.constants.get(name)!.data));
    node.op.reference.forward(ins, node.attrs).forEach((t, k) => values.set(node.outputs[k]!, t));
  }
  return values;
}

async function compare(c: Case): Promise<Record<string, { gpu: number; cpu: number }>> {
  const bytes = buildModel({
    irVersion: 8,
    opset: c.opset,
    inputs: [{ name: 'x', dims: c.input }],
    outputs: c.outputs.map((name) => ({ name })),
    initializers: c.initializers ?? [],
    nodes: c.nodes,
  });
  const [lo, hi] = c.range ?? [-1, 1];
  const data = Float32Array.from(new Rng(17).uniforms(c.input.reduce((p, d) => p * d, 1), lo, hi));
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const expected = await session.run({ x: new ort.Tensor('float32', data, c.input) });
  await session.release();
  const model = Model.load(gpu(), bytes);
  const xt = Tensor.from(gpu(), c.input, data, 'x');
  const onGpu = model.forwardAll(xt);
  const onCpu = cpuPath(model, host(c.input, data));
  const errors: Record<string, { gpu: number; cpu: number }> = {};
  try {
    for (const name of c.outputs) {
      const want = expected[name]!;
      const got = onGpu.get(name)!;
      // ONNX scalars ([]) are [1] here.
      expect(got.shape, name).toEqual(want.dims.length ? [...want.dims] : [1]);
      const ref = Float32Array.from(want.data as Float32Array);
      errors[name] = { gpu: relError(await got.read(), ref), cpu: relError(onCpu.get(name)!.data, ref) };
    }
  } finally {
    for (const t of onGpu.values()) t.dispose();
    xt.dispose();
    model.dispose();
  }
  for (const [name, e] of Object.entries(errors)) {
    expect(e.gpu, `${name}: GPU vs onnxruntime`).toBeLessThanOrEqual(FORWARD_BOUND);
    expect(e.cpu, `${name}: CPU path vs onnxruntime`).toBeLessThanOrEqual(FORWARD_BOUND);
  }
  return errors;
}

const report = (what: string, errors: Record<string, { gpu: number; cpu: number }>): void => {
  const worst = (k: 'gpu' | 'cpu') => Math.max(...Object.values(errors).map((e) => e[k])).toExponential(1);
  console.log(`${what}: ${Object.keys(errors).length} outputs, GPU vs onnxruntime ≤ ${worst('gpu')}, CPU path ≤ ${worst('cpu')}`);
};

describe('forwards against onnxruntime', () => {
  it('broadcasting Add, Sub, Mul, Div, Pow (SE scale, channels-last bias, scalars, both sides broadcast)', async () => {
    const errors = await compare({
      opset: 13,
      input: [2, 3, 4, 8],
      initializers: [
        weights('c_chan', [1, 3, 1, 1], 1),
        weights('c_last', [8], 2),
        weights('c_rows', [4, 1], 3, 0.5, 2),
        constant('two', [], [2]),
        constant('half', [], [0.5]),
        weights('expo', [8], 4, -2, 2),
        constant('offset', [], [1.5]),
      ],
      nodes: [
        { opType: 'Add', inputs: ['x', 'c_chan'], outputs: ['add'] },
        { opType: 'Sub', inputs: ['c_last', 'x'], outputs: ['sub'] },
        { opType: 'ReduceMean', inputs: ['x'], outputs: ['se'], attrs: { axes: [2, 3], keepdims: 1 } },
        { opType: 'Mul', inputs: ['se', 'x'], outputs: ['mul'] },
        { opType: 'Div', inputs: ['x', 'c_rows'], outputs: ['div'] },
        { opType: 'Pow', inputs: ['x', 'two'], outputs: ['square'] },
        { opType: 'Add', inputs: ['x', 'offset'], outputs: ['positive'] },
        { opType: 'Pow', inputs: ['positive', 'half'], outputs: ['root'] },
        { opType: 'Pow', inputs: ['positive', 'expo'], outputs: ['pow'] },
        { opType: 'Mul', inputs: ['c_rows', 'c_chan'], outputs: ['both'] },
        { opType: 'Add', inputs: ['x', 'both'], outputs: ['outer'] },
      ],
      outputs: ['add', 'sub', 'mul', 'div', 'square', 'root', 'pow', 'outer'],
    });
    report('binary ops', errors);
  });

  it('unary Sqrt, Exp, Log, Neg, Reciprocal, Tanh, Abs, Erf', async () => {
    const errors = await compare({
      opset: 13,
      input: [2, 3, 5, 4],
      range: [-3, 3],
      initializers: [constant('four', [], [4])],
      nodes: [
        { opType: 'Abs', inputs: ['x'], outputs: ['abs'] },
        { opType: 'Sqrt', inputs: ['abs'], outputs: ['sqrt'] },
        { opType: 'Exp', inputs: ['x'], outputs: ['exp'] },
        { opType: 'Log', inputs: ['abs'], outputs: ['log'] },
        { opType: 'Neg', inputs: ['x'], outputs: ['neg'] },
        { opType: 'Add', inputs: ['x', 'four'], outputs: ['shifted'] },
        { opType: 'Reciprocal', inputs: ['shifted'], outputs: ['reciprocal'] },
        { opType: 'Tanh', inputs: ['x'], outputs: ['tanh'] },
        { opType: 'Erf', inputs: ['x'], outputs: ['erf'] },
      ],
      outputs: ['abs', 'sqrt', 'exp', 'log', 'neg', 'reciprocal', 'tanh', 'erf'],
    });
    report('unary ops', errors);
  });

  it('reductions at opset 13 (ReduceSum axes input, ReduceMean/ReduceMax attribute) and 18 (axes inputs, noop_with_empty_axes)', async () => {
    const at13 = await compare({
      opset: 13,
      input: [2, 3, 4, 5],
      initializers: [ints('axes_c', [1]), ints('none', [])],
      nodes: [
        { opType: 'ReduceMean', inputs: ['x'], outputs: ['mean_hw'], attrs: { axes: [2, 3], keepdims: 0 } },
        { opType: 'ReduceSum', inputs: ['x', 'axes_c'], outputs: ['sum_c'] },
        { opType: 'ReduceSum', inputs: ['x', 'none'], outputs: ['sum_all'], attrs: { keepdims: 0 } },
        { opType: 'ReduceMax', inputs: ['x'], outputs: ['max_last'], attrs: { axes: [-1] } },
        { opType: 'ReduceMax', inputs: ['x'], outputs: ['max_apart'], attrs: { axes: [0, 2], keepdims: 0 } },
      ],
      outputs: ['mean_hw', 'sum_c', 'sum_all', 'max_last', 'max_apart'],
    });
    const at18 = await compare({
      opset: 18,
      input: [2, 3, 4, 5],
      initializers: [ints('last', [-1]), ints('hw', [2, 3]), ints('none', [])],
      nodes: [
        { opType: 'ReduceMean', inputs: ['x', 'last'], outputs: ['mean_last'] },
        { opType: 'ReduceMax', inputs: ['x', 'hw'], outputs: ['max_hw'], attrs: { keepdims: 0 } },
        { opType: 'ReduceSum', inputs: ['x', 'none'], outputs: ['identity'], attrs: { noop_with_empty_axes: 1 } },
        { opType: 'ReduceMean', inputs: ['x'], outputs: ['mean_all'] },
      ],
      outputs: ['mean_last', 'max_hw', 'identity', 'mean_all'],
    });
    report('reductions', { ...at13, ...at18 });
  });

  it('Softmax and LogSoftmax: axis 1 flattened (opset 11), axis 1 alone and the default (opset 13)', async () => {
    const at11 = await compare({
      opset: 11,
      input: [2, 3, 4, 5],
      range: [-4, 4],
      nodes: [
        { opType: 'Softmax', inputs: ['x'], outputs: ['flat1'], attrs: { axis: 1 } },
        { opType: 'LogSoftmax', inputs: ['x'], outputs: ['log_default'] },
      ],
      outputs: ['flat1', 'log_default'],
    });
    const at13 = await compare({
      opset: 13,
      input: [2, 3, 4, 5],
      range: [-4, 4],
      nodes: [
        { opType: 'Softmax', inputs: ['x'], outputs: ['channels'], attrs: { axis: 1 } },
        { opType: 'Softmax', inputs: ['x'], outputs: ['last'] },
        { opType: 'LogSoftmax', inputs: ['x'], outputs: ['log_axis0'], attrs: { axis: 0 } },
      ],
      outputs: ['channels', 'last', 'log_axis0'],
    });
    report('softmax', { ...at11, ...at13 });
  });

  it('LayerNormalization (opset 17): the last axis with B, the last two without', async () => {
    const errors = await compare({
      opset: 17,
      input: [2, 3, 4, 6],
      range: [-2, 3],
      initializers: [weights('gamma', [6], 1, 0.5, 1.5), weights('beta', [6], 2), weights('gamma2', [4, 6], 3, 0.5, 1.5)],
      nodes: [
        { opType: 'LayerNormalization', inputs: ['x', 'gamma', 'beta'], outputs: ['ln_last'], attrs: { epsilon: 1e-5 } },
        { opType: 'LayerNormalization', inputs: ['x', 'gamma2'], outputs: ['ln_two'], attrs: { axis: 2, epsilon: 1e-3 } },
      ],
      outputs: ['ln_last', 'ln_two'],
    });
    report('LayerNormalization', errors);
  });

  // onnxruntime refuses even sizes (its kernel asserts size % 2 == 1); ours follow the spec's window for them too.
  it('LRN: size 5 as AlexNet, and size 3 with a large α and bias 2', async () => {
    const errors = await compare({
      opset: 13,
      input: [2, 7, 3, 3],
      range: [-2, 2],
      nodes: [
        { opType: 'LRN', inputs: ['x'], outputs: ['alexnet'], attrs: { size: 5, alpha: 1e-4, beta: 0.75, bias: floatAttr(1) } },
        { opType: 'LRN', inputs: ['x'], outputs: ['strong'], attrs: { size: 3, alpha: 1.5, beta: 0.5, bias: floatAttr(2) } },
      ],
      outputs: ['alexnet', 'strong'],
    });
    report('LRN', errors);
  });
});
