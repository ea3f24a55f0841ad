/**
 * conv2d version 2 for depthwise convolutions: the stencil kernel of shaders/conv2d_depthwise.wgsl, for the forward
 * pass and the backward pass to the input. A depthwise convolution (MobileNet's, EfficientNet's) has one input channel
 * per group, w [O, 1, KH, KW], and output channel o reads input channel o / mult (mult = O / C, usually 1). Version 1
 * (the direct kernels of conv2d.ts) stays the reference and the path for what this one does not cover.
 *
 * Both passes are "result = Σ_taps W · in" over one plane, described per axis by an index map (`AxisMap`):
 *
 * Forward, along one axis (stride s, dilation d, leading pad p, kernel K):
 *   y[oh] = Σ_{kh < K} w[kh] · x[oh·s + kh·d − p]                      one pass: taps kh = a, input row oh·s + a·d − p.
 *
 * Backward to x, along one axis: x[ih] was read by y[oh] through tap kh wherever oh·s + kh·d − p = ih, so
 *   dx[ih] = Σ_{kh : (ih + p − kh·d) divisible by s} w[kh] · dy[(ih + p − kh·d) / s].
 *   - s = 1: every tap contributes, dy row ih + p − kh·d. With the kernel flipped, a = K − 1 − kh, the row is
 *     ih + p − (K − 1)·d + a·d — the forward's stencil again, over dy, with W tap K − 1 − a.
 *   - s > 1 (and d = 1): which taps reach ih depends on ih mod s. Phase r holds the rows ih = r + s·i; its taps are
 *     kh = k0 + s·a′ with k0 = (r + p) mod s, a′ < T = ⌈(K − k0)/s⌉, reading dy row i + (r + p − k0)/s − a′. Flipped,
 *     a = T − 1 − a′: dy row i + off − (T − 1) + a, W tap k0 + s·(T − 1) − s·a, and the results land on rows r + s·i.
 *     One dispatch per phase pair (rh, rw): 4 for MobileNet's stride-2 layers, each with 1 to 4 of the 9 taps.
 * With a channel multiplier, input channel c collects from its mult output channels c·mult + k (k < mult).
 */
import type { Gpu } from '../gpu/device.js';
import { defineKernel } from '../gpu/kernel.js';
import type { Tensor } from '../gpu/tensor.js';
import { IDENTITY, activationConstants, type ActivationFn } from './activation.js';
import type { Conv2dGeometry } from './conv2d.js';

/** Results per invocation along a row (PIX in the shader) and the widest input window it holds (MAX_WINDOW). */
const PIX = 4;
const MAX_WINDOW = 32;
const WG = 64;

/** One axis of a pass: results i < grid read input i·inStride + a·tapStep + inOff with W tap wBase + a·wStep. */
interface AxisMap {
  grid: number;
  inStride: number;
  tapStep: number;
  inOff: number;
  taps: number;
  wBase: number;
  wStep: number;
  outStride: number;
  outOff: number;
}

function forwardAxis(out: number, s: number, d: number, p: number, k: number): AxisMap {
  return { grid: out, inStride: s, tapStep: d, inOff: -p, taps: k, wBase: 0, wStep: 1, outStride: 1, outOff: 0 };
}

/** The phases of the backward along one axis (derivation above), or null where stride and dilation are both > 1. */
function backwardAxis(inSize: number, s: number, d: number, p: number, k: number): AxisMap[] | null {
  if (s === 1) return [{ grid: inSize, inStride: 1, tapStep: d, inOff: p - (k - 1) * d, taps: k, wBase: k - 1, wStep: -1, outStride: 1, outOff: 0 }];
  if (d !== 1) return null;
  const phases: AxisMap[] = [];
  for (let r = 0; r < s; r++) {
    const grid = Math.ceil((inSize - r) / s);
    if (grid <= 0) continue;
    const k0 = (r + p) % s;
    const taps = Math.max(0, Math.ceil((k - k0) / s));
    const off = (r + p - k0) / s;
    phases.push({ grid, inStride: 1, tapStep: 1, inOff: off - (taps - 1), taps, wBase: k0 + s * (taps - 1), wStep: -s, outStride: s, outOff: r });
  }
  return phases;
}

/** Input columns one invocation's row of PIX results reads (WINDOW in the shader). */
const windowOf = (m: AxisMap): number => (PIX - 1) * m.inStride + (m.taps - 1) * m.tapStep + 1;

const isDepthwise = (g: Conv2dGeometry): boolean => g.groupIn === 1 && g.group > 1;

/** Whether the depthwise kernel computes this convolution's forward pass. */
export function depthwiseForwardSupports(g: Conv2dGeometry): boolean {
  return isDepthwise(g) && windowOf(forwardAxis(g.outW, g.strideW, g.dilW, g.padLeft, g.kW)) <= MAX_WINDOW;
}

/** Whether it computes the backward pass to the input (not where an axis has both stride and dilation > 1). */
export function depthwiseBackwardInputSupports(g: Conv2dGeometry): boolean {
  const cols = backwardAxis(g.inW, g.strideW, g.dilW, g.padLeft, g.kW);
  return isDepthwise(g) && backwardAxis(g.inH, g.strideH, g.dilH, g.padTop, g.kH) !== null && cols !== null && cols.every((c) => windowOf(c) <= MAX_WINDOW);
}

const params = {
  total: 'u32',
  channels: 'u32',
  grid_h: 'u32',
  grid_w: 'u32',
  tiles_w: 'u32',
  in_channels: 'u32',
  in_h: 'u32',
  in_w: 'u32',
  in_stride_h: 'u32',
  tap_step_h: 'u32',
  in_off_h: 'i32',
  in_off_w: 'i32',
  ch_div: 'u32',
  ch_mul: 'u32',
  n_count: 'u32',
  w_mul: 'u32',
  w_taps: 'u32',
  w_base: 'i32',
  w_stride_a: 'i32',
  w_stride_b: 'i32',
  out_channels: 'u32',
  out_h: 'u32',
  out_w: 'u32',
  out_stride_h: 'u32',
  out_stride_w: 'u32',
  out_off_h: 'u32',
  out_off_w: 'u32',
} as const;

const depthwise = defineKernel({
  shader: ['common', 'activation', 'conv2d_depthwise'],
  entry: 'conv2d_depthwise',
  constants: { WG },
  params,
  bindings: { src: 'read', w: 'read', bias: 'read?', out: 'read_write' },
});

/** Where the result channels m read: input channel (m / div)·mul + k for k < count, weight channel m·wMul + k. */
interface Channels {
  results: number;
  inChannels: number;
  div: number;
  mul: number;
  count: number;
  wMul: number;
}

function dispatch(
  gpu: Gpu,
  label: string,
  g: Conv2dGeometry,
  rows: AxisMap,
  cols: AxisMap,
  ch: Channels,
  inHW: [number, number],
  outShape: [number, number, number],
  tensors: { src: Tensor; w: Tensor; bias: Tensor | null; out: Tensor },
  activation: ActivationFn,
): void {
  const tilesW = Math.ceil(cols.grid / PIX);
  const total = g.batch * ch.results * rows.grid * tilesW;
  // A phase without taps along an axis (a stride larger than the kernel) writes zeros: no loop runs at all.
  const empty = rows.taps === 0 || cols.taps === 0;
  depthwise.dispatch(gpu, {
    label,
    bind: tensors,
    params: {
      total,
      channels: ch.results,
      grid_h: rows.grid,
      grid_w: cols.grid,
      tiles_w: tilesW,
      in_channels: ch.inChannels,
      in_h: inHW[0],
      in_w: inHW[1],
      in_stride_h: rows.inStride,
      tap_step_h: rows.tapStep,
      in_off_h: rows.inOff,
      in_off_w: cols.inOff,
      ch_div: ch.div,
      ch_mul: ch.mul,
      n_count: ch.count,
      w_mul: ch.wMul,
      w_taps: g.kH * g.kW,
      w_base: rows.wBase * g.kW + cols.wBase,
      w_stride_a: rows.wStep * g.kW,
      w_stride_b: cols.wStep,
      out_channels: outShape[0],
      out_h: outShape[1],
      out_w: outShape[2],
      out_stride_h: rows.outStride,
      out_stride_w: cols.outStride,
      out_off_h: rows.outOff,
      out_off_w: cols.outOff,
    },
    grid: { threads: total },
    constants: {
      HAS_BIAS: tensors.bias ? 1 : 0,
      TAPS_H: empty ? 0 : rows.taps,
      TAPS_W: empty ? 1 : cols.taps,
      IN_STRIDE_W: cols.inStride,
      TAP_STEP_W: cols.tapStep,
      ...activationConstants(activation),
    },
  });
}

/** y = activation(depthwise conv(x, w) + b) into `y` (allocated with the output shape). */
export function conv2dForwardDepthwise(g: Conv2dGeometry, x: Tensor, w: Tensor, bias: Tensor | null, y: Tensor, activation: ActivationFn): void {
  const mult = g.groupOut;
  dispatch(
    x.gpu,
    'conv2d.depthwise_forward',
    g,
    forwardAxis(g.outH, g.strideH, g.dilH, g.padTop, g.kH),
    forwardAxis(g.outW, g.strideW, g.dilW, g.padLeft, g.kW),
    { results: g.outChannels, inChannels: g.inChannels, div: mult, mul: 1, count: 1, wMul: 1 },
    [g.inH, g.inW],
    [g.outChannels, g.outH, g.outW],
    { src: x, w, bias, out: y },
    activation,
  );
}

/** dx = the transposed depthwise convolution of dy into `dx`: one dispatch per stride phase (derivation above). */
export function conv2dBackwardInputDepthwise(g: Conv2dGeometry, dy: Tensor, w: Tensor, dx: Tensor): void {
  const rows = backwardAxis(g.inH, g.strideH, g.dilH, g.padTop, g.kH)!;
  const cols = backwardAxis(g.inW, g.strideW, g.dilW, g.padLeft, g.kW)!;
  const mult = g.groupOut;
  for (const r of rows) {
    for (const c of cols) {
      dispatch(
        dy.gpu,
        'conv2d.depthwise_backward_input',
        g,
        r,
        c,
        { results: g.inChannels, inChannels: g.outChannels, div: 1, mul: mult, count: mult, wMul: mult },
        [g.outH, g.outW],
        [g.inChannels, g.inH, g.inW],
        { src: dy, w, bias: null, out: dx },
        IDENTITY,
      );
    }
  }
}
