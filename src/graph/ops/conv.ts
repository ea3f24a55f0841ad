/**
 * Conv: y = f(Conv(x, w, b)) with ONNX Conv semantics on NCHW tensors, where f is the activation the model fused into
 * it (the epilogue: none, ReLU, Clip, … — see src/graph/activation.ts), applied by the kernel to each result before it
 * is stored.
 *
 *   z[n,o,oh,ow] = b[o] + Σ_{c,kh,kw} w[o,c,kh,kw] · x[n, g·Cg + c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw]
 *
 * Backward. First back through f: dz = dy · f′(z) (from y, or from z where f needs it). Then each x element is read by
 * every output position whose window covers it, with weight w[o,c,kh,kw]; summing dz over those positions gives
 * dx = conv_transpose(dz, w): the same weights, spatially flipped, slid over dz (with stride s, dz is spread out by s
 * first). Likewise dw[o,c,kh,kw] = Σ_{n,oh,ow} dz[n,o,oh,ow] · x[n,c,ih,iw] correlates dz with x, and
 * db[o] = Σ dz[n,o,·,·]. The index-level derivations are beside the kernels (shaders/conv2d.wgsl,
 * src/kernels/conv2d-tiled.ts), the float64 references in src/kernels/conv2d.ts.
 *
 * Only what the requested gradients read is saved: differentiating with respect to the pixels (the techniques) saves
 * w — and y for the activation — and runs one conv kernel backward; the weights' gradients cost nothing.
 */
import { check, fmtShape } from '../../gpu/errors.js';
import type { Shape, Tensor } from '../../gpu/tensor.js';
import { activationForward } from '../../kernels/activation.js';
import {
  conv2dBackwardBias,
  conv2dBackwardBiasRef,
  conv2dBackwardInput,
  conv2dBackwardInputRef,
  conv2dBackwardWeight,
  conv2dBackwardWeightRef,
  conv2dForward,
  conv2dRef,
  conv2dShape,
  type Conv2dAttrs,
} from '../../kernels/conv2d.js';
import type { ConvTuning } from '../../kernels/conv2d-tiled.js';
import { host, type HostTensor } from '../../kernels/host.js';
import { Rng } from '../../util/rng.js';
import { NO_ACTIVATION, activationDzRef, isActivation, type Activation } from '../activation.js';
import { apply1, defineOp, type OpDoc } from '../op.js';
import { Relu } from './relu.js';
import { describeWindow, explicitWindow, readKernelShape, readWindow, resolvePads, type WindowAttrs } from './window.js';

export interface ConvAttrs {
  window: WindowAttrs;
  group: number;
  /** ONNX's optional kernel_shape, checked against the weights */
  kernelShape?: readonly [number, number];
  /** the epilogue (NO_ACTIVATION: none) */
  activation: Activation;
  /** switches for the ablation benchmark */
  tuning?: ConvTuning;
}

/** The kernels' attributes for these shapes (auto_pad resolved). */
export function conv2dAttrsFor(a: ConvAttrs, x: Shape, w: Shape): Conv2dAttrs {
  if (a.kernelShape) {
    check(
      a.kernelShape[0] === w[2] && a.kernelShape[1] === w[3],
      () => `kernel_shape ${fmtShape(a.kernelShape!)} does not match the weights ${fmtShape(w)}`,
    );
  }
  // auto_pad needs 4-D shapes; other ranks keep the explicit pads and are refused by the kernels' shape rules.
  const twoD = x.length === 4 && w.length === 4;
  return {
    strides: a.window.strides,
    dilations: a.window.dilations,
    pads: twoD ? resolvePads(a.window, [x[2]!, x[3]!], [w[2]!, w[3]!]) : a.window.pads,
    group: a.group,
  };
}

/** Conv attributes built by hand (tests, techniques): explicit pads, no activation unless given. */
export function convAttrs(a: { strides?: number[]; dilations?: number[]; pads?: number[]; group?: number; activation?: Activation } = {}): ConvAttrs {
  return { window: explicitWindow(a), group: a.group ?? 1, activation: a.activation ?? NO_ACTIVATION };
}

export const CONV_FORWARD =
  'z[n,o,h,w] = b[o] + Σ_{c,i,j} w[o,c,i,j] · x[n,c,h·s+i−p,w·s+j−p] (ONNX Conv, NCHW; out-of-image taps read 0).';

export const CONV_BACKWARD =
  'Each x element is read by every output position whose window covers it, with weight w[o,c,i,j]; summing dz over those ' +
  'positions gives dx = conv_transpose(dz, w): the same weights, spatially flipped, slid over dz (with stride s, dz is ' +
  'spread out by s first). Likewise dw[o,c,i,j] = Σ_{n,h,w} dz[n,o,h,w] · x[n,c,h·s+i−p,w·s+j−p] correlates dz with x, and ' +
  'db[o] = Σ_{n,h,w} dz[n,o,h,w]. Only the gradients asked for are computed: for a saliency map, the pixels need dx ' +
  'alone, so the weights cost nothing.';

/** A conv's story, with its epilogue's told first on the way back (the chain rule passes f before the sum). */
export function convDoc(activation: Activation, forward = CONV_FORWARD, backward = CONV_BACKWARD): OpDoc {
  if (!isActivation(activation)) {
    return { forward: `y = z: ${forward}`, backward: `With dz = dy (no activation): ${backward}`, saves: 'w (for dx) and x (for dw), only those the gradients asked for need.' };
  }
  return {
    forward: `y = ${activation.op}(z) in one kernel, z never stored: ${forward} Then ${activation.doc.forward}`,
    backward: `First back through the ${activation.op}: ${activation.doc.backward} Then the convolution, from dz: ${backward}`,
    saves: `${activation.doc.saves.replace(/\.$/, '')} for the ${activation.op}, w for dx, x for dw.`,
  };
}

export function describeConv(a: ConvAttrs, w?: Shape): string {
  return [
    w ? `k${w[2]}×${w[3]}` : a.kernelShape ? `k${a.kernelShape.join('×')}` : '',
    describeWindow(a.window),
    a.group !== 1 ? `g${a.group}` : '',
    isActivation(a.activation) ? `+${a.activation.op.toLowerCase()}${a.activation.info ? `(${a.activation.info})` : ''}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** The float64 z of a conv (no activation). */
function convRef([x, w, b]: readonly HostTensor[], a: ConvAttrs): HostTensor {
  return conv2dRef(x!, w!, b ?? null, conv2dAttrsFor(a, x!.shape, w!.shape));
}

const mapRef = (t: HostTensor, f: (v: number, i: number) => number): HostTensor => host(t.shape, t.data.map(f));

export const Conv = defineOp<ConvAttrs>({
  name: 'Conv',
  onnx: {
    types: ['Conv'],
    arity: [2, 3],
    attrs: (r) => {
      const kernelShape = readKernelShape(r);
      return {
        window: readWindow(r),
        group: r.int('group', 1),
        ...(kernelShape && { kernelShape }),
        activation: NO_ACTIVATION,
        ...(r.tuning && { tuning: r.tuning }),
      };
    },
  },
  shape: ([x, w, b], a) => [conv2dShape(x!, w!, conv2dAttrsFor(a, x!, w!), b ?? null)],
  forward: ([x, w, b], a, ctx) => {
    const attrs = conv2dAttrsFor(a, x!.shape, w!.shape);
    const [needX = false, needW = false, needB = false] = ctx.needs;
    const forGradients = { ...(needX && { w: w! }), ...(needW && { x: x! }) };
    const act = a.activation;
    if (ctx.recording && isActivation(act) && act.fn.gradFromZ) {
      // f′ needs z, which the fused kernel never stores: compute z, then y from it, and keep z.
      const z = conv2dForward(x!, w!, b ?? null, attrs, { name: `${ctx.name}.z`, ...(a.tuning && { tuning: a.tuning }) });
      const y = activationForward(z, act.fn, ctx.name);
      return { outputs: [y], saved: { z, ...forGradients } };
    }
    const y = conv2dForward(x!, w!, b ?? null, attrs, { activation: act.fn, name: ctx.name, ...(a.tuning && { tuning: a.tuning }) });
    const savedY = ctx.recording && isActivation(act) && (needX || needW || needB);
    return { outputs: [y], saved: { ...(savedY && { y }), ...forGradients } };
  },
  backward: ({ dys: [dy], saved, attrs: a, needs, inputShapes, dyChannels, name, activationGrad }) => {
    const [xShape, wShape] = inputShapes as [Shape, Shape];
    const attrs = conv2dAttrsFor(a, xShape, wShape);
    check(
      (!needs[0] || saved.w !== undefined) && (!needs[1] || saved.x !== undefined),
      () => `conv '${name}': an input started requiring a gradient after the op was recorded; set requiresGrad before the forward`,
    );
    const dz = isActivation(a.activation) ? activationGrad(dy!, saved, a.activation.fn, `${name}.dz`) : dy!;
    try {
      return [
        needs[0] ? conv2dBackwardInput(dz, saved.w!, xShape, attrs, { name: `grad(${name}.x)`, dyChannels, ...(a.tuning && { tuning: a.tuning }) }) : null,
        needs[1] ? conv2dBackwardWeight(dz, saved.x!, wShape, attrs, `grad(${name}.w)`) : null,
        ...(inputShapes.length > 2 ? [needs[2] ? conv2dBackwardBias(dz, `grad(${name}.b)`) : null] : []),
      ];
    } finally {
      if (dz !== dy) dz.dispose(); // the kernels above have been encoded; the buffer is recycled only after them
    }
  },
  // dz keeps dy's zero channels (f′ multiplies), but dx mixes all channels of dz: nothing carries over to x.
  keepsChannels: false,
  reference: {
    forward: (inputs, a) => {
      const z = convRef(inputs, a);
      return [isActivation(a.activation) ? mapRef(z, (v) => a.activation.f(v)) : z];
    },
    backward: ([dy], inputs, [y], a, needs, rule) => {
      const [x, w, b] = inputs;
      const attrs = conv2dAttrsFor(a, x!.shape, w!.shape);
      const dz = isActivation(a.activation) ? activationDzRef(dy!, convRef(inputs, a), y!, a.activation, rule?.activation) : dy!;
      return [
        needs[0] ? conv2dBackwardInputRef(dz, w!, x!.shape, attrs) : null,
        needs[1] ? conv2dBackwardWeightRef(dz, x!, w!.shape, attrs) : null,
        ...(b ? [needs[2] ? conv2dBackwardBiasRef(dz) : null] : []),
      ];
    },
  },
  doc: (a) => convDoc(a.activation),
  describe: (a) => describeConv(a),
  checks: convChecks(),
});

/** y = f(Conv(x, w, b)) on the GPU, recorded on the tape (the techniques' and tests' entry). */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null, attrs: ConvAttrs = convAttrs(), name = 'conv'): Tensor {
  return apply1(Conv, bias ? [x, w, bias] : [x, w], attrs, name);
}

function uniform(shape: number[], seed: number): HostTensor {
  return host(shape, new Rng(seed).uniforms(shape.reduce((p, d) => p * d, 1)));
}

function convChecks() {
  const check = (name: string, x: number[], w: number[], attrs: ConvAttrs, seed: number, h?: number) => ({
    name,
    inputs: () => [uniform(x, seed), uniform(w, seed + 1), uniform([w[0]!], seed + 2)],
    attrs,
    ...(h !== undefined && { h }),
  });
  return [
    check('Conv 3×3 s1 p1', [2, 3, 6, 5], [4, 3, 3, 3], convAttrs({ pads: [1, 1, 1, 1] }), 1),
    check('Conv 3×3 s2 p0', [1, 5, 9, 8], [3, 5, 3, 3], convAttrs({ strides: [2, 2] }), 2),
    check('Conv 1×1', [2, 6, 4, 3], [5, 6, 1, 1], convAttrs(), 3),
    // With a fused ReLU the loss has kinks where an output crosses 0; a smaller step keeps the probes of these seeds on
    // one side of every kink (the op is linear elsewhere, so float64 differences stay exact to ~1e-11).
    check('Conv 3×3 s1 p1 + relu', [1, 4, 6, 6], [6, 4, 3, 3], convAttrs({ pads: [1, 1, 1, 1], activation: Relu.with({}) }), 4, 1e-5),
    check('Conv 2×3 pads 0,1,2,0 s2,1 d1,2', [1, 3, 7, 8], [4, 3, 2, 3], convAttrs({ pads: [0, 1, 2, 0], strides: [2, 1], dilations: [1, 2] }), 5),
    check('Conv 3×3 group 2', [1, 4, 5, 5], [6, 2, 3, 3], convAttrs({ pads: [1, 1, 1, 1], group: 2 }), 6),
    check('Conv 3×3 depthwise s2 pads 0,0,1,1', [2, 6, 7, 7], [6, 1, 3, 3], convAttrs({ strides: [2, 2], pads: [0, 0, 1, 1], group: 6 }), 7),
    check('Conv 3×3 group 4 of 4×4 (tiles hold 4 groups)', [1, 16, 5, 5], [16, 4, 3, 3], convAttrs({ pads: [1, 1, 1, 1], group: 4 }), 8),
  ];
}
