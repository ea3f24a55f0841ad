/**
 * Layout kernels (shaders/layout.wgsl): Transpose, Slice, Pad, Expand and ONNX Gather — values moved, none computed.
 * The first four are one kernel, `map_gather`, driven by an index map (each output dimension reads the input at
 * o·scale + offset along one input dimension; the shader's comment has the details); this module turns each op's
 * parameters into its map. The float64 references beside them are written from the ops' definitions (numpy's
 * transpose, slicing, pad, broadcast_to and take), not from the maps, so that a wrong map shows as a mismatch.
 *
 * Ranks and sizes: any rank, every size ≥ 1 (the engine has no empty tensors), positions below 2^31.
 */
import type { Gpu } from '../gpu/device.js';
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, sizeOf, type Shape } from '../gpu/tensor.js';
import { ELEMENTWISE_WG } from './common.js';
import { host, type HostTensor } from './host.js';

const shader = ['common', 'layout'];
const constants = { WG: ELEMENTWISE_WG };
const mapParams = { n: 'u32', rank: 'u32', value: 'f32' } as const;
const gatherParams = { n: 'u32', inner: 'u32', axis: 'u32', count: 'u32' } as const;
const kernels = {
  gather: defineKernel({ shader, entry: 'map_gather', constants, params: mapParams, bindings: { geometry: 'read', src: 'read', dst: 'read_write' } }),
  scatter: defineKernel({ shader, entry: 'map_scatter', constants, params: mapParams, bindings: { geometry: 'read', src: 'read', dst: 'read_write' } }),
  padFold: defineKernel({
    shader,
    entry: 'pad_fold',
    constants,
    paramsVar: 'fold',
    params: { n: 'u32', inner: 'u32', size: 'u32', padded: 'u32', begin: 'i32' },
    bindings: { src: 'read', dst: 'read_write' },
  }),
  gatherElements: defineKernel({
    shader,
    entry: 'gather_elements',
    constants,
    paramsVar: 'ge',
    params: { n: 'u32', rank: 'u32', axis: 'u32' },
    bindings: { indices: 'read', dims: 'read', src: 'read', dst: 'read_write' },
  }),
  gatherElementsBackward: defineKernel({
    shader,
    entry: 'gather_elements_backward',
    constants,
    paramsVar: 'ge',
    params: { n: 'u32', rank: 'u32', axis: 'u32' },
    bindings: { indices: 'read', dims: 'read', src: 'read', dst: 'read_write' },
  }),
  gatherAxis: defineKernel({ shader, entry: 'gather_axis', constants, paramsVar: 'g', params: gatherParams, bindings: { indices: 'read', src: 'read', dst: 'read_write' } }),
  gatherAxisBackward: defineKernel({
    shader,
    entry: 'gather_axis_backward',
    constants,
    paramsVar: 'g',
    params: gatherParams,
    bindings: { indices: 'read', src: 'read', dst: 'read_write' },
  }),
};

/** The MODE override constant of shaders/layout.wgsl. */
const MODE = { inside: 0, constant: 1, reflect: 2, edge: 3, wrap: 4 } as const;
export type PadMode = 'constant' | 'reflect' | 'edge' | 'wrap';

/** Row-major strides of a shape. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let d = shape.length - 2; d >= 0; d--) s[d] = s[d + 1]! * shape[d + 1]!;
  return s;
}

/** Calls fn with every multi-index of `shape` in row-major order and its linear position. */
export function forEachIndex(shape: Shape, fn: (idx: number[], at: number) => void): void {
  const idx = new Array<number>(shape.length).fill(0);
  const n = sizeOf(shape);
  for (let at = 0; at < n; at++) {
    fn(idx, at);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
}

/** Output dimension d reads input dimension `from` at o·scale + offset. */
interface MapDim {
  size: number;
  scale: number;
  offset: number;
  from: number;
}

function geometry(gpu: Gpu, x: Shape, dims: readonly MapDim[]): GPUBuffer {
  const strides = stridesOf(x);
  const words = dims.flatMap((d) => [d.size, d.scale, d.offset, x[d.from]!, strides[d.from]!]);
  check(sizeOf(x) < 2 ** 31 && sizeOf(dims.map((d) => d.size)) < 2 ** 31, () => `layout: ${fmtShape(x)} has more elements than the kernels index (2^31)`);
  return gpu.constantBuffer(Uint32Array.from(Int32Array.from(words)), 'layout geometry');
}

function mapGather(x: Tensor, dims: readonly MapDim[], mode: keyof typeof MODE, value: number, name: string): Tensor {
  const y = Tensor.empty(x.gpu, dims.map((d) => d.size), name);
  kernels.gather.dispatch(x.gpu, {
    bind: { geometry: geometry(x.gpu, x.shape, dims), src: x, dst: y },
    params: { n: y.size, rank: dims.length, value },
    constants: { MODE: MODE[mode] },
    grid: { threads: y.size },
  });
  return y;
}

/** dx (of shape `xShape`, cleared) with dy_i written to where output i read from (one-to-one maps only). */
function mapScatter(dy: Tensor, xShape: Shape, dims: readonly MapDim[], name: string): Tensor {
  const dx = Tensor.zeros(dy.gpu, xShape, name);
  kernels.scatter.dispatch(dy.gpu, {
    bind: { geometry: geometry(dy.gpu, xShape, dims), src: dy, dst: dx },
    params: { n: dy.size, rank: dims.length, value: 0 },
    grid: { threads: dy.size },
  });
  return dx;
}

// ---------------------------------------------------------------------------------------------------------------
// Transpose: y[o_0, …, o_{r−1}] = x[i] with i_{perm[d]} = o_d, so y's shape is x's permuted: y_d = x_{perm[d]}.

export function checkPerm(perm: readonly number[], rank: number): void {
  check(
    perm.length === rank && [...perm].sort((a, b) => a - b).every((p, i) => p === i),
    () => `perm [${perm.join(',')}] is not a permutation of the ${rank} axes`,
  );
}

export function transposeShape(x: Shape, perm: readonly number[]): number[] {
  checkPerm(perm, x.length);
  return perm.map((p) => x[p]!);
}

/** The inverse permutation: inverse[perm[d]] = d. */
export function inversePerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, d) => (inv[p] = d));
  return inv;
}

export function transpose(x: Tensor, perm: readonly number[], name = 'transpose'): Tensor {
  const shape = transposeShape(x.shape, perm);
  return mapGather(x, perm.map((from, d) => ({ size: shape[d]!, scale: 1, offset: 0, from })), 'inside', 0, name);
}

export function transposeRef(x: HostTensor, perm: readonly number[]): HostTensor {
  const y = host(transposeShape(x.shape, perm));
  const xs = stridesOf(x.shape);
  forEachIndex(y.shape, (o, at) => {
    let i = 0;
    perm.forEach((p, d) => (i += o[d]! * xs[p]!));
    y.data[at] = x.data[i]!;
  });
  return y;
}

// ---------------------------------------------------------------------------------------------------------------
// Slice: along each axis, positions start, start + step, … (step ≠ 0, possibly negative), `size` of them; the ONNX
// clamping of starts and ends is the op's business (src/graph/ops/slice.ts), here every position is inside.

export interface SliceAxis {
  start: number;
  step: number;
  size: number;
}

/** The slice of every axis (axes not sliced: start 0, step 1, the whole size). */
export type SliceSpec = readonly SliceAxis[];

function checkSlice(x: Shape, spec: SliceSpec): void {
  check(spec.length === x.length, () => `slice of ${spec.length} axes for ${fmtShape(x)}`);
  spec.forEach((s, d) => {
    const last = s.start + (s.size - 1) * s.step;
    check(
      s.size >= 1 && s.step !== 0 && s.start >= 0 && s.start < x[d]! && last >= 0 && last < x[d]!,
      () => `slice start ${s.start} step ${s.step} size ${s.size} leaves axis ${d} of ${fmtShape(x)}`,
    );
  });
}

const sliceMap = (spec: SliceSpec): MapDim[] => spec.map((s, d) => ({ size: s.size, scale: s.step, offset: s.start, from: d }));

export function slice(x: Tensor, spec: SliceSpec, name = 'slice'): Tensor {
  checkSlice(x.shape, spec);
  return mapGather(x, sliceMap(spec), 'inside', 0, name);
}

/** dx: dy written back to the positions the slice read, zeros elsewhere. */
export function sliceBackward(dy: Tensor, spec: SliceSpec, xShape: Shape, name = 'slice.dx'): Tensor {
  checkSlice(xShape, spec);
  return mapScatter(dy, xShape, sliceMap(spec), name);
}

export function sliceRef(x: HostTensor, spec: SliceSpec): HostTensor {
  checkSlice(x.shape, spec);
  const y = host(spec.map((s) => s.size));
  const xs = stridesOf(x.shape);
  forEachIndex(y.shape, (o, at) => {
    let i = 0;
    spec.forEach((s, d) => (i += (s.start + o[d]! * s.step) * xs[d]!));
    y.data[at] = x.data[i]!;
  });
  return y;
}

export function sliceBackwardRef(dy: HostTensor, spec: SliceSpec, xShape: Shape): HostTensor {
  checkSlice(xShape, spec);
  const dx = host(xShape);
  const xs = stridesOf(xShape);
  forEachIndex(dy.shape, (o, at) => {
    let i = 0;
    spec.forEach((s, d) => (i += (s.start + o[d]! * s.step) * xs[d]!));
    dx.data[i]! += dy.data[at]!;
  });
  return dx;
}

// ---------------------------------------------------------------------------------------------------------------
// Pad: `begin[d]` positions before axis d and `end[d]` after (negative: that many removed), filled with a constant,
// the mirror image without the border (reflect), the border repeated (edge), or x repeated (wrap). Tile and Expand
// are wrap pads after the end: x repeated r times is x padded by (r − 1)·n, and a broadcast axis of size 1 padded by
// n − 1 is that one value n times.

export interface PadSpec {
  begin: readonly number[];
  end: readonly number[];
  mode: PadMode;
  value: number;
}

export function padShape(x: Shape, spec: PadSpec): number[] {
  check(spec.begin.length === x.length && spec.end.length === x.length, () => `pads for ${spec.begin.length} axes, the input ${fmtShape(x)} has ${x.length}`);
  const out = x.map((n, d) => n + spec.begin[d]! + spec.end[d]!);
  check(out.every((n) => n >= 1), () => `pads [${[...spec.begin, ...spec.end].join(',')}] leave nothing of ${fmtShape(x)}`);
  if (spec.mode !== 'constant') {
    x.forEach((n, d) => {
      const b = spec.begin[d]!;
      const e = spec.end[d]!;
      check(b >= 0 && e >= 0, () => `${spec.mode} pads must not be negative (axis ${d}: ${b}, ${e})`);
      if (spec.mode === 'reflect') {
        check(b < n && e < n, () => `reflect pads must be smaller than the axis they pad (axis ${d} of ${fmtShape(x)}: ${b}, ${e})`);
      }
    });
  }
  return out;
}

const padsNothing = (spec: PadSpec): boolean => spec.begin.every((b) => b === 0) && spec.end.every((e) => e === 0);

export function pad(x: Tensor, spec: PadSpec, name = 'pad'): Tensor {
  const shape = padShape(x.shape, spec);
  // PyTorch's avg_pool2d exports as Pad + AveragePool even without padding (DenseNet's transitions): a view then.
  if (padsNothing(spec)) return x.reshape(x.shape, name);
  return mapGather(x, shape.map((size, d) => ({ size, scale: 1, offset: -spec.begin[d]!, from: d })), spec.mode, spec.value, name);
}

/**
 * dx for dy of the padded shape. Constant: the pad positions are constants, so dx is dy with the pads cut away —
 * the same pad with negated amounts (and 0 for any position that a negative pad had removed). Reflect, edge and
 * wrap: each padded axis folded back onto x's, one axis at a time (pad_fold, derived in the shader).
 */
export function padBackward(dy: Tensor, spec: PadSpec, xShape: Shape, name = 'pad.dx'): Tensor {
  padShape(xShape, spec);
  if (padsNothing(spec)) return dy.reshape(dy.shape, name);
  if (spec.mode === 'constant') {
    return pad(dy, { begin: spec.begin.map((b) => -b), end: spec.end.map((e) => -e), mode: 'constant', value: 0 }, name);
  }
  let g = dy.retain();
  const shape = [...dy.shape];
  for (let d = 0; d < xShape.length; d++) {
    if (spec.begin[d] === 0 && spec.end[d] === 0) continue;
    shape[d] = xShape[d]!;
    const out = Tensor.empty(dy.gpu, shape, name);
    const inner = sizeOf(shape.slice(d + 1));
    kernels.padFold.dispatch(dy.gpu, {
      bind: { src: g, dst: out },
      params: { n: out.size, inner, size: xShape[d]!, padded: g.shape[d]!, begin: spec.begin[d]! },
      constants: { MODE: MODE[spec.mode] },
      grid: { threads: out.size },
    });
    g.dispose();
    g = out;
  }
  return g; // dy itself (retained) when no axis is padded

}

/** The input position that padded position q of an axis of size n reads (−1: the constant). */
function padSource(q: number, begin: number, n: number, mode: PadMode): number {
  const c = q - begin;
  if (c >= 0 && c < n) return c;
  if (mode === 'constant') return -1;
  if (mode === 'edge') return c < 0 ? 0 : n - 1;
  if (mode === 'wrap') return ((c % n) + n) % n;
  return c < 0 ? -c : 2 * (n - 1) - c;
}

export function padRef(x: HostTensor, spec: PadSpec): HostTensor {
  const y = host(padShape(x.shape, spec));
  const xs = stridesOf(x.shape);
  forEachIndex(y.shape, (o, at) => {
    let i = 0;
    for (let d = 0; d < o.length; d++) {
      const c = padSource(o[d]!, spec.begin[d]!, x.shape[d]!, spec.mode);
      if (c < 0) {
        y.data[at] = spec.value;
        return;
      }
      i += c * xs[d]!;
    }
    y.data[at] = x.data[i]!;
  });
  return y;
}

/** The chain rule as a scatter: every padded position that read x_i adds its dy to dx_i. */
export function padBackwardRef(dy: HostTensor, spec: PadSpec, xShape: Shape): HostTensor {
  padShape(xShape, spec);
  const dx = host(xShape);
  const xs = stridesOf(xShape);
  forEachIndex(dy.shape, (o, at) => {
    let i = 0;
    for (let d = 0; d < o.length; d++) {
      const c = padSource(o[d]!, spec.begin[d]!, xShape[d]!, spec.mode);
      if (c < 0) return;
      i += c * xs[d]!;
    }
    dx.data[i]! += dy.data[at]!;
  });
  return dx;
}

// ---------------------------------------------------------------------------------------------------------------
// Gather (ONNX): y = x taken at `indices` along one axis, y's shape = x's before the axis + the indices' shape + x's
// after it. Here the indices are a flat list already in [0, x[axis]) (the op reads, checks and wraps them).

export interface GatherSpec {
  axis: number;
  indices: readonly number[];
}

function gatherLayout(x: Shape, spec: GatherSpec): { outer: number; axis: number; inner: number } {
  check(spec.axis >= 0 && spec.axis < x.length, () => `gather axis ${spec.axis} is out of range for ${fmtShape(x)}`);
  const n = x[spec.axis]!;
  check(spec.indices.length > 0, 'gather needs at least one index');
  spec.indices.forEach((k) => check(Number.isInteger(k) && k >= 0 && k < n, () => `gather index ${k} is out of range for axis ${spec.axis} of ${fmtShape(x)}`));
  return { outer: sizeOf(x.slice(0, spec.axis)), axis: n, inner: sizeOf(x.slice(spec.axis + 1)) };
}

/** x gathered along the axis, as [outer, count, inner] reshaped to `shape` by the caller. */
export function gatherAxis(x: Tensor, spec: GatherSpec, shape: Shape, name = 'gather'): Tensor {
  const l = gatherLayout(x.shape, spec);
  const y = Tensor.empty(x.gpu, shape, name);
  check(y.size === l.outer * spec.indices.length * l.inner, () => `gather: ${fmtShape(shape)} does not hold the gathered values`);
  kernels.gatherAxis.dispatch(x.gpu, {
    bind: { indices: x.gpu.constantBuffer(Uint32Array.from(spec.indices), 'gather indices'), src: x, dst: y },
    params: { n: y.size, inner: l.inner, axis: l.axis, count: spec.indices.length },
    grid: { threads: y.size },
  });
  return y;
}

export function gatherAxisBackward(dy: Tensor, spec: GatherSpec, xShape: Shape, name = 'gather.dx'): Tensor {
  const l = gatherLayout(xShape, spec);
  check(dy.size === l.outer * spec.indices.length * l.inner, () => `gather backward: dy ${fmtShape(dy.shape)} does not fit ${fmtShape(xShape)}`);
  const dx = Tensor.empty(dy.gpu, xShape, name);
  kernels.gatherAxisBackward.dispatch(dy.gpu, {
    bind: { indices: dy.gpu.constantBuffer(Uint32Array.from(spec.indices), 'gather indices'), src: dy, dst: dx },
    params: { n: dx.size, inner: l.inner, axis: l.axis, count: spec.indices.length },
    grid: { threads: dx.size },
  });
  return dx;
}

export function gatherAxisRef(x: HostTensor, spec: GatherSpec, shape: Shape): HostTensor {
  const l = gatherLayout(x.shape, spec);
  const y = host(shape);
  const count = spec.indices.length;
  for (let o = 0; o < l.outer; o++)
    for (let j = 0; j < count; j++)
      for (let r = 0; r < l.inner; r++) y.data[(o * count + j) * l.inner + r] = x.data[(o * l.axis + spec.indices[j]!) * l.inner + r]!;
  return y;
}

/** Scatter-add: every gathered position hands its dy back to the element it copied. */
export function gatherAxisBackwardRef(dy: HostTensor, spec: GatherSpec, xShape: Shape): HostTensor {
  const l = gatherLayout(xShape, spec);
  const dx = host(xShape);
  const count = spec.indices.length;
  for (let o = 0; o < l.outer; o++)
    for (let j = 0; j < count; j++)
      for (let r = 0; r < l.inner; r++) dx.data[(o * l.axis + spec.indices[j]!) * l.inner + r]! += dy.data[(o * count + j) * l.inner + r]!;
  return dx;
}

// ---------------------------------------------------------------------------------------------------------------
// A transpose of another view: x seen as `view`, its axes permuted, the result seen as `out` (DepthToSpace and
// SpaceToDepth move blocks of pixels between the channels and the plane this way). Reshapes cost nothing.

export function viewTranspose(x: Tensor, view: Shape, perm: readonly number[], out: Shape, name = 'transpose'): Tensor {
  const seen = x.reshape(view);
  const moved = transpose(seen, perm, name);
  seen.dispose();
  const y = moved.reshape(out, name);
  moved.dispose();
  return y;
}

export function viewTransposeRef(x: HostTensor, view: Shape, perm: readonly number[], out: Shape): HostTensor {
  check(sizeOf(view) === x.data.length && sizeOf(out) === x.data.length, () => `cannot see ${fmtShape(x.shape)} as ${fmtShape(view)} and ${fmtShape(out)}`);
  const y = transposeRef({ shape: [...view], data: x.data }, perm);
  return { shape: [...out], data: y.data };
}

// ---------------------------------------------------------------------------------------------------------------
// GatherElements (ONNX): y has the indices' shape, and y[i] = x[i with its coordinate on the axis replaced by
// indices[i]]. The indices are a constant of x's rank, already in [0, x[axis]), no larger than x off the axis.

export interface GatherElementsSpec {
  axis: number;
  indices: readonly number[];
  indicesShape: Shape;
}

function checkElements(x: Shape, spec: GatherElementsSpec): void {
  const s = spec.indicesShape;
  check(s.length === x.length && spec.axis >= 0 && spec.axis < x.length, () => `indices ${fmtShape(s)} and axis ${spec.axis} do not fit ${fmtShape(x)}`);
  check(s.every((d, k) => k === spec.axis || d <= x[k]!), () => `indices ${fmtShape(s)} are larger than ${fmtShape(x)} off axis ${spec.axis}`);
  check(spec.indices.length === sizeOf(s), () => `${spec.indices.length} indices for ${fmtShape(s)}`);
  const n = x[spec.axis]!;
  spec.indices.forEach((k) => check(Number.isInteger(k) && k >= 0 && k < n, () => `index ${k} is out of range for axis ${spec.axis} of ${fmtShape(x)}`));
}

function elementsDims(gpu: Gpu, x: Shape, spec: GatherElementsSpec): GPUBuffer {
  const xs = stridesOf(x);
  const is = stridesOf(spec.indicesShape);
  return gpu.constantBuffer(Uint32Array.from(Int32Array.from(x.flatMap((n, d) => [n, xs[d]!, spec.indicesShape[d]!, is[d]!]))), 'gather elements dims');
}

export function gatherElements(x: Tensor, spec: GatherElementsSpec, name = 'gather_elements'): Tensor {
  checkElements(x.shape, spec);
  const y = Tensor.empty(x.gpu, spec.indicesShape, name);
  kernels.gatherElements.dispatch(x.gpu, {
    bind: { indices: x.gpu.constantBuffer(Uint32Array.from(spec.indices), 'gather indices'), dims: elementsDims(x.gpu, x.shape, spec), src: x, dst: y },
    params: { n: y.size, rank: x.shape.length, axis: spec.axis },
    grid: { threads: y.size },
  });
  return y;
}

export function gatherElementsBackward(dy: Tensor, spec: GatherElementsSpec, xShape: Shape, name = 'gather_elements.dx'): Tensor {
  checkElements(xShape, spec);
  const dx = Tensor.empty(dy.gpu, xShape, name);
  kernels.gatherElementsBackward.dispatch(dy.gpu, {
    bind: { indices: dy.gpu.constantBuffer(Uint32Array.from(spec.indices), 'gather indices'), dims: elementsDims(dy.gpu, xShape, spec), src: dy, dst: dx },
    params: { n: dx.size, rank: xShape.length, axis: spec.axis },
    grid: { threads: dx.size },
  });
  return dx;
}

/** The position in x that element `at` (multi-index `idx`) of the result reads. */
function elementSource(x: Shape, spec: GatherElementsSpec, idx: readonly number[], at: number): number {
  const xs = stridesOf(x);
  return idx.reduce((p, c, d) => p + (d === spec.axis ? spec.indices[at]! : c) * xs[d]!, 0);
}

export function gatherElementsRef(x: HostTensor, spec: GatherElementsSpec): HostTensor {
  checkElements(x.shape, spec);
  const y = host(spec.indicesShape);
  forEachIndex(y.shape, (idx, at) => (y.data[at] = x.data[elementSource(x.shape, spec, idx, at)]!));
  return y;
}

/** Scatter-add: each result element hands its dy back to the element it read. */
export function gatherElementsBackwardRef(dy: HostTensor, spec: GatherElementsSpec, xShape: Shape): HostTensor {
  checkElements(xShape, spec);
  const dx = host(xShape);
  forEachIndex(dy.shape, (idx, at) => (dx.data[elementSource(xShape, spec, idx, at)]! += dy.data[at]!));
  return dx;
}
