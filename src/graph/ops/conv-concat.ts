/**
 * ConvConcat: y = f(Concat_channels(Conv(x₁, w₁, b₁), …, Conv(x_k, w_k, b_k))) — a Fire module's expand layer in one op,
 * built by the model's fusion pass from a channel Concat whose inputs are all convolutions (with the same epilogue f).
 * No concatenation runs: each convolution writes its channel slice of y in place (conv2d v2's channel offset), and
 * backward each reads its slice of dz where it lies.
 *
 * Backward, composed from its parts' stories: back through f once for all of y (dz = dy · f′), then the Concat (each
 * part's gradient is its slice of dz), then each part's Conv. An input read by several parts (a Fire module's squeeze
 * output feeds both expand convs) receives the sum of their gradients — the multivariate chain rule — accumulated by
 * the kernels into one tensor. The float64 reference is literally that composition: Conv's reference per part, then
 * Concat's, then f.
 */
import { check } from '../../gpu/errors.js';
import { Tensor, type Shape } from '../../gpu/tensor.js';
import { concatBackward, concatBackwardRef, concatRef } from '../../kernels/concat.js';
import { conv2dBackwardBias, conv2dBackwardWeight, conv2dGeometry, type Conv2dGeometry } from '../../kernels/conv2d.js';
import { conv2dBackwardInputTiled, conv2dForwardTiled, tiledBackwardInputSupports, tiledForwardSupports, type ConvTuning } from '../../kernels/conv2d-tiled.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { NO_ACTIVATION, activationDzRef, isActivation, type Activation } from '../activation.js';
import { defineOp } from '../op.js';
import { CONV_BACKWARD, CONV_FORWARD, Conv, conv2dAttrsFor, convAttrs, convDoc, describeConv, type ConvAttrs } from './conv.js';
import { CONCAT_BACKWARD } from './concat.js';
import { Relu } from './relu.js';

export interface ConvConcatAttrs {
  /** each part's convolution (their epilogue is the op's) and whether it has a bias input */
  parts: readonly { conv: ConvAttrs; hasBias: boolean }[];
  activation: Activation;
  tuning?: ConvTuning;
}

/** The flat input list [x₁, w₁, (b₁,) x₂, …] cut into parts. */
function split<T>(inputs: readonly T[], a: ConvConcatAttrs): T[][] {
  let at = 0;
  return a.parts.map((p) => {
    const n = p.hasBias ? 3 : 2;
    const part = inputs.slice(at, at + n);
    at += n;
    return part;
  });
}

function geometries(shapes: readonly Shape[], a: ConvConcatAttrs): Conv2dGeometry[] {
  return split(shapes, a).map(([x, w, b], k) => conv2dGeometry(x!, w!, conv2dAttrsFor(a.parts[k]!.conv, x!, w!), b ?? null, `ConvConcat part ${k}`));
}

/** Whether the fused op can compute these convolutions: conv2d v2 must do each part's forward and backward. */
export function convConcatSupports(shapes: readonly Shape[], a: ConvConcatAttrs): boolean {
  const g = geometries(shapes, a);
  const g0 = g[0]!;
  return g.every((p) => tiledForwardSupports(p) && tiledBackwardInputSupports(p) && p.batch === g0.batch && p.outH === g0.outH && p.outW === g0.outW);
}

/** Where each part's channels start in y. */
function offsets(g: readonly Conv2dGeometry[]): number[] {
  return g.map((_, k) => g.slice(0, k).reduce((s, p) => s + p.outChannels, 0));
}

function partRef(part: readonly HostTensor[], conv: ConvAttrs): HostTensor {
  return Conv.reference.forward(part, { ...conv, activation: NO_ACTIVATION })[0]!;
}

const mapRef = (t: HostTensor, f: (v: number, i: number) => number): HostTensor => host(t.shape, t.data.map(f));

export const ConvConcat = defineOp<ConvConcatAttrs>({
  name: 'ConvConcat',
  shape: (inputs, a) => {
    const g = geometries(inputs, a);
    check(convConcatSupports(inputs, a), 'ConvConcat: a part is not computed by conv2d v2, or the parts differ in batch or size');
    return [[g[0]!.batch, g.reduce((s, p) => s + p.outChannels, 0), g[0]!.outH, g[0]!.outW]];
  },
  forward: (inputs, a, ctx) => {
    const parts = split(inputs, a);
    const g = geometries(inputs.map((t) => t.shape), a);
    const channels = g.reduce((s, p) => s + p.outChannels, 0);
    const at = offsets(g);
    const y = Tensor.empty(inputs[0]!.gpu, [g[0]!.batch, channels, g[0]!.outH, g[0]!.outW], ctx.name);
    parts.forEach(([x, w, b], k) => conv2dForwardTiled(g[k]!, x!, w!, b ?? null, y, a.activation.fn, { offset: at[k]!, channels }, a.tuning));
    const saved: Record<string, Tensor> = {};
    if (ctx.recording && isActivation(a.activation)) saved.y = y;
    // Part k's w is needed for its x's gradient, its x for its w's gradient.
    split(ctx.needs, a).forEach(([needX, needW, needB], k) => {
      const [x, w] = parts[k]!;
      if (needX) saved[`w${k}`] = w!;
      if (needW || needB) saved[`x${k}`] = x!;
    });
    return { outputs: [y], saved };
  },
  backward: ({ dys: [dy], saved, attrs: a, needs, inputShapes, sameInput, name, activationGrad }) => {
    check(!a.activation.fn.gradFromZ, 'ConvConcat: an activation whose derivative needs z cannot be fused here');
    const dz = isActivation(a.activation) ? activationGrad(dy!, saved, a.activation.fn, `${name}.dz`) : dy!;
    const g = geometries(inputShapes, a);
    const channels = g.reduce((s, p) => s + p.outChannels, 0);
    const at = offsets(g);
    const index = split([...inputShapes.keys()], a); // each part's positions in the flat input list
    const grads: (Tensor | null)[] = new Array<Tensor | null>(inputShapes.length).fill(null);
    const tuning = a.tuning && { tuning: a.tuning };
    try {
      a.parts.forEach((p, k) => {
        const [ix, iw, ib] = index[k]! as [number, number, number | undefined];
        if (needs[ix]) {
          // Parts that read one tensor (the squeeze output) share one gradient: the second adds into the first's.
          const first = sameInput[ix]!;
          const into = grads[first];
          const slice = { offset: at[k]!, channels };
          if (first !== ix && into) {
            conv2dBackwardInputTiled(g[k]!, dz, saved[`w${k}`]!, into, { slice, accumulate: true, ...tuning });
          } else {
            const dx = Tensor.empty(dz.gpu, inputShapes[ix]!, `grad(${name}.x${k})`);
            conv2dBackwardInputTiled(g[k]!, dz, saved[`w${k}`]!, dx, { slice, ...tuning });
            grads[ix] = dx;
          }
        }
        if (needs[iw] || (ib !== undefined && needs[ib])) {
          // The weights' gradients, which the techniques never ask for, take the plain route: slice dz, then conv v1.
          const dzk = concatBackward(dz, g.map((gk) => [gk.batch, gk.outChannels, gk.outH, gk.outW]), 1, g.map((_, j) => j === k))[k]!;
          const attrs = conv2dAttrsFor(p.conv, inputShapes[ix]!, inputShapes[iw]!);
          if (needs[iw]) grads[iw] = conv2dBackwardWeight(dzk, saved[`x${k}`]!, inputShapes[iw]!, attrs, `grad(${name}.w${k})`);
          if (ib !== undefined && needs[ib]) grads[ib] = conv2dBackwardBias(dzk, `grad(${name}.b${k})`);
          dzk.dispose();
        }
      });
    } finally {
      if (dz !== dy) dz.dispose();
    }
    return grads;
  },
  reference: {
    forward: (inputs, a) => {
      const parts = split(inputs, a).map((part, k) => partRef(part, a.parts[k]!.conv));
      const cat = concatRef(parts, 1);
      return [isActivation(a.activation) ? mapRef(cat, (v) => a.activation.f(v)) : cat];
    },
    backward: ([dy], inputs, [y], a, needs, rule) => {
      const split_ = split(inputs, a);
      const parts = split_.map((part, k) => partRef(part, a.parts[k]!.conv));
      const dz = isActivation(a.activation) ? activationDzRef(dy!, concatRef(parts, 1), y!, a.activation, rule?.activation) : dy!;
      const dParts = concatBackwardRef(dz, parts.map((p) => p.shape), 1);
      const needParts = split(needs, a);
      return split_.flatMap((part, k) =>
        Conv.reference.backward([dParts[k]!], part, [parts[k]!], { ...a.parts[k]!.conv, activation: NO_ACTIVATION }, needParts[k]!),
      );
    },
  },
  doc: (a) => {
    const d = convDoc(a.activation, `y = Concat_channels(Conv(x₁, w₁, b₁), …): ${CONV_FORWARD}`, CONV_BACKWARD);
    return {
      forward: `${d.forward} The convolutions write their channel slices of y in place: no concatenation runs.`,
      backward:
        `${d.backward} Between the two, the concat: ${CONCAT_BACKWARD} Each conv reads its slice of dz where it lies, and an ` +
        'input read by several parts (a Fire module’s squeeze output feeds both expand convs) receives the sum of their ' +
        'gradients — the multivariate chain rule — accumulated by the kernels into one tensor.',
      saves: d.saves,
    };
  },
  describe: (a) => a.parts.map((p) => describeConv({ ...p.conv, activation: NO_ACTIVATION })).join(' ‖ ') + (isActivation(a.activation) ? ` +${a.activation.op.toLowerCase()}` : ''),
  checks: [
    {
      // A Fire module's expand layer in miniature: one squeeze output read by a 1×1 and a 3×3 conv, ReLU'd.
      name: 'ConvConcat 1×1 ‖ 3×3 + relu, shared input',
      inputs: () => {
        const r = new Rng(21);
        const t = (shape: number[]): HostTensor => host(shape, r.uniforms(shape.reduce((p, d) => p * d, 1)));
        const x = t([2, 3, 5, 4]);
        return [x, t([4, 3, 1, 1]), t([4]), x, t([5, 3, 3, 3]), t([5])];
      },
      attrs: {
        parts: [
          { conv: convAttrs(), hasBias: true },
          { conv: convAttrs({ pads: [1, 1, 1, 1] }), hasBias: true },
        ],
        activation: Relu.with({}),
      },
      h: 1e-5,
    },
    {
      name: 'ConvConcat 1×1 ‖ 3×3 s2, two inputs, no bias',
      inputs: () => {
        const r = new Rng(22);
        const t = (shape: number[]): HostTensor => host(shape, r.uniforms(shape.reduce((p, d) => p * d, 1)));
        return [t([1, 2, 7, 7]), t([3, 2, 1, 1]), t([1, 4, 7, 7]), t([2, 4, 3, 3])];
      },
      attrs: {
        parts: [
          { conv: convAttrs({ strides: [2, 2] }), hasBias: false },
          { conv: convAttrs({ strides: [2, 2], pads: [1, 1, 1, 1] }), hasBias: false },
        ],
        activation: NO_ACTIVATION,
      },
    },
    {
      // A grouped part (4 channels per group: tiles hold several groups) writing its slice beside a dense one.
      name: 'ConvConcat 3×3 group 2 ‖ 1×1, shared input',
      inputs: () => {
        const r = new Rng(23);
        const t = (shape: number[]): HostTensor => host(shape, r.uniforms(shape.reduce((p, d) => p * d, 1)));
        const x = t([1, 8, 5, 6]);
        return [x, t([8, 4, 3, 3]), t([8]), x, t([3, 8, 1, 1]), t([3])];
      },
      attrs: {
        parts: [
          { conv: convAttrs({ pads: [1, 1, 1, 1], group: 2 }), hasBias: true },
          { conv: convAttrs(), hasBias: true },
        ],
        activation: NO_ACTIVATION,
      },
    },
  ],
});
