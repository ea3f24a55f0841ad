/**
 * LayerNormalization (ONNX opset 17; ConvNeXt exported at 17, vision transformers): each row of the normalized axes
 * (every axis from `axis`, default −1) normalized to mean 0 and variance 1, then scaled and shifted per position,
 *
 *   y = γ · (x − μ) / √(σ² + ε) + β,   μ and σ² the mean and (biased) variance of the row, ε = `epsilon` (1e-5).
 *
 * γ (Scale) and β (B, optional) have the normalized shape. The statistics are computed in float32 whatever
 * `stash_type` says; the optional Mean and InvStdDev outputs are refused (exporters do not write them).
 *
 * Backward (derivation in shaders/layer_norm.wgsl). With x̂ = (x − μ)·r, r = 1/√(σ² + ε), and g = dy·γ:
 *   dx_j = r · (g_j − mean(g) − x̂_j · mean(g·x̂))   — every x_j moves the whole row, through μ and σ;
 *   dγ = Σ_rows dy · x̂,   dβ = Σ_rows dy.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import { sizeOf, type Shape, type Tensor } from '../../gpu/tensor.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { layerNormBackward, layerNormBackwardRef, layerNormForward, layerNormParamsBackward, layerNormRef } from '../../kernels/layer-norm.js';
import { Rng } from '../../util/rng.js';
import { defineOp } from '../op.js';

export interface LayerNormAttrs {
  /** the first normalized axis (negative: from the end) */
  axis: number;
  epsilon: number;
}

/** The number of normalized columns, after checking γ and β against the normalized dims. */
function columns(a: LayerNormAttrs, [x, scale, bias]: readonly (Shape | undefined)[]): number {
  const rank = x!.length;
  const axis = a.axis < 0 ? a.axis + rank : a.axis;
  check(axis >= 0 && axis < rank, () => `axis ${a.axis} is out of range for ${fmtShape(x!)}`);
  const normalized = x!.slice(axis);
  for (const [name, s] of [['Scale', scale], ['B', bias]] as const) {
    if (!s) continue;
    // The normalized shape, possibly with leading 1s dropped or added.
    const trim = (d: Shape): Shape => d.slice(d.findIndex((v) => v !== 1) < 0 ? d.length : d.findIndex((v) => v !== 1));
    const [want, got] = [trim(normalized), trim(s)];
    check(
      want.length === got.length && want.every((d, k) => d === got[k]),
      () => `${name} ${fmtShape(s)} does not have the normalized shape ${fmtShape(normalized)} (the axes from ${a.axis} of ${fmtShape(x!)})`,
    );
  }
  return sizeOf(normalized);
}

const view = (t: HostTensor, shape: Shape): HostTensor => ({ shape: [...shape], data: t.data });
const uniform = (shape: number[], seed: number, lo = -1, hi = 1) => host(shape, new Rng(seed).uniforms(sizeOf(shape), lo, hi));

function check3(name: string, x: number[], params: number[], axis: number, seed: number, withBias = true) {
  return {
    name: `LayerNormalization ${fmtShape(x)} axis ${axis}${withBias ? '' : ', no B'} (${name})`,
    // x with an offset per case, so that subtracting the mean matters.
    inputs: () => [
      host(x, uniform(x, seed).data.map((v) => 3 * v + 0.5)),
      uniform(params, seed + 1, 0.5, 1.5),
      ...(withBias ? [uniform(params, seed + 2)] : []),
    ],
    attrs: { axis, epsilon: 1e-5 },
  };
}

export const LayerNormalization = defineOp<LayerNormAttrs>({
  name: 'LayerNormalization',
  onnx: {
    types: ['LayerNormalization'],
    arity: [2, 3],
    attrs: (r) => {
      if (r.node.outputs.filter(Boolean).length > 1) r.fail('the Mean and InvStdDev outputs are not supported (only Y)');
      const epsilon = r.float('epsilon', 1e-5);
      if (!(epsilon >= 0)) r.fail(`epsilon ${epsilon} must be ≥ 0`);
      return { axis: r.int('axis', -1), epsilon };
    },
  },
  shape: (inputs, a) => (columns(a, inputs), [inputs[0]!]),
  forward: ([x, scale, bias], a, ctx) => {
    const cols = columns(a, [x!.shape, scale!.shape, bias?.shape]);
    const { y, stats } = layerNormForward(x!, scale!, bias ?? null, cols, a.epsilon, ctx.name);
    if (!ctx.recording) {
      stats.dispose();
      return { outputs: [y] };
    }
    // dx reads x, γ and the statistics; dγ and dβ read x and the statistics.
    return { outputs: [y], saved: { x: x!, stats, scale: ctx.needs[0] ? scale! : undefined } };
  },
  backward: ({ dys: [dy], saved, attrs, needs, inputShapes, name }) => {
    const cols = columns(attrs, inputShapes);
    const dx = needs[0] ? layerNormBackward(dy!, saved.x!, saved.scale!, saved.stats!, cols, `grad(${name}.x)`) : null;
    let dscale: Tensor | null = null;
    let dbias: Tensor | null = null;
    if (needs[1] || needs[2]) {
      // One kernel computes both sums; the one not asked for is dropped.
      const both = layerNormParamsBackward(dy!, saved.x!, saved.stats!, cols, inputShapes[1]!, `grad(${name})`);
      if (needs[1]) dscale = both.dscale;
      else both.dscale.dispose();
      if (needs[2]) dbias = both.dbias.reshape(inputShapes[2]!, `grad(${name}.B)`);
      both.dbias.dispose();
    }
    return inputShapes.length > 2 ? [dx, dscale, dbias] : [dx, dscale];
  },
  reference: {
    forward: ([x, scale, bias], a) => [layerNormRef(x!, scale!, bias ?? null, columns(a, [x!.shape, scale!.shape, bias?.shape]), a.epsilon)],
    backward: ([dy], [x, scale, bias], _, a, needs) => {
      const cols = columns(a, [x!.shape, scale!.shape, bias?.shape]);
      const g = layerNormBackwardRef(dy!, x!, scale!, cols, a.epsilon, [needs[0] ?? false, needs[1] ?? false, (needs[2] ?? false) && !!bias]);
      return bias ? [g.dx, g.dscale, g.dbias && view(g.dbias, bias.shape)] : [g.dx, g.dscale];
    },
  },
  doc: {
    forward: 'y = γ · (x − μ) / √(σ² + ε) + β, with μ and σ² the mean and variance over the normalized (last) axes of each row.',
    backward:
      'With x̂ = (x − μ)·r, r = 1/√(σ² + ε) and g = dy·γ: ∂x̂_k/∂x_j = r·(δ_jk − 1/n) − x̂_k·x̂_j·r/n, since x_j moves every ' +
      'x̂_k through μ and σ; so dx_j = r·(g_j − mean(g) − x̂_j·mean(g·x̂)). The parameters act per position: dγ = Σ_rows dy·x̂, ' +
      'dβ = Σ_rows dy.',
    saves: 'x and each row’s μ and r (and γ when dx is asked for).',
  },
  describe: (a) => `axis ${a.axis} ε ${a.epsilon}`,
  checks: [
    check3('one axis', [2, 3, 8], [8], -1, 401),
    check3('the last two axes', [2, 4, 3, 5], [3, 5], 2, 404),
    check3('channels-last, as ConvNeXt', [1, 2, 2, 40], [40], -1, 407, false),
    check3('a row longer than a workgroup', [2, 300], [300], 1, 410),
  ],
});
