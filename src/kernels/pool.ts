/**
 * Pooling (shaders/pool.wgsl): MaxPool and AveragePool with ONNX's attributes, and GlobalAveragePool, on NCHW
 * float32 tensors — forward, backward, and the float64 references of both.
 *
 * Shape rule (ONNX MaxPool/AveragePool, explicit pads; the same as PyTorch's). Per spatial axis, with the window's
 * extent span = (kernel − 1)·dilation + 1,
 *
 *     out = floor((in + pad_begin + pad_end − span) / stride) + 1          ceil_mode = 0
 *     out = ceil ((in + pad_begin + pad_end − span) / stride) + 1          ceil_mode = 1,
 *           minus 1 when the last window would start at or past in + pad_begin,
 *
 * i.e. with ceil_mode a window must start inside the input or the top/left padding ("sliding windows that would
 * start in the right padded region are ignored"); it may end past the bottom/right padding. `pads` are ONNX's
 * [x1_begin, x2_begin, x1_end, x2_end] = [top, left, bottom, right].
 *
 * AveragePool's divisor. count_include_pad = 0: the number of the window's taps that lie on the input.
 * count_include_pad = 1: the number of taps inside the explicitly padded input [−pad_begin, in + pad_end) — the pads
 * count as zeros, but the part of a ceil_mode window that hangs past the padded edge does not count. This is
 * PyTorch's rule (aten avg_pool2d: hend = min(hstart + k, in + pad), pool_size = (hend − hstart)·(wend − wstart)).
 * ONNX's text only says "exclude pad when count_include_pad is zero", and runtimes have differed on the overhang
 * (onnxruntime CPU kernels we read divide by the whole kernel area; tract and rten changed theirs to PyTorch's count),
 * so we follow PyTorch. SqueezeNet's own AveragePool (13×13, stride 1, on 13×13, no pads) does not meet the question.
 *
 * Attributes are checked before anything is allocated or dispatched: kernel, stride and dilation ≥ 1, pads ≥ 0 and
 * smaller than the window's extent along their axis (else a window could lie entirely in padding), and an output of
 * at least one element per axis in which every window covers at least one input element.
 */
import type { Gpu } from '../gpu/device.js';
import { PixelpropError, check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, checkShape, type Shape } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, sameDevice, sameShape } from './common.js';
import { host, nchw, type HostTensor } from './host.js';

/** MaxPool's attributes, named as in ONNX but camelCase. Lists are [height, width] unless said otherwise. */
export interface PoolAttributes {
  kernelShape: readonly number[];
  /** default [1, 1] */
  strides?: readonly number[];
  /** [top, left, bottom, right] (ONNX's [x1_begin, x2_begin, x1_end, x2_end]); default zeros */
  pads?: readonly number[];
  /** default [1, 1] */
  dilations?: readonly number[];
  /** ONNX ceil_mode: false/0 rounds the output size down, true/1 up (default false) */
  ceilMode?: boolean | number;
}

export interface AveragePoolAttributes extends PoolAttributes {
  /** ONNX count_include_pad: whether padding taps count in the divisor (default false) */
  countIncludePad?: boolean | number;
}

export type PoolOp = 'MaxPool' | 'AveragePool';

/** Attributes with every default filled in and every value checked; what the kernels and the tape keep. */
export interface ResolvedPoolAttributes {
  readonly kernelShape: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly ceilMode: boolean;
  readonly countIncludePad: boolean;
}

/** Everything a pooling kernel needs to know about one input shape. */
export interface PoolGeometry extends ResolvedPoolAttributes {
  readonly batch: number;
  readonly channels: number;
  readonly inH: number;
  readonly inW: number;
  readonly outH: number;
  readonly outW: number;
}

const fmtList = (v: unknown): string => (Array.isArray(v) ? fmtShape(v) : String(v));

function intList(op: PoolOp, attr: string, value: unknown, count: number, min: number, what: string): number[] {
  check(
    Array.isArray(value) && value.length === count && value.every((d) => Number.isInteger(d) && d >= min),
    () => `${op}: ${attr} ${fmtList(value)} must be ${count} integers ≥ ${min} (${what})`,
  );
  return [...(value as number[])];
}

function flag(op: PoolOp, attr: string, value: unknown): boolean {
  if (value === undefined || value === false || value === 0) return false;
  if (value === true || value === 1) return true;
  throw new PixelpropError(`${op}: ${attr} must be 0 or 1, got ${String(value)}`);
}

/**
 * Checks the attributes that do not depend on the input shape and fills in ONNX's defaults. Only 2-D pooling of
 * NCHW tensors is supported; auto_pad and storage_order are not attributes here (an ONNX loader turns auto_pad into
 * explicit pads).
 */
export function resolvePoolAttributes(op: PoolOp, attrs: AveragePoolAttributes): ResolvedPoolAttributes {
  check(attrs !== null && typeof attrs === 'object', `${op}: attributes must be an object with at least kernelShape`);
  const kernelShape = intList(op, 'kernel_shape', attrs.kernelShape, 2, 1, 'height and width of the window; 2-D pooling only');
  const strides = intList(op, 'strides', attrs.strides ?? [1, 1], 2, 1, 'height and width');
  const pads = intList(op, 'pads', attrs.pads ?? [0, 0, 0, 0], 4, 0, 'top, left, bottom, right');
  const dilations = intList(op, 'dilations', attrs.dilations ?? [1, 1], 2, 1, 'height and width');
  const ceilMode = flag(op, 'ceil_mode', attrs.ceilMode);
  const countIncludePad = flag(op, 'count_include_pad', attrs.countIncludePad);
  check(op === 'AveragePool' || !countIncludePad, () => `${op}: count_include_pad is an AveragePool attribute`);
  for (const axis of [0, 1]) {
    const span = (kernelShape[axis]! - 1) * dilations[axis]! + 1;
    const [begin, end] = [pads[axis]!, pads[axis + 2]!];
    check(
      begin < span && end < span,
      () =>
        `${op}: pads ${fmtShape(pads)} must be smaller than the window (${span} along the ${axis === 0 ? 'height' : 'width'}, ` +
        `kernel ${kernelShape[axis]} dilation ${dilations[axis]}), else a window could lie entirely in padding`,
    );
  }
  return Object.freeze({
    kernelShape: kernelShape as [number, number],
    strides: strides as [number, number],
    pads: pads as [number, number, number, number],
    dilations: dilations as [number, number],
    ceilMode,
    countIncludePad,
  });
}

/** The output size along one axis (see the shape rule at the top), with its checks. */
function outputSize(
  op: PoolOp,
  axisName: string,
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padBegin: number,
  padEnd: number,
  ceilMode: boolean,
): number {
  const span = (kernel - 1) * dilation + 1;
  const room = size + padBegin + padEnd - span;
  check(
    room >= 0,
    () => `${op}: input ${axisName} ${size} with pads ${padBegin}+${padEnd} is smaller than the window (${span}): no output`,
  );
  let out = ceilMode ? Math.ceil(room / stride) + 1 : Math.floor(room / stride) + 1;
  if (ceilMode && (out - 1) * stride >= size + padBegin) out--; // the last window would start in the end padding
  // With dilation 1 and pads < kernel every window covers an input element; a dilated window can step over a
  // small input entirely (e.g. taps at −1 and 2 of an input of size 2), and its max or average would be undefined.
  // [issue 10: a loop over every output took seconds for a declared size of 2^31, found by scripts/fuzz.ts] Only a
  // window whose first tap lies in a padding can miss: at the end, all of its taps then do (the last window is the
  // one to test); at the beginning, its first tap at or after 0 is k0 = ⌈−first/dilation⌉: O(1) per window.
  const last = out - 1;
  check(last * stride - padBegin < size, () => `${op}: output ${axisName} position ${last} has a window with no input element (it lies in the end padding)`);
  for (let o = 0; o < Math.min(out, Math.ceil(padBegin / stride) + 1); o++) {
    const first = o * stride - padBegin;
    const k0 = first >= 0 ? 0 : Math.ceil(-first / dilation);
    const covers = k0 < kernel && first + k0 * dilation < size;
    check(covers, () => `${op}: output ${axisName} position ${o} has a window with no input element (dilation ${dilation} steps over the ${size} inputs)`);
  }
  return out;
}

/** Checks x's shape and the attributes, and computes the output's size. Throws a one-line PixelpropError. */
export function poolGeometry(op: PoolOp, xShape: Shape, attrs: AveragePoolAttributes): PoolGeometry {
  checkShape(xShape, op);
  const [batch, channels, inH, inW] = nchw({ shape: xShape }, op);
  const a = resolvePoolAttributes(op, attrs);
  const outH = outputSize(op, 'height', inH, a.kernelShape[0], a.strides[0], a.dilations[0], a.pads[0], a.pads[2], a.ceilMode);
  const outW = outputSize(op, 'width', inW, a.kernelShape[1], a.strides[1], a.dilations[1], a.pads[1], a.pads[3], a.ceilMode);
  return { ...a, batch, channels, inH, inW, outH, outW };
}

export function poolOutputShape(g: PoolGeometry): [number, number, number, number] {
  return [g.batch, g.channels, g.outH, g.outW];
}

/** The fields of shaders/pool.wgsl's Params, shared by its entry points. */
const params = {
  n: 'u32',
  in_h: 'i32',
  in_w: 'i32',
  out_h: 'i32',
  out_w: 'i32',
  kernel_h: 'i32',
  kernel_w: 'i32',
  stride_h: 'i32',
  stride_w: 'i32',
  dilation_h: 'i32',
  dilation_w: 'i32',
  pad_top: 'i32',
  pad_left: 'i32',
  pad_bottom: 'i32',
  pad_right: 'i32',
  count_include_pad: 'u32',
  planes: 'u32',
  phase_y: 'i32',
  phase_x: 'i32',
  step_y: 'i32',
  step_x: 'i32',
} as const;

/** The Params for geometry g; `phase` = [phase_y, phase_x, step_y, step_x] of max_pool_backward_scatter. */
function poolParams(g: PoolGeometry, n: number, phase: readonly [number, number, number, number] = [0, 0, 1, 1]): { readonly [K in keyof typeof params]: number } {
  return {
    n,
    in_h: g.inH,
    in_w: g.inW,
    out_h: g.outH,
    out_w: g.outW,
    kernel_h: g.kernelShape[0],
    kernel_w: g.kernelShape[1],
    stride_h: g.strides[0],
    stride_w: g.strides[1],
    dilation_h: g.dilations[0],
    dilation_w: g.dilations[1],
    pad_top: g.pads[0],
    pad_left: g.pads[1],
    pad_bottom: g.pads[2],
    pad_right: g.pads[3],
    count_include_pad: g.countIncludePad ? 1 : 0,
    planes: g.batch * g.channels,
    phase_y: phase[0],
    phase_x: phase[1],
    step_y: phase[2],
    step_x: phase[3],
  };
}

const shader = ['common', 'pool'];
const constants = { WG: ELEMENTWISE_WG };
const kernels = {
  maxForwardV1: defineKernel({ shader, entry: 'max_pool_forward', constants, params, bindings: { x: 'read', out: 'read_write' } }),
  maxBackwardV1: defineKernel({ shader, entry: 'max_pool_backward', constants, params, bindings: { x: 'read', dy: 'read', out: 'read_write' } }),
  maxForward: defineKernel({ shader, entry: 'max_pool_forward_grid', params, bindings: { x: 'read', out: 'read_write', argmax: 'read_write?' } }),
  maxBackward: defineKernel({ shader, entry: 'max_pool_backward_scatter', params, bindings: { dy: 'read', argmax_in: 'read', out: 'read_write' } }),
  avgForward: defineKernel({ shader, entry: 'avg_pool_forward', constants, params, bindings: { x: 'read', out: 'read_write' } }),
  avgBackward: defineKernel({ shader, entry: 'avg_pool_backward', constants, params, bindings: { dy: 'read', out: 'read_write' } }),
  globalForwardV1: defineKernel({ shader, entry: 'global_avg_pool_forward', constants, params, bindings: { x: 'read', out: 'read_write' } }),
  globalForward: defineKernel({ shader, entry: 'global_avg_pool_forward_serial', params, bindings: { x: 'read', out: 'read_write' } }),
  globalBackwardV1: defineKernel({ shader, entry: 'global_avg_pool_backward', constants, params, bindings: { dy: 'read', out: 'read_write' } }),
  globalBackward: defineKernel({ shader, entry: 'global_avg_pool_backward_grid', params, bindings: { dy: 'read', out: 'read_write' } }),
};

/** Invocations per workgroup of the serial GlobalAveragePool kernels (their @workgroup_size). */
const GLOBAL_WG = 64;

/** Workgroups of the version-2 kernels: 8 × 8 tiles over (width, height), planes along z (looped past 65535). */
function gridOf(gpu: Gpu, width: number, height: number, planes: number): [number, number, number] {
  return [Math.ceil(width / 8), Math.ceil(height / 8), Math.min(planes, gpu.limits.maxComputeWorkgroupsPerDimension)];
}

// ---------------------------------------------------------------------------------------------------------------
// MaxPool

/** MaxPool forward, version 1: one invocation per output element, indexed by a flat id (the simple kernel). */
export function maxPoolForwardV1(x: Tensor, attrs: PoolAttributes, name = 'maxpool'): Tensor {
  const g = poolGeometry('MaxPool', x.shape, attrs);
  const y = Tensor.empty(x.gpu, poolOutputShape(g), name);
  kernels.maxForwardV1.dispatch(x.gpu, { bind: { x, out: y }, params: poolParams(g, y.size), grid: { threads: y.size } });
  return y;
}

/**
 * MaxPool forward, version 2 (grid-indexed). With `saveArgmax` it also returns each window's argmax (its index in
 * the plane, as f32), which the backward scatters dy through; the caller owns both tensors.
 */
export function maxPoolForward(x: Tensor, attrs: PoolAttributes, name = 'maxpool', saveArgmax = false): { y: Tensor; argmax: Tensor | null } {
  const g = poolGeometry('MaxPool', x.shape, attrs);
  check(g.inH * g.inW <= 2 ** 24, () => `MaxPool: planes of ${g.inH}×${g.inW} are too large to index in float32`);
  const gpu = x.gpu;
  const y = Tensor.empty(gpu, poolOutputShape(g), name);
  const argmax = saveArgmax ? Tensor.empty(gpu, y.shape, `${name}.argmax`) : null;
  kernels.maxForward.dispatch(gpu, {
    bind: { x, out: y, argmax },
    params: poolParams(g, y.size),
    grid: gridOf(gpu, g.outW, g.outH, g.batch * g.channels),
    constants: { SAVE_ARGMAX: saveArgmax ? 1 : 0, KERNEL_H: g.kernelShape[0], KERNEL_W: g.kernelShape[1] },
  });
  return { y, argmax };
}

/**
 * dx = the gradient of MaxPool with respect to its input x (the forward's input, which the backward re-reads to find
 * each window's argmax): every dy goes to its window's largest element, the first one in row-major window order at a
 * tie. Version 1, the gather form; the derivation is in shaders/pool.wgsl above `max_pool_backward`.
 */
export function maxPoolBackward(dy: Tensor, x: Tensor, attrs: PoolAttributes): Tensor {
  const g = poolGeometry('MaxPool', x.shape, attrs);
  sameShape(dy, { shape: poolOutputShape(g), name: 'y' }, 'MaxPool backward (dy vs the output)');
  const gpu = sameDevice([dy, x], 'MaxPool backward');
  const dx = Tensor.empty(gpu, x.shape, 'maxpool.dx');
  kernels.maxBackwardV1.dispatch(gpu, { bind: { x, dy, out: dx }, params: poolParams(g, x.size), grid: { threads: x.size } });
  return dx;
}

/**
 * The same gradient from the forward's saved argmax (version 2): dx starts at zero and each window adds its dy at
 * its argmax, one non-overlapping phase of windows per dispatch (see max_pool_backward_scatter).
 */
export function maxPoolBackwardFromArgmax(dy: Tensor, argmax: Tensor, xShape: Shape, attrs: PoolAttributes): Tensor {
  const g = poolGeometry('MaxPool', xShape, attrs);
  sameShape(dy, { shape: poolOutputShape(g), name: 'y' }, 'MaxPool backward (dy vs the output)');
  sameShape(argmax, dy, 'MaxPool backward (argmax vs dy)');
  const gpu = sameDevice([dy, argmax], 'MaxPool backward');
  const dx = Tensor.zeros(gpu, xShape, 'maxpool.dx');
  // Windows step apart along an axis stop overlapping once step·stride ≥ the window's span.
  const stepY = Math.ceil(((g.kernelShape[0] - 1) * g.dilations[0] + 1) / g.strides[0]);
  const stepX = Math.ceil(((g.kernelShape[1] - 1) * g.dilations[1] + 1) / g.strides[1]);
  for (let py = 0; py < Math.min(stepY, g.outH); py++) {
    for (let px = 0; px < Math.min(stepX, g.outW); px++) {
      kernels.maxBackward.dispatch(gpu, {
        bind: { dy, argmax_in: argmax, out: dx },
        params: poolParams(g, dy.size, [py, px, stepY, stepX]),
        grid: gridOf(gpu, Math.ceil((g.outW - px) / stepX), Math.ceil((g.outH - py) / stepY), g.batch * g.channels),
      });
    }
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------------------------
// AveragePool

export function averagePoolForward(x: Tensor, attrs: AveragePoolAttributes, name = 'averagepool'): Tensor {
  const g = poolGeometry('AveragePool', x.shape, attrs);
  const y = Tensor.empty(x.gpu, poolOutputShape(g), name);
  kernels.avgForward.dispatch(x.gpu, { bind: { x, out: y }, params: poolParams(g, y.size), grid: { threads: y.size } });
  return y;
}

/** dx_j = Σ over the windows o that contain j of dy_o / divisor_o; needs only x's shape, not its values. */
export function averagePoolBackward(dy: Tensor, xShape: Shape, attrs: AveragePoolAttributes): Tensor {
  const g = poolGeometry('AveragePool', xShape, attrs);
  sameShape(dy, { shape: poolOutputShape(g), name: 'y' }, 'AveragePool backward (dy vs the output)');
  const dx = Tensor.empty(dy.gpu, xShape, 'averagepool.dx');
  kernels.avgBackward.dispatch(dy.gpu, { bind: { dy, out: dx }, params: poolParams(g, dx.size), grid: { threads: dx.size } });
  return dx;
}

// ---------------------------------------------------------------------------------------------------------------
// GlobalAveragePool: [N, C, H, W] → [N, C, 1, 1], the mean of each plane (SqueezeNet's head)

/**
 * The Params of the global kernels: GlobalAveragePool is AveragePool with the whole plane as its one window, so its
 * geometry is that one (the global kernels read only n, in_h and in_w of it).
 */
function globalParams(xShape: Shape, n: number): ReturnType<typeof poolParams> {
  const [, , h, w] = nchw({ shape: xShape }, 'GlobalAveragePool');
  return poolParams(poolGeometry('AveragePool', xShape, { kernelShape: [h, w] }), n);
}

export function globalAveragePoolForward(x: Tensor, name = 'globalaveragepool'): Tensor {
  const [batch, channels] = nchw(x, 'GlobalAveragePool');
  const planes = batch * channels;
  const y = Tensor.empty(x.gpu, [batch, channels, 1, 1], name);
  // One invocation per plane, summing it serially: see the shader (global_avg_pool_forward, one workgroup per plane
  // with a tree reduction, is version 1).
  kernels.globalForward.dispatch(x.gpu, { bind: { x, out: y }, params: globalParams(x.shape, planes), grid: x.gpu.grid(Math.ceil(planes / GLOBAL_WG)) });
  return y;
}

/** GlobalAveragePool forward, version 1: one workgroup per plane, a tree reduction in workgroup memory. */
export function globalAveragePoolForwardV1(x: Tensor, name = 'globalaveragepool'): Tensor {
  const [batch, channels] = nchw(x, 'GlobalAveragePool');
  const planes = batch * channels;
  const y = Tensor.empty(x.gpu, [batch, channels, 1, 1], name);
  kernels.globalForwardV1.dispatch(x.gpu, { bind: { x, out: y }, params: globalParams(x.shape, planes), grid: x.gpu.grid(planes) });
  return y;
}

/** GlobalAveragePool backward, version 1: one invocation per element, indexed by a flat id. */
export function globalAveragePoolBackwardV1(dy: Tensor, xShape: Shape): Tensor {
  const [batch, channels] = nchw({ shape: xShape }, 'GlobalAveragePool backward');
  sameShape(dy, { shape: [batch, channels, 1, 1], name: 'y' }, 'GlobalAveragePool backward (dy vs the output)');
  const dx = Tensor.empty(dy.gpu, xShape, 'globalaveragepool.dx');
  kernels.globalBackwardV1.dispatch(dy.gpu, { bind: { dy, out: dx }, params: globalParams(xShape, dx.size), grid: { threads: dx.size } });
  return dx;
}

/** dx[n, c, h, w] = dy[n, c] / (H·W). */
export function globalAveragePoolBackward(dy: Tensor, xShape: Shape): Tensor {
  checkShape(xShape, 'GlobalAveragePool backward');
  const [batch, channels] = nchw({ shape: xShape }, 'GlobalAveragePool backward');
  sameShape(dy, { shape: [batch, channels, 1, 1], name: 'y' }, 'GlobalAveragePool backward (dy vs the output)');
  const dx = Tensor.empty(dy.gpu, xShape, 'globalaveragepool.dx');
  const gpu = dy.gpu;
  const [, , h, w] = xShape as [number, number, number, number];
  const grid = [Math.ceil((h * w) / GLOBAL_WG), 1, Math.min(batch * channels, gpu.limits.maxComputeWorkgroupsPerDimension)] as const;
  kernels.globalBackward.dispatch(gpu, { bind: { dy, out: dx }, params: globalParams(xShape, dx.size), grid });
  return dx;
}

// ---------------------------------------------------------------------------------------------------------------
// float64 references: the loops of the definitions. The backward references scatter (each window adds into the
// elements it read), the GPU kernels gather; the two forms meeting is part of what the tests check.

/** The flat indices in x of window (oy, ox)'s taps on the input of `plane`, in row-major window order. */
function windowTapsRef(g: PoolGeometry, plane: number, oy: number, ox: number): number[] {
  const taps: number[] = [];
  for (let ky = 0; ky < g.kernelShape[0]; ky++) {
    for (let kx = 0; kx < g.kernelShape[1]; kx++) {
      const iy = oy * g.strides[0] - g.pads[0] + ky * g.dilations[0];
      const ix = ox * g.strides[1] - g.pads[1] + kx * g.dilations[1];
      if (iy >= 0 && iy < g.inH && ix >= 0 && ix < g.inW) taps.push((plane * g.inH + iy) * g.inW + ix);
    }
  }
  return taps;
}

/** Calls visit(o, taps) for every window o of every plane, o being the flat index in the output. */
function forEachWindowRef(g: PoolGeometry, visit: (o: number, taps: number[], oy: number, ox: number) => void): void {
  for (let plane = 0; plane < g.batch * g.channels; plane++)
    for (let oy = 0; oy < g.outH; oy++)
      for (let ox = 0; ox < g.outW; ox++) visit((plane * g.outH + oy) * g.outW + ox, windowTapsRef(g, plane, oy, ox), oy, ox);
}

/** The tap holding the largest value; padding is not a tap (so it never wins), and the first of equal values wins. */
function argmaxRef(x: HostTensor, taps: number[]): number {
  let best = taps[0]!;
  for (const j of taps) if (x.data[j]! > x.data[best]!) best = j;
  return best;
}

export function maxPoolRef(x: HostTensor, attrs: PoolAttributes): HostTensor {
  const g = poolGeometry('MaxPool', x.shape, attrs);
  const y = host(poolOutputShape(g));
  forEachWindowRef(g, (o, taps) => (y.data[o] = x.data[argmaxRef(x, taps)]!));
  return y;
}

export function maxPoolBackwardRef(dy: HostTensor, x: HostTensor, attrs: PoolAttributes): HostTensor {
  const g = poolGeometry('MaxPool', x.shape, attrs);
  sameShape(dy, { shape: poolOutputShape(g) }, 'MaxPool backward reference');
  const dx = host(x.shape);
  forEachWindowRef(g, (o, taps) => (dx.data[argmaxRef(x, taps)]! += dy.data[o]!));
  return dx;
}

/** Window (oy, ox)'s divisor, counted tap by tap over the 2-D window (the shader multiplies two 1-D counts). */
function divisorRef(g: PoolGeometry, oy: number, ox: number): number {
  const [top, left, bottom, right] = g.countIncludePad ? g.pads : [0, 0, 0, 0];
  let count = 0;
  for (let ky = 0; ky < g.kernelShape[0]; ky++) {
    for (let kx = 0; kx < g.kernelShape[1]; kx++) {
      const iy = oy * g.strides[0] - g.pads[0] + ky * g.dilations[0];
      const ix = ox * g.strides[1] - g.pads[1] + kx * g.dilations[1];
      if (iy >= -top && iy < g.inH + bottom && ix >= -left && ix < g.inW + right) count++;
    }
  }
  return count;
}

export function averagePoolRef(x: HostTensor, attrs: AveragePoolAttributes): HostTensor {
  const g = poolGeometry('AveragePool', x.shape, attrs);
  const y = host(poolOutputShape(g));
  forEachWindowRef(g, (o, taps, oy, ox) => {
    let sum = 0;
    for (const j of taps) sum += x.data[j]!;
    y.data[o] = sum / divisorRef(g, oy, ox);
  });
  return y;
}

export function averagePoolBackwardRef(dy: HostTensor, xShape: Shape, attrs: AveragePoolAttributes): HostTensor {
  const g = poolGeometry('AveragePool', xShape, attrs);
  sameShape(dy, { shape: poolOutputShape(g) }, 'AveragePool backward reference');
  const dx = host(xShape);
  forEachWindowRef(g, (o, taps, oy, ox) => {
    const share = dy.data[o]! / divisorRef(g, oy, ox);
    for (const j of taps) dx.data[j]! += share;
  });
  return dx;
}

export function globalAveragePoolRef(x: HostTensor): HostTensor {
  const [batch, channels, h, w] = nchw(x, 'GlobalAveragePool');
  const y = host([batch, channels, 1, 1]);
  for (let plane = 0; plane < batch * channels; plane++) {
    let sum = 0;
    for (let k = 0; k < h * w; k++) sum += x.data[plane * h * w + k]!;
    y.data[plane] = sum / (h * w);
  }
  return y;
}

export function globalAveragePoolBackwardRef(dy: HostTensor, xShape: Shape): HostTensor {
  const [batch, channels, h, w] = nchw({ shape: xShape }, 'GlobalAveragePool backward');
  sameShape(dy, { shape: [batch, channels, 1, 1] }, 'GlobalAveragePool backward reference');
  const dx = host(xShape);
  for (let plane = 0; plane < batch * channels; plane++)
    for (let k = 0; k < h * w; k++) dx.data[plane * h * w + k] = dy.data[plane]! / (h * w);
  return dx;
}
