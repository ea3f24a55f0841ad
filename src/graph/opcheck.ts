/**
 * One check of a differentiable op, as `npm run gradcheck` prints it and the tests assert it:
 *
 *   forward:  the GPU op against its float64 reference,        max|Δ| / max|ref|
 *   backward: the GPU backward (through the tape) against centered finite differences of the float64 reference,
 *             for each input asked for, on a sample of its entries.
 *
 * The loss probed is L = Σ r ⊙ op(inputs) with a fixed random r, so the tape is seeded with r.
 */
import type { Gpu } from '../gpu/device.js';
import { Tensor } from '../gpu/tensor.js';
import type { HostTensor } from '../kernels/host.js';
import { Rng } from '../util/rng.js';
import { numericalGradient, relError, sampleIndices } from './gradcheck.js';
import { Tape } from './tape.js';

export interface OpCheck {
  name: string;
  /** float64 inputs; they are rounded to float32 before use so that GPU and reference see the same numbers */
  inputs: HostTensor[];
  /** indices of the inputs whose gradients are checked */
  wrt: number[];
  /** the float64 forward */
  reference: (inputs: HostTensor[]) => HostTensor;
  /** the op on the GPU, recorded on the tape */
  run: (inputs: Tensor[]) => Tensor;
  /** finite-difference step (default 1e-3; piecewise-linear ops such as max pooling want a smaller one) */
  h?: number;
  /** entries probed per input (default 40) */
  samples?: number;
}

export interface OpCheckResult {
  name: string;
  forwardError: number;
  backwardErrors: { input: number; error: number }[];
}

export async function runOpCheck(gpu: Gpu, spec: OpCheck, seed = 7): Promise<OpCheckResult> {
  const inputs = spec.inputs.map((t) => ({ shape: [...t.shape], data: Float64Array.from(Float32Array.from(t.data)) }));
  const xs = inputs.map((t, i) => Tensor.from(gpu, t.shape, Float32Array.from(t.data), `in${i}`));
  spec.wrt.forEach((i) => (xs[i]!.requiresGrad = true));
  const tape = new Tape();
  const y = tape.record(() => spec.run(xs));
  const refOut = spec.reference(inputs);
  const forwardError = relError(await y.read(), refOut.data);
  const r = Float64Array.from(Float32Array.from(new Rng(seed).uniforms(refOut.data.length)));
  const seedTensor = Tensor.from(gpu, y.shape, Float32Array.from(r), 'seed');
  const grads = tape.backward(y, spec.wrt.map((i) => xs[i]!), { seed: seedTensor });
  const backwardErrors: OpCheckResult['backwardErrors'] = [];
  for (let k = 0; k < spec.wrt.length; k++) {
    const i = spec.wrt[k]!;
    const analytic = await grads[k]!.read();
    const idx = sampleIndices(inputs[i]!.data.length, spec.samples ?? 40);
    const numeric = numericalGradient(spec.reference, inputs, i, r, spec.h ?? 1e-3, idx);
    backwardErrors.push({ input: i, error: relError(idx.map((j) => analytic[j]!), idx.map((j) => numeric[j]!)) });
  }
  for (const t of [...xs, y, seedTensor, ...grads]) t.dispose();
  return { name: spec.name, forwardError, backwardErrors };
}
