/**
 * Concat (shaders/concat.wgsl): joins tensors along one axis, as ONNX's Concat — any rank, any axis, negative axes
 * counted from the end (−1 is the last). All inputs have the same rank and the same sizes off the axis; the output's
 * size along the axis is the sum of theirs. SqueezeNet's Fire modules concatenate their expand1x1 and expand3x3
 * outputs along the channels (axis 1).
 *
 * Backward: the output is the parts laid side by side, so each part's gradient is its own slice of dy (the
 * derivation is in the shader, above `concat_slice`).
 */
import type { Gpu } from '../gpu/device.js';
import { check, fmtShape } from '../gpu/errors.js';
import { defineKernel } from '../gpu/kernel.js';
import { Tensor, checkShape, sizeOf, type Shape } from '../gpu/tensor.js';
import { ELEMENTWISE_WG, sameDevice, sameShape } from './common.js';
import { host, type HostTensor } from './host.js';

const shader = ['common', 'concat'];
const params = { n: 'u32', inner: 'u32', part_axis: 'u32', whole_axis: 'u32', offset: 'u32', outer: 'u32' } as const;
/** Invocations per workgroup of the grid versions, along x (the inner dimension). */
const GRID_WG = 64;
const kernels = {
  place: defineKernel({ shader, entry: 'concat_place', constants: { WG: ELEMENTWISE_WG }, params, bindings: { part: 'read', out: 'read_write' } }),
  placeGrid: defineKernel({ shader, entry: 'concat_place_grid', constants: { GRID_WG }, params, bindings: { part: 'read', out: 'read_write' } }),
  sliceGrid: defineKernel({ shader, entry: 'concat_slice_grid', constants: { GRID_WG }, params, bindings: { whole: 'read', out: 'read_write' } }),
};

export interface ConcatLayout {
  /** the output's shape */
  shape: number[];
  /** the axis, in [0, rank) */
  axis: number;
  /** product of the sizes before the axis */
  outer: number;
  /** product of the sizes after the axis */
  inner: number;
  /** each part's size along the axis, and where it starts in the output */
  sizes: number[];
  offsets: number[];
}

/** Checks the inputs' shapes and the axis (one-line PixelpropErrors) and lays the parts out along the axis. */
export function concatLayout(shapes: readonly Shape[], axis: number): ConcatLayout {
  check(Array.isArray(shapes) && shapes.length > 0, 'Concat: needs at least one input');
  shapes.forEach((s, k) => checkShape(s, `Concat input ${k}`));
  const first = shapes[0]!;
  const rank = first.length;
  check(
    Number.isInteger(axis) && axis >= -rank && axis < rank,
    () => `Concat: axis ${axis} is out of range for inputs of rank ${rank} (allowed ${-rank} … ${rank - 1})`,
  );
  const a = axis < 0 ? axis + rank : axis;
  shapes.forEach((s, k) =>
    check(
      s.length === rank && s.every((d: number, i: number) => i === a || d === first[i]),
      () => `Concat: input ${k} ${fmtShape(s)} does not match input 0 ${fmtShape(first)} off axis ${a}`,
    ),
  );
  const sizes = shapes.map((s) => s[a]!);
  const offsets = sizes.map((_, k) => sizes.slice(0, k).reduce((x, y) => x + y, 0));
  const shape = [...first];
  shape[a] = sizes.reduce((x, y) => x + y, 0);
  return { shape, axis: a, outer: sizeOf(first.slice(0, a)), inner: sizeOf(first.slice(a + 1)), sizes, offsets };
}

/** The parameters of shaders/concat.wgsl for part k. */
function partParams(layout: ConcatLayout, k: number) {
  return {
    n: layout.outer * layout.sizes[k]! * layout.inner,
    inner: layout.inner,
    part_axis: layout.sizes[k]!,
    whole_axis: layout.shape[layout.axis]!,
    offset: layout.offsets[k]!,
    outer: layout.outer,
  };
}

/** One copy of part k (version 2, grid-indexed; see concat_place_grid): places the part into the whole, or slices it out. */
function copyPart(gpu: Gpu, direction: 'place' | 'slice', layout: ConcatLayout, k: number, part: Tensor, whole: Tensor): void {
  const limit = gpu.limits.maxComputeWorkgroupsPerDimension;
  const axis = layout.sizes[k]!;
  check(axis <= limit, () => `Concat: part ${k} has ${axis} entries along the axis, more than this device's grid allows (${limit})`);
  const grid = [Math.ceil(layout.inner / GRID_WG), axis, Math.min(layout.outer, limit)] as const;
  const params = partParams(layout, k);
  if (direction === 'place') kernels.placeGrid.dispatch(gpu, { bind: { part, out: whole }, params, grid });
  else kernels.sliceGrid.dispatch(gpu, { bind: { whole, out: part }, params, grid });
}

/** Version 1 of the forward: one invocation per element, the position recovered by division (kept for comparison). */
export function concatForwardV1(xs: readonly Tensor[], axis: number, name = 'concat'): Tensor {
  const layout = concatLayout(
    xs.map((x) => x.shape),
    axis,
  );
  const gpu = sameDevice([...xs], 'Concat');
  const y = Tensor.empty(gpu, layout.shape, name);
  xs.forEach((x, k) => {
    const params = partParams(layout, k);
    kernels.place.dispatch(gpu, { bind: { part: x, out: y }, params, grid: { threads: params.n } });
  });
  return y;
}

/** One dispatch per input, each copying its part into its place in the output. */
export function concatForward(xs: readonly Tensor[], axis: number, name = 'concat'): Tensor {
  const layout = concatLayout(
    xs.map((x) => x.shape),
    axis,
  );
  const gpu = sameDevice([...xs], 'Concat');
  const y = Tensor.empty(gpu, layout.shape, name);
  xs.forEach((x, k) => copyPart(gpu, 'place', layout, k, x, y));
  return y;
}

/**
 * The gradients of the inputs of shapes `shapes`: part k's slice of dy, for each k where `needs[k]` is not false
 * (null elsewhere — nothing is allocated or dispatched for a gradient nobody asked for).
 */
export function concatBackward(dy: Tensor, shapes: readonly Shape[], axis: number, needs?: readonly boolean[]): (Tensor | null)[] {
  const layout = concatLayout(shapes, axis);
  sameShape(dy, { shape: layout.shape, name: 'y' }, 'Concat backward (dy vs the output)');
  return shapes.map((shape, k) => {
    if (needs && !needs[k]) return null;
    const dx = Tensor.empty(dy.gpu, shape, `concat.dx${k}`);
    copyPart(dy.gpu, 'slice', layout, k, dx, dy);
    return dx;
  });
}

// float64 references: the loops of the definition, over (outer, position along the axis, inner).

export function concatRef(xs: readonly HostTensor[], axis: number): HostTensor {
  const layout = concatLayout(
    xs.map((x) => x.shape),
    axis,
  );
  const y = host(layout.shape);
  const wholeAxis = layout.shape[layout.axis]!;
  xs.forEach((x, k) => {
    for (let o = 0; o < layout.outer; o++)
      for (let a = 0; a < layout.sizes[k]!; a++)
        for (let r = 0; r < layout.inner; r++)
          y.data[(o * wholeAxis + layout.offsets[k]! + a) * layout.inner + r] = x.data[(o * layout.sizes[k]! + a) * layout.inner + r]!;
  });
  return y;
}

export function concatBackwardRef(dy: HostTensor, shapes: readonly Shape[], axis: number): HostTensor[] {
  const layout = concatLayout(shapes, axis);
  sameShape(dy, { shape: layout.shape }, 'Concat backward reference');
  const wholeAxis = layout.shape[layout.axis]!;
  return shapes.map((shape, k) => {
    const dx = host(shape);
    for (let o = 0; o < layout.outer; o++)
      for (let a = 0; a < layout.sizes[k]!; a++)
        for (let r = 0; r < layout.inner; r++)
          dx.data[(o * layout.sizes[k]! + a) * layout.inner + r] = dy.data[(o * wholeAxis + layout.offsets[k]! + a) * layout.inner + r]!;
    return dx;
  });
}
