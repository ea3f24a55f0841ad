/**
 * Centered finite differences, the ground truth every backward is checked against (as in CS231n's
 * gradient_check.py):
 *
 *     ∂L/∂x_i ≈ (L(x + h·e_i) − L(x − h·e_i)) / 2h,   with L(x) = Σ_j r_j · f(x)_j for a fixed random r,
 *
 * so that one scalar probes every output of f at once, and the analytic gradient to compare with is backward(r).
 * The error of the approximation is O(h²·f‴), which in float64 with h ≈ 1e-3·scale is far below the 1e-4 bound.
 */
import type { Gpu } from '../gpu/device.js';
import { Tensor } from '../gpu/tensor.js';
import { host, type HostTensor } from '../kernels/host.js';
import { Rng } from '../util/rng.js';
import { apply, type OpCheckCase, type OpDefinition } from './op.js';
import { Tape } from './tape.js';

/** max|a − b| / max|b|: the error measure of all tests (b is the reference). 0/0 counts as 0. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relError: lengths differ (${a.length} vs ${b.length})`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  if (num === 0) return 0;
  return den === 0 ? Infinity : num / den;
}

/**
 * The numerical gradient of L(x) = Σ r ⊙ f(inputs) with respect to `inputs[which]`, by centered differences.
 * `f` must be a float64 reference. `indices` limits the probed entries (large tensors are sampled).
 */
export function numericalGradient(
  f: (inputs: HostTensor[]) => HostTensor,
  inputs: HostTensor[],
  which: number,
  r: Float64Array,
  h: number,
  indices?: number[],
): Float64Array {
  const x = inputs[which]!;
  const grad = new Float64Array(x.data.length);
  const loss = (): number => {
    const y = f(inputs).data;
    let s = 0;
    for (let j = 0; j < y.length; j++) s += r[j]! * y[j]!;
    return s;
  };
  const probe = indices ?? Array.from(x.data.keys());
  for (const i of probe) {
    const keep = x.data[i]!;
    x.data[i] = keep + h;
    const plus = loss();
    x.data[i] = keep - h;
    const minus = loss();
    x.data[i] = keep;
    grad[i] = (plus - minus) / (2 * h);
  }
  return grad;
}

/** Picks `count` distinct indices of [0, n) spread evenly (deterministic), or all when n ≤ count. */
export function sampleIndices(n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  const out: number[] = [];
  for (let k = 0; k < count; k++) out.push(Math.floor(((k + 0.5) * n) / count));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Checking an op: what `pixelprop gradcheck` runs for every registered op (src/graph/ops/index.ts) and the tests
// assert.

/** One check's result: max|Δ| / max|ref| of the forward, and of each input's gradient. */
export interface OpCheckResult {
  op: string;
  name: string;
  /** the GPU forward against the float64 forward */
  forwardError: number;
  /** per checked input: the GPU backward (through the tape) against the float64 backward, and the float64 backward
   * against centered finite differences of the float64 forward (on sampled entries) */
  backwardErrors: { input: number; gpuVsReference: number; referenceVsFiniteDifferences: number }[];
}

/**
 * Runs one check of `op`. The loss probed is L = Σ r ⊙ op(inputs) with a fixed random r, so the tape is seeded with r
 * and the reference backward is given r. Inputs are rounded to float32 first, so that GPU and reference see the same
 * numbers.
 */
export async function checkOp<A>(gpu: Gpu, op: OpDefinition<A>, c: OpCheckCase<A>, seed = 7): Promise<OpCheckResult> {
  const inputs = c.inputs().map((t) => ({ shape: [...t.shape], data: Float64Array.from(Float32Array.from(t.data)) }));
  const wrt = c.wrt ?? inputs.map((_, i) => i);
  const xs = inputs.map((t, i) => Tensor.from(gpu, t.shape, Float32Array.from(t.data), `in${i}`));
  wrt.forEach((i) => (xs[i]!.requiresGrad = true));
  const tape = new Tape();
  const owned: Tensor[] = [...xs];
  try {
    const ys = tape.record(() => apply(op, xs, c.attrs, c.name));
    owned.push(...ys);
    const y = ys[0]!;
    const refOut = op.reference.forward(inputs, c.attrs);
    const forwardError = relError(await y.read(), refOut[0]!.data);
    const r = Float64Array.from(Float32Array.from(new Rng(seed).uniforms(refOut[0]!.data.length)));
    const seedTensor = Tensor.from(gpu, y.shape, Float32Array.from(r), 'seed');
    owned.push(seedTensor);
    const grads = tape.backward(y, wrt.map((i) => xs[i]!), { seed: seedTensor });
    owned.push(...grads);
    const needs = inputs.map((_, i) => wrt.includes(i));
    const dys = refOut.map((t, k) => (k === 0 ? host(t.shape, r) : host(t.shape)));
    const refGrads = op.reference.backward(dys, inputs, refOut, c.attrs, needs);
    const first = (ins: HostTensor[]): HostTensor => op.reference.forward(ins, c.attrs)[0]!;
    const backwardErrors: OpCheckResult['backwardErrors'] = [];
    for (const [k, i] of wrt.entries()) {
      const analytic = await grads[k]!.read();
      const reference = refGrads[i]!;
      const idx = sampleIndices(inputs[i]!.data.length, c.samples ?? 40);
      const numeric = numericalGradient(first, inputs, i, r, c.h ?? 1e-3, idx);
      backwardErrors.push({
        input: i,
        gpuVsReference: relError(analytic, reference.data),
        referenceVsFiniteDifferences: relError(idx.map((j) => reference.data[j]!), idx.map((j) => numeric[j]!)),
      });
    }
    return { op: op.name, name: c.name, forwardError, backwardErrors };
  } finally {
    tape.dispose();
    for (const t of owned) if (!t.disposed) t.dispose();
  }
}
