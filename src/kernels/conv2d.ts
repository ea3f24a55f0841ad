/**
 * 2-D convolution with ONNX Conv semantics on NCHW float32 tensors (shaders/conv2d.wgsl): shape rules, the dispatch
 * of the forward and of the three backward kernels, and float64 references of all four.
 *
 *   y[n,o,oh,ow] = b[o] + Σ_{c,kh,kw} w[o,c,kh,kw] · x[n, g·Cg + c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw]
 *
 * x is [N, C, H, W], w is [O, Cg, KH, KW] with Cg = C / group, b is [O], and output channel o belongs to group
 * g = o / (O / group). Positions outside the image read 0 (the padding). The output is [N, O, OH, OW] with
 *
 *   OH = ⌊(H + pt + pb − ((KH − 1)·dh + 1)) / sh⌋ + 1     (and likewise OW)
 *
 * The backward derivations are written beside each kernel in the .wgsl file and beside each reference here.
 *
 * Two versions, side by side as in llm.c: version 1, the "direct" kernels here (one invocation per element of the
 * result; simple enough to check by eye), and version 2, the fast kernels: the register-tiled implicit GEMM of
 * conv2d-tiled.ts for ordinary and grouped convolutions (about 20× faster on lavapipe), and for depthwise ones
 * (one input channel per group) the stencil kernel of conv2d-depthwise.ts. All share `conv2dGeometry`. The forward
 * and the backward to the input use version 2 where it applies; the weight and bias gradients, which the techniques
 * never need, stay on version 1.
 */
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, type Shape } from '../gpu/tensor.js';
import { IDENTITY, activationConstants, type ActivationFn } from './activation.js';
import { ELEMENTWISE_WG, sameDevice } from './common.js';
import { host, type HostTensor } from './host.js';
import { conv2dBackwardInputTiled, conv2dForwardTiled, tiledBackwardInputSupports, tiledForwardSupports, type ConvTuning, DEFAULT_TUNING } from './conv2d-tiled.js';
import { conv2dBackwardInputDepthwise, conv2dForwardDepthwise, depthwiseBackwardInputSupports, depthwiseForwardSupports } from './conv2d-depthwise.js';

/** Conv attributes as ONNX names them (kernel_shape comes from w; auto_pad must be resolved to pads by the caller). */
export interface Conv2dAttrs {
  /** [sh, sw] */
  strides: readonly [number, number];
  /** [dh, dw] */
  dilations: readonly [number, number];
  /** [top, left, bottom, right]: ONNX's order x1_begin, x2_begin, x1_end, x2_end */
  pads: readonly [number, number, number, number];
  group: number;
}

/** What callers pass: any attribute left out takes its ONNX default (strides 1, dilations 1, pads 0, group 1). */
export type Conv2dAttrsInput = Partial<Conv2dAttrs>;

/** A shape, or anything that has one (Tensor, HostTensor). */
export type ShapeLike = Shape | { shape: Shape; name?: string };

/** Every size a conv kernel needs, checked and derived once from the shapes and attributes. */
export interface Conv2dGeometry {
  batch: number;
  inChannels: number;
  inH: number;
  inW: number;
  outChannels: number;
  outH: number;
  outW: number;
  kH: number;
  kW: number;
  group: number;
  /** input channels per group (= w.shape[1]) */
  groupIn: number;
  /** output channels per group */
  groupOut: number;
  strideH: number;
  strideW: number;
  dilH: number;
  dilW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
}

export interface Conv2dForwardOptions {
  /** the activation applied to each result before it is stored (the epilogue; default none) */
  activation?: ActivationFn;
  name?: string;
  /** kernel version: 1 = direct, 2 = tiled implicit GEMM (default: 2 where it applies) */
  version?: 1 | 2;
  /** switches for the ablation benchmark (default: every optimization on) */
  tuning?: ConvTuning;
}

/** The kernel version used when none is asked for: 2 where it applies. */
function pickVersion(asked: 1 | 2 | undefined, supported: boolean, tuning: ConvTuning): 1 | 2 {
  if (asked === 2) {
    check(supported, 'conv2d: version 2 does not support this convolution (groups that do not tile by 16 rows, or a backward with dilation and stride)');
  }
  return asked ?? (supported ? tuning.defaultVersion : 1);
}

const shapeOf = (t: ShapeLike): Shape => ('shape' in t ? t.shape : t);

const isPositiveInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;
const isNonNegativeInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;

function listOf(v: unknown, length: number, ok: (x: unknown) => boolean): boolean {
  return Array.isArray(v) && v.length === length && v.every(ok);
}

const fmtValue = (v: unknown): string => (Array.isArray(v) ? fmtShape(v as number[]) : String(v));

/** The attributes with ONNX defaults filled in, each checked. */
export function resolveConv2dAttrs(attrs: Conv2dAttrsInput = {}, what = 'conv2d'): Conv2dAttrs {
  const strides = attrs.strides ?? [1, 1];
  const dilations = attrs.dilations ?? [1, 1];
  const pads = attrs.pads ?? [0, 0, 0, 0];
  const group = attrs.group ?? 1;
  check(listOf(strides, 2, isPositiveInt), () => `${what}: strides ${fmtValue(strides)} must be two positive integers [sh,sw]`);
  check(listOf(dilations, 2, isPositiveInt), () => `${what}: dilations ${fmtValue(dilations)} must be two positive integers [dh,dw]`);
  check(
    listOf(pads, 4, isNonNegativeInt),
    () => `${what}: pads ${fmtValue(pads)} must be four non-negative integers [top,left,bottom,right]`,
  );
  check(isPositiveInt(group), () => `${what}: group ${fmtValue(group)} must be a positive integer`);
  return { strides: [strides[0], strides[1]], dilations: [dilations[0], dilations[1]], pads: [pads[0], pads[1], pads[2], pads[3]], group };
}

function check4d(t: ShapeLike, role: string, what: string): [number, number, number, number] {
  const s = shapeOf(t);
  check(
    Array.isArray(s) && s.length === 4 && s.every(isPositiveInt),
    () => `${what}: ${role} ${fmtValue(s)} must be 4-D with positive sizes (${role === 'weights' ? 'O,Cin/group,KH,KW' : 'N,C,H,W'})`,
  );
  return s as unknown as [number, number, number, number];
}

/**
 * The shape rules of Conv: checks x, w (and the bias, when given) against the attributes and derives every size.
 * Throws a PixelpropError naming the first thing that is wrong; nothing has been dispatched or allocated yet.
 */
export function conv2dGeometry(
  x: ShapeLike,
  w: ShapeLike,
  attrsIn: Conv2dAttrsInput | Conv2dAttrs = {},
  bias: ShapeLike | null = null,
  what = 'conv2d',
): Conv2dGeometry {
  const attrs = resolveConv2dAttrs(attrsIn, what);
  const [batch, inChannels, inH, inW] = check4d(x, 'input', what);
  const [outChannels, groupIn, kH, kW] = check4d(w, 'weights', what);
  const { group } = attrs;
  const [strideH, strideW] = attrs.strides;
  const [dilH, dilW] = attrs.dilations;
  const [padTop, padLeft, padBottom, padRight] = attrs.pads;
  check(inChannels % group === 0, () => `${what}: group ${group} does not divide the input's ${inChannels} channels`);
  check(outChannels % group === 0, () => `${what}: group ${group} does not divide the ${outChannels} output channels of the weights`);
  check(
    groupIn * group === inChannels,
    () =>
      `${what}: channel mismatch, the input has ${inChannels} channels but weights ${fmtShape(shapeOf(w))} with group ${group} ` +
      `expect ${groupIn * group} (= Cin ${groupIn} × group ${group})`,
  );
  if (bias !== null) {
    const b = shapeOf(bias);
    check(
      b.length === 1 && b[0] === outChannels,
      () => `${what}: bias ${fmtShape(b)} does not match the ${outChannels} output channels of the weights (expected [${outChannels}])`,
    );
  }
  const spanH = (kH - 1) * dilH + 1; // rows the dilated kernel covers
  const spanW = (kW - 1) * dilW + 1;
  check(
    spanH <= inH + padTop + padBottom && spanW <= inW + padLeft + padRight,
    () =>
      `${what}: the ${kH}×${kW} kernel (dilations ${fmtShape(attrs.dilations)}) spans ${spanH}×${spanW}, larger than the padded ` +
      `input ${inH + padTop + padBottom}×${inW + padLeft + padRight} (${inH}×${inW} with pads ${fmtShape(attrs.pads)}): no output`,
  );
  return {
    batch,
    inChannels,
    inH,
    inW,
    outChannels,
    outH: Math.floor((inH + padTop + padBottom - spanH) / strideH) + 1,
    outW: Math.floor((inW + padLeft + padRight - spanW) / strideW) + 1,
    kH,
    kW,
    group,
    groupIn,
    groupOut: outChannels / group,
    strideH,
    strideW,
    dilH,
    dilW,
    padTop,
    padLeft,
    padBottom,
    padRight,
  };
}

/** The output shape [N, O, OH, OW] of Conv(x, w, bias) under `attrs` (throws on bad input, see conv2dGeometry). */
export function conv2dShape(x: ShapeLike, w: ShapeLike, attrs: Conv2dAttrsInput = {}, bias: ShapeLike | null = null): number[] {
  return outputShape(conv2dGeometry(x, w, attrs, bias));
}

function outputShape(g: Conv2dGeometry): number[] {
  return [g.batch, g.outChannels, g.outH, g.outW];
}
const inputShape = (g: Conv2dGeometry): number[] => [g.batch, g.inChannels, g.inH, g.inW];
const weightShape = (g: Conv2dGeometry): number[] => [g.outChannels, g.groupIn, g.kH, g.kW];

function checkGradShape(dy: ShapeLike, g: Conv2dGeometry, what: string): void {
  const s = shapeOf(dy);
  const want = outputShape(g);
  check(
    s.length === 4 && s.every((d, i) => d === want[i]),
    () => `${what}: dy ${fmtShape(s)} does not match the convolution's output shape ${fmtShape(want)}`,
  );
}

/** The geometry fields of the Params struct of shaders/conv2d.wgsl, shared by its four entry points. */
const params = {
  total: 'u32',
  batch: 'u32',
  in_channels: 'u32',
  in_h: 'u32',
  in_w: 'u32',
  out_channels: 'u32',
  out_h: 'u32',
  out_w: 'u32',
  k_h: 'u32',
  k_w: 'u32',
  group_in: 'u32',
  group_out: 'u32',
  stride_h: 'u32',
  stride_w: 'u32',
  dil_h: 'u32',
  dil_w: 'u32',
  pad_top: 'u32',
  pad_left: 'u32',
} as const;

const shader = ['common', 'activation', 'conv2d'];
const constants = { WG: ELEMENTWISE_WG };
const kernels = {
  forward: defineKernel({ shader, entry: 'conv2d_forward_direct', constants, params, bindings: { x: 'read', w: 'read', bias: 'read?', out: 'read_write' } }),
  backwardInput: defineKernel({ shader, entry: 'conv2d_backward_input_direct', constants, params, bindings: { w: 'read', dy: 'read', out: 'read_write' } }),
  backwardWeight: defineKernel({ shader, entry: 'conv2d_backward_weight_direct', constants, params, bindings: { x: 'read', dy: 'read', out: 'read_write' } }),
  backwardBias: defineKernel({ shader, entry: 'conv2d_backward_bias', constants, params, bindings: { dy: 'read', out: 'read_write' } }),
};

/** The Params of shaders/conv2d.wgsl for `g`; `total` is the number of result elements. */
export function conv2dParams(g: Conv2dGeometry, total: number): { readonly [K in keyof typeof params]: number } {
  return {
    total,
    batch: g.batch,
    in_channels: g.inChannels,
    in_h: g.inH,
    in_w: g.inW,
    out_channels: g.outChannels,
    out_h: g.outH,
    out_w: g.outW,
    k_h: g.kH,
    k_w: g.kW,
    group_in: g.groupIn,
    group_out: g.groupOut,
    stride_h: g.strideH,
    stride_w: g.strideW,
    dil_h: g.dilH,
    dil_w: g.dilW,
    pad_top: g.padTop,
    pad_left: g.padLeft,
  };
}

/**
 * y = Conv(x, w, bias), optionally followed by a fused ReLU, in one dispatch. Encodes the work and returns the output
 * tensor (owned by the caller).
 */
export function conv2dForward(
  x: Tensor,
  w: Tensor,
  bias: Tensor | null,
  attrs: Conv2dAttrsInput = {},
  options: Conv2dForwardOptions = {},
): Tensor {
  const name = options.name ?? 'conv2d';
  const g = conv2dGeometry(x, w, attrs, bias, `conv2d '${name}'`);
  const gpu = sameDevice(bias ? [x, w, bias] : [x, w], `conv2d '${name}'`);
  const y = Tensor.empty(gpu, outputShape(g), name);
  const activation = options.activation ?? IDENTITY;
  const depthwise = depthwiseForwardSupports(g);
  if (pickVersion(options.version, depthwise || tiledForwardSupports(g), options.tuning ?? DEFAULT_TUNING) === 2) {
    if (depthwise) conv2dForwardDepthwise(g, x, w, bias, y, activation);
    else conv2dForwardTiled(g, x, w, bias, y, activation, undefined, options.tuning);
    return y;
  }
  kernels.forward.dispatch(gpu, {
    bind: { x, w, bias, out: y },
    params: conv2dParams(g, y.size),
    grid: { threads: y.size },
    constants: { HAS_BIAS: bias ? 1 : 0, ...activationConstants(activation) },
  });
  return y;
}

export interface Conv2dBackwardInputOptions {
  name?: string;
  version?: 1 | 2;
  /** the only output channels where dy can be non-zero (a one-hot class gradient): version 2 sums over those alone */
  dyChannels?: readonly number[] | null;
  tuning?: ConvTuning;
}

/** dx = ∂L/∂x of shape `xShape` from dy = ∂L/∂y (the transposed convolution; derivation in conv2d.wgsl). */
export function conv2dBackwardInput(dy: Tensor, w: Tensor, xShape: Shape, attrs: Conv2dAttrsInput = {}, options: Conv2dBackwardInputOptions = {}): Tensor {
  const name = options.name ?? 'conv2d.dx';
  const what = `conv2d backward input '${name}'`;
  const g = conv2dGeometry(xShape, w, attrs, null, what);
  checkGradShape(dy, g, what);
  const gpu = sameDevice([dy, w], what);
  const dx = Tensor.empty(gpu, inputShape(g), name);
  const tuning = options.tuning ?? DEFAULT_TUNING;
  const depthwise = depthwiseBackwardInputSupports(g);
  if (pickVersion(options.version, depthwise || tiledBackwardInputSupports(g), tuning) === 2) {
    if (depthwise) conv2dBackwardInputDepthwise(g, dy, w, dx);
    else conv2dBackwardInputTiled(g, dy, w, dx, { channels: options.dyChannels ?? null, tuning });
    return dx;
  }
  kernels.backwardInput.dispatch(gpu, { bind: { w, dy, out: dx }, params: conv2dParams(g, dx.size), grid: { threads: dx.size } });
  return dx;
}

/** dw = ∂L/∂w of shape `wShape` from dy and the forward's input x (derivation in conv2d.wgsl). */
export function conv2dBackwardWeight(dy: Tensor, x: Tensor, wShape: Shape, attrs: Conv2dAttrsInput = {}, name = 'conv2d.dw'): Tensor {
  const what = `conv2d backward weight '${name}'`;
  const g = conv2dGeometry(x, wShape, attrs, null, what);
  checkGradShape(dy, g, what);
  const gpu = sameDevice([dy, x], what);
  const dw = Tensor.empty(gpu, weightShape(g), name);
  kernels.backwardWeight.dispatch(gpu, { bind: { x, dy, out: dw }, params: conv2dParams(g, dw.size), grid: { threads: dw.size } });
  return dw;
}

/** db = ∂L/∂b, the per-channel sum of dy over n, h, w (derivation in conv2d.wgsl). */
export function conv2dBackwardBias(dy: Tensor, name = 'conv2d.db'): Tensor {
  const [batch, outChannels, outH, outW] = check4d(dy, 'dy', `conv2d backward bias '${name}'`);
  // The kernel reads only the output sizes: a 1×1 convolution whose output has dy's shape describes them.
  const g = conv2dGeometry([batch, outChannels, outH, outW], [outChannels, outChannels, 1, 1]);
  const db = Tensor.empty(dy.gpu, [outChannels], name);
  // One workgroup per channel, its invocations summing strided parts of the channel's N·OH·OW values.
  kernels.backwardBias.dispatch(dy.gpu, { bind: { dy, out: db }, params: conv2dParams(g, db.size), grid: dy.gpu.grid(outChannels) });
  return db;
}

// ---------------------------------------------------------------------------------------------------------------------
// float64 references

/**
 * Visits every term of the forward sum — each (n, o, oh, ow, c, kh, kw) whose input position lies inside the image
 * (a padded position contributes 0, so it has no term) — a run at a time: for fixed (n, o, c, kh, kw, oh), the
 * output columns ow ∈ [owFirst, owEnd) whose input column iw = ow·sw − pl + kw·dw lies inside the image. Term j of
 * the run connects y[yi + j], x[xi + j·sw] and w[wi]. These are the loops of the definition with ow innermost and its
 * bounds solved once per run instead of testing every iw: the float64 SqueezeNet (the CPU path of src/graph/model.ts,
 * run on every test photo) then costs about a second per image instead of six. Each y still sums its terms in the
 * order (c, kh, kw). The forward and all three backwards below are the same sum, each accumulating into a different
 * one of the three tensors a term connects.
 */
function forEachRun(g: Conv2dGeometry, run: (yi: number, xi: number, wi: number, count: number) => void): void {
  for (let n = 0; n < g.batch; n++) {
    for (let o = 0; o < g.outChannels; o++) {
      const group = Math.floor(o / g.groupOut);
      for (let c = 0; c < g.groupIn; c++) {
        const ic = group * g.groupIn + c;
        for (let kh = 0; kh < g.kH; kh++) {
          for (let kw = 0; kw < g.kW; kw++) {
            const wi = ((o * g.groupIn + c) * g.kH + kh) * g.kW + kw;
            // iw = ow·sw + shift is inside [0, W) exactly for ow in [owFirst, owEnd).
            const shift = kw * g.dilW - g.padLeft;
            const owFirst = Math.max(0, Math.ceil(-shift / g.strideW));
            const owEnd = Math.min(g.outW, Math.floor((g.inW - 1 - shift) / g.strideW) + 1);
            if (owEnd <= owFirst) continue;
            for (let oh = 0; oh < g.outH; oh++) {
              const ih = oh * g.strideH - g.padTop + kh * g.dilH;
              if (ih < 0 || ih >= g.inH) continue;
              const yi = ((n * g.outChannels + o) * g.outH + oh) * g.outW + owFirst;
              const xi = ((n * g.inChannels + ic) * g.inH + ih) * g.inW + owFirst * g.strideW + shift;
              run(yi, xi, wi, owEnd - owFirst);
            }
          }
        }
      }
    }
  }
}

/** y[n,o,oh,ow] = b[o] + Σ_{c,kh,kw} w[o,c,kh,kw] · x[n, g·Cg + c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw] */
export function conv2dRef(x: HostTensor, w: HostTensor, bias: HostTensor | null, attrs: Conv2dAttrsInput = {}): HostTensor {
  const g = conv2dGeometry(x, w, attrs, bias);
  const y = host(outputShape(g));
  if (bias) {
    const plane = g.outH * g.outW;
    for (let i = 0; i < y.data.length; i++) y.data[i] = bias.data[Math.floor(i / plane) % g.outChannels]!;
  }
  const [yd, xd, wd, sw] = [y.data, x.data, w.data, g.strideW];
  forEachRun(g, (yi, xi, wi, count) => {
    const weight = wd[wi]!;
    for (let j = 0; j < count; j++) yd[yi + j]! += xd[xi + j * sw]! * weight;
  });
  return y;
}

/**
 * ∂L/∂x. Each term w·x of y's sum sends dy·w back to its x (∂(w·x)/∂x = w), and a pixel collects from every term it
 * appears in: dx[n,c,ih,iw] = Σ_{o,kh,kw : oh·sh − pt + kh·dh = ih, ow·sw − pl + kw·dw = iw} w[o,c−g·Cg,kh,kw] · dy[n,o,oh,ow].
 * Written as a scatter over the terms; the GPU kernel computes the same sum as a gather (one pixel at a time).
 */
export function conv2dBackwardInputRef(dy: HostTensor, w: HostTensor, xShape: Shape, attrs: Conv2dAttrsInput = {}): HostTensor {
  const g = conv2dGeometry(xShape, w, attrs);
  checkGradShape(dy, g, 'conv2d backward input reference');
  const dx = host(inputShape(g));
  const [dxd, wd, dyd, sw] = [dx.data, w.data, dy.data, g.strideW];
  forEachRun(g, (yi, xi, wi, count) => {
    const weight = wd[wi]!;
    for (let j = 0; j < count; j++) dxd[xi + j * sw]! += weight * dyd[yi + j]!;
  });
  return dx;
}

/** ∂L/∂w. Each term sends dy·x to its weight: dw[o,c,kh,kw] = Σ_{n,oh,ow} dy[n,o,oh,ow] · x[n, g·Cg + c, ih, iw]. */
export function conv2dBackwardWeightRef(dy: HostTensor, x: HostTensor, wShape: Shape, attrs: Conv2dAttrsInput = {}): HostTensor {
  const g = conv2dGeometry(x, wShape, attrs);
  checkGradShape(dy, g, 'conv2d backward weight reference');
  const dw = host(weightShape(g));
  const [dwd, dyd, xd, sw] = [dw.data, dy.data, x.data, g.strideW];
  forEachRun(g, (yi, xi, wi, count) => {
    let sum = 0;
    for (let j = 0; j < count; j++) sum += dyd[yi + j]! * xd[xi + j * sw]!;
    dwd[wi]! += sum;
  });
  return dw;
}

/** ∂L/∂b. b[o] is added to every y[n,o,·,·] with derivative 1: db[o] = Σ_{n,oh,ow} dy[n,o,oh,ow]. */
export function conv2dBackwardBiasRef(dy: HostTensor): HostTensor {
  const [batch, outChannels, outH, outW] = check4d(dy, 'dy', 'conv2d backward bias reference');
  const db = host([outChannels]);
  for (let n = 0; n < batch; n++) {
    for (let o = 0; o < outChannels; o++) {
      for (let j = 0; j < outH * outW; j++) db.data[o]! += dy.data[(n * outChannels + o) * outH * outW + j]!;
    }
  }
  return db;
}
