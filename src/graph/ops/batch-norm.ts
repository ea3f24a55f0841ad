/**
 * BatchNormalization (ONNX, inference form, opsets 7–15): y = (x − μ)·γ/√(σ² + ε) + β per channel, with the inputs
 * x [N, C, …], scale γ, B β, input_mean μ and input_var σ² (each [C]) and the attribute epsilon.
 *
 * Backward. y depends on x linearly with slope γ·s, s = 1/√(σ²+ε), so dx = dy·γ·s — a per-channel scaling of dy.
 * Each parameter of channel c enters every y of that channel: dβ = Σ dy, dγ = s·Σ dy·(x − μ), dμ = −γ·s·Σ dy, and
 * through ∂s/∂σ² = −½·s³, dσ² = −½·γ·s³·Σ dy·(x − μ) (sums over the batch and the plane; derivation beside the kernels
 * in shaders/batchnorm.wgsl, float64 references in src/kernels/batchnorm.ts).
 *
 * Most normalizations of an exported network follow a Conv and never reach this op: the model builder folds them into
 * the conv's weights (src/graph/passes/fold-batchnorm.ts). It runs the others — DenseNet's, after a Concat.
 */
import type { Tensor } from '../../gpu/tensor.js';
import { batchNormBackwardInput, batchNormBackwardParams, batchNormBackwardRef, batchNormForward, batchNormGeometry, batchNormRef } from '../../kernels/batchnorm.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { apply1, defineOp } from '../op.js';

export interface BatchNormAttrs {
  epsilon: number;
}

/** ONNX's default ε. */
export const BATCHNORM_EPSILON = 1e-5;

const uniform = (shape: number[], seed: number, lo = -1, hi = 1): HostTensor =>
  host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1), lo, hi));

/** A check on x of `shape`: γ, β, μ random, σ² in [0.3, 2] (a variance is positive). */
function check(name: string, shape: number[], seed: number, epsilon = BATCHNORM_EPSILON) {
  const c = shape[1]!;
  return {
    name,
    inputs: () => [uniform(shape, seed), uniform([c], seed + 1, 0.5, 1.5), uniform([c], seed + 2), uniform([c], seed + 3), uniform([c], seed + 4, 0.3, 2)],
    attrs: { epsilon },
  };
}

export const BatchNormalization = defineOp<BatchNormAttrs>({
  name: 'BatchNormalization',
  onnx: {
    types: ['BatchNormalization'],
    arity: [5, 5],
    attrs: (r) => {
      if (r.node.outputs.filter(Boolean).length > 1) {
        r.fail('the training outputs (running_mean, running_var) are not supported: export the model in inference mode');
      }
      if (r.int('training_mode', 0) !== 0) r.fail('training_mode 1 (statistics of the batch) is not supported; pixelprop runs inference-form normalization');
      if (r.opset < 9 && r.int('spatial', 1) !== 1) r.fail('spatial 0 (statistics per activation, not per channel) is not supported');
      return { epsilon: r.float('epsilon', BATCHNORM_EPSILON) };
    },
  },
  shape: ([x, gamma, beta, mean, variance], a) => {
    batchNormGeometry(x!, { gamma: gamma!, beta: beta!, mean: mean!, variance: variance! }, a.epsilon);
    return [x!];
  },
  forward: ([x, gamma, beta, mean, variance], a, ctx) => {
    const y = batchNormForward(x!, { gamma: gamma!, beta: beta!, mean: mean!, variance: variance! }, a.epsilon, ctx.name);
    const [needX, ...needParams] = ctx.needs;
    // dx reads γ and σ²; the parameters' gradients, computed together from two sums, read x and μ as well.
    const params = needParams.some(Boolean);
    return { outputs: [y], saved: { ...((needX || params) && { gamma: gamma!, variance: variance! }), ...(params && { x: x!, mean: mean! }) } };
  },
  backward: ({ dys: [dy], saved, attrs: a, needs, name }) => {
    const dx = needs[0] ? batchNormBackwardInput(dy!, saved.gamma!, saved.variance!, a.epsilon, `grad(${name}.x)`) : null;
    if (!needs.slice(1).some(Boolean)) return [dx, null, null, null, null];
    const [, gamma = false, beta = false, mean = false, variance = false] = needs;
    const p = batchNormBackwardParams(dy!, saved.x!, { gamma: saved.gamma!, mean: saved.mean!, variance: saved.variance! }, a.epsilon, { gamma, beta, mean, variance }, name);
    return [dx, p.gamma, p.beta, p.mean, p.variance];
  },
  keepsChannels: true,
  reference: {
    forward: ([x, gamma, beta, mean, variance], a) => [batchNormRef(x!, { gamma: gamma!, beta: beta!, mean: mean!, variance: variance! }, a.epsilon)],
    backward: ([dy], [x, gamma, beta, mean, variance], _, a) => batchNormBackwardRef(dy!, x!, { gamma: gamma!, beta: beta!, mean: mean!, variance: variance! }, a.epsilon),
  },
  doc: {
    forward: 'y = (x − μ)·γ/√(σ² + ε) + β per channel, with the statistics μ, σ² fixed by training (inference form).',
    backward:
      'y depends on x linearly with slope γ·s, s = 1/√(σ²+ε), so dx = dy·γ·s: dy scaled per channel. Each parameter of ' +
      'channel c enters every y of the channel, so its gradient sums over batch and plane: dβ = Σ dy, dγ = s·Σ dy·(x − μ), ' +
      'dμ = −γ·s·Σ dy, and, since ∂s/∂σ² = −½·s³, dσ² = −½·γ·s³·Σ dy·(x − μ).',
    saves: 'γ and σ² (for dx); x and μ too when a parameter’s gradient is asked for.',
  },
  describe: (a) => (a.epsilon !== BATCHNORM_EPSILON ? `ε=${a.epsilon}` : ''),
  checks: [
    check('BatchNormalization [2,3,4,5]', [2, 3, 4, 5], 81),
    check('BatchNormalization [3,4] (no plane)', [3, 4], 82),
    check('BatchNormalization [1,6,7] ε=1e-3', [1, 6, 7], 83, 1e-3),
    check('BatchNormalization DenseNet-like [1,40,9,9]', [1, 40, 9, 9], 84),
  ],
});

/** y = BatchNormalization(x; γ, β, μ, σ²), recorded on the tape. */
export function batchNorm(x: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, epsilon = BATCHNORM_EPSILON, name = 'batchnorm'): Tensor {
  return apply1(BatchNormalization, [x, gamma, beta, mean, variance], { epsilon }, name);
}
