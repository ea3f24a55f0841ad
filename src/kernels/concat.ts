/**
 * Concat (shaders/concat.wgsl): joins tensors along one axis, as ONNX's Concat — any rank, any axis, negative axes
 * counted from the end (−1 is the last). All inputs have the same rank and the same sizes off the axis; the output's
 * size along the axis is the sum of theirs. SqueezeNet's Fire modules concatenate their expand1x1 and expand3x3
 * outputs along the channels (axis 1).
 *
 * Backward: the output is the parts laid side by side, so each part's gradient is its own slice of dy (the
 * derivation is in the shader, above `concat_slice`).
 */
import { u32, type Gpu } from '../gpu/device.js';
import { check, fmtShape } from '../gpu/errors.js';
import { Tensor, checkShape, sizeOf, type Shape } from '../gpu/tensor.js';
import { runElementwise, sameDevice, sameShape } from './common.js';
import { host, type HostTensor } from './host.js';

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

/** The uniform Params of shaders/concat.wgsl for part k. */
function partParams(layout: ConcatLayout, k: number) {
  const n = layout.outer * layout.sizes[k]! * layout.inner;
  return {
    n,
    params: [u32(n), u32(layout.inner), u32(layout.sizes[k]!), u32(layout.shape[layout.axis]!), u32(layout.offsets[k]!), u32(layout.outer)],
  };
}

/** One copy of part k (version 2, grid-indexed; see concat_place_grid): `entry` places or slices. */
function copyPart(gpu: Gpu, entry: 'concat_place_grid' | 'concat_slice_grid', layout: ConcatLayout, k: number, part: Tensor, whole: Tensor): void {
  const { params } = partParams(layout, k);
  const limit = gpu.limits.maxComputeWorkgroupsPerDimension;
  const axis = layout.sizes[k]!;
  check(axis <= limit, () => `Concat: part ${k} has ${axis} entries along the axis, more than this device's grid allows (${limit})`);
  const grid: [number, number, number] = [Math.ceil(layout.inner / 64), axis, Math.min(layout.outer, limit)];
  const bindings =
    entry === 'concat_place_grid'
      ? [gpu.uniform(params), part.binding, undefined, whole.binding]
      : [gpu.uniform(params), undefined, whole.binding, part.binding];
  gpu.dispatch(`concat.${entry}`, gpu.pipeline('concat', entry), bindings, grid);
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
    const { n, params } = partParams(layout, k);
    runElementwise(gpu, 'concat', 'concat_place', n, params, [x, undefined, y]);
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
  xs.forEach((x, k) => copyPart(gpu, 'concat_place_grid', layout, k, x, y));
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
    copyPart(dy.gpu, 'concat_slice_grid', layout, k, dx, dy);
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
