/**
 * LayerNormalization (ONNX opset 17; ConvNeXt exported at 17, vision transformers): each row of the normalized axes
 * (every axis from `axis`, default −1) normalized to mean 0 and variance 1, then scaled and shifted per position,
 *
 *   y = γ · (x − μ) / √(σ² + ε) + β,   μ and σ² the mean and (biased) variance of the row, ε = `epsilon` (1e-5).
 *
 * γ (Scale) and β (B, optional) have the normalized shape. The statistics are computed in float32, which is
 * `stash_type` 1 (the default, and the only one accepted when Mean or InvStdDev is an output). The optional outputs
 * Mean = μ and InvStdDev = r = 1/√(σ² + ε) have x's shape with the normalized axes kept as 1 (opset 17).
 *
 * Backward (derivation in shaders/layer_norm.wgsl). With x̂ = (x − μ)·r and g = dy·γ:
 *   dx_j = r · (g_j − mean(g) − x̂_j · mean(g·x̂))   — every x_j moves the whole row, through μ and σ;
 *   dγ = Σ_rows dy · x̂,   dβ = Σ_rows dy.
 * Gradients reaching Mean and InvStdDev (dμ, dr) flow to x too: dx_j += dμ/n − dr·r²·x̂_j/n (γ and β do not touch them).
 */
import { check, fmtShape } from '../../gpu/errors.js';
import { sizeOf, Tensor, type Shape } from '../../gpu/tensor.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { concatBackward, concatForward } from '../../kernels/concat.js';
import { layerNormBackward, layerNormBackwardRef, layerNormForward, layerNormParamsBackward, layerNormRef, layerNormRowStats } from '../../kernels/layer-norm.js';
import { Rng } from '../../util/rng.js';
import { defineOp } from '../op.js';

export interface LayerNormAttrs {
  /** the first normalized axis (negative: from the end) */
  axis: number;
  epsilon: number;
  /** whether the node also outputs Mean (μ per row), then InvStdDev (r per row), after Y — ONNX's optional outputs */
  meanOutput?: boolean;
  invStdDevOutput?: boolean;
}

/** The shape of Mean and InvStdDev: x's with the normalized axes kept as 1. */
function statsShape(a: LayerNormAttrs, x: Shape): number[] {
  const axis = a.axis < 0 ? a.axis + x.length : a.axis;
  return x.map((d, k) => (k < axis ? d : 1));
}

/** The outputs' shapes: Y, then Mean and InvStdDev where the node has them. */
function outputShapes(a: LayerNormAttrs, x: Shape): Shape[] {
  const stats = statsShape(a, x);
  return [x, ...(a.meanOutput ? [stats] : []), ...(a.invStdDevOutput ? [stats] : [])];
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
      const [y, mean, invStdDev] = r.node.outputs;
      if (!y) r.fail('the output Y is required');
      const epsilon = r.float('epsilon', 1e-5);
      if (!(epsilon >= 0)) r.fail(`epsilon ${epsilon} must be ≥ 0`);
      const stashType = r.int('stash_type', 1);
      if ((mean || invStdDev) && stashType !== 1) r.fail(`stash_type ${stashType}: Mean and InvStdDev are computed in float32 (stash_type 1) only`);
      return { axis: r.int('axis', -1), epsilon, meanOutput: !!mean, invStdDevOutput: !!invStdDev };
    },
  },
  shape: (inputs, a) => (columns(a, inputs), outputShapes(a, inputs[0]!)),
  forward: ([x, scale, bias], a, ctx) => {
    const cols = columns(a, [x!.shape, scale!.shape, bias?.shape]);
    const { y, stats } = layerNormForward(x!, scale!, bias ?? null, cols, a.epsilon, ctx.name);
    const outputs = [y];
    if (a.meanOutput || a.invStdDevOutput) {
      // The statistics [rows, 2] cut into μ and r, each seen in the Mean/InvStdDev shape.
      const shape = statsShape(a, x!.shape);
      const [mean, r] = concatBackward(stats, [[stats.shape[0]!, 1], [stats.shape[0]!, 1]], 1, [!!a.meanOutput, !!a.invStdDevOutput]);
      for (const [t, what] of [[mean, 'Mean'], [r, 'InvStdDev']] as const) {
        if (!t) continue;
        outputs.push(t.reshape(shape, `${ctx.name}.${what}`));
        t.dispose();
      }
    }
    if (!ctx.recording) {
      stats.dispose();
      return { outputs };
    }
    // dx reads x, γ and the statistics; dγ and dβ read x and the statistics.
    return { outputs, saved: { x: x!, stats, scale: ctx.needs[0] ? scale! : undefined } };
  },
  backward: ({ dys, saved, attrs, needs, inputShapes, name }) => {
    const cols = columns(attrs, inputShapes);
    const xShape = inputShapes[0]!;
    const rows = sizeOf(xShape) / cols;
    let k = 1;
    const dmean = attrs.meanOutput ? dys[k++] : null;
    const dr = attrs.invStdDevOutput ? dys[k++] : null;
    const temporaries: Tensor[] = [];
    const zeros = (shape: Shape, what: string): Tensor => {
      const t = Tensor.zeros(saved.x!.gpu, shape, `grad(${name}.${what}) = 0`);
      temporaries.push(t);
      return t;
    };
    // Y's gradient (zero when only the statistics reach the loss).
    const dy = dys[0] ?? zeros(xShape, 'Y');
    try {
      let dx: Tensor | null = null;
      if (needs[0]) {
        let dstats: Tensor | null = null;
        if (dmean || dr) {
          // [rows, 2]: ∂L/∂μ and ∂L/∂r side by side, as the forward's statistics.
          const column = (t: Tensor | null | undefined, what: string): Tensor => {
            if (!t) return zeros([rows, 1], what);
            const v = t.reshape([rows, 1]);
            temporaries.push(v);
            return v;
          };
          dstats = concatForward([column(dmean, 'Mean'), column(dr, 'InvStdDev')], 1, `grad(${name}.stats)`);
          temporaries.push(dstats);
        }
        dx = layerNormBackward(dy, saved.x!, saved.scale!, saved.stats!, cols, `grad(${name}.x)`, dstats);
      }
      let dscale: Tensor | null = null;
      let dbias: Tensor | null = null;
      if (needs[1] || needs[2]) {
        // One kernel computes both sums; the one not asked for is dropped.
        const both = layerNormParamsBackward(dy, saved.x!, saved.stats!, cols, inputShapes[1]!, `grad(${name})`);
        if (needs[1]) dscale = both.dscale;
        else both.dscale.dispose();
        if (needs[2]) dbias = both.dbias.reshape(inputShapes[2]!, `grad(${name}.B)`);
        both.dbias.dispose();
      }
      return inputShapes.length > 2 ? [dx, dscale, dbias] : [dx, dscale];
    } finally {
      for (const t of temporaries) t.dispose();
    }
  },
  reference: {
    forward: ([x, scale, bias], a) => {
      const cols = columns(a, [x!.shape, scale!.shape, bias?.shape]);
      const outputs = [layerNormRef(x!, scale!, bias ?? null, cols, a.epsilon)];
      if (a.meanOutput || a.invStdDevOutput) {
        const shape = statsShape(a, x!.shape);
        const { mean, r } = layerNormRowStats(x!, sizeOf(x!.shape) / cols, cols, a.epsilon);
        if (a.meanOutput) outputs.push({ shape, data: mean });
        if (a.invStdDevOutput) outputs.push({ shape, data: r });
      }
      return outputs;
    },
    backward: (dys, [x, scale, bias], _, a, needs) => {
      const cols = columns(a, [x!.shape, scale!.shape, bias?.shape]);
      const rows = sizeOf(x!.shape) / cols;
      let k = 1;
      const none = new Float64Array(rows);
      const dmean = a.meanOutput ? dys[k++]!.data : none;
      const dr = a.invStdDevOutput ? dys[k++]!.data : none;
      const dstats = a.meanOutput || a.invStdDevOutput ? { dmean, dr } : undefined;
      const g = layerNormBackwardRef(dys[0]!, x!, scale!, cols, a.epsilon, [needs[0] ?? false, needs[1] ?? false, (needs[2] ?? false) && !!bias], dstats);
      return bias ? [g.dx, g.dscale, g.dbias && view(g.dbias, bias.shape)] : [g.dx, g.dscale];
    },
  },
  doc: {
    forward:
      'y = γ · (x − μ) / √(σ² + ε) + β, with μ and σ² the mean and variance over the normalized (last) axes of each row; ' +
      'the optional outputs Mean and InvStdDev are μ and r = 1/√(σ² + ε) themselves.',
    backward:
      'With x̂ = (x − μ)·r, r = 1/√(σ² + ε) and g = dy·γ: ∂x̂_k/∂x_j = r·(δ_jk − 1/n) − x̂_k·x̂_j·r/n, since x_j moves every ' +
      'x̂_k through μ and σ; so dx_j = r·(g_j − mean(g) − x̂_j·mean(g·x̂)). The parameters act per position: dγ = Σ_rows dy·x̂, ' +
      'dβ = Σ_rows dy. Gradients dμ, dr reaching Mean and InvStdDev add their own paths to x: ∂μ/∂x_j = 1/n and ' +
      '∂r/∂x_j = −½·r³·∂σ²/∂x_j = −r²·x̂_j/n, so dx_j += dμ/n − dr·r²·x̂_j/n.',
    saves: 'x and each row’s μ and r (and γ when dx is asked for).',
  },
  describe: (a) => `axis ${a.axis} ε ${a.epsilon}${a.meanOutput ? ', Mean' : ''}${a.invStdDevOutput ? ', InvStdDev' : ''}`,
  checks: [
    check3('one axis', [2, 3, 8], [8], -1, 401),
    check3('the last two axes', [2, 4, 3, 5], [3, 5], 2, 404),
    check3('channels-last, as ConvNeXt', [1, 2, 2, 40], [40], -1, 407, false),
    check3('a row longer than a workgroup', [2, 300], [300], 1, 410),
    { ...check3('with the Mean and InvStdDev outputs', [3, 2, 6], [2, 6], 1, 413), attrs: { axis: 1, epsilon: 1e-5, meanOutput: true, invStdDevOutput: true } },
  ],
});
