/**
 * Every registered op (src/graph/ops/index.ts), checked from its own definition — what `pixelprop gradcheck` runs:
 * the GPU forward against the float64 forward (≤ 1e-5), the GPU backward through the tape against the float64
 * backward (≤ 1e-4), and the float64 backward against centered finite differences of the float64 forward (≤ 1e-4).
 * A new op is covered by registering it. Every activation that may be fused into a convolution is also checked as a
 * Conv epilogue (fused kernels have no test of their own otherwise).
 */
import { describe, expect, it } from 'vitest';
import { activationCodeExists } from './kernel-helpers.js';
import { docOf, type AnyOp, type OpCheckCase } from '../src/graph/op.js';
import { checkOp } from '../src/graph/gradcheck.js';
import { evaluate } from '../src/graph/passes/fold-constants.js';
import { ONNX_OPS, OPS } from '../src/graph/ops/index.js';
import { Conv, type ConvAttrs } from '../src/graph/ops/conv.js';
import type { Activation } from '../src/graph/activation.js';
import { BACKWARD_BOUND, FORWARD_BOUND, useGpu } from './helpers.js';
import { host, type HostTensor } from '../src/kernels/host.js';

const gpu = useGpu();

/**
 * The first Conv check with `activation` as its epilogue (a 3×3 conv with padding, bias, batch 2). An activation checked
 * on positive (or negative) inputs only — Sqrt, Log, Reciprocal — gets a conv whose outputs have that sign: |x|, ±|w|,
 * and a bias past the range's bound.
 */
function convWith(activation: Activation): OpCheckCase<ConvAttrs> {
  const base = Conv.checks[0]!;
  const [lo, hi] = activation.checkRange ?? [-Infinity, Infinity];
  const sign = lo > 0 ? 1 : hi < 0 ? -1 : 0;
  const inputs = (): HostTensor[] => {
    const [x, w, b] = base.inputs();
    if (sign === 0) return [x!, w!, b!];
    const bound = sign > 0 ? lo : hi;
    return [host(x!.shape, x!.data.map(Math.abs)), host(w!.shape, w!.data.map((v) => sign * Math.abs(v))), host(b!.shape, b!.data.map((v) => sign * Math.abs(v) + bound))];
  };
  const range = sign === 0 ? '' : `, outputs ${sign > 0 ? `≥ ${lo}` : `≤ ${hi}`}`;
  return { ...base, inputs, name: `Conv 3×3 + ${activation.op}${activation.info ? ` ${activation.info}` : ''} (fused epilogue${range})`, attrs: { ...base.attrs, activation }, h: 1e-5 };
}

const cases: { op: AnyOp; check: OpCheckCase<unknown> }[] = [
  ...OPS.flatMap((op) => op.checks.map((check) => ({ op, check }))),
  ...OPS.filter((op) => op.epilogue).flatMap((op) => op.checks.map((c) => ({ op: Conv as AnyOp, check: convWith(c.attrs as Activation) as OpCheckCase<unknown> }))),
];

describe('every registered op', () => {
  it('has checks, a derivation, and each ONNX type once', () => {
    for (const op of OPS) {
      if (op.foldOnly) {
        expect(op.foldChecks?.length ?? 0, op.name).toBeGreaterThan(0);
        continue;
      }
      expect(op.checks.length, op.name).toBeGreaterThan(0);
      const doc = docOf(op, op.checks[0]!.attrs);
      for (const text of [doc.forward, doc.backward, doc.saves]) expect(text.length, op.name).toBeGreaterThan(0);
      if (op.epilogue) expect(activationCodeExists((op.checks[0]!.attrs as Activation).fn.code), op.name).toBe(true);
    }
    expect(new Set(OPS.map((op) => op.name)).size).toBe(OPS.length);
    const types = OPS.flatMap((op) => op.onnx?.types ?? []);
    expect(new Set(types).size).toBe(types.length);
    expect([...ONNX_OPS.keys()].sort()).toEqual([...types].sort());
  });

  // Shape arithmetic, computed while a model is built (src/graph/fold-op.ts): each fold check's exact result.
  for (const op of OPS) {
    for (const c of op.foldChecks ?? []) {
      it(`${op.name}: ${c.name} (folded)`, () => {
        const [out] = evaluate(op, c.inputs, c.attrs) ?? [];
        expect(out).toBeDefined();
        expect({ dims: out!.dims, type: out!.type, data: Array.from(out!.data) }).toEqual({ dims: c.expected.dims, type: c.expected.type, data: Array.from(c.expected.data) });
      });
    }
  }

  for (const { op, check } of cases) {
    it(`${op.name}: ${check.name}`, async () => {
      const r = await checkOp(gpu(), op, check);
      expect(r.forwardError, 'forward vs float64').toBeLessThanOrEqual(FORWARD_BOUND);
      for (const b of r.backwardErrors) {
        expect(b.gpuVsReference, `input ${b.input}: GPU backward vs float64 backward`).toBeLessThanOrEqual(BACKWARD_BOUND);
        expect(b.referenceVsFiniteDifferences, `input ${b.input}: float64 backward vs finite differences`).toBeLessThanOrEqual(BACKWARD_BOUND);
      }
      expect(r.backwardErrors.length).toBe(check.wrt?.length ?? check.inputs().length);
    });
  }
});
