/**
 * Centered finite differences, the ground truth every backward is checked against (as in CS231n's
 * gradient_check.py):
 *
 *     ∂L/∂x_i ≈ (L(x + h·e_i) − L(x − h·e_i)) / 2h,   with L(x) = Σ_j r_j · f(x)_j for a fixed random r,
 *
 * so that one scalar probes every output of f at once, and the analytic gradient to compare with is backward(r).
 * The error of the approximation is O(h²·f‴), which in float64 with h ≈ 1e-3·scale is far below the 1e-4 bound.
 */
import type { HostTensor } from '../kernels/host.js';

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
