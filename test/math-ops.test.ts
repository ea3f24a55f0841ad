/**
 * The unary math ops (Sqrt, Exp, Log, Neg, Reciprocal, Tanh, Abs, Erf): their gradient checks run from their
 * definitions in test/ops.test.ts (alone and as conv epilogues). Here, what those do not show: the float64 erf against
 * tabulated values, the GPU's erf and tanh over their whole range (tanh where the textbook formula overflows), the
 * values and derivatives at the edges of the domains (PyTorch's conventions: |z|′ = 0 at 0, √z′ = ∞ at 0), and GELU as
 * PyTorch exports it in a small ONNX model, GPU against the CPU path.
 */
import { describe, expect, it } from 'vitest';
import { Tensor } from '../src/gpu/tensor.js';
import type { ActivationOp } from '../src/graph/activation.js';
import { Abs } from '../src/graph/ops/abs.js';
import { Erf, erf } from '../src/graph/ops/erf.js';
import { Exp } from '../src/graph/ops/exp.js';
import { Log } from '../src/graph/ops/log.js';
import { Neg } from '../src/graph/ops/neg.js';
import { Reciprocal } from '../src/graph/ops/reciprocal.js';
import { Sqrt } from '../src/graph/ops/sqrt.js';
import { Tanh } from '../src/graph/ops/tanh.js';
import { Tape } from '../src/graph/tape.js';
import { constant, expectGpuMatchesCpuPath, ints, smallModel, weights } from './op-models.js';
import { useGpu } from './helpers.js';

const gpu = useGpu();

type Unary = ActivationOp<Record<string, never>>;

/** y and dy/dz (seed 1) of `op` at the points z, on the GPU. */
async function valueAndSlope(op: Unary, z: number[]): Promise<{ y: number[]; dz: number[] }> {
  const x = Tensor.from(gpu(), [z.length], z, 'z');
  x.requiresGrad = true;
  const tape = new Tape();
  const y = tape.record(() => op.apply(x, {}, 'y'));
  const [dx] = tape.backward(y, [x], { seed: Tensor.from(gpu(), [z.length], z.map(() => 1)) });
  const out = { y: Array.from(await y.read()), dz: Array.from(await dx!.read()) };
  for (const t of [x, y, dx!]) t.dispose();
  return out;
}

describe('erf', () => {
  it('float64: matches tabulated values (Python math.erf) to 1e-15', () => {
    const table: [number, number][] = [
      [0.1, 0.1124629160182849],
      [0.5, 0.5204998778130465],
      [1, 0.8427007929497149],
      [1.5, 0.9661051464753108],
      [2, 0.9953222650189527],
      [3, 0.9999779095030014],
      [4, 0.9999999845827421],
      [5.5, 0.9999999999999927],
      [-0.75, -0.7111556336535151],
    ];
    for (const [z, want] of table) expect(Math.abs(erf(z) - want), `erf(${z})`).toBeLessThan(1e-15);
    expect(erf(0)).toBe(0);
    expect(erf(7)).toBe(1);
    expect(erf(-30)).toBe(-1);
  });

  it('GPU: within 1.5e-7 of the float64 erf from −7 to 7, odd, and ±1 far out', async () => {
    const z = Array.from({ length: 1401 }, (_, i) => Math.fround(-7 + i / 100));
    const { y } = await valueAndSlope(Erf, [...z, 1e-4, 1e-20, 40, -1e30]);
    let worst = 0;
    z.forEach((v, i) => (worst = Math.max(worst, Math.abs(y[i]! - erf(v)))));
    console.log(`GPU erf: max |error| ${worst.toExponential(2)} on [−7, 7]`);
    expect(worst).toBeLessThan(1.5e-7);
    expect(Math.abs(y[1401]! - erf(1e-4)) / erf(1e-4), 'small z: relative error').toBeLessThan(1e-6);
    expect(y.slice(1402)).toEqual([Math.fround(erf(1e-20)), 1, -1]);
  });
});

describe('tanh', () => {
  it('GPU: ±1 where e^(2z) overflows, accurate near 0 and in between, slope 1 − y²', async () => {
    const z = [-1e4, -100, -50, -20, 20, 50, 100, 1e4];
    const small = [1e-7, -3e-4, 0.05, 0.07, 0.5, -1.25, 3];
    const { y, dz } = await valueAndSlope(Tanh, [...z, ...small]);
    expect(y.slice(0, z.length)).toEqual(z.map((v) => Math.sign(v)));
    expect(dz.slice(0, z.length)).toEqual(z.map(() => 0));
    small.forEach((v, i) => {
      const want = Math.tanh(Math.fround(v));
      expect(Math.abs(y[z.length + i]! - want) / Math.abs(want), `tanh(${v})`).toBeLessThan(4e-7);
    });
  });
});

describe('edges of the domains, as PyTorch has them', () => {
  it('Abs: slope −1, 0, +1 at −2, 0, 3 (0 at the kink, torch.abs’s sgn)', async () => {
    expect(await valueAndSlope(Abs, [-2, 0, 3])).toEqual({ y: [2, 0, 3], dz: [-1, 0, 1] });
  });

  it('Sqrt: √0 = 0 with slope +∞; √4 = 2 with slope 1/4; NaN below 0', async () => {
    const { y, dz } = await valueAndSlope(Sqrt, [0, 4, -1]);
    expect(y.slice(0, 2)).toEqual([0, 2]);
    expect(dz.slice(0, 2)).toEqual([Infinity, 0.25]);
    expect(y[2]).toBeNaN();
    expect(Sqrt.reference.forward([{ shape: [1], data: Float64Array.from([-1]) }], Sqrt.with({}))[0]!.data[0]).toBeNaN();
  });

  it('Log: ln 1 = 0 with slope 1; ln 0 = −∞; Reciprocal: 1/0 = +∞, 1/−2 = −0.5 with slope −0.25', async () => {
    const log = await valueAndSlope(Log, [1, 0]);
    expect(log.y).toEqual([0, -Infinity]);
    expect(log.dz[0]).toBe(1);
    const rec = await valueAndSlope(Reciprocal, [0, -2]);
    expect(rec.y).toEqual([Infinity, -0.5]);
    expect(rec.dz[1]).toBe(-0.25);
  });

  it('Exp and Neg: e^0 = 1 with slope 1, e^−100 underflows to 0; −z with slope −1', async () => {
    const exp = await valueAndSlope(Exp, [0, -100, 1]);
    expect(exp.y.slice(0, 2)).toEqual([1, 0]);
    expect(Math.abs(exp.y[2]! - Math.E) / Math.E).toBeLessThan(2e-7);
    expect(exp.dz.slice(0, 2)).toEqual([1, 0]);
    expect(await valueAndSlope(Neg, [2, -0.5])).toEqual({ y: [-2, 0.5], dz: [-1, -1] });
  });
});

describe('GELU as PyTorch exports it (opset < 20): Div, Erf, Add, Mul, Mul', () => {
  it('loads, runs on the GPU as on its CPU path, forward and gradient', async () => {
    const bytes = smallModel({
      classes: 4,
      initializers: [
        weights('w', [4, 3, 3, 3], 1),
        weights('b', [4], 2),
        constant('sqrt2', [], [Math.SQRT2]),
        constant('one', [], [1]),
        constant('half', [], [0.5]),
        ints('shape', [1, 4]),
      ],
      nodes: [
        { name: 'conv', opType: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['z'], attrs: { pads: [1, 1, 1, 1] } },
        { name: 'div', opType: 'Div', inputs: ['z', 'sqrt2'], outputs: ['d'] },
        { name: 'erf', opType: 'Erf', inputs: ['d'], outputs: ['e'] },
        { name: 'add', opType: 'Add', inputs: ['e', 'one'], outputs: ['s'] },
        { name: 'mul', opType: 'Mul', inputs: ['z', 's'], outputs: ['m'] },
        { name: 'half', opType: 'Mul', inputs: ['m', 'half'], outputs: ['g'] },
        { name: 'gap', opType: 'GlobalAveragePool', inputs: ['g'], outputs: ['p'] },
        { name: 'flat', opType: 'Reshape', inputs: ['p', 'shape'], outputs: ['scores'] },
      ],
    });
    const r = await expectGpuMatchesCpuPath(gpu(), bytes, { classes: [1, 3] });
    console.log(`GELU model: GPU vs CPU path forward ${r.forward.toExponential(2)}, gradient ${r.backward.toExponential(2)}`);
    expect(r.ops).toEqual(['Conv', 'Div', 'Erf', 'Add', 'Mul', 'Mul', 'GlobalAveragePool', 'Reshape']);
  });
});
