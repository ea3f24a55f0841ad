/**
 * LayerNormalization: its gradient checks (x, γ, β) run from its definition in test/ops.test.ts. Here: an opset-17 ONNX
 * model with it, GPU against the CPU path forward and gradient; the same model written out in ReduceMean, Sub, Pow, Add,
 * Sqrt, Div, Mul, Add computing the same numbers; its accuracy on rows with a large mean (the two-pass variance); the
 * optional Mean and InvStdDev outputs (forward, and gradients reaching x through them); and the errors that name the node.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import { numericalGradient } from '../src/graph/gradcheck.js';
import { Tape } from '../src/graph/tape.js';
import { Model } from '../src/graph/model.js';
import type { NodeSpec } from '../src/graph/onnx/build-fixture.js';
import { LayerNormalization, type LayerNormAttrs } from '../src/graph/ops/layer-normalization.js';
import { apply, apply1 } from '../src/graph/op.js';
import { host, type HostTensor } from '../src/kernels/host.js';
import { Rng } from '../src/util/rng.js';
import { constant, expectGpuMatchesCpuPath, ints, smallModel, weights } from './op-models.js';
import { BACKWARD_BOUND, FORWARD_BOUND, expectClose, expectPixelpropError, rand, useGpu } from './helpers.js';

const gpu = useGpu();

/** x [1,3,8,8] → Conv 4 channels → (normalization of the last axis: z → n) → ReduceMean over [2,3] → scores [1,4]. */
function normalized(opset: number, norm: NodeSpec[], extra = [weights('gamma', [8], 3, 0.5, 1.5), weights('beta', [8], 4)]) {
  return smallModel({
    opset,
    classes: 4,
    initializers: [weights('w', [4, 3, 3, 3], 1), weights('b', [4], 2), ints('spatial', [2, 3]), ...extra],
    nodes: [
      { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
      ...norm,
      { name: 'square', opType: 'Mul', inputs: ['n', 'n'], outputs: ['n2'] },
      { name: 'pool', opType: 'ReduceMean', inputs: ['n2'], outputs: ['scores'], attrs: { axes: [2, 3], keepdims: 0 } },
    ],
  });
}

const layerNorm = (attrs: Record<string, number> = {}, inputs = ['z', 'gamma', 'beta']): NodeSpec[] => [
  { name: 'ln', opType: 'LayerNormalization', inputs, outputs: ['n'], attrs: { epsilon: 1e-5, ...attrs } },
];

const writtenOut: NodeSpec[] = [
  { name: 'mu', opType: 'ReduceMean', inputs: ['z'], outputs: ['mu'], attrs: { axes: [-1] } },
  { name: 'centered', opType: 'Sub', inputs: ['z', 'mu'], outputs: ['c'] },
  { name: 'sq', opType: 'Pow', inputs: ['c', 'two'], outputs: ['c2'] },
  { name: 'var', opType: 'ReduceMean', inputs: ['c2'], outputs: ['v'], attrs: { axes: [-1] } },
  { name: 'var_eps', opType: 'Add', inputs: ['v', 'eps'], outputs: ['ve'] },
  { name: 'std', opType: 'Sqrt', inputs: ['ve'], outputs: ['s'] },
  { name: 'div', opType: 'Div', inputs: ['c', 's'], outputs: ['xhat'] },
  { name: 'scale', opType: 'Mul', inputs: ['xhat', 'gamma'], outputs: ['g'] },
  { name: 'shift', opType: 'Add', inputs: ['g', 'beta'], outputs: ['n'] },
];

describe('LayerNormalization in an ONNX model (opset 17)', () => {
  it('GPU = CPU path, forward and gradient; the written-out form (opset 13) computes the same', async () => {
    const r = await expectGpuMatchesCpuPath(gpu(), normalized(17, layerNorm()), { classes: [0, 3] });
    expect(r.ops).toEqual(['Conv', 'LayerNormalization', 'Mul', 'ReduceMean']);
    const fused = Model.load(gpu(), normalized(17, layerNorm()));
    const spelled = Model.load(gpu(), normalized(13, writtenOut, [weights('gamma', [8], 3, 0.5, 1.5), weights('beta', [8], 4), constant('two', [], [2]), constant('eps', [], [1e-5])]));
    try {
      const x = rand([2, 3, 8, 8], 6);
      const a = fused.referenceClassScoreGradient(x, [1, 2]);
      const b = spelled.referenceClassScoreGradient(x, [1, 2]);
      expectClose(a.scores.data, b.scores.data, 1e-12, 'scores: LayerNormalization vs written out');
      expectClose(a.grad.data, b.grad.data, 1e-11, 'gradient: LayerNormalization vs written out');
    } finally {
      fused.dispose();
      spelled.dispose();
    }
  });

  it('without B, normalizing the last two axes (axis 2): GPU = CPU path', async () => {
    const r = await expectGpuMatchesCpuPath(gpu(), normalized(17, layerNorm({ axis: 2 }, ['z', 'gamma2']), [weights('gamma2', [8, 8], 5, 0.5, 1.5)]), {
      classes: [2, 1],
    });
    expect(r.forward).toBeLessThan(FORWARD_BOUND);
  });

  it('refuses, naming the node: a Scale of the wrong shape, an axis out of range, Mean in a stash_type other than float', () => {
    const load = (bytes: Uint8Array) => () => Model.load(gpu(), bytes).dispose();
    expectPixelpropError(
      load(normalized(17, layerNorm(), [weights('gamma', [4], 3), weights('beta', [8], 4)])),
      /^node 'ln' \(LayerNormalization\): Scale \[4\] does not have the normalized shape \[8\] \(the axes from -1 of \[1,4,8,8\]\)$/,
    );
    expectPixelpropError(load(normalized(17, layerNorm({ axis: 4 }))), /^node 'ln' \(LayerNormalization\): axis 4 is out of range for \[1,4,8,8\]$/);
    const doubleMean: NodeSpec[] = [{ name: 'ln', opType: 'LayerNormalization', inputs: ['z', 'gamma', 'beta'], outputs: ['n', 'mean'], attrs: { stash_type: 11 } }];
    expectPixelpropError(
      load(normalized(17, doubleMean)),
      /^node 'ln' \(LayerNormalization\): stash_type 11: Mean and InvStdDev are computed in float32 \(stash_type 1\) only$/,
    );
  });

  it('InvStdDev without Mean (outputs Y, "", InvStdDev): GPU = CPU path, forward and gradient through both outputs', async () => {
    // scores = mean over [2,3] of n² + 1/σ of each channel: the gradient reaches x through Y and through InvStdDev.
    const bytes = smallModel({
      opset: 17,
      classes: 4,
      initializers: [weights('w', [4, 3, 3, 3], 1), weights('b', [4], 2), ints('spatial', [2, 3]), weights('gamma', [8, 8], 3, 0.5, 1.5)],
      nodes: [
        { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
        { name: 'ln', opType: 'LayerNormalization', inputs: ['z', 'gamma'], outputs: ['n', '', 'inv'], attrs: { axis: 2 } },
        { name: 'square', opType: 'Mul', inputs: ['n', 'n'], outputs: ['n2'] },
        { name: 'pool', opType: 'ReduceMean', inputs: ['n2'], outputs: ['m'], attrs: { axes: [2, 3], keepdims: 0 } },
        { name: 'inv_flat', opType: 'ReduceMean', inputs: ['inv'], outputs: ['i'], attrs: { axes: [2, 3], keepdims: 0 } },
        { name: 'sum', opType: 'Add', inputs: ['m', 'i'], outputs: ['scores'] },
      ],
    });
    const r = await expectGpuMatchesCpuPath(gpu(), bytes, { classes: [0, 3] });
    expect(r.ops).toContain('LayerNormalization');
  });
});

describe('the Mean and InvStdDev outputs', () => {
  const cases: { name: string; x: number[]; params: number[]; attrs: LayerNormAttrs; bias: boolean }[] = [
    { name: 'the last axis, with B', x: [3, 4, 10], params: [10], attrs: { axis: -1, epsilon: 1e-5, meanOutput: true, invStdDevOutput: true }, bias: true },
    { name: 'axes from 1, no B', x: [2, 3, 5], params: [3, 5], attrs: { axis: 1, epsilon: 1e-3, meanOutput: true, invStdDevOutput: true }, bias: false },
    { name: 'InvStdDev alone, axis 0 (one row)', x: [4, 6], params: [4, 6], attrs: { axis: 0, epsilon: 1e-5, invStdDevOutput: true }, bias: true },
    { name: 'Mean alone, a row longer than a workgroup', x: [2, 300], params: [300], attrs: { axis: 1, epsilon: 1e-5, meanOutput: true }, bias: true },
  ];
  const inputsOf = (c: (typeof cases)[number], seed: number): HostTensor[] => [
    // an offset, so that the mean is not ~0 and its gradient path matters
    host(c.x, rand(c.x, seed).data.map((v) => Math.fround(2 * v + 0.7))),
    rand(c.params, seed + 1, 0.5, 1.5),
    ...(c.bias ? [rand(c.params, seed + 2)] : []),
  ];
  const flat = (ts: readonly HostTensor[]): Float64Array => Float64Array.from(ts.flatMap((t) => [...t.data]));

  for (const [n, c] of cases.entries()) {
    for (const withY of [true, false]) {
      it(`${c.name}: shapes, GPU = float64 (≤ ${FORWARD_BOUND}); gradients ${withY ? 'from all outputs' : 'from the statistics alone'} = float64 (≤ ${BACKWARD_BOUND}) = finite differences`, async () => {
        const inputs = inputsOf(c, 500 + 10 * n);
        const ref = LayerNormalization.reference.forward(inputs, c.attrs);
        const statShape = c.x.map((d, k) => (k < (c.attrs.axis + c.x.length) % c.x.length ? d : 1));
        expect(ref.map((t) => t.shape)).toEqual([c.x, ...(c.attrs.meanOutput ? [statShape] : []), ...(c.attrs.invStdDevOutput ? [statShape] : [])]);
        // A loss over every output (or the statistics only): L = Σ_k ⟨s_k, output_k⟩.
        const rng = new Rng(600 + n);
        const seeds = ref.map((t, k) => host(t.shape, Float64Array.from(Float32Array.from(rng.uniforms(t.data.length).map((v) => (k === 0 && !withY ? 0 : v))))));
        const xs = inputs.map((t, i) => Tensor.from(gpu(), t.shape, Float32Array.from(t.data), `in${i}`));
        xs.forEach((t) => (t.requiresGrad = true));
        const tape = new Tape();
        const owned: Tensor[] = [...xs];
        try {
          const ys = tape.record(() => apply(LayerNormalization, xs, c.attrs, 'ln'));
          owned.push(...ys);
          expect(ys.map((t) => [...t.shape])).toEqual(ref.map((t) => t.shape));
          for (const [k, y] of ys.entries()) expectClose(await y.read(), ref[k]!.data, FORWARD_BOUND, `output ${k} GPU vs float64`);
          const roots = ys.flatMap((root, k) => (k === 0 && !withY ? [] : [{ root, seed: Tensor.from(gpu(), root.shape, Float32Array.from(seeds[k]!.data), `s${k}`) }]));
          owned.push(...roots.map((r) => r.seed));
          const grads = tape.backwardFrom(roots, xs);
          owned.push(...grads);
          const needs = inputs.map(() => true);
          const refGrads = LayerNormalization.reference.backward(seeds, inputs, ref, c.attrs, needs);
          const all = (ins: HostTensor[]): HostTensor => ({ shape: [-1], data: flat(LayerNormalization.reference.forward(ins, c.attrs)) });
          for (const [i, g] of grads.entries()) {
            const reference = refGrads[i]!;
            const gpuErr = expectClose(await g.read(), reference.data, BACKWARD_BOUND, `input ${i}: GPU vs float64`);
            const numeric = numericalGradient(all, inputs, i, flat(seeds), 1e-4);
            const fdErr = expectClose(reference.data, numeric, 1e-6, `input ${i}: float64 vs finite differences`);
            if (i === 0) console.log(`LayerNormalization ${c.name}${withY ? '' : ', statistics only'}: dx GPU vs float64 ${gpuErr.toExponential(2)}, float64 vs FD ${fdErr.toExponential(2)}`);
          }
          // With the statistics alone, γ and β get no gradient at all.
          if (!withY) for (const i of [1, 2].filter((i) => i < inputs.length)) expect(refGrads[i]!.data.every((v) => v === 0)).toBe(true);
        } finally {
          tape.dispose();
          for (const t of owned) if (!t.disposed) t.dispose();
        }
      });
    }
  }
});

describe('accuracy', () => {
  it('rows with mean 100 and spread 1: the two-pass variance keeps y within 1e-3 of float64 (one-pass E[x²] − μ² would not)', async () => {
    const rng = new Rng(8);
    const cols = 64;
    const data = Array.from({ length: 4 * cols }, () => Math.fround(100 + rng.uniform()));
    const x = Tensor.from(gpu(), [4, cols], data, 'x');
    const gamma = Tensor.from(gpu(), [cols], new Array(cols).fill(1), 'gamma');
    const y = apply1(LayerNormalization, [x, gamma], { axis: -1, epsilon: 1e-12 }, 'y');
    const want = LayerNormalization.reference.forward([host([4, cols], data), host([cols], new Array(cols).fill(1))], { axis: -1, epsilon: 1e-12 })[0]!;
    // In float32, E[x²] ≈ 1e4 carries an error of ~1e-3 against σ² ≈ 0.08: one pass would be ~1% off. Two passes subtract
    // μ first, and x − μ keeps ~1e-5 of the spread.
    const got = await y.read();
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want.data[i]!));
    console.log(`LayerNorm on rows of mean 100, spread 1: max |error| ${worst.toExponential(2)} (y ~ 1)`);
    expect(worst).toBeLessThan(1e-3);
    for (const t of [x, gamma, y]) t.dispose();
  });
});
