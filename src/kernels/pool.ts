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
import { i32, u32, type Gpu, type Param } from '../gpu/device.js';
import { PixelpropError, check, fmtShape } from '../gpu/errors.js';
import { Tensor, checkShape, type Shape } from '../gpu/tensor.js';
import { runElementwise, sameDevice, sameShape } from './common.js';
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

/** The uniform Params of shaders/pool.wgsl, in declaration order. */
function poolParams(g: PoolGeometry, n: number, phase: readonly [number, number, number, number] = [0, 0, 1, 1]): Param[] {
  return [
    u32(n),
    i32(g.inH),
    i32(g.inW),
    i32(g.outH),
    i32(g.outW),
    i32(g.kernelShape[0]),
    i32(g.kernelShape[1]),
    i32(g.strides[0]),
    i32(g.strides[1]),
    i32(g.dilations[0]),
    i32(g.dilations[1]),
    i32(g.pads[0]),
    i32(g.pads[1]),
    i32(g.pads[2]),
    i32(g.pads[3]),
    u32(g.countIncludePad ? 1 : 0),
    u32(g.batch * g.channels),
    i32(phase[0]),
    i32(phase[1]),
    i32(phase[2]),
    i32(phase[3]),
  ];
}

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
  runElementwise(x.gpu, 'pool', 'max_pool_forward', y.size, poolParams(g, y.size), [x, undefined, y]);
  return y;
}

/**
 * MaxPool forward, version 2 (grid-indexed). With `saveArgmax` it also returns each window's argmax (its index in
 * the plane, as f32), which the backward scatters dy through; the caller owns both tensors.
 */
export function maxPoolForward(x: Tensor, attrs: PoolAttributes, name = 'maxpool', saveArgmax = false): Tensor & { argmax?: Tensor } {
  const g = poolGeometry('MaxPool', x.shape, attrs);
  check(g.inH * g.inW <= 2 ** 24, () => `MaxPool: planes of ${g.inH}×${g.inW} are too large to index in float32`);
  const gpu = x.gpu;
  const y: Tensor & { argmax?: Tensor } = Tensor.empty(gpu, poolOutputShape(g), name);
  const argmax = saveArgmax ? Tensor.empty(gpu, y.shape, `${name}.argmax`) : null;
  const pipeline = gpu.pipeline('pool', 'max_pool_forward_grid', { SAVE_ARGMAX: saveArgmax ? 1 : 0, KERNEL_H: g.kernelShape[0], KERNEL_W: g.kernelShape[1] });
  // The argmax slot is declared by the 'auto' layout even when SAVE_ARGMAX is off; a placeholder fills it then.
  const bindings = [gpu.uniform(poolParams(g, y.size)), x.binding, undefined, y.binding, argmax?.binding ?? gpu.placeholder];
  gpu.dispatch('pool.max_pool_forward_grid', pipeline, bindings, gridOf(gpu, g.outW, g.outH, g.batch * g.channels));
  if (argmax) y.argmax = argmax;
  return y;
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
  runElementwise(gpu, 'pool', 'max_pool_backward', x.size, poolParams(g, x.size), [x, dy, dx]);
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
  const pipeline = gpu.pipeline('pool', 'max_pool_backward_scatter');
  for (let py = 0; py < Math.min(stepY, g.outH); py++) {
    for (let px = 0; px < Math.min(stepX, g.outW); px++) {
      const params = gpu.uniform(poolParams(g, dy.size, [py, px, stepY, stepX]));
      const grid = gridOf(gpu, Math.ceil((g.outW - px) / stepX), Math.ceil((g.outH - py) / stepY), g.batch * g.channels);
      gpu.dispatch('pool.max_pool_backward_scatter', pipeline, [params, undefined, dy.binding, dx.binding, undefined, argmax.binding], grid);
    }
  }
  return dx;
}

// ---------------------------------------------------------------------------------------------------------------
// AveragePool

export function averagePoolForward(x: Tensor, attrs: AveragePoolAttributes, name = 'averagepool'): Tensor {
  const g = poolGeometry('AveragePool', x.shape, attrs);
  const y = Tensor.empty(x.gpu, poolOutputShape(g), name);
  runElementwise(x.gpu, 'pool', 'avg_pool_forward', y.size, poolParams(g, y.size), [x, undefined, y]);
  return y;
}

/** dx_j = Σ over the windows o that contain j of dy_o / divisor_o; needs only x's shape, not its values. */
export function averagePoolBackward(dy: Tensor, xShape: Shape, attrs: AveragePoolAttributes): Tensor {
  const g = poolGeometry('AveragePool', xShape, attrs);
  sameShape(dy, { shape: poolOutputShape(g), name: 'y' }, 'AveragePool backward (dy vs the output)');
  const dx = Tensor.empty(dy.gpu, xShape, 'averagepool.dx');
  runElementwise(dy.gpu, 'pool', 'avg_pool_backward', dx.size, poolParams(g, dx.size), [undefined, dy, dx]);
  return dx;
}

// ---------------------------------------------------------------------------------------------------------------
// GlobalAveragePool: [N, C, H, W] → [N, C, 1, 1], the mean of each plane (SqueezeNet's head)

/**
 * The Params of the global kernels: GlobalAveragePool is AveragePool with the whole plane as its one window, so its
 * geometry is that one (the global kernels read only n, in_h and in_w of it).
 */
function globalParams(xShape: Shape, n: number): Param[] {
  const [, , h, w] = nchw({ shape: xShape }, 'GlobalAveragePool');
  return poolParams(poolGeometry('AveragePool', xShape, { kernelShape: [h, w] }), n);
}

export function globalAveragePoolForward(x: Tensor, name = 'globalaveragepool'): Tensor {
  const [batch, channels] = nchw(x, 'GlobalAveragePool');
  const planes = batch * channels;
  const params = x.gpu.uniform(globalParams(x.shape, planes));
  const y = Tensor.empty(x.gpu, [batch, channels, 1, 1], name);
  // One invocation per plane, summing it serially: see the shader (global_avg_pool_forward, one workgroup per plane
  // with a tree reduction, is version 1).
  const pipeline = x.gpu.pipeline('pool', 'global_avg_pool_forward_serial');
  x.gpu.dispatch('pool.global_avg_pool_forward_serial', pipeline, [params, x.binding, undefined, y.binding], x.gpu.grid(Math.ceil(planes / 64)));
  return y;
}

/** dx[n, c, h, w] = dy[n, c] / (H·W). */
export function globalAveragePoolBackward(dy: Tensor, xShape: Shape): Tensor {
  checkShape(xShape, 'GlobalAveragePool backward');
  const [batch, channels] = nchw({ shape: xShape }, 'GlobalAveragePool backward');
  sameShape(dy, { shape: [batch, channels, 1, 1], name: 'y' }, 'GlobalAveragePool backward (dy vs the output)');
  const dx = Tensor.empty(dy.gpu, xShape, 'globalaveragepool.dx');
  const gpu = dy.gpu;
  const [, , h, w] = xShape as [number, number, number, number];
  const grid: [number, number, number] = [Math.ceil((h * w) / 64), 1, Math.min(batch * channels, gpu.limits.maxComputeWorkgroupsPerDimension)];
  const pipeline = gpu.pipeline('pool', 'global_avg_pool_backward_grid');
  gpu.dispatch('pool.global_avg_pool_backward_grid', pipeline, [gpu.uniform(globalParams(xShape, dx.size)), undefined, dy.binding, dx.binding], grid);
  dx.nonzeroChannels = dy.nonzeroChannels; // channel c of dx is dy[c] / (H·W): zero channels stay zero
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
  forEachWindowRef(g, (o, taps) => (dx.data[argmaxRef(x, taps)] += dy.data[o]!));
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
    for (const j of taps) dx.data[j] += share;
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
